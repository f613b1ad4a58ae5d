package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/store/dbtest"
)

// TestMakeRunPastedAtOnce is the README's try-out as a new user does it: `make run
// ARGS='--provider simulated'` (and onespan, the ValidSign simulator) in a terminal, every printed
// command pasted at once and in order (a signing, then an abort), and Ctrl-C. Both notifications
// arrive, nothing is logged as an error, make exits 0 without complaint and the demo database is
// gone.
func TestMakeRunPastedAtOnce(t *testing.T) {
	testkit.NeedTool(t, "make", "script", "bash", "curl", "sed")
	for _, tt := range []struct{ provider, lastLine, atVendor string }{
		{"simulated", "/signers/0/decline", "signing at the vendor: sim_"},
		{"onespan", "/decline -d", "package at the vendor: "},
		{"documenso", "/reject?email=", "envelope at the vendor: envelope_"},
		{"docuseal", "/decline?email=", "submission at the vendor: "},
	} {
		t.Run(tt.provider, func(t *testing.T) { makeRunPastedAtOnce(t, tt.provider, tt.lastLine, tt.atVendor) })
	}
}

func makeRunPastedAtOnce(t *testing.T, provider, lastLine, atVendor string) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	db := "signingd_dev_test_" + hex.EncodeToString(b)
	env := []string{"LISTEN_ADDR=" + freeAddr(t), "SIM_ADDR=" + freeAddr(t), "VENDOR_ADDR=" + freeAddr(t), "DATABASE_URL=" + dbtest.BaseURL()}

	// script gives make a terminal of its own; what the test writes to its input is typed there
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "script", "-qfec",
		`make run ARGS='--provider `+provider+` --dir `+t.TempDir()+` --database `+db+`'; echo "make exit=$?"`, "/dev/null")
	cmd.Dir = "../.."
	cmd.Env = append(cmd.Environ(), env...)
	out := &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	keys, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if t.Failed() {
			t.Logf("terminal:\n%s", out.String())
		}
	}()
	screen := func() string { return strings.ReplaceAll(out.String(), "\r\n", "\n") }
	waitFor := func(what string, timeout time.Duration, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !cond(screen()) {
			select {
			case err := <-done:
				t.Fatalf("make run ended (%v) before %s", err, what)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s within %s", what, timeout)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// go run compiles first: minutes on a busy machine
	waitFor("printed instructions", 5*time.Minute, func(s string) bool { return strings.Contains(s, lastLine) })

	pasted := bash(t, strings.Join(commandLines(screen()), "\n"))
	ids := regexp.MustCompile(`(?m)^([0-9a-f]{8}-[0-9a-f-]{27})$`).FindAllString(pasted, -1)
	if len(ids) != 2 {
		t.Fatalf("the two triggers printed %d transaction ids:\n%s", len(ids), pasted)
	}
	for _, want := range []string{"token received", atVendor} {
		if !strings.Contains(pasted, want) {
			t.Errorf("the pasted commands did not print %q:\n%s", want, pasted)
		}
	}
	if strings.Contains(pasted, "none yet") {
		t.Errorf("the signing never reached the vendor:\n%s", pasted)
	}
	waitFor("OndertekenenVoltooid and OndertekenenAfgebroken", 2*time.Minute, func(s string) bool {
		return strings.Contains(s, "ZAC received notification OndertekenenVoltooid: transaction_id="+ids[0]) &&
			strings.Contains(s, "ZAC received notification OndertekenenAfgebroken: transaction_id="+ids[1])
	})

	if _, err := io.WriteString(keys, "\x03"); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	waitFor("exit of make", time.Minute, func(s string) bool { return strings.Contains(s, "make exit=") })
	<-done
	s := screen()
	if !strings.Contains(s, "make exit=0") || strings.Contains(s, "make: ***") {
		t.Errorf("Ctrl-C did not end make run cleanly:\n%s", s[strings.LastIndex(s, "ZAC received"):])
	}
	if strings.Contains(s, `"level":"ERROR"`) {
		t.Errorf("an error was logged")
	}
	conn, err := pgx.Connect(context.Background(), dbtest.BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var left bool
	if err := conn.QueryRow(context.Background(), "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", db).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left {
		t.Errorf("database %s is left behind", db)
	}
}
