package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
)

// TestAuthFullRunLogsNoSecrets drives the binary as an operator and a client would — clients
// registered by command (one with a ZITADEL key file), tokens by secret and by private_key_jwt,
// API calls, failures, revocation, key rotation — with every log line at debug level captured, and
// then looks for each secret, key, assertion and token in the logs and the audit trail.
func TestAuthFullRunLogsNoSecrets(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	landscape := filepath.Join(t.TempDir(), "landscape.yaml")
	if err := os.WriteFile(landscape, demoLandscape, 0o600); err != nil {
		t.Fatal(err)
	}
	env := envFunc(map[string]string{
		"DATABASE_URL": dbtest.URL(t), "LISTEN_ADDR": addr, "PUBLIC_URL": base, "CONFIG_FILE": landscape,
		"SECRET_KEY": "test-pepper", "KEY_ENCRYPTION_KEY": testKEK,
		"SHUTDOWN_TIMEOUT": "5s", "LOG_LEVEL": "debug",
	})
	logs := &testkit.SyncBuffer{}
	var sensitive []string
	cli := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(context.Background(), args, env, &out, logs); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	field := func(out, name string) string {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + name + `:\s+(\S+)$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %s in %q", name, out)
		}
		return m[1]
	}

	// A ZITADEL-style key file: the client keeps the private key, signingd keeps only the public half.
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}))
	kf, _ := json.Marshal(map[string]string{"type": "application", "keyId": "318276671", "key": privPEM, "clientId": "x", "appId": "y"})
	keyFile := filepath.Join(t.TempDir(), "zitadel.json")
	if err := os.WriteFile(keyFile, kf, 0o600); err != nil {
		t.Fatal(err)
	}
	sensitive = append(sensitive, strings.Split(strings.TrimSpace(privPEM), "\n")[1])

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, env, io.Discard, logs) }()
	for ready := false; !ready; {
		select {
		case err := <-done:
			t.Fatalf("serve stopped before it was ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			ready = res.StatusCode == 200
		}
	}

	out := cli("clients", "create", "--rsin", "002220647", "--name", "ZAC", "--api-key", "--key", keyFile)
	id, secret, apiKey := field(out, "client_id"), field(out, "client_secret"), field(out, "api_key")
	if field(out, "key_id") != "318276671" {
		t.Errorf("key id: %s", out)
	}
	if len(secret) < 43 {
		t.Errorf("secret %d chars, want ≥ 256 bits", len(secret))
	}
	sensitive = append(sensitive, secret, apiKey)

	post := func(path string, form url.Values, basic ...string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if len(basic) == 2 {
			req.SetBasicAuth(basic[0], basic[1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	apiGet := func(header, value string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/transactions", nil)
		req.Header.Set(header, value)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	cc := url.Values{"grant_type": {"client_credentials"}}

	status, m := post(auth.TokenPath, cc, id, secret)
	if status != 200 {
		t.Fatalf("token: %d %v", status, m)
	}
	tok := m["access_token"].(string)
	sensitive = append(sensitive, tok)
	if s := apiGet("Authorization", "Bearer "+tok); s != 200 {
		t.Errorf("API with token: %d", s)
	}
	if s := apiGet("X-API-Key", apiKey); s != 200 {
		t.Errorf("API with key: %d", s)
	}
	if s, _ := post(auth.TokenPath, cc, id, secret+"typo"); s != 401 {
		t.Errorf("wrong secret: %d", s)
	}
	sensitive = append(sensitive, secret+"typo")
	if s := apiGet("Authorization", "Bearer "+tok+"x"); s != 401 {
		t.Errorf("tampered token: %d", s)
	}

	// private_key_jwt with the key file's key, then the same assertion again.
	now := time.Now()
	a := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": id, "sub": id, "aud": base,
		"exp": now.Add(time.Minute).Unix(), "iat": now.Unix(), "jti": rand.Text()})
	a.Header["kid"] = "318276671"
	assertion, err := a.SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	sensitive = append(sensitive, assertion)
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {assertion}}
	status, m = post(auth.TokenPath, form)
	if status != 200 {
		t.Fatalf("private_key_jwt: %d %v", status, m)
	}
	tok2 := m["access_token"].(string)
	sensitive = append(sensitive, tok2)
	if s, m := post(auth.TokenPath, form); s != 401 || m["error"] != "invalid_client" {
		t.Errorf("replayed assertion: %d %v", s, m)
	}
	if s, m := post(auth.IntrospectionPath, url.Values{"token": {tok2}}, id, secret); s != 200 || m["active"] != true {
		t.Errorf("introspect: %d %v", s, m)
	}
	if s, _ := post(auth.RevocationPath, url.Values{"token": {tok2}}, id, secret); s != 200 {
		t.Errorf("revoke: %d", s)
	}
	if s := apiGet("Authorization", "Bearer "+tok2); s != 401 {
		t.Errorf("revoked token: %d", s)
	}

	out = cli("clients", "rotate-secret", id, "--grace", "0s")
	secret2 := field(out, "client_secret")
	sensitive = append(sensitive, secret2)
	if s, _ := post(auth.TokenPath, cc, id, secret); s != 401 {
		t.Errorf("old secret after rotation without grace: %d", s)
	}
	if s, _ := post(auth.TokenPath, cc, id, secret2); s != 200 {
		t.Errorf("new secret: %d", s)
	}
	// Refusals are counted until their minute is over (or serve stops): checked at the end.
	// The audit trail is written in batches, a moment after the requests: ask until it shows them.
	wants := []string{"318276671", "1 valid", "issued", "client_changed"}
	show := cli("clients", "show", id)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); show = cli("clients", "show", id) {
		if !slices.ContainsFunc(wants, func(w string) bool { return !strings.Contains(show, w) }) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, want := range wants {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	before := cli("keys", "list")
	cli("keys", "rotate")
	after := cli("keys", "list")
	if strings.Count(before, "ES256") != 2 || strings.Count(after, "ES256") != 3 || !strings.Contains(after, "previous") {
		t.Errorf("keys before rotation:\n%s\nafter:\n%s", before, after)
	}
	cli("clients", "revoke", id)
	if s, _ := post(auth.TokenPath, cc, id, secret2); s != 401 {
		t.Errorf("revoked client got a token: %d", s)
	}
	cli("clients", "delete", id)
	if !strings.Contains(cli("clients", "list"), "CLIENT_ID") {
		t.Error("list has no header")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}

	all := logs.String()
	if !strings.Contains(all, `"route":"/oauth2/token"`) {
		t.Fatalf("the logs don't show the token requests; captured:\n%s", all)
	}
	var trail strings.Builder
	rows, err := dbtest.Pool(t).Query(context.Background(), `SELECT a::text FROM auth_audit a`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		trail.WriteString(s + "\n")
	}
	if !strings.Contains(trail.String(), "wrong secret") || !strings.Contains(trail.String(), "replay") {
		t.Errorf("audit trail lacks the refusals:\n%s", trail.String())
	}
	for _, s := range sensitive {
		for _, part := range []string{s, s[len(s)/2:]} { // also a token's signature half
			if strings.Contains(all, part) {
				t.Errorf("logs contain a secret or token (%d chars)", len(s))
			}
			if strings.Contains(trail.String(), part) {
				t.Errorf("audit trail contains a secret or token (%d chars)", len(s))
			}
		}
	}
}

// clients create registers a client whole or not at all: a bad --key or --jwks-uri exits with an
// error and leaves nothing behind; --no-secret registers a key-only client (issue 15 item 9).
func TestClientsCreateWholeOrNothing(t *testing.T) {
	landscape := filepath.Join(t.TempDir(), "landscape.yaml")
	if err := os.WriteFile(landscape, demoLandscape, 0o600); err != nil {
		t.Fatal(err)
	}
	dbURL := dbtest.NewDatabase(t)
	env := envFunc(map[string]string{"DATABASE_URL": dbURL, "CONFIG_FILE": landscape, "SECRET_KEY": "test-pepper",
		"KEY_ENCRYPTION_KEY": testKEK, "CLIENT_JWKS_HOSTS": "idp.example", "LOG_LEVEL": "warn"})
	pool, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	count := func(table string) int {
		var n int
		if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	badKey := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(badKey, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"clients", "create", "--rsin", "002220647", "--name", "ZAC", "--api-key"}
	for name, extra := range map[string][]string{
		"unreadable key":         {"--key", badKey},
		"missing key file":       {"--key", filepath.Join(t.TempDir(), "none.pem")},
		"jwks_uri over http":     {"--jwks-uri", "http://idp.example/jwks"},
		"jwks_uri host not ours": {"--jwks-uri", "https://evil.example/jwks"},
		"key-only without a key": {"--no-secret"},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), append(append([]string{}, base...), extra...), env, &out, io.Discard); err == nil {
			t.Errorf("%s: clients create succeeded:\n%s", name, out.String())
		}
		if strings.Contains(out.String(), "client_secret") {
			t.Errorf("%s: printed a secret for a client that was not created", name)
		}
	}
	for _, table := range []string{"api_clients", "client_secrets", "api_keys", "client_keys"} {
		if n := count(table); n != 0 {
			t.Errorf("failed creates left %d rows in %s", n, table)
		}
	}

	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(priv.Public())
	keyFile := filepath.Join(t.TempDir(), "pub.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"clients", "create", "--rsin", "002220647", "--name", "ZAC", "--no-secret", "--key", keyFile}, env, &out, io.Discard); err != nil {
		t.Fatalf("key-only client: %v", err)
	}
	if strings.Contains(out.String(), "client_secret") || !strings.Contains(out.String(), "key_id:") {
		t.Errorf("key-only client output:\n%s", out.String())
	}
	if count("api_clients") != 1 || count("client_secrets") != 0 || count("client_keys") != 1 {
		t.Errorf("key-only client: %d clients, %d secrets, %d keys", count("api_clients"), count("client_secrets"), count("client_keys"))
	}
}

// demoLandscape is one organisation signed for by a vendor that is never called.
var demoLandscape = []byte(`organisations:
  - rsin: "002220647"
    name: Gemeente Demo
    provider: simulated
providers:
  - name: simulated
    base_url: http://vendor.invalid
    callback_key: "not used"
`)
