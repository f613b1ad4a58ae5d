package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/signingd/signingd/zgw/oasvalidate"
	"github.com/signingd/signingd/zgw/sim"
)

// env is a running simulator plus an HTTP client for the tests.
type env struct {
	t   *testing.T
	srv *sim.Server
	c   *http.Client
	tok string // Authorization header value, "" for none
	bad bool   // requests are deliberately invalid (responses are still validated)
}

// invalid returns an env whose requests are marked as deliberately violating the OAS.
func (e *env) invalid() *env {
	c := *e
	c.bad = true
	return &c
}

func newEnv(t *testing.T, opts sim.Options) *env {
	t.Helper()
	srv := sim.NewServer(opts)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, c: oasClient(t, srv.HTTP.Client().Transport)}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// invalidCodes returns the invalidParams codes of a problem response.
func (r resp) invalidCodes(t *testing.T) []string {
	t.Helper()
	var p struct {
		InvalidParams []struct{ Name, Code string } `json:"invalidParams"`
	}
	_ = json.Unmarshal(r.body, &p)
	var out []string
	for _, ip := range p.InvalidParams {
		out = append(out, ip.Code)
	}
	return out
}

func (r resp) code(t *testing.T) string {
	t.Helper()
	var p struct{ Code string }
	_ = json.Unmarshal(r.body, &p)
	return p.Code
}

// do sends a request; body is JSON-encoded unless it is a string or []byte. Extra headers as "Name: value".
func (e *env) do(method, url string, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
		ctype = "application/json"
	case []byte:
		rd = bytes.NewReader(b)
		ctype = "application/json"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
		ctype = "application/json"
	}
	ctx := context.Background()
	if e.bad {
		ctx = oasvalidate.ExpectInvalidRequest(ctx)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" || method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.tok != "" {
		req.Header.Set("Authorization", e.tok)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	res, err := e.c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: data}
}

func (e *env) mustStatus(r resp, want int) resp {
	e.t.Helper()
	if r.status != want {
		e.t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

// lock locks a document and returns the lock id.
func (e *env) lock(doc string) string {
	e.t.Helper()
	r := e.mustStatus(e.do("POST", doc+"/lock", nil), 200)
	l, _ := r.json(e.t)["lock"].(string)
	if l == "" {
		e.t.Fatalf("no lock in %s", r.body)
	}
	return l
}

func (e *env) seedDoc(content string, meta sim.DocumentSeed) string {
	e.t.Helper()
	u, err := e.srv.SeedDocument([]byte(content), meta)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// badCtx marks a request as deliberately invalid for the OAS validator.
func badCtx() context.Context { return oasvalidate.ExpectInvalidRequest(context.Background()) }
