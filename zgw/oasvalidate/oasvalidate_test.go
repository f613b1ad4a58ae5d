package oasvalidate_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/signingd/signingd/zgw/oasvalidate"
)

// fake answers every request with a fixed status, content type and body.
func fake(status int, ctype, body string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
}

const (
	docPath   = "/documenten/api/v1/enkelvoudiginformatieobjecten/f491249e-0651-4d22-a8a8-bb35885e9245"
	validLock = `{"lock":"0f7b5a3e9c"}`
	fout      = `{"type":"t","code":"c","title":"t","status":%d,"detail":"d","instance":"urn:uuid:1"}`
)

func TestValidatorCatchesViolations(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		ctype      string
		respBody   string
		method     string
		path       string
		reqBody    string
		reqCT      string
		headers    map[string]string
		violations int
		phase      string
	}{
		{name: "valid lock", status: 200, ctype: "application/json", respBody: validLock, method: "POST", path: docPath + "/lock", reqCT: "application/json"},
		{name: "lock response without lock", status: 200, ctype: "application/json", respBody: `{}`, method: "POST", path: docPath + "/lock", reqCT: "application/json", violations: 1, phase: "response"},
		{name: "lock response wrong type", status: 200, ctype: "application/json", respBody: `{"lock":5}`, method: "POST", path: docPath + "/lock", reqCT: "application/json", violations: 1, phase: "response"},
		{name: "unknown path", status: 200, ctype: "application/json", respBody: `{}`, method: "GET", path: "/documenten/api/v1/bestaat-niet", violations: 1, phase: "request"},
		{name: "request body violates", status: 201, ctype: "application/json", respBody: `{"naam":"k"}`, method: "POST", path: "/notificaties/api/v1/kanaal", reqBody: `{"naam": ""}`, reqCT: "application/json", violations: 1, phase: "request"},
		{name: "undeclared status with Fout body is accepted", status: 412, ctype: "application/problem+json", respBody: strings.Replace(fout, "%d", "412", 1), method: "GET", path: "/zaken/api/v1/zaken/f491249e-0651-4d22-a8a8-bb35885e9245", headers: map[string]string{"Accept-Crs": "EPSG:4326"}},
		{name: "undeclared status with bad body", status: 412, ctype: "application/problem+json", respBody: `{"code":"x"}`, method: "GET", path: "/zaken/api/v1/zaken/f491249e-0651-4d22-a8a8-bb35885e9245", headers: map[string]string{"Accept-Crs": "EPSG:4326"}, violations: 1, phase: "response"},
		{name: "undeclared 400 needs invalidParams", status: 400, ctype: "application/problem+json", respBody: strings.Replace(fout, "%d", "400", 1), method: "POST", path: "/notificaties/api/v1/notificaties", reqCT: "application/json",
			reqBody: `{"kanaal":"k","hoofdObject":"https://x.example/1","resource":"r","resourceUrl":"https://x.example/1","actie":"a","aanmaakdatum":"2025-03-27T10:00:00Z"}`, violations: 1, phase: "response"},
		{name: "undeclared 2xx", status: 202, ctype: "application/json", respBody: validLock, method: "POST", path: docPath + "/lock", reqCT: "application/json", violations: 1, phase: "response"},
		{name: "missing required Accept-Crs", status: 404, ctype: "application/problem+json", respBody: strings.Replace(fout, "%d", "404", 1), method: "GET", path: "/zaken/api/v1/zaken/f491249e-0651-4d22-a8a8-bb35885e9245", violations: 1, phase: "request"},
		{name: "path param not a uuid", status: 404, ctype: "application/problem+json", respBody: strings.Replace(fout, "%d", "404", 1), method: "GET", path: "/documenten/api/v1/enkelvoudiginformatieobjecten/123", violations: 1, phase: "request"},
		{name: "outside mounts is ignored", status: 200, ctype: "text/plain", respBody: "ok", method: "GET", path: "/_sim/locks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := fake(tc.status, tc.ctype, tc.respBody)
			defer srv.Close()
			v, err := oasvalidate.New(oasvalidate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := &http.Client{Transport: v.Transport(nil)}
			var body io.Reader
			if tc.reqBody != "" {
				body = strings.NewReader(tc.reqBody)
			}
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, body)
			if tc.reqCT != "" {
				req.Header.Set("Content-Type", tc.reqCT)
			}
			for k, val := range tc.headers {
				req.Header.Set(k, val)
			}
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(got) != tc.respBody {
				t.Errorf("body not passed through: %q", got)
			}
			vs := v.Violations()
			if len(vs) != tc.violations {
				t.Fatalf("violations %d, want %d: %v", len(vs), tc.violations, vs)
			}
			for _, x := range vs {
				if x.Phase != tc.phase {
					t.Errorf("phase %s, want %s: %v", x.Phase, tc.phase, x)
				}
			}
			if !strings.HasPrefix(tc.path, "/_sim") && v.Checked() != 1 {
				t.Errorf("checked %d", v.Checked())
			}
		})
	}
}

func TestExpectInvalidRequest(t *testing.T) {
	srv := fake(200, "application/json", `{}`)
	defer srv.Close()
	v, _ := oasvalidate.New(oasvalidate.Options{})
	c := &http.Client{Transport: v.Transport(nil)}
	req, _ := http.NewRequestWithContext(oasvalidate.ExpectInvalidRequest(context.Background()), "POST", srv.URL+"/notificaties/api/v1/kanaal", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// the request is excused, the response ({} is not a Kanaal: naam missing) is not
	if vs := v.Violations(); len(vs) != 1 || vs[0].Phase != "response" {
		t.Errorf("violations %v", vs)
	}
}

func TestMiddlewareAndLargeBodies(t *testing.T) {
	v, _ := oasvalidate.New(oasvalidate.Options{MaxBody: 16})
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"lock":"` + strings.Repeat("a", len(data)) + `"}`))
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+docPath+"/lock", strings.NewReader(strings.Repeat("x", 40)))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(got), strings.Repeat("a", 40)) {
		t.Errorf("handler did not get the whole body: %s", got)
	}
	if v.Skipped() != 1 || len(v.Violations()) != 0 {
		t.Errorf("skipped %d violations %v", v.Skipped(), v.Violations())
	}
	// a small invalid response is caught by the middleware
	v2, _ := oasvalidate.New(oasvalidate.Options{})
	srv2 := httptest.NewServer(v2.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"naam":""}`))
	})))
	defer srv2.Close()
	res, err = http.Get(srv2.URL + "/notificaties/api/v1/kanaal")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if vs := v2.Violations(); len(vs) != 1 || vs[0].Phase != "response" {
		t.Errorf("middleware violations %v", vs)
	}
}
