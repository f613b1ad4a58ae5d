package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signingd/signingd/api"
	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/builtin"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// testKEK is a KEY_ENCRYPTION_KEY for tests (32 bytes, base64).
const testKEK = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// TestServe runs the binary's serve command as a user would: it migrates, serves the README's curl,
// and stops cleanly when told to.
func TestServe(t *testing.T) {
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	landscape := "../../examples/landscape.yaml"
	t.Setenv("ZGW_SECRET", "demo-secret") // the example refers to it as env:ZGW_SECRET
	dbURL := dbtest.NewDatabase(t)
	env := envFunc(map[string]string{
		"DATABASE_URL": dbURL, "LISTEN_ADDR": addr, "CONFIG_FILE": landscape, "SECRET_KEY": "test-pepper", "KEY_ENCRYPTION_KEY": testKEK,
		"SHUTDOWN_TIMEOUT": "5s", "LOG_LEVEL": "warn", "METRICS_ADDR": metricsAddr,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, env, io.Discard, io.Discard) }()

	base := "http://" + addr
	waitServing(t, base, done)

	// A client as `signingd clients create` makes one.
	pool, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool, store.Jobs{})
	c, err := st.CreateClient(context.Background(), store.NewClientID(), "ZAC", "002220647", auth.AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	key := auth.GenerateAPIKey()
	if err := st.AddAPIKey(context.Background(), c.ID, auth.NewAPIKeys(st, []byte("test-pepper")).Digest(key)); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("../../signing/testdata/trigger-minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/transactions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "transaction_id") {
		t.Fatalf("trigger: %d %s", res.StatusCode, b)
	}

	if err := run(context.Background(), []string{"healthcheck"}, env, io.Discard, io.Discard); err != nil {
		t.Errorf("healthcheck of a serving server: %v", err)
	}
	// With METRICS_ADDR, /metrics is on that address only, not on the public listener.
	for u, want := range map[string]int{base + "/metrics": http.StatusNotFound, "http://" + metricsAddr + "/metrics": http.StatusOK} {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", u, res.StatusCode, want)
		}
	}

	cancel() // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10 s")
	}
	if err := run(context.Background(), []string{"healthcheck"}, env, io.Discard, io.Discard); err == nil {
		t.Error("healthcheck passes after shutdown")
	}
}

// waitServing waits for /readyz, failing at once when serve returns (done) before it is ready.
func waitServing(t *testing.T, base string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve stopped before it was ready: %v", err)
		default:
		}
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("serve never became ready")
}

func TestServeRefusesOldSchema(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbtest.BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := "signingd_test_oldschema_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)") //nolint:errcheck
	env := envFunc(map[string]string{"DATABASE_URL": dbtest.URLFor(name), "MIGRATE_ON_START": "false", "LISTEN_ADDR": freeAddr(t)})
	err = run(ctx, []string{"serve"}, env, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "behind") {
		t.Fatalf("serve on an unmigrated database: %v", err)
	}
}

func TestConfigErrorsAreClear(t *testing.T) {
	_, err := config.FromEnv(envFunc(map[string]string{"LOG_LEVEL": "loud"}))
	if err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Errorf("bad LOG_LEVEL: %v", err)
	}
	err = run(context.Background(), []string{"frobnicate"}, envFunc(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("unknown command: %v", err)
	}
}

func TestConfigCheckCommand(t *testing.T) {
	broken := t.TempDir() + "/landscape.yaml"
	if err := os.WriteFile(broken, []byte("organisations:\n  - rsin: \"12\"\n    name: x\n    services:\n      - kind: dms\n        api_root: https://d.example/api/v1/\n        auth: {mode: none}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"config", "check", broken}, envFunc(nil), &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "3 problems") {
		t.Fatalf("check of a broken file: %v", err)
	}
	for _, want := range []string{":line 2: organisations[0].rsin:", ":line 2: organisations[0].provider: required", ":line 5: organisations[0].services[0].kind:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Setenv("ZGW_SECRET", "x")
	out.Reset()
	if err := run(context.Background(), []string{"config", "check", "../../examples/landscape.yaml"}, envFunc(nil), &out, io.Discard); err != nil {
		t.Errorf("example landscape: %v\n%s", err, out.String())
	}
}

// Only dev has an outbox: serve refuses BUILTIN_DEV_OUTBOX instead of showing every link and code.
func TestServeRefusesDevOutbox(t *testing.T) {
	env := envFunc(map[string]string{"DATABASE_URL": dbtest.NewDatabase(t), "LISTEN_ADDR": freeAddr(t), "BUILTIN_DEV_OUTBOX": "true",
		"SECRET_KEY": "test-pepper", "KEY_ENCRYPTION_KEY": testKEK, "LOG_LEVEL": "warn"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, env, io.Discard, io.Discard) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "BUILTIN_DEV_OUTBOX") {
			t.Fatalf("serve with BUILTIN_DEV_OUTBOX: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve started with BUILTIN_DEV_OUTBOX")
	}
}

// serve refuses to start without SECRET_KEY or KEY_ENCRYPTION_KEY: neither the pepper nor the key
// that seals the token keys may sit in the database it protects (issue 15 item 7).
func TestServeRefusesWithoutKeys(t *testing.T) {
	dbURL := dbtest.NewDatabase(t)
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"no SECRET_KEY":         {map[string]string{"KEY_ENCRYPTION_KEY": testKEK}, "SECRET_KEY must be set"},
		"no KEY_ENCRYPTION_KEY": {map[string]string{"SECRET_KEY": "test-pepper"}, "KEY_ENCRYPTION_KEY must be set"},
		"neither":               {map[string]string{}, "SECRET_KEY and KEY_ENCRYPTION_KEY must be set"},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": dbURL, "LISTEN_ADDR": freeAddr(t), "LOG_LEVEL": "warn"}
			for k, v := range tc.env {
				env[k] = v
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{"serve"}, envFunc(env), io.Discard, io.Discard) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("serve: %v, want %q", err, tc.want)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("serve started")
			}
		})
	}
	// Nothing secret was generated into the database meanwhile.
	pool, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM settings").Scan(&n); err != nil || n != 0 {
		t.Errorf("settings rows: %d (%v)", n, err)
	}
}

// TestReadyzConcurrently asks for readiness from many probes at once, as load balancers do: every one
// is answered ready, and the schema check they share is remembered without a data race (a plain bool
// fails here under -race: several probes pass the check and write it at once). The probes call the
// check itself: through HTTP, echo's context pool orders the handlers for the race detector.
func TestReadyzConcurrently(t *testing.T) {
	pool := dbtest.Pool(t)
	st := store.New(pool, store.Jobs{})
	ready := readiness(st, pool)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 16 {
		wg.Go(func() {
			<-start
			for range 3 {
				if err := ready(context.Background()); err != nil {
					t.Errorf("not ready: %v", err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	srv := httptest.NewServer(api.New(api.Deps{Store: st, Ready: ready, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %d", res.StatusCode)
	}
}

// TestProvidersRunning: serve does not start while an organisation's provider is not running here.
func TestProvidersRunning(t *testing.T) {
	if config.BuiltinProvider != builtin.Name {
		t.Fatalf("config.BuiltinProvider %q, builtin.Name %q", config.BuiltinProvider, builtin.Name)
	}
	land := config.Landscape{DefaultProvider: builtin.Name, Organisations: []config.Organisation{
		{RSIN: "002220647", Name: "A"}, {RSIN: "813264571", Name: "B", Provider: simulated.Name}}}
	running := map[string]signing.Provider{simulated.Name: nil}
	err := providersRunning(land, running)
	if err == nil || !strings.Contains(err.Error(), `organisation 002220647: provider "builtin" is not running (the built-in signer needs BUILTIN_SMTP_ADDR)`) ||
		strings.Contains(err.Error(), "813264571") {
		t.Errorf("err = %v, want organisation 002220647's builtin named", err)
	}
	running[builtin.Name] = nil
	if err := providersRunning(land, running); err != nil {
		t.Errorf("all running: %v", err)
	}
}
