package sim_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signingd/signingd/zgw/sim"
)

var clock = time.Date(2025, 3, 27, 10, 0, 0, 0, time.UTC)

func hs256(t *testing.T, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}

func claims(iatOffset time.Duration, extra ...any) jwt.MapClaims {
	c := jwt.MapClaims{"iss": "signingd", "client_id": "signingd", "iat": clock.Add(iatOffset).Unix(),
		"user_id": "signingd", "user_representation": "Ondertekenservice"}
	for i := 0; i+1 < len(extra); i += 2 {
		k := extra[i].(string)
		if extra[i+1] == nil {
			delete(c, k)
		} else {
			c[k] = extra[i+1]
		}
	}
	return c
}

var clients = map[string]sim.Client{
	"signingd": {Secret: "s3cret", Scopes: []string{"documenten.lezen", "documenten.lock"}},
	"admin":    {Secret: "adm1n", Scopes: []string{sim.AllScopes}},
	"oauth":    {Scopes: []string{"documenten.lezen"}, RSIN: "002220647"},
}

func TestOpenZaakTokens(t *testing.T) {
	e := newEnv(t, sim.Options{Tokens: sim.TokensOpenZaak, Clients: clients, Now: func() time.Time { return clock }})
	doc := e.seedDoc("x", sim.DocumentSeed{})
	tests := []struct {
		name   string
		auth   string
		status int
		code   string
	}{
		{"valid", hs256(t, "s3cret", claims(0)), 200, ""},
		{"iat 59m59s ago", hs256(t, "s3cret", claims(-3599*time.Second)), 200, ""},
		{"no header", "", 403, "not_authenticated"},
		{"basic auth", "Basic dXNlcjpwdw==", 403, "authentication_failed"},
		{"garbage", "Bearer abc.def", 403, "invalid-jwt"},
		{"no client_id", hs256(t, "s3cret", claims(0, "client_id", nil)), 403, "missing-client-identifier"},
		{"unknown client", hs256(t, "s3cret", claims(0, "client_id", "wie")), 403, "invalid-client-identifier"},
		{"wrong secret", hs256(t, "fout", claims(0)), 403, "invalid-jwt-signature"},
		{"no iat", hs256(t, "s3cret", claims(0, "iat", nil)), 403, "jwt-missing-iat-claim"},
		{"iat 1s in future", hs256(t, "s3cret", claims(time.Second)), 403, "jwt-immaturesignatureerror"},
		{"iat 1h ago", hs256(t, "s3cret", claims(-time.Hour)), 403, "jwt-expired"},
		{"exp passed", hs256(t, "s3cret", claims(0, "exp", clock.Add(-time.Second).Unix())), 403, "jwt-expired"},
		{"nbf 1s in future", hs256(t, "s3cret", claims(0, "nbf", clock.Add(time.Second).Unix())), 403, "jwt-immaturesignatureerror"},
		{"OneGround leniency does not apply", hs256(t, "s3cret", claims(20*time.Second)), 403, "jwt-immaturesignatureerror"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.tok = tc.auth
			r := e.do("GET", doc, nil)
			if r.status != tc.status || (tc.code != "" && r.code(t) != tc.code) {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	// scopes per client
	e.tok = hs256(t, "s3cret", claims(0))
	r := e.do("PATCH", doc, map[string]any{"lock": "x"})
	if r.status != 403 || r.code(t) != "permission_denied" {
		t.Errorf("missing documenten.bijwerken: %d %s", r.status, r.body)
	}
	lock := e.lock(doc)
	// forced unlock only with documenten.geforceerd-unlock, and then without a lock
	r = e.do("POST", doc+"/unlock", map[string]any{})
	if r.status != 400 {
		t.Errorf("unlock without lock and scope: %d", r.status)
	}
	e.tok = hs256(t, "adm1n", claims(0, "client_id", "admin"))
	e.mustStatus(e.do("POST", doc+"/unlock", map[string]any{}), 204)
	if len(e.srv.Locks()) != 0 {
		t.Errorf("forced unlock left %v (lock %s)", e.srv.Locks(), lock)
	}
	// the request log has the verified claims and trace headers
	e.do("GET", doc, nil, "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	reqs := e.srv.Requests()
	last := reqs[len(reqs)-1]
	if last.ClientID != "admin" || last.Claims["user_representation"] != "Ondertekenservice" || last.Header.Get("traceparent") == "" {
		t.Errorf("request log: %+v", last)
	}
}

func TestOneGroundTokens(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pt, _ := ecKey.PublicKey.Bytes() // 0x04 || X || Y
		b := func(p []byte) string { return base64.RawURLEncoding.EncodeToString(p) }
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "EC", "crv": "P-256", "x": b(pt[1:33]), "y": b(pt[33:]), "kid": "ec"}}})
	}))
	defer jwks.Close()
	e := newEnv(t, sim.Options{Tokens: sim.TokensOneGround, Clients: clients, Now: func() time.Time { return clock },
		OAuthKeys: []any{&rsaKey.PublicKey}, JWKSURL: jwks.URL})
	doc := e.seedDoc("x", sim.DocumentSeed{})
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	oauth := func(extra ...any) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "https://idp.example", "azp": "oauth", "rsin": "002220647", "exp": clock.Add(5 * time.Minute).Unix()}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == nil {
				delete(c, extra[i].(string))
			} else {
				c[extra[i].(string)] = extra[i+1]
			}
		}
		return c
	}
	tests := []struct {
		name   string
		auth   string
		status int
		code   string
	}{
		{"HS256 iat ignored (future)", hs256(t, "s3cret", claims(257*time.Second)), 200, ""},
		{"HS256 without iat", hs256(t, "s3cret", claims(0, "iat", nil)), 200, ""},
		{"HS256 exp 20s ago (skew)", hs256(t, "s3cret", claims(0, "exp", clock.Add(-20*time.Second).Unix())), 200, ""},
		{"HS256 exp 31s ago", hs256(t, "s3cret", claims(0, "exp", clock.Add(-31*time.Second).Unix())), 401, "jwt-expired"},
		{"HS256 nbf 20s ahead (skew)", hs256(t, "s3cret", claims(0, "nbf", clock.Add(20*time.Second).Unix())), 200, ""},
		{"HS256 nbf 40s ahead", hs256(t, "s3cret", claims(0, "nbf", clock.Add(40*time.Second).Unix())), 401, "jwt-immaturesignatureerror"},
		{"HS256 wrong secret", hs256(t, "nope", claims(0)), 401, "invalid-jwt-signature"},
		{"HS256 no client_id", hs256(t, "s3cret", claims(0, "client_id", nil)), 401, "missing-client-identifier"},
		{"no header", "", 401, "not_authenticated"},
		{"RS256 access token", sign(jwt.SigningMethodRS256, rsaKey, oauth()), 200, ""},
		{"ES256 access token via JWKS", sign(jwt.SigningMethodES256, ecKey, oauth()), 200, ""},
		{"RS256 without rsin", sign(jwt.SigningMethodRS256, rsaKey, oauth("rsin", nil)), 403, "missing-rsin"},
		{"RS256 other rsin", sign(jwt.SigningMethodRS256, rsaKey, oauth("rsin", "999999999")), 403, "permission_denied"},
		{"RS256 unknown key", sign(jwt.SigningMethodRS256, otherKey, oauth()), 401, "invalid-jwt-signature"},
		{"RS256 expired", sign(jwt.SigningMethodRS256, rsaKey, oauth("exp", clock.Add(-time.Minute).Unix())), 401, "jwt-expired"},
		{"RS256 unknown client", sign(jwt.SigningMethodRS256, rsaKey, oauth("azp", "wie")), 403, "permission_denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.tok = tc.auth
			r := e.do("GET", doc, nil)
			if r.status != tc.status || (tc.code != "" && r.code(t) != tc.code) {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	e.tok = sign(jwt.SigningMethodRS256, rsaKey, oauth())
	if r := e.do("POST", doc+"/lock", nil); r.status != 403 || r.code(t) != "permission_denied" {
		t.Errorf("scope check for OAuth client: %d %s", r.status, r.body)
	}
}

func TestTokensOffDefaultScopes(t *testing.T) {
	e := newEnv(t, sim.Options{})
	doc := e.seedDoc("x", sim.DocumentSeed{})
	e.tok = hs256(t, "whatever", claims(0))
	lock := e.lock(doc)
	// no geforceerd-unlock by default: unlock without lock is refused, a wrong lock too
	if r := e.do("POST", doc+"/unlock", map[string]any{"lock": "fout"}); r.status != 400 {
		t.Errorf("wrong lock accepted: %d", r.status)
	}
	e.mustStatus(e.do("POST", doc+"/unlock", map[string]any{"lock": lock}), 204)
	reqs := e.srv.Requests()
	if reqs[len(reqs)-1].ClientID != "signingd" {
		t.Errorf("claims not logged in TokensOff: %+v", reqs[len(reqs)-1])
	}
}
