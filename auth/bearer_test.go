package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
)

func TestBearerRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, _ := e.client()
	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := e.goodClaims(id)
		change(c)
		return c
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKeyToken := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, e.goodClaims(id))
		tok.Header["typ"], tok.Header["kid"] = "at+jwt", e.kid
		s, _ := tok.SignedString(otherKey)
		return s
	}
	noneToken := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, e.goodClaims(id))
		tok.Header["typ"], tok.Header["kid"] = "at+jwt", e.kid
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	hmacWithPublicKey := func() string {
		jwk, _ := auth.NewJWK(e.signer.Public(), e.kid, "")
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, e.goodClaims(id))
		tok.Header["typ"], tok.Header["kid"] = "at+jwt", e.kid
		s, _ := tok.SignedString([]byte(jwk.X + jwk.Y))
		return s
	}
	big := e.goodClaims(id)
	big["pad"] = strings.Repeat("x", auth.MaxTokenSize)

	tests := map[string]string{
		"expired":             e.forge(with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), nil),
		"no exp":              e.forge(with(func(c jwt.MapClaims) { delete(c, "exp") }), nil),
		"string exp":          e.forge(with(func(c jwt.MapClaims) { c["exp"] = strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10) }), nil),
		"string iat":          e.forge(with(func(c jwt.MapClaims) { c["iat"] = strconv.FormatInt(time.Now().Unix(), 10) }), nil),
		"future nbf":          e.forge(with(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(2 * time.Minute).Unix() }), nil),
		"future iat":          e.forge(with(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(2 * time.Minute).Unix() }), nil),
		"wrong aud":           e.forge(with(func(c jwt.MapClaims) { c["aud"] = "https://other.example" }), nil),
		"no aud":              e.forge(with(func(c jwt.MapClaims) { delete(c, "aud") }), nil),
		"wrong iss":           e.forge(with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), nil),
		"no iss":              e.forge(with(func(c jwt.MapClaims) { delete(c, "iss") }), nil),
		"unknown kid":         e.forge(e.goodClaims(id), map[string]any{"kid": "nope"}),
		"no kid":              e.forge(e.goodClaims(id), map[string]any{"kid": nil}),
		"jku":                 e.forge(e.goodClaims(id), map[string]any{"jku": "https://evil.example/jwks"}),
		"x5u":                 e.forge(e.goodClaims(id), map[string]any{"x5u": "https://evil.example/cert"}),
		"embedded jwk":        e.forge(e.goodClaims(id), map[string]any{"jwk": map[string]any{"kty": "EC"}}),
		"unknown crit":        e.forge(e.goodClaims(id), map[string]any{"crit": []string{"exp"}, "exp": 1}),
		"wrong typ":           e.forge(e.goodClaims(id), map[string]any{"typ": "JWT"}),
		"oversize":            e.forge(big, nil),
		"alg none":            noneToken(),
		"HS256 w/ public key": hmacWithPublicKey(),
		"other key":           otherKeyToken(),
		"unknown client":      e.forge(with(func(c jwt.MapClaims) { c["sub"], c["client_id"] = "client-x", "client-x" }), nil),
		"garbage":             "not.a.token",
	}
	for name, tok := range tests {
		r := e.api(tok)
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Errorf("%s: %d %v %s", name, r.status, r.header.Get("WWW-Authenticate"), r.body)
		}
	}
	// The forged good token works: the refusals above are for what was changed.
	wantStatus(t, e.api(e.forge(e.goodClaims(id), nil)), http.StatusOK)
}

func TestBearerScope(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client(auth.ScopeCreate)
	tok := e.token(id, secret)
	wantStatus(t, e.api(tok), http.StatusForbidden) // listing needs transactions:read
	// A token claiming more than the client holds gets only what the client holds.
	wantStatus(t, e.api(e.forge(e.goodClaims(id), nil)), http.StatusForbidden)
}

func TestRevokedToken(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client()
	tok, other := e.token(id, secret), e.token(id, secret)
	wantStatus(t, e.api(tok), 200)

	// Another client may not revoke it, and learns nothing from trying: the same 200 as for
	// garbage (RFC 7009 §2.2), so revocation is no oracle of which tokens live.
	id2, secret2 := e.client()
	r := e.post(auth.RevocationPath, url.Values{"token": {tok}}, id2, secret2)
	garbage := e.post(auth.RevocationPath, url.Values{"token": {"garbage"}}, id2, secret2)
	if r.status != 200 || garbage.status != 200 || string(r.body) != string(garbage.body) {
		t.Errorf("revoking another client's token: %d %q; garbage: %d %q", r.status, r.body, garbage.status, garbage.body)
	}
	wantStatus(t, e.api(tok), 200)

	wantStatus(t, e.post(auth.RevocationPath, url.Values{"token": {tok}}, id, secret), 200)
	wantStatus(t, e.api(tok), http.StatusUnauthorized)
	wantStatus(t, e.api(other), 200)
	// Revoking garbage is fine (RFC 7009 §2.2); revoking without authentication is not.
	wantStatus(t, e.post(auth.RevocationPath, url.Values{"token": {"garbage"}}, id, secret), 200)
	wantStatus(t, e.post(auth.RevocationPath, url.Values{"token": {other}}), http.StatusUnauthorized)
}

// A revocation done elsewhere (another replica, the CLI) reaches this replica within
// RevocationCacheTTL even when the database's change announcements do not.
func TestRevocationElsewhereIsBounded(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.noWatch = true })
	id, secret := e.client()
	tok, tok2 := e.token(id, secret), e.token(id, secret)
	wantStatus(t, e.api(tok), 200)
	wantStatus(t, e.api(tok2), 200)
	_, c := decode(t, tok2)
	if err := e.st.RevokeToken(context.Background(), c["jti"].(string), id, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.st.RevokeClient(context.Background(), "client-none", time.Now()); err == nil {
		t.Fatal("revoking an unknown client succeeded")
	}
	e.clock.Advance(auth.RevocationCacheTTL)
	wantStatus(t, e.api(tok2), http.StatusUnauthorized)
	wantStatus(t, e.api(tok), 200)

	if err := e.st.RevokeClient(context.Background(), id, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(auth.RevocationCacheTTL)
	wantStatus(t, e.api(tok), http.StatusUnauthorized)
	r := e.post(auth.TokenPath, url.Values{"grant_type": {"client_credentials"}}, id, secret)
	if r.status != 401 || r.json(t)["error"] != "invalid_client" {
		t.Errorf("token for revoked client: %d %s", r.status, r.body)
	}
}

func TestTokenOfRevokedClient(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client()
	tok := e.token(id, secret)
	wantStatus(t, e.api(tok), 200)
	if err := e.svc.RevokeClient(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.api(tok), http.StatusUnauthorized)
}

func TestAPIKeysStillWork(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c, err := e.st.CreateClient(context.Background(), "client-apikey-"+e.rsin, "k", e.rsin, auth.AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	key := auth.GenerateAPIKey()
	if err := e.st.AddAPIKey(context.Background(), c.ID, auth.NewAPIKeys(e.st, pepper).Digest(key)); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/transactions", nil)
	req.Header.Set("X-API-Key", key)
	wantStatus(t, e.send(req), 200)
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/transactions", nil)
	wantStatus(t, e.send(req), 401)
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client()
	tok := e.token(id, secret)
	wantStatus(t, e.post(auth.IntrospectionPath, url.Values{"token": {tok}}), http.StatusUnauthorized)
	r := e.post(auth.IntrospectionPath, url.Values{"token": {tok}}, id, secret)
	wantStatus(t, r, 200)
	m := r.json(t)
	if m["active"] != true || m["client_id"] != id || m["iss"] != e.svc.Issuer() || m["rsin"] != e.rsin {
		t.Errorf("introspection = %v", m)
	}
	if m := e.post(auth.IntrospectionPath, url.Values{"token": {"x.y.z"}}, id, secret).json(t); m["active"] != false || len(m) != 1 {
		t.Errorf("garbage introspection = %v", m)
	}
	wantStatus(t, e.post(auth.RevocationPath, url.Values{"token": {tok}}, id, secret), 200)
	if m := e.post(auth.IntrospectionPath, url.Values{"token": {tok}}, id, secret).json(t); m["active"] != false {
		t.Errorf("revoked token introspection = %v", m)
	}
}

// A token accepted before (its signature check cached) is refused once it expires.
func TestCachedTokenExpires(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client()
	tok := e.token(id, secret)
	wantStatus(t, e.api(tok), 200)
	wantStatus(t, e.api(tok), 200)
	e.clock.Advance(config.DefaultAuth().TokenTTL)
	r := e.api(tok)
	wantStatus(t, r, http.StatusUnauthorized)
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}
}

// A token is accepted only in the exact form it was issued: base64url with non-zero unused bits in
// the last character decodes to the same bytes, but is another string, so it is refused.
func TestNoMalleableEncoding(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client()
	tok := e.token(id, secret)
	wantStatus(t, e.api(tok), 200)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	// An ES256 signature is 64 bytes: 86 characters, the last carrying 4 unused bits.
	twin := tok[:len(tok)-1] + string(alphabet[last|1])
	if last&1 == 1 {
		twin = tok[:len(tok)-1] + string(alphabet[last&^1])
	}
	wantStatus(t, e.api(twin), http.StatusUnauthorized)
}
