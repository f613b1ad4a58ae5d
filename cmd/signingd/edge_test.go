package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/signingd/signingd/store/dbtest"
)

// multipartBody is a form with one file part of n bytes.
func multipartBody(t *testing.T, n int) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("lang", "en")
	fw, err := mw.CreateFormFile("f", "f.bin")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(bytes.Repeat([]byte("x"), n))
	_ = mw.Close()
	return &b, mw.FormDataContentType()
}

// Every route limits its body before anything reads it: signer forms take a few KiB urlencoded,
// multipart only where a route wants it, and no temporary file outlives its request.
func TestBodiesLimitedAtTheEdge(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where net/http's multipart parser spools parts
	d := startDev(t, dbtest.NewDatabase(t), "--dir", t.TempDir(), "--database=")
	base := "http://" + d.env["LISTEN_ADDR"]
	link := base + "/sign/" + strings.Repeat("A", 43)

	// A big multipart upload to a signer link of no one: streamed (no Content-Length), larger than the
	// parser keeps in memory. Refused or cut off; either way nothing may stay on disk.
	body, ct := multipartBody(t, 40<<20)
	req, _ := http.NewRequest(http.MethodPost, link+"/code", io.MultiReader(body))
	req.Header.Set("Content-Type", ct)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("40 MiB multipart to a signer link: %d", res.StatusCode)
		}
	}

	small, ct := multipartBody(t, 100<<10)
	smallBytes, _ := io.ReadAll(small)
	form := "csrf=x&reason=" + strings.Repeat("a", 100<<10)
	for _, c := range []struct {
		name, path, contentType string
		body                    []byte
		want                    int
	}{
		{"multipart to a signer page", "/sign/" + strings.Repeat("A", 43) + "/decline", ct, smallBytes, http.StatusUnsupportedMediaType},
		{"json to a signer page", "/sign/" + strings.Repeat("A", 43) + "/verify", "application/json", []byte(`{}`), http.StatusUnsupportedMediaType},
		{"large form to a signer page", "/sign/" + strings.Repeat("A", 43) + "/decline", "application/x-www-form-urlencoded", []byte(form), http.StatusRequestEntityTooLarge},
		{"multipart to the API", "/api/v1/transactions", ct, smallBytes, http.StatusUnsupportedMediaType},
		{"multipart to a webhook", "/api/v1/providers/simulated/webhook", ct, smallBytes, http.StatusUnsupportedMediaType},
		{"large multipart to the token endpoint", "/oauth2/token", ct, smallBytes, http.StatusRequestEntityTooLarge},
		{"large trigger", "/api/v1/transactions", "application/json", bytes.Repeat([]byte(" "), 2<<20), http.StatusRequestEntityTooLarge},
	} {
		code, _ := httpDo(t, nil, http.MethodPost, base+c.path, bytes.NewReader(c.body), "Content-Type", c.contentType)
		if code != c.want {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
	}
	// The token endpoint still takes a small multipart form (OneGround sends one) and refuses files.
	tiny, ct := multipartBody(t, 10<<10)
	if code, out := httpDo(t, nil, http.MethodPost, base+"/oauth2/token", tiny, "Content-Type", ct); code != http.StatusBadRequest || !strings.Contains(out, "invalid_request") {
		t.Errorf("multipart with a file to the token endpoint: %d %s", code, out)
	}

	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "multipart-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}
