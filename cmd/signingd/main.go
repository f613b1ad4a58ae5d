// Command signingd gets documents of a zaak signed: run `signingd serve`, `signingd migrate`,
// `signingd clients …` or `signingd sim`.
package main

import (
	"context"
	"errors"
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
  signingd clients list|show|rotate-secret|add-key|revoke|delete   (signingd clients for details)
  signingd keys list|rotate      the token signing keys
  signingd config check [FILE]    report every problem of a landscape file, with its line
  signingd config reference      print the environment variables as a Markdown table
  signingd healthcheck           exit 0 when the local server answers /healthz (for containers)
  signingd version

Configuration comes from the environment (DATABASE_URL, LISTEN_ADDR, PUBLIC_URL, LOG_LEVEL, CONFIG_FILE,
SECRET_KEY, …; "signingd config reference" lists them all) and the landscape file; see README.md.
`

var errUsage = errors.New("see usage above")

// run is the whole program; tests call it too.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, getenv, stderr)
	case "dev":
		return dev(ctx, args[1:], getenv, stdout, stderr)
	case "sim":
		return simCmd(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, getenv, stderr)
	case "clients":
		return clients(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		return keys(ctx, args[1:], getenv, stdout, stderr)
	case "config":
		return configCmd(args[1:], getenv, stdout)
	case "healthcheck":
		return healthcheck(ctx, getenv)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "signingd", version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
