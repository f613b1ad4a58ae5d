package zgw_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signingd/signingd/zgw"
	"github.com/signingd/signingd/zgw/sim"
)

// idp is an OAuth2 token endpoint on loopback that authenticates clients by secret (basic or post)
// or by a private_key_jwt assertion, and issues RS256 access tokens with an rsin claim, as the
// OneGround IdP does.
type idp struct {
	*httptest.Server
	key    *rsa.PrivateKey
	issued atomic.Int64
}

func newIDP(t *testing.T, secret string, assertionKey any) *idp {
	p := &idp{}
	p.key, _ = rsa.GenerateKey(rand.Reader, 2048)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		var clientID string
		if a := r.PostForm.Get("client_assertion"); a != "" {
			var claims jwt.RegisteredClaims
			_, err := jwt.ParseWithClaims(a, &claims, func(*jwt.Token) (any, error) { return assertionKey, nil },
				jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience(p.URL+"/token"), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
			if err != nil || claims.Issuer != claims.Subject || claims.ID == "" {
				http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
				return
			}
			clientID = claims.Subject
		} else {
			id, s, ok := r.BasicAuth()
			if !ok {
				id, s = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
			}
			if s != secret {
				http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
				return
			}
			clientID = id
		}
		now := time.Now()
		at, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": p.URL, "client_id": clientID,
			"rsin": "002220647", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}).SignedString(p.key)
		p.issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(p.Close)
	return p
}

// The OAuth2 modes against the simulator in OneGround mode: the access token from the IdP is
// verified by the DRC (signature, rsin, client) and cached by the client.
func TestSimOneGroundOAuth(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	p := newIDP(t, "cc-secret", &ecKey.PublicKey)
	for _, c := range []struct {
		name string
		auth zgw.ServiceAuth
	}{
		{"client credentials", zgw.ServiceAuth{Mode: zgw.AuthClientCredentials, ClientID: "signingd",
			Secret: "cc-secret", TokenURL: p.URL + "/token", AuthStyle: "post"}},
		{"private_key_jwt", zgw.ServiceAuth{Mode: zgw.AuthPrivateKeyJWT, ClientID: "signingd", KeyID: "k1",
			TokenURL: p.URL + "/token", PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := p.issued.Load()
			e := newEnv(t, envOpts{auth: c.auth, sim: sim.Options{Tokens: sim.TokensOneGround, OAuthKeys: []any{&p.key.PublicKey},
				Clients: map[string]sim.Client{"signingd": {RSIN: "002220647", Scopes: []string{"documenten.lezen", "documenten.lock"}}}}})
			doc, _ := e.sim.SeedDocument([]byte("x"), sim.DocumentSeed{})
			ctx := context.Background()
			lock, err := e.c.Lock(ctx, doc)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.c.Unlock(ctx, doc, lock); err != nil {
				t.Fatal(err)
			}
			if _, err := e.c.RetrieveEIO(ctx, doc, 0); err != nil {
				t.Fatal(err)
			}
			if n := p.issued.Load() - before; n != 1 {
				t.Errorf("%d tokens issued for 3 calls, want 1", n)
			}
			recs := e.sim.RequestsTo(http.MethodPost, "/lock")
			if len(recs) != 1 {
				t.Fatalf("sim saw %d lock requests", len(recs))
			}
		})
	}
	// A token endpoint that refuses the client: a permanent error, and no ZGW request at all.
	e := newEnv(t, envOpts{auth: zgw.ServiceAuth{Mode: zgw.AuthClientCredentials, ClientID: "signingd",
		Secret: "wrong", TokenURL: p.URL + "/token"}, sim: sim.Options{Tokens: sim.TokensOneGround}})
	doc, _ := e.sim.SeedDocument([]byte("x"), sim.DocumentSeed{})
	if _, err := e.c.RetrieveEIO(context.Background(), doc, 0); !zgw.IsPermanent(err) || zgw.StatusCode(err) != 401 {
		t.Errorf("refused client: %v", err)
	}
	if n := len(e.sim.RequestsTo(http.MethodGet, "/enkelvoudiginformatieobjecten")); n != 0 {
		t.Errorf("sim got %d requests without a token", n)
	}
}
