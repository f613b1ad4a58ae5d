package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/zgw/sim"
)

const simUsage = `Usage: signingd sim [--vendor] [--webhook URL]

Runs the ZGW simulator on SIM_ADDR (default :8090): Documenten, Zaken, Catalogi and Notificaties
without authentication, and its /_sim/ API to seed and inspect. With --vendor, the simulated signing
vendor runs on VENDOR_ADDR (default :8091) too, calling --webhook with bodies signed with
WEBHOOK_SECRET (literal, env:NAME or file:/path). SIM_URL overrides the base URL the simulator puts
in its resource URLs. State lives in memory until Ctrl-C.
`

// simFlags runs the simulators on their own, for a signingd (or another client) started elsewhere.
func simFlags(fs *flag.FlagSet) action {
	withVendor := fs.Bool("vendor", false, "also run the simulated signing vendor")
	webhook := fs.String("webhook", "http://localhost:8080/api/v1/providers/simulated/webhook", "where the vendor posts its webhooks")
	return func(ctx context.Context, e env, _ []string) error {
		return simCmd(ctx, *withVendor, *webhook, e.getenv, e.stdout, e.stderr)
	}
}

func simCmd(ctx context.Context, withVendor bool, webhook string, getenv func(string) string, stdout, stderr io.Writer) error {
	or := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	simLn, err := net.Listen("tcp", or("SIM_ADDR", ":8090"))
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	defer simLn.Close()
	base := or("SIM_URL", lnURL(simLn))
	s, err := sim.New(sim.Options{BaseURL: base, Logger: slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	defer s.Close()
	defer serveBackground(simLn, s.Handler())()
	fmt.Fprintf(stdout, "ZGW simulator on %s\n  DRC  %s\n  ZRC  %s\n  ZTC  %s\n  NRC  %s\n  seed and inspect: %s/_sim/ (documents/{uuid}/versions, locks, notifications, deliveries, requests, faults, seed/...)\n",
		base, s.DRC(), s.ZRC(), s.ZTC(), s.NRC(), base)
	if withVendor {
		secret, err := config.ParseSecret(getenv("WEBHOOK_SECRET"))
		if err != nil {
			return fmt.Errorf("sim: WEBHOOK_SECRET: %w", err)
		}
		if secret.Value() == "" {
			fmt.Fprintln(stderr, "sim: WEBHOOK_SECRET is empty: webhooks are signed with an empty key")
		}
		vendorLn, err := net.Listen("tcp", or("VENDOR_ADDR", ":8091"))
		if err != nil {
			return fmt.Errorf("sim: vendor: %w", err)
		}
		defer vendorLn.Close()
		v := simulated.NewServer(simulated.ServerOptions{WebhookURL: webhook, WebhookSecret: secret.Value()})
		defer v.Close()
		defer serveBackground(vendorLn, v.Handler())()
		fmt.Fprintf(stdout, "vendor simulator on %s/api/signings (webhooks to %s)\n  sign:    POST %s/api/signings/{id}/signers/{position}/sign\n  decline: POST %s/api/signings/{id}/signers/{position}/decline {\"reden\": \"...\"}\n",
			lnURL(vendorLn), webhook, lnURL(vendorLn), lnURL(vendorLn))
	}
	<-ctx.Done()
	return nil
}
