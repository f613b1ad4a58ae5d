package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// unreachableEnv points every command at a database that does not answer: a command that touches
// it fails.
var unreachableEnv = envFunc(map[string]string{
	"DATABASE_URL": "postgres://127.0.0.1:1/x?connect_timeout=1",
	"LISTEN_ADDR":  "127.0.0.1:1",
	"SIM_ADDR":     "127.0.0.1:1",
	"VENDOR_ADDR":  "127.0.0.1:1",
})

// commandPaths lists every command and subcommand of signingd as typed, groups included.
func commandPaths(c command, prefix []string) [][]string {
	var out [][]string
	for _, s := range c.sub {
		line := append(prefix[:len(prefix):len(prefix)], strings.Fields(s.name)[len(prefix)])
		out = append(out, line)
		out = append(out, commandPaths(s, line)...)
	}
	return out
}

func runCapture(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err = run(ctx, args, unreachableEnv, &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestHelp runs `signingd <command> -h` (and --help) for every command and subcommand with no
// database: each prints its usage and succeeds without touching anything; an unknown flag is refused
// with the usage.
func TestHelp(t *testing.T) {
	t.Parallel()
	lines := commandPaths(root, nil)
	if len(lines) < 18 {
		t.Fatalf("walked %d commands, want every one: %v", len(lines), lines)
	}
	for _, line := range lines {
		name := strings.Join(line, " ")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, h := range []string{"-h", "--help"} {
				stdout, stderr, err := runCapture(t, append(line, h)...)
				if err != nil {
					t.Fatalf("signingd %s %s: %v\nstderr: %s", name, h, err, stderr)
				}
				if !strings.Contains(stdout, "Usage:") || !strings.Contains(stdout, "signingd "+name) {
					t.Errorf("signingd %s %s printed no usage of it:\n%s", name, h, stdout)
				}
			}
			stdout, stderr, err := runCapture(t, append(line, "--no-such-flag")...)
			if err == nil {
				t.Fatalf("signingd %s --no-such-flag succeeded; stdout: %s", name, stdout)
			}
			if !strings.Contains(stderr, "Usage:") {
				t.Errorf("signingd %s --no-such-flag: %v, but no usage on stderr: %q", name, err, stderr)
			}
			if !strings.Contains(err.Error(), "no-such-flag") && !strings.Contains(err.Error(), "unknown command") {
				t.Errorf("signingd %s --no-such-flag: error %q names neither the flag nor the command", name, err)
			}
		})
	}
}

// TestHelpTop: the program itself answers -h, and a missing or unknown command is a mistake.
func TestHelpTop(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		stdout, _, err := runCapture(t, args...)
		if err != nil || !strings.Contains(stdout, "signingd serve") {
			t.Errorf("signingd %v: %v\n%s", args, err, stdout)
		}
	}
	for _, args := range [][]string{nil, {"nonsense"}, {"clients"}, {"clients", "nonsense"}} {
		if _, stderr, err := runCapture(t, args...); err == nil || !strings.Contains(stderr, "Usage:") {
			t.Errorf("signingd %v: %v, stderr %q; want an error with usage", args, err, stderr)
		}
	}
}

// TestCommandLineChecks: arguments are checked before the database is opened, flags may follow a
// positional argument, and -h after one still answers with usage.
func TestCommandLineChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"clients", "show"}, "missing arguments"},
		{[]string{"clients", "revoke", "a", "b"}, "unexpected arguments: b"},
		{[]string{"config", "check", "a.yaml", "b.yaml"}, "unexpected arguments: b.yaml"},
		{[]string{"clients", "add-key", "CLIENT", "--kid", "k"}, "exactly one of --key and --jwks-uri"},
		{[]string{"clients", "create", "--rsin", "002220647"}, "needs --rsin and --name"},
		{[]string{"clients", "create", "--rsin", "002220647", "--name", "n", "--scopes", "nope"}, `unknown scope "nope"`},
		{[]string{"serve", "extra"}, "unexpected arguments: extra"},
	} {
		_, _, err := runCapture(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("signingd %v: %v; want %q", tc.args, err, tc.want)
		}
	}
	stdout, _, err := runCapture(t, "clients", "add-key", "CLIENT", "-h")
	if err != nil || !strings.Contains(stdout, "--jwks-uri") {
		t.Errorf("clients add-key CLIENT -h: %v\n%s", err, stdout)
	}
	stdout, _, err = runCapture(t, "version")
	if err != nil || !strings.Contains(stdout, "signingd "+version) {
		t.Errorf("version: %v %q", err, stdout)
	}
}
