package auth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/store"
)

// keyClient registers a client with a public key for private_key_jwt.
func (e *env) keyClient(pub crypto.PublicKey, kid string) string {
	e.t.Helper()
	c, err := e.st.CreateClient(context.Background(), store.NewClientID(), "pkjwt", e.rsin, auth.AllScopes)
	if err != nil {
		e.t.Fatal(err)
	}
	jwk, err := auth.NewJWK(pub, kid, "")
	if err != nil {
		e.t.Fatal(err)
	}
	raw, _ := json.Marshal(jwk)
	if _, err := e.st.AddClientKey(context.Background(), c.ID, kid, raw, ""); err != nil {
		e.t.Fatal(err)
	}
	return c.ClientID
}

func assertionClaims(id, aud string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": id, "sub": id, "aud": aud, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": rand.Text()}
}

func sign(t *testing.T, m jwt.SigningMethod, c jwt.MapClaims, kid string, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) assert(assertion string) response {
	e.t.Helper()
	return e.post(auth.TokenPath, url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}})
}

func TestPrivateKeyJWTAlgorithms(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tt := range []struct {
		m    jwt.SigningMethod
		priv crypto.Signer
	}{{jwt.SigningMethodRS256, rsaKey}, {jwt.SigningMethodPS256, rsaKey}, {jwt.SigningMethodES256, ecKey}, {jwt.SigningMethodEdDSA, edKey}} {
		id := e.keyClient(tt.priv.Public(), "k1")
		for _, aud := range []string{e.svc.Issuer(), e.svc.Issuer() + auth.TokenPath} {
			r := e.assert(sign(t, tt.m, assertionClaims(id, aud), "k1", tt.priv))
			if r.status != 200 {
				t.Errorf("%s aud %s: %d %s", tt.m.Alg(), aud, r.status, r.body)
				continue
			}
			wantStatus(t, e.api(r.json(t)["access_token"].(string)), 200)
		}
	}
}

func TestPrivateKeyJWTRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	id := e.keyClient(key.Public(), "k1")
	rsaID := e.keyClient(rsaKey.Public(), "r1")
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	iss := e.svc.Issuer()
	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := assertionClaims(id, iss)
		change(c)
		return c
	}
	replayed := sign(t, jwt.SigningMethodES256, assertionClaims(id, iss), "k1", key)
	wantStatus(t, e.assert(replayed), 200)

	pubDER, _ := x509.MarshalPKIXPublicKey(rsaKey.Public())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, assertionClaims(id, iss))
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	tests := map[string]string{
		"replayed jti":              replayed,
		"wrong aud":                 sign(t, jwt.SigningMethodES256, with(func(c jwt.MapClaims) { c["aud"] = "https://other.example" }), "k1", key),
		"multi-valued aud":          sign(t, jwt.SigningMethodES256, with(func(c jwt.MapClaims) { c["aud"] = []string{iss, iss + auth.TokenPath} }), "k1", key),
		"exp too far ahead":         sign(t, jwt.SigningMethodES256, with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(10 * time.Minute).Unix() }), "k1", key),
		"no exp":                    sign(t, jwt.SigningMethodES256, with(func(c jwt.MapClaims) { delete(c, "exp") }), "k1", key),
		"expired":                   sign(t, jwt.SigningMethodES256, with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), "k1", key),
		"no jti":                    sign(t, jwt.SigningMethodES256, with(func(c jwt.MapClaims) { delete(c, "jti") }), "k1", key),
		"sub differs":               sign(t, jwt.SigningMethodES256, with(func(c jwt.MapClaims) { c["sub"] = "someone" }), "k1", key),
		"other key":                 sign(t, jwt.SigningMethodES256, assertionClaims(id, iss), "k1", other),
		"unknown kid":               sign(t, jwt.SigningMethodES256, assertionClaims(id, iss), "k2", key),
		"alg none":                  none(),
		"HS256 with public key":     sign(t, jwt.SigningMethodHS256, assertionClaims(rsaID, iss), "r1", pubPEM),
		"HS256 with JWK x":          sign(t, jwt.SigningMethodHS256, assertionClaims(id, iss), "k1", []byte(mustJWK(t, key.Public()).X)),
		"unknown client":            sign(t, jwt.SigningMethodES256, assertionClaims("client-nobody", iss), "k1", key),
		"access token as assertion": e.forge(assertionClaims(id, iss), nil),
	}
	for name, a := range tests {
		r := e.assert(a)
		if r.status != http.StatusUnauthorized || r.json(t)["error"] != "invalid_client" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// Bad assertion type is a malformed request.
	r := e.post(auth.TokenPath, url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"jwt"}, "client_assertion": {replayed}})
	if r.status != 400 || r.json(t)["error"] != "invalid_request" {
		t.Errorf("bad assertion type: %d %s", r.status, r.body)
	}
}

func mustJWK(t *testing.T, pub crypto.PublicKey) auth.JWK {
	t.Helper()
	j, err := auth.NewJWK(pub, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// A client may register a jwks_uri on an allowed host; signingd fetches it, and an unknown kid
// causes at most one more fetch per window.
func TestPrivateKeyJWTWithJWKSURI(t *testing.T) {
	t.Parallel()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var fetches atomic.Int32
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(auth.JWKS{Keys: []auth.JWK{mustJWKKid(t, key.Public(), "remote-1")}})
	}))
	defer jwksSrv.Close()
	host := jwksSrv.Listener.Addr().String()
	e := setup(t, func(o *options) { o.clientJWKSHosts = []string{host}; o.jwksRefreshWindow = time.Hour })
	c, err := e.st.CreateClient(context.Background(), store.NewClientID(), "pkjwt", e.rsin, auth.AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AddClientKey(context.Background(), c.ID, "", nil, jwksSrv.URL); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.assert(sign(t, jwt.SigningMethodES256, assertionClaims(c.ClientID, e.svc.Issuer()), "remote-1", key)), 200)
	for range 5 {
		wantStatus(t, e.assert(sign(t, jwt.SigningMethodES256, assertionClaims(c.ClientID, e.svc.Issuer()), "unknown", key)), 401)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1", n)
	}
	if err := auth.CheckJWKSURI("https://evil.example/jwks", []string{host}); err == nil {
		t.Error("a jwks_uri on another host was allowed")
	}
}

func mustJWKKid(t *testing.T, pub crypto.PublicKey, kid string) auth.JWK {
	j := mustJWK(t, pub)
	j.Kid = kid
	return j
}
