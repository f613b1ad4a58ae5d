package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/signing/providers/documenso/documensosim"
	"github.com/signingd/signingd/signing/providers/docuseal/docusealsim"
	"github.com/signingd/signingd/signing/providers/onespan/onespansim"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/zgw/sim"
)

const simUsage = `Usage: signingd sim [--vendor [simulated|onespan|documenso|docuseal]] [--webhook URL]

Runs the ZGW simulator on SIM_ADDR (default :8090): Documenten, Zaken, Catalogi and Notificaties
without authentication, and its /_sim/ API to seed and inspect. With --vendor, a signing vendor's
simulator runs on VENDOR_ADDR (default :8091) too: the simulated vendor (the default), onespan,
OneSpan Sign / ValidSign's API (requests must carry "Authorization: Basic $VENDOR_API_KEY"), or
documenso, Documenso's API v2 (requests must carry "Authorization: Bearer $VENDOR_API_KEY"), or
docuseal, DocuSeal Pro's API (requests must carry "X-Auth-Token: $VENDOR_API_KEY"). It
calls --webhook (default: signingd on :8080) authenticated with WEBHOOK_SECRET (literal, env:NAME
or file:/path). SIM_URL overrides the base URL the simulator puts in its resource URLs. State lives
in memory until Ctrl-C.
`

// vendorFlag is --vendor: alone it means the simulated vendor, --vendor=onespan (or --vendor
// onespan) another vendor's simulator.
type vendorFlag struct{ kind string }

func (v *vendorFlag) String() string   { return v.kind }
func (v *vendorFlag) IsBoolFlag() bool { return true }

func (v *vendorFlag) Set(s string) error {
	switch s {
	case "true":
		v.kind = config.ProviderSimulated
	case "false":
		v.kind = ""
	case config.ProviderSimulated, config.ProviderOneSpan, config.ProviderDocumenso, config.ProviderDocuSeal:
		v.kind = s
	default:
		return fmt.Errorf("no simulator of vendor %q (simulated, onespan, documenso, docuseal)", s)
	}
	return nil
}

// simFlags runs the simulators on their own, for a signingd (or another client) started elsewhere.
func simFlags(fs *flag.FlagSet) action {
	vendor := &vendorFlag{}
	fs.Var(vendor, "vendor", "also run a signing vendor's simulator: simulated (alone: --vendor) or onespan")
	webhook := fs.String("webhook", "", "where the vendor posts its callbacks (default http://localhost:8080/api/v1/providers/{vendor}/webhook)")
	return func(ctx context.Context, e env, args []string) error {
		if vendor.kind != "" && len(args) == 1 { // --vendor onespan
			if err := vendor.Set(args[0]); err != nil {
				return err
			}
		} else if len(args) > 0 {
			return fmt.Errorf("sim: unexpected %q", args)
		}
		if *webhook == "" {
			*webhook = "http://localhost:8080/api/v1/providers/" + vendor.kind + "/webhook"
		}
		return simCmd(ctx, vendor.kind, *webhook, e.getenv, e.stdout, e.stderr)
	}
}

func simCmd(ctx context.Context, vendor, webhook string, getenv func(string) string, stdout, stderr io.Writer) error {
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
	if vendor != "" {
		secret, err := config.ParseSecret(getenv("WEBHOOK_SECRET"))
		if err != nil {
			return fmt.Errorf("sim: WEBHOOK_SECRET: %w", err)
		}
		if secret.Value() == "" {
			fmt.Fprintln(stderr, "sim: WEBHOOK_SECRET is empty: callbacks carry an empty key")
		}
		vendorLn, err := net.Listen("tcp", or("VENDOR_ADDR", ":8091"))
		if err != nil {
			return fmt.Errorf("sim: vendor: %w", err)
		}
		defer vendorLn.Close()
		u := lnURL(vendorLn)
		switch vendor {
		case config.ProviderOneSpan:
			v := onespansim.New(onespansim.Options{APIKey: or("VENDOR_API_KEY", demoOneSpanKey)})
			v.SetCallback(webhook, secret.Value(), oneSpanEvents)
			defer v.Close()
			defer serveBackground(vendorLn, v.Handler())()
			fmt.Fprintf(stdout, "OneSpan Sign / ValidSign simulator on %s/api (callbacks to %s)\n  packages: GET %s/inspect/packages\n  sign:     POST %s/inspect/packages/{id}/sign {\"email\": \"...\"}  (or open %s/sign/{id}/{roleId})\n  decline:  POST %s/inspect/packages/{id}/decline {\"email\": \"...\", \"reason\": \"...\"}\n",
				u, webhook, u, u, u, u)
		case config.ProviderDocuSeal:
			v, err := docusealsim.New(docusealsim.Options{APIKey: or("VENDOR_API_KEY", demoDocuSealKey)})
			if err != nil {
				return err
			}
			v.SetWebhook(webhook, secret.Value())
			defer v.Close()
			defer serveBackground(vendorLn, v.Handler())()
			fmt.Fprintf(stdout, "DocuSeal (Pro) simulator on %s/api (webhooks to %s)\n  submissions: GET %s/inspect/submissions\n  sign:        POST '%s/inspect/submissions/{id}/sign?email=...'\n  decline:     POST '%s/inspect/submissions/{id}/decline?email=...&reason=...'\n",
				u, webhook, u, u, u)
		case config.ProviderDocumenso:
			v, err := documensosim.New(documensosim.Options{APIKey: or("VENDOR_API_KEY", demoDocumensoKey)})
			if err != nil {
				return err
			}
			v.SetWebhook(webhook, secret.Value())
			defer v.Close()
			defer serveBackground(vendorLn, v.Handler())()
			fmt.Fprintf(stdout, "Documenso simulator on %s/api/v2 (webhooks to %s)\n  envelopes: GET %s/inspect/envelopes\n  sign:      POST '%s/inspect/envelopes/{id}/sign?email=...'\n  reject:    POST '%s/inspect/envelopes/{id}/reject?email=...&reason=...'\n",
				u, webhook, u, u, u)
		default:
			v := simulated.NewServer(simulated.ServerOptions{WebhookURL: webhook, WebhookSecret: secret.Value()})
			defer v.Close()
			defer serveBackground(vendorLn, v.Handler())()
			fmt.Fprintf(stdout, "vendor simulator on %s/api/signings (webhooks to %s)\n  sign:    POST %s/api/signings/{id}/signers/{position}/sign\n  decline: POST %s/api/signings/{id}/signers/{position}/decline {\"reden\": \"...\"}\n",
				u, webhook, u, u)
		}
	}
	<-ctx.Done()
	return nil
}

// demoDocuSealKey is the DocuSeal simulator's API token when VENDOR_API_KEY is not set: published.
const demoDocuSealKey = "signingd-demo-docuseal-token"

// demoDocumensoKey is the Documenso simulator's API token when VENDOR_API_KEY is not set: published.
const demoDocumensoKey = "api_signingddemo0001"

// demoOneSpanKey is the simulator's API key when VENDOR_API_KEY is not set: published, not secret.
const demoOneSpanKey = "c2lnbmluZ2QtZGVtby1vbmVzcGFuLWtleQ=="

// oneSpanEvents are the callback events an operator registers for signingd at OneSpan/ValidSign:
// those a signing's progress shows in.
var oneSpanEvents = []string{"PACKAGE_COMPLETE", "PACKAGE_DECLINE", "PACKAGE_OPT_OUT", "PACKAGE_EXPIRE",
	"SIGNER_COMPLETE", "PACKAGE_READY_FOR_COMPLETE"}
