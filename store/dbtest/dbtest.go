// Package dbtest gives each test package a fresh, migrated database of its own on the Postgres of
// DATABASE_URL, dropped when the package's tests end.
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
//
// Tests then share dbtest.Pool(t) and keep out of each other's way by creating their own
// organisations and clients.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/store"
)

var (
	dbURL string
	pool  *pgxpool.Pool
)

// BaseURL is the server URL tests use: DATABASE_URL or the local default.
func BaseURL() string {
	if v := os.Getenv("DATABASE_URL"); v != "" {
		return v
	}
	return config.DefaultDatabaseURL
}

// Main creates the package's database, runs the tests and drops it.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, err := create(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		return 1
	}
	defer drop(name)
	pool, err = store.Open(ctx, dbURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		return 1
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		return 1
	}
	return m.Run()
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]`)

func create(ctx context.Context) (string, error) {
	pkg := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "signingd_test_" + unsafeChars.ReplaceAllString(strings.ToLower(pkg), "_") + "_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, BaseURL())
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w (is Postgres running?)", redact(BaseURL()), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	dbURL = URLFor(name)
	return name, nil
}

func drop(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, BaseURL())
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbtest: drop:", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest: drop:", err)
	}
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "DATABASE_URL"
	}
	return u.Redacted()
}

// URL returns the connection URL of the package's database.
func URL(t testing.TB) string {
	t.Helper()
	if dbURL == "" {
		t.Fatal("dbtest: call dbtest.Main from TestMain")
	}
	return dbURL
}

// URLFor returns the connection URL of another database on the same server.
func URLFor(name string) string {
	u, err := url.Parse(BaseURL())
	if err != nil {
		return ""
	}
	u.Path = "/" + name
	return u.String()
}

// Pool returns the package's shared pool.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	if pool == nil {
		t.Fatal("dbtest: call dbtest.Main from TestMain")
	}
	return pool
}

// NewRSIN returns a random 9-digit RSIN, so each test has an organisation of its own.
func NewRSIN() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	n := uint64(0)
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return fmt.Sprintf("%09d", n%1_000_000_000)
}

// NewDatabase creates a fresh, migrated database for one test and drops it when the test ends; for
// tests that need state no other test of the package shares (e.g. their own token keys).
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "signingd_test_own_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drop(name) })
	p, err := store.Open(ctx, URLFor(name))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := store.Migrate(ctx, p); err != nil {
		t.Fatal(err)
	}
	return URLFor(name)
}
