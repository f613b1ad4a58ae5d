package auth_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/signingd/signingd/auth"
)

func TestSecretBasic(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client()
	r := e.post(auth.TokenPath, url.Values{"grant_type": {"client_credentials"}}, id, secret)
	wantStatus(t, r, http.StatusOK)
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	body := r.json(t)
	if body["token_type"] != "Bearer" || body["expires_in"] != float64(900) || body["scope"] != strings.Join(auth.AllScopes, " ") {
		t.Errorf("response = %v", body)
	}
	h, c := decode(t, body["access_token"].(string))
	if h["typ"] != "at+jwt" || h["alg"] != "ES256" || h["kid"] != e.kid {
		t.Errorf("header = %v", h)
	}
	for k, want := range map[string]any{"iss": e.svc.Issuer(), "sub": id, "client_id": id, "aud": e.svc.Audience(), "rsin": e.rsin} {
		if c[k] != want {
			t.Errorf("claim %s = %v, want %v", k, c[k], want)
		}
	}
	for _, k := range []string{"iat", "nbf", "exp", "jti", "scope"} {
		if c[k] == nil {
			t.Errorf("claim %s missing", k)
		}
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 900 {
		t.Errorf("lifetime %v s, want 900", exp-iat)
	}
	wantStatus(t, e.api(body["access_token"].(string)), http.StatusOK)

	r = e.post(auth.TokenPath, url.Values{"grant_type": {"client_credentials"}}, id, secret+"x")
	wantStatus(t, r, http.StatusUnauthorized)
	if r.json(t)["error"] != "invalid_client" || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("wrong secret: %s %v", r.body, r.header)
	}
}

func TestSecretPost(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client()
	r := e.post(auth.TokenPath, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	wantStatus(t, r, http.StatusOK)
	wantStatus(t, e.api(r.json(t)["access_token"].(string)), http.StatusOK)

	for name, form := range map[string]url.Values{
		"wrong secret":   {"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"sgs_nope"}},
		"unknown client": {"grant_type": {"client_credentials"}, "client_id": {"client-nobody"}, "client_secret": {secret}},
		"no credentials": {"grant_type": {"client_credentials"}, "client_id": {id}},
	} {
		r := e.post(auth.TokenPath, form)
		if r.status != http.StatusUnauthorized || r.json(t)["error"] != "invalid_client" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}

func TestTokenRequestErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client(auth.ScopeRead)
	tests := []struct {
		name   string
		form   url.Values
		basic  bool
		status int
		code   string
	}{
		{"missing grant_type", url.Values{}, true, 400, "invalid_request"},
		{"other grant", url.Values{"grant_type": {"password"}}, true, 400, "unsupported_grant_type"},
		{"scope not held", url.Values{"grant_type": {"client_credentials"}, "scope": {"transactions:create"}}, true, 400, "invalid_scope"},
		{"unknown scope", url.Values{"grant_type": {"client_credentials"}, "scope": {"root"}}, true, 400, "invalid_scope"},
		{"two methods", url.Values{"grant_type": {"client_credentials"}, "client_secret": {secret}}, true, 400, "invalid_request"},
		{"repeated parameter", url.Values{"grant_type": {"client_credentials", "client_credentials"}}, true, 400, "invalid_request"},
	}
	for _, tt := range tests {
		var r response
		if tt.basic {
			r = e.post(auth.TokenPath, tt.form, id, secret)
		} else {
			r = e.post(auth.TokenPath, tt.form)
		}
		if r.status != tt.status || r.json(t)["error"] != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.name, r.status, r.body, tt.status, tt.code)
		}
	}
	// Wrong content type.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+auth.TokenPath, strings.NewReader(`{"grant_type":"client_credentials"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(id, secret)
	if r := e.send(req); r.status != 400 || r.json(t)["error"] != "invalid_request" {
		t.Errorf("json body: %d %s", r.status, r.body)
	}
	// A narrower scope is granted as asked.
	r := e.post(auth.TokenPath, url.Values{"grant_type": {"client_credentials"}, "scope": {auth.ScopeRead}}, id, secret)
	wantStatus(t, r, 200)
	if r.json(t)["scope"] != auth.ScopeRead {
		t.Errorf("scope = %v", r.json(t)["scope"])
	}
}

// The OneGround documentation sends the token request as multipart/form-data.
func TestMultipartTokenRequest(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"client_id": id, "client_secret": secret, "grant_type": "client_credentials"} {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+auth.TokenPath, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	r := e.send(req)
	wantStatus(t, r, 200)
	wantStatus(t, e.api(r.json(t)["access_token"].(string)), 200)
}

// An ordinary OAuth2 client library works against the endpoint, with either auth style.
func TestClientCredentialsLibrary(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client()
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: e.srv.URL + auth.TokenPath,
			Scopes: []string{auth.ScopeRead}, AuthStyle: style}
		res, err := cc.Client(context.Background()).Get(e.srv.URL + "/api/v1/transactions")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("style %d: API answered %d", style, res.StatusCode)
		}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tok.TokenType != "Bearer" || time.Until(tok.Expiry) < 14*time.Minute {
			t.Errorf("token = %+v", tok)
		}
	}
	bad := clientcredentials.Config{ClientID: id, ClientSecret: "wrong", TokenURL: e.srv.URL + auth.TokenPath}
	_, err := bad.Token(context.Background())
	var re *oauth2.RetrieveError
	if !asRetrieveError(err, &re) || re.ErrorCode != "invalid_client" {
		t.Errorf("wrong secret: %v", err)
	}
}

func asRetrieveError(err error, re **oauth2.RetrieveError) bool {
	for err != nil {
		if r, ok := err.(*oauth2.RetrieveError); ok {
			*re = r
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestMetadataAndJWKS(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client()
	_, claims := decode(t, e.token(id, secret))
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		m := e.send(req).json(t)
		if m["issuer"] != claims["iss"] {
			t.Errorf("%s: issuer %v, tokens say %v", path, m["issuer"], claims["iss"])
		}
		methods, _ := m["token_endpoint_auth_methods_supported"].([]any)
		if len(methods) != 3 || methods[0] != "client_secret_basic" || methods[1] != "client_secret_post" || methods[2] != "private_key_jwt" {
			t.Errorf("%s: methods %v", path, methods)
		}
		for k, p := range map[string]string{"token_endpoint": auth.TokenPath, "jwks_uri": auth.JWKSPath,
			"introspection_endpoint": auth.IntrospectionPath, "revocation_endpoint": auth.RevocationPath} {
			if m[k] != e.svc.Issuer()+p {
				t.Errorf("%s: %s = %v", path, k, m[k])
			}
		}
	}
	for _, path := range []string{auth.JWKSPath, "/.well-known/jwks.json"} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		keys, _ := e.send(req).json(t)["keys"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["kid"] != e.kid {
			t.Errorf("%s: keys %v", path, keys)
		}
	}
}
