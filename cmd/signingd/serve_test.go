package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

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
	addr := freeAddr(t)
	landscape := "../../examples/landscape.yaml"
	t.Setenv("ZGW_SECRET", "demo-secret") // the example refers to it as env:ZGW_SECRET
	env := envFunc(map[string]string{
		"DATABASE_URL": dbtest.URL(t), "LISTEN_ADDR": addr, "CONFIG_FILE": landscape, "SECRET_KEY": "test-pepper",
		"SHUTDOWN_TIMEOUT": "5s", "LOG_LEVEL": "warn",
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, env, io.Discard, io.Discard) }()

	base := "http://" + addr
	waitReady(t, base)

	// A client as `signingd clients create` makes one.
	st := store.New(dbtest.Pool(t), nil)
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

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
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
