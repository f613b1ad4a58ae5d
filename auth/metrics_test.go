package auth_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/metrics"
)

func TestTokenEndpointMetrics(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	e := setup(t, func(o *options) { o.metrics = m })
	id, secret := e.client()
	e.token(id, secret)
	e.token(id, secret)
	if r := e.post(auth.TokenPath, url.Values{"grant_type": {"client_credentials"}}, id, "wrong-secret"); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", r.status)
	}
	if r := e.post(auth.TokenPath, url.Values{"grant_type": {"password"}}, id, secret); r.status != http.StatusBadRequest {
		t.Fatalf("password grant: %d", r.status)
	}
	res, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, want := range []string{
		"signingd_tokens_issued_total 2",
		`signingd_token_refusals_total{error="invalid_client"} 1`,
		`signingd_token_refusals_total{error="unsupported_grant_type"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The replica hears the database's change announcements (it connects on its own time).
	eventually(t, "auth listener up", func() bool {
		res, err := http.Get(e.srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return strings.Contains(string(b), "signingd_auth_listener_up 1")
	})
}
