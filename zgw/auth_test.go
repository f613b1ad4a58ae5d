package zgw

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// bearerServer is a DRC stand-in that records the bearer tokens it receives.
type bearerServer struct {
	*httptest.Server
	mu     sync.Mutex
	tokens []string
}

func newBearerServer(t *testing.T) *bearerServer {
	b := &bearerServer{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.tokens = append(b.tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"lock":"l"}`)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *bearerServer) client(t *testing.T, a ServiceAuth, now func() time.Time) (*Client, string) {
	t.Helper()
	reg, err := NewRegistry(testLandscape(ServiceSpec{Kind: KindDRC, APIRoot: b.URL + "/api/v1", Auth: a}),
		RegistryOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return NewClient(reg, testRSIN, ClientOptions{}), b.URL + "/api/v1/enkelvoudiginformatieobjecten/1"
}

func (b *bearerServer) last() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens[len(b.tokens)-1]
}

func TestZGWJWTClaims(t *testing.T) {
	srv := newBearerServer(t)
	now := time.Date(2025, 3, 27, 10, 0, 0, 900_000_000, time.UTC)
	clock := func() time.Time { return now }
	cl, eio := srv.client(t, ServiceAuth{
		Mode: AuthZGWJWT, ClientID: "signingd", Secret: "geheim",
		UserID: "signingd", UserRepresentation: "Ondertekenservice",
		Claims: map[string]any{"rsin": testRSIN, "aud": "zgw", "sub": "signingd", "jti": true, "exp": 300},
	}, clock)
	if _, err := cl.Lock(context.Background(), eio); err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(clock), jwt.WithIssuedAt()).
		ParseWithClaims(srv.last(), claims, func(*jwt.Token) (any, error) { return []byte("geheim"), nil })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"iss": "signingd", "client_id": "signingd", "user_id": "signingd",
		"user_representation": "Ondertekenservice", "rsin": testRSIN, "aud": "zgw", "sub": "signingd",
		"iat": float64(now.Unix()), "exp": float64(now.Unix() + 300)}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if iat := int64(claims["iat"].(float64)); time.Unix(iat, 0).After(now) {
		t.Errorf("iat %d in the future of %v", iat, now)
	}
	jti1, _ := claims["jti"].(string)

	// Cached briefly, then a new token with a new jti and iat.
	cl.Lock(context.Background(), eio)
	if srv.tokens[0] != srv.tokens[1] {
		t.Error("token not reused within the cache window")
	}
	now = now.Add(25 * time.Second)
	cl.Lock(context.Background(), eio)
	claims2 := jwt.MapClaims{}
	jwt.NewParser(jwt.WithTimeFunc(clock)).ParseWithClaims(srv.last(), claims2, func(*jwt.Token) (any, error) { return []byte("geheim"), nil })
	if claims2["jti"] == jti1 || claims2["iat"] == claims["iat"] {
		t.Errorf("stale token after 25 s: %v", claims2)
	}
	// A clock that went back never yields a token whose iat is ahead of it.
	now = now.Add(-10 * time.Second)
	cl.Lock(context.Background(), eio)
	claims3 := jwt.MapClaims{}
	jwt.NewParser(jwt.WithoutClaimsValidation()).ParseWithClaims(srv.last(), claims3, func(*jwt.Token) (any, error) { return []byte("geheim"), nil })
	if int64(claims3["iat"].(float64)) > now.Unix() {
		t.Errorf("iat %v after clock %v", claims3["iat"], now.Unix())
	}
}

// tokenEndpoint is an OAuth2 token endpoint on loopback. check validates the client
// authentication of a request and returns the client id, or an error for a 401.
type tokenEndpoint struct {
	*httptest.Server
	mu       sync.Mutex
	requests int
	jtis     map[string]bool
	failures []string
}

func newTokenEndpoint(t *testing.T, expiresIn int, check func(te *tokenEndpoint, r *http.Request) error) *tokenEndpoint {
	te := &tokenEndpoint{jtis: map[string]bool{}}
	te.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		te.mu.Lock()
		defer te.mu.Unlock()
		te.requests++
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_request"}`)
			return
		}
		if err := check(te, r); err != nil {
			te.failures = append(te.failures, err.Error())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":%q}`, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"at-%d","token_type":"Bearer","expires_in":%d}`, te.requests, expiresIn)
	}))
	t.Cleanup(te.Close)
	return te
}

func TestClientCredentials(t *testing.T) {
	for _, style := range []string{"basic", "post"} {
		t.Run(style, func(t *testing.T) {
			te := newTokenEndpoint(t, 3600, func(te *tokenEndpoint, r *http.Request) error {
				id, secret, ok := r.BasicAuth()
				if style == "post" {
					if ok {
						return errors.New("basic auth sent in post mode")
					}
					id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
				} else if r.PostForm.Get("client_secret") != "" {
					return errors.New("secret in body in basic mode")
				}
				if id != "signingd" || secret != "cc-secret" {
					return fmt.Errorf("bad client %q", id)
				}
				if got := r.PostForm.Get("scope"); got != "zgw.documenten rsin" {
					return fmt.Errorf("scope %q", got)
				}
				return nil
			})
			srv := newBearerServer(t)
			cl, eio := srv.client(t, ServiceAuth{Mode: AuthClientCredentials, ClientID: "signingd",
				Secret: "cc-secret", TokenURL: te.URL + "/oauth/token", AuthStyle: style,
				Scopes: []string{"zgw.documenten", "rsin"}}, nil)
			for range 3 {
				if _, err := cl.Lock(context.Background(), eio); err != nil {
					t.Fatalf("%v (endpoint saw: %v)", err, te.failures)
				}
			}
			if te.requests != 1 {
				t.Errorf("%d token requests for 3 calls, want 1 (cached)", te.requests)
			}
			if srv.last() != "at-1" {
				t.Errorf("bearer %q", srv.last())
			}
		})
	}
	// A short-lived token is refreshed; a refused client gives a permanent error.
	te := newTokenEndpoint(t, 5, func(*tokenEndpoint, *http.Request) error { return nil })
	srv := newBearerServer(t)
	cl, eio := srv.client(t, ServiceAuth{Mode: AuthClientCredentials, ClientID: "c",
		Secret: "s", TokenURL: te.URL}, nil)
	cl.Lock(context.Background(), eio)
	cl.Lock(context.Background(), eio)
	if te.requests != 2 || srv.last() != "at-2" {
		t.Errorf("expiring token not refreshed: %d requests, bearer %q", te.requests, srv.last())
	}
	te2 := newTokenEndpoint(t, 5, func(*tokenEndpoint, *http.Request) error { return errors.New("no") })
	cl2, _ := srv.client(t, ServiceAuth{Mode: AuthClientCredentials, ClientID: "c",
		Secret: "s", TokenURL: te2.URL}, nil)
	_, err := cl2.Lock(context.Background(), eio)
	if !IsPermanent(err) || StatusCode(err) != 401 || strings.Contains(err.Error(), "secret") {
		t.Errorf("refused client: %v", err)
	}
}

// assertionCheck verifies a private_key_jwt client assertion the way an IdP does.
func assertionCheck(pub any, alg, kid, clientID string) func(*tokenEndpoint, *http.Request) error {
	return func(te *tokenEndpoint, r *http.Request) error {
		if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return errors.New("client_assertion_type")
		}
		var claims jwt.RegisteredClaims
		tok, err := jwt.ParseWithClaims(r.PostForm.Get("client_assertion"), &claims, func(t *jwt.Token) (any, error) {
			if t.Header["kid"] != kid {
				return nil, fmt.Errorf("kid %v", t.Header["kid"])
			}
			return pub, nil
		}, jwt.WithValidMethods([]string{alg}), jwt.WithIssuedAt(), jwt.WithExpirationRequired(),
			jwt.WithIssuer(clientID), jwt.WithSubject(clientID), jwt.WithAudience(te.URL+"/oauth/v2/token"))
		if err != nil {
			return err
		}
		if !tok.Valid || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 5*time.Minute {
			return errors.New("assertion lives longer than 5 minutes")
		}
		if claims.ID == "" || te.jtis[claims.ID] {
			return errors.New("jti missing or reused")
		}
		te.jtis[claims.ID] = true
		return nil
	}
}

func TestPrivateKeyJWT(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dir := t.TempDir()

	// RS256 from a ZITADEL key file.
	kf, _ := json.Marshal(map[string]string{"type": "application", "keyId": "81693565968962154",
		"key":   string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})),
		"appId": "1234", "clientId": "78366401571920522@acme"})
	keyFile := filepath.Join(dir, "key.json")
	if err := os.WriteFile(keyFile, kf, 0o600); err != nil {
		t.Fatal(err)
	}
	te := newTokenEndpoint(t, 3600, assertionCheck(&rsaKey.PublicKey, "RS256", "81693565968962154", "78366401571920522@acme"))
	srv := newBearerServer(t)
	cl, eio := srv.client(t, ServiceAuth{Mode: AuthPrivateKeyJWT, TokenURL: te.URL + "/oauth/v2/token",
		KeyFile: keyFile, Scopes: []string{"openid"}}, nil)
	for range 2 {
		if _, err := cl.Lock(context.Background(), eio); err != nil {
			t.Fatalf("%v (endpoint saw %v)", err, te.failures)
		}
	}
	if te.requests != 1 || srv.last() != "at-1" {
		t.Errorf("token not cached: %d requests, bearer %q", te.requests, srv.last())
	}

	// ES256 from a PKCS#8 PEM, with a short-lived token so every call signs a fresh assertion.
	der, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	te2 := newTokenEndpoint(t, 5, assertionCheck(&ecKey.PublicKey, "ES256", "ec-1", "signingd"))
	cl2, _ := srv.client(t, ServiceAuth{Mode: AuthPrivateKeyJWT, TokenURL: te2.URL + "/oauth/v2/token",
		ClientID: "signingd", KeyID: "ec-1",
		PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))}, nil)
	for range 3 {
		if _, err := cl2.Lock(context.Background(), eio); err != nil {
			t.Fatalf("%v (endpoint saw %v)", err, te2.failures)
		}
	}
	if te2.requests != 3 || len(te2.jtis) != 3 {
		t.Errorf("want 3 token requests with 3 distinct jti, got %d / %d", te2.requests, len(te2.jtis))
	}

	// A configured audience replaces the token URL; the endpoint above then refuses it.
	cl3, _ := srv.client(t, ServiceAuth{Mode: AuthPrivateKeyJWT, TokenURL: te2.URL + "/oauth/v2/token",
		ClientID: "signingd", KeyID: "ec-1", Audience: "https://issuer.example",
		PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))}, nil)
	if _, err := cl3.Lock(context.Background(), eio); StatusCode(err) != 401 || !strings.Contains(strings.Join(te2.failures, ";"), "aud") {
		t.Errorf("audience not applied: %v (%v)", err, te2.failures)
	}

	// Mismatched algorithm and key are refused at startup.
	_, err := NewRegistry(testLandscape(ServiceSpec{Kind: KindDRC, APIRoot: srv.URL, Auth: ServiceAuth{
		Mode: AuthPrivateKeyJWT, TokenURL: te.URL, ClientID: "x", Algorithm: "RS256",
		PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))}}), RegistryOptions{})
	if err == nil {
		t.Error("RS256 with an EC key accepted")
	}
}

// A token endpoint that redirects does not get the client secret re-sent to the redirect target.
func TestTokenEndpointRedirectNotFollowed(t *testing.T) {
	evil := newCountingServer(t, nil)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+"/token", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	srv := newBearerServer(t)
	cl, eio := srv.client(t, ServiceAuth{Mode: AuthClientCredentials, ClientID: "c",
		Secret: "s", TokenURL: redirector.URL + "/token"}, nil)
	if _, err := cl.Lock(context.Background(), eio); err == nil {
		t.Fatal("lock succeeded without a token")
	}
	if n := evil.n.Load(); n != 0 {
		t.Errorf("redirect target got %d token requests", n)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.tokens) != 0 {
		t.Errorf("the service got %d requests without a token", len(srv.tokens))
	}
}
