package auth_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/signingd/signingd/auth"
)

// FuzzBearer feeds arbitrary bearer tokens to the validator. Nothing may panic, and nothing but
// the one token the service issued may be accepted: a fuzzer cannot sign, so any other accepted
// string is a hole (a malleable encoding, a skipped check).
func FuzzBearer(f *testing.F) {
	e := setup(f)
	id, secret := e.client()
	good := e.token(id, secret)
	parts := strings.Split(good, ".")
	h, p, s := parts[0], parts[1], parts[2]
	for _, seed := range []string{
		good, good + "x", h + "." + p + ".", h + ".." + s, "." + p + "." + s, "a.b.c", "", "....",
		e.forge(e.goodClaims(id), map[string]any{"alg": "none"}),
		e.forge(e.goodClaims(id), map[string]any{"jku": "https://evil.example/jwks"}),
		e.forge(e.goodClaims(id), map[string]any{"crit": []string{"exp"}}),
		e.forge(e.goodClaims(id), map[string]any{"kid": "unknown"}),
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, tok string) {
		req, _ := http.NewRequest(http.MethodGet, "/api/v1/transactions", nil)
		req.Header["Authorization"] = []string{"Bearer " + tok}
		if _, err := e.bearer.Authenticate(ctx, req); err == nil && strings.TrimSpace(tok) != good {
			t.Fatalf("accepted a token the service did not issue: %q", tok)
		}
	})
}

// FuzzTokenEndpoint posts arbitrary form bodies to the token endpoint. A caller's mistake is never
// a server error, and a token is issued only to the right client_id and client_secret.
func FuzzTokenEndpoint(f *testing.F) {
	e := setup(f, func(o *options) { o.ratePerClient, o.ratePerAddress, o.lockout = 1e9, 1e9, 1e9 })
	id, secret := e.client()
	for _, seed := range []string{
		url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode(),
		url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"admin transactions:read"}}.Encode(),
		url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion": {e.forge(e.goodClaims(id), nil)}}.Encode(),
		"grant_type=password&username=a&password=b", "%zz", "client_id=&client_secret=", "grant_type=client_credentials&client_id=" + id,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+auth.TokenPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%d for %q: %s", res.StatusCode, body, b)
		}
		if res.StatusCode == http.StatusOK {
			form, err := url.ParseQuery(body)
			if err != nil || form.Get("client_id") != id || form.Get("client_secret") != secret {
				t.Fatalf("token issued for %q: %s", body, b)
			}
		}
	})
}
