package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/api"
	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/metrics"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var pepper = []byte("test pepper")

// clock is a settable time source shared by the service and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		c.t = time.Now()
	}
	c.t = c.t.Add(d)
}

type env struct {
	t      testing.TB
	bearer *auth.Bearer
	srv    *httptest.Server
	st     *store.Store
	svc    *auth.Service
	keys   *auth.KeyRing
	signer *ecdsa.PrivateKey // the file key that signs our tokens (file key ring), nil with a database ring or rsa
	rsaKey *rsa.PrivateKey   // the file key with options.rsa
	kid    string
	clock  *clock
	rsin   string
	logs   *testkit.SyncBuffer
}

type options struct {
	dbKeys            bool
	issuers           []config.Issuer
	ratePerClient     float64
	ratePerAddress    float64
	lockout           int
	clientJWKSHosts   []string
	jwksRefreshWindow time.Duration
	logs              *testkit.SyncBuffer
	mounts            []func(*echo.Echo)
	metrics           *metrics.Metrics
	// noWatch leaves the database's change announcements unheard, as when the listener is down.
	noWatch bool
	// rsa signs our tokens with an RSA file key (RS256) instead of EC P-256 (ES256).
	rsa bool
}

// setup runs the whole HTTP stack (API and token service) on loopback against the package's
// database. Our tokens are signed with a file key the test also holds, so it can forge bad ones.
func setup(t testing.TB, opts ...func(*options)) *env {
	t.Helper()
	o := options{ratePerClient: 1000, ratePerAddress: 1000, lockout: 1000}
	for _, f := range opts {
		f(&o)
	}
	if o.logs == nil {
		o.logs = &testkit.SyncBuffer{}
	}
	logger := slog.New(slog.NewJSONHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	pool := dbtest.Pool(t)
	st := store.New(pool, store.Jobs{})
	e := &env{t: t, st: st, clock: &clock{}, rsin: dbtest.NewRSIN(), logs: o.logs}
	if err := st.SyncOrganisations(ctx, map[string]string{e.rsin: "Gemeente " + e.rsin}); err != nil {
		t.Fatal(err)
	}
	var changes *auth.Changes
	if !o.noWatch {
		changes = new(auth.Changes)
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { changes.Watch(ctx, st, logger, o.metrics); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	var err error
	switch {
	case o.dbKeys:
		kek := make([]byte, 32)
		_, _ = rand.Read(kek)
		e.keys, err = auth.NewKeyRing(ctx, auth.KeyRingOptions{Store: st, KEK: kek, Now: e.clock.Now, Logger: logger})
	case o.rsa:
		e.rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		e.keys, err = auth.NewFileKeyRing([]string{writePEM(t, e.rsaKey)})
		jwk, _ := auth.NewJWK(e.rsaKey.Public(), "", "")
		e.kid = jwk.Thumbprint()
	default:
		e.signer, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		e.keys, err = auth.NewFileKeyRing([]string{writePEM(t, e.signer)})
		jwk, _ := auth.NewJWK(e.signer.Public(), "", "")
		e.kid = jwk.Thumbprint()
	}
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(nil)
	issuer := "http://" + e.srv.Listener.Addr().String()
	e.svc, err = auth.NewService(auth.Options{
		Store: st, Pepper: pepper, Keys: e.keys, Issuer: issuer, Logger: logger, Now: e.clock.Now,
		RatePerClient: o.ratePerClient, RatePerAddress: o.ratePerAddress, LockoutThreshold: o.lockout,
		ClientJWKSHosts: o.clientJWKSHosts, JWKSRefreshWindow: o.jwksRefreshWindow, Metrics: o.metrics,
		Changes: changes,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.svc.Close)
	bearer, err := auth.NewBearer(auth.BearerOptions{Service: e.svc, Issuers: o.issuers, Store: st, Logger: logger,
		Now: e.clock.Now, JWKSRefreshWindow: o.jwksRefreshWindow, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	e.bearer = bearer
	apiKeys := auth.NewAPIKeys(st, pepper)
	apiKeys.Changes = changes
	e.srv.Config.Handler = api.New(api.Deps{Store: st, Auth: auth.Chain{bearer, apiKeys},
		PublicURL: issuer, Logger: logger, Mounts: append([]func(*echo.Echo){e.svc.Mount}, o.mounts...),
		Metrics: o.metrics, ServeMetrics: o.metrics != nil})
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

func writePEM(t testing.TB, k any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// client registers a client with a secret in the test's organisation.
func (e *env) client(scopes ...string) (clientID, secret string) {
	e.t.Helper()
	if len(scopes) == 0 {
		scopes = auth.AllScopes
	}
	c, err := e.st.CreateClient(context.Background(), store.NewClientID(), "test", e.rsin, scopes)
	if err != nil {
		e.t.Fatal(err)
	}
	secret = auth.GenerateSecret()
	if err := e.st.AddClientSecret(context.Background(), c.ID, auth.SecretDigest(pepper, secret), nil); err != nil {
		e.t.Fatal(err)
	}
	return c.ClientID, secret
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not JSON: %v\n%s", r.status, err, r.body)
	}
	return m
}

func (e *env) send(req *http.Request) response {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

// post sends a form to a path; basic, when not empty, is "id:secret".
func (e *env) post(path string, form url.Values, basic ...string) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return e.send(req)
}

// token gets an access token with client_secret_basic.
func (e *env) token(clientID, secret string, scope ...string) string {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(scope) > 0 {
		form.Set("scope", strings.Join(scope, " "))
	}
	r := e.post(auth.TokenPath, form, clientID, secret)
	if r.status != http.StatusOK {
		e.t.Fatalf("token: %d %s", r.status, r.body)
	}
	return r.json(e.t)["access_token"].(string)
}

// api calls GET /api/v1/transactions with the bearer token.
func (e *env) api(token string) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/transactions", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return e.send(req)
}

// forge signs claims with the test's file key and the given header changes.
func (e *env) forge(claims jwt.MapClaims, header map[string]any) string {
	e.t.Helper()
	var method jwt.SigningMethod = jwt.SigningMethodES256
	var key any = e.signer
	if e.rsaKey != nil {
		method, key = jwt.SigningMethodRS256, e.rsaKey
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["typ"] = "at+jwt"
	tok.Header["kid"] = e.kid
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// goodClaims are claims of a valid token of ours for the client.
func (e *env) goodClaims(clientID string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": e.svc.Issuer(), "aud": e.svc.Audience(), "sub": clientID, "client_id": clientID,
		"scope": strings.Join(auth.AllScopes, " "), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"jti": rand.Text(), "rsin": e.rsin}
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

// decode returns the header and claims of a JWT without verifying it.
func decode(t *testing.T, token string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	var h, c map[string]any
	for i, dst := range []*map[string]any{&h, &c} {
		b, err := jwt.NewParser().DecodeSegment(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return h, c
}
