// Command signingd gets documents of a zaak signed: run `signingd serve`, `signingd migrate`,
// `signingd clients …` or `signingd sim`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "signingd:", err)
		os.Exit(1)
	}
}

const usage = `signingd — documents of a zaak signed, the ZGW way.

Usage:
  signingd serve                 run the service (migrates first unless MIGRATE_ON_START=false)
  signingd migrate               apply database migrations
  signingd dev                   try it: simulators, demo data and signingd in one process (see dev -h)
  signingd sim [--vendor]        the ZGW simulator (SIM_ADDR) and optionally the vendor simulator (VENDOR_ADDR)
  signingd clients create --rsin RSIN --name NAME [--scopes a,b] [--key FILE | --jwks-uri URL] [--api-key]
  signingd clients list|show|rotate-secret|add-key|revoke|delete   (signingd clients -h for details)
  signingd keys list|rotate      the token signing keys
  signingd config check [FILE]   report every problem of a landscape file, with its line
  signingd config reference      print the environment variables as a Markdown table
  signingd healthcheck           exit 0 when the local server answers /healthz (for containers)
  signingd version
  signingd help

Every command answers -h with its usage.

Configuration comes from the environment (DATABASE_URL, LISTEN_ADDR, PUBLIC_URL, LOG_LEVEL, CONFIG_FILE,
SECRET_KEY, …; "signingd config reference" lists them all) and the landscape file; see README.md.
`

// root is every command of signingd; the test of -h walks it.
var root = command{usage: usage, sub: []command{
	{name: "serve", usage: serveUsage, flags: noFlags(func(ctx context.Context, e env, _ []string) error {
		return serve(ctx, e.getenv, e.stderr)
	})},
	{name: "migrate", usage: migrateUsage, flags: noFlags(func(ctx context.Context, e env, _ []string) error {
		return migrate(ctx, e.getenv, e.stderr)
	})},
	{name: "dev", usage: devUsage, flags: devFlags},
	{name: "sim", maxArgs: 1, usage: simUsage, flags: simFlags},
	clientsCommand,
	keysCommand,
	configCommand,
	{name: "healthcheck", usage: healthcheckUsage, flags: noFlags(func(ctx context.Context, e env, _ []string) error {
		return healthcheck(ctx, e.getenv)
	})},
	{name: "version", usage: "Usage: signingd version\n\nPrints the version of this binary.\n", flags: noFlags(func(_ context.Context, e env, _ []string) error {
		fmt.Fprintln(e.stdout, "signingd", version)
		return nil
	})},
	{name: "help", usage: usage, flags: noFlags(func(_ context.Context, e env, _ []string) error {
		fmt.Fprint(e.stdout, usage)
		return nil
	})},
}}

const serveUsage = `Usage: signingd serve

Runs the service on LISTEN_ADDR: the API, the token endpoint, the built-in signer's pages and the
workflow's jobs. It migrates the database first unless MIGRATE_ON_START=false, and then refuses a
schema that is behind. Configuration comes from the environment ("signingd config reference").
`

const migrateUsage = `Usage: signingd migrate

Applies the database migrations to DATABASE_URL and exits.
`

const healthcheckUsage = `Usage: signingd healthcheck

Exits 0 when the server on LISTEN_ADDR's port of this host answers /healthz (for container
HEALTHCHECKs on images without curl).
`

// run is the whole program; tests call it too. -h or --help on any command prints its usage and
// succeeds without touching anything else.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-v") {
		args = append([]string{"version"}, args[1:]...)
	}
	err := root.exec(ctx, env{getenv: getenv, stdout: stdout, stderr: stderr}, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}
