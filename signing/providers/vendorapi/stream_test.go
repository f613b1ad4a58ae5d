package vendorapi

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestDoMultipart: the parts write adds arrive, under the content type sent, closed; an error of
// write fails the request.
func TestDoMultipart(t *testing.T) {
	t.Parallel()
	errWrite := errors.New("document gone")
	for _, tc := range []struct {
		name    string
		write   func(mw *multipart.Writer) error
		want    []string // "name=content" per part
		wantErr bool
	}{
		{"payload only", func(mw *multipart.Writer) error { return JSONPart(mw, "payload", []byte(`{"a":1}`)) },
			[]string{`payload=application/json={"a":1}`}, false},
		{"payload and files", func(mw *multipart.Writer) error {
			if err := JSONPart(mw, "payload", []byte(`{}`)); err != nil {
				return err
			}
			for _, f := range []string{"one", "two"} {
				w, err := mw.CreateFormFile("files", f+".pdf")
				if err != nil {
					return err
				}
				if _, err := io.WriteString(w, "%PDF-"+f); err != nil {
					return err
				}
			}
			return nil
		}, []string{`payload=application/json={}`, "files=application/octet-stream=%PDF-one", "files=application/octet-stream=%PDF-two"}, false},
		{"write fails", func(mw *multipart.Writer) error { return errWrite }, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu  sync.Mutex
				got []string
			)
			c := setup(t, func(w http.ResponseWriter, r *http.Request) {
				_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				mr := multipart.NewReader(r.Body, params["boundary"])
				for {
					p, err := mr.NextPart()
					if err == io.EOF {
						break
					}
					if err != nil {
						http.Error(w, err.Error(), http.StatusBadRequest)
						return
					}
					b, _ := io.ReadAll(p)
					got = append(got, p.FormName()+"="+p.Header.Get("Content-Type")+"="+string(b))
				}
				w.WriteHeader(http.StatusCreated)
			}, Config{})
			resp, err := c.DoMultipart(t.Context(), "upload", Request{Method: http.MethodPost, Path: "/upload"}, tc.write)
			if tc.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatal("DoMultipart: no error, want one")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("parts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
