package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/signing/providers/builtin"
	"github.com/signingd/signingd/signing/providers/documenso"
	"github.com/signingd/signingd/signing/providers/documenso/documensosim"
	"github.com/signingd/signingd/signing/providers/docuseal"
	"github.com/signingd/signingd/signing/providers/docuseal/docusealsim"
	"github.com/signingd/signingd/signing/providers/onespan"
	"github.com/signingd/signingd/signing/providers/onespan/onespansim"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/zgw"
	"github.com/signingd/signingd/zgw/sim"
)

const devUsage = `Usage: signingd dev [--provider builtin|simulated|onespan|documenso|docuseal] [--dir .dev] [--local-pg] [--database signingd_dev]

Runs signingd with everything it talks to in one process, for trying it out: the ZGW simulator
(SIM_ADDR, default :8090), the simulated signing vendor (VENDOR_ADDR, default :8091), the built-in
signer with its outbox at /dev/outbox, and signingd on LISTEN_ADDR (default :8080). It seeds a demo
zaak with two documents and a client, and prints the commands to try a signing. CONFIG_FILE is
ignored: the landscape points at the simulator. LOG_LEVEL defaults to warn, so that the printed
instructions stay readable; LOG_LEVEL=info logs every step. SECRET_KEY and KEY_ENCRYPTION_KEY default
to published demo values (it says so when it uses them); serve requires real ones.

The database is DATABASE_URL's server when it answers, else a throwaway PostgreSQL cluster under
--dir (initdb and pg_ctl from PATH or /usr/lib/postgresql/*/bin). On it, the database --database is
dropped and created afresh at every start, because the simulator's state lives in memory.
`

// Demo data of `signingd dev`.
const (
	devRSIN         = sim.DefaultRSIN // 002220647, the example organisation
	devSigner1Email = "teamleider@gemeente.example"
	devSigner1Phone = "+31612345678"
	devSigner2Email = "wethouder@gemeente.example"
	devCallbackPath = "/dev/zac/notificaties"
)

// devKeys are the published demo values of the keys serve requires; dev uses them when the
// environment sets none, and says so. They protect nothing: everyone knows them.
var devKeys = map[string]string{
	"SECRET_KEY":         "signingd-dev-demo-pepper-not-secret",
	"KEY_ENCRYPTION_KEY": "ZGVtby1rZXktZW5jcnlwdGlvbi1rZXktbm90LXNlY3I=", // 32 bytes: "demo-key-encryption-key-not-secr"
}

type devOptions struct {
	provider string
	dir      string
	localPG  bool
	database string
}

// devFlags declares the flags of `signingd dev`.
func devFlags(fs *flag.FlagSet) action {
	var o devOptions
	fs.StringVar(&o.provider, "provider", builtin.Name, "who signs: builtin (signer pages, mail and SMS in /dev/outbox), simulated (the vendor simulator's API), onespan (the OneSpan Sign / ValidSign simulator), documenso or docuseal (their simulators)")
	fs.StringVar(&o.dir, "dir", ".dev", "working directory for the trigger file and the throwaway cluster")
	fs.BoolVar(&o.localPG, "local-pg", false, "always use a throwaway PostgreSQL cluster, even when DATABASE_URL answers")
	fs.StringVar(&o.database, "database", "signingd_dev", "database to recreate on the server; empty: use DATABASE_URL's database as it is")
	return func(ctx context.Context, e env, _ []string) error { return dev(ctx, o, e.getenv, e.stdout, e.stderr) }
}

// dev runs the service as serve does, with a ZGW landscape, a signing vendor and demo data of its
// own, so that a new user can try a whole signing with one command and no setup.
func dev(ctx context.Context, o devOptions, getenv func(string) string, stdout, stderr io.Writer) error {
	if !slices.Contains([]string{builtin.Name, simulated.Name, onespan.DefaultName, documenso.Name, docuseal.Name}, o.provider) {
		return fmt.Errorf("dev: --provider must be %s, %s, %s, %s or %s", builtin.Name, simulated.Name, onespan.DefaultName, documenso.Name, docuseal.Name)
	}
	defer takeTerminal()()
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	out := &lockedWriter{w: stdout}
	or := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}

	dbURL, stopDB, err := devDatabase(ctx, or("DATABASE_URL", config.DefaultDatabaseURL), o, out)
	if err != nil {
		return err
	}
	defer stopDB()

	// The simulator and the vendor listen first, so that their URLs are known for the landscape.
	simLn, err := net.Listen("tcp", or("SIM_ADDR", ":8090"))
	if err != nil {
		return fmt.Errorf("dev: ZGW simulator: %w", err)
	}
	defer simLn.Close()
	vendorLn, err := net.Listen("tcp", or("VENDOR_ADDR", ":8091"))
	if err != nil {
		return fmt.Errorf("dev: vendor simulator: %w", err)
	}
	defer vendorLn.Close()
	listen := or("LISTEN_ADDR", ":8080")
	self, err := addrURL(listen)
	if err != nil {
		return fmt.Errorf("dev: LISTEN_ADDR: %w", err)
	}
	publicURL := or("PUBLIC_URL", self)
	simURL, vendorURL := lnURL(simLn), lnURL(vendorLn)

	zgwSim, err := sim.New(sim.Options{BaseURL: simURL})
	if err != nil {
		return err
	}
	defer zgwSim.Close()
	webhookSecret, zacToken := randomHex(16), randomHex(16)
	stopSim := serveBackground(simLn, zgwSim.Handler())
	defer stopSim()
	// The vendor's simulator: OneSpan's API when it signs, the simulated vendor otherwise.
	var vendorHandler http.Handler
	switch o.provider {
	case onespan.DefaultName:
		v := onespansim.New(onespansim.Options{APIKey: demoOneSpanKey})
		v.SetCallback(self+"/api/v1/providers/"+onespan.DefaultName+"/webhook", webhookSecret, oneSpanEvents)
		defer v.Close()
		vendorHandler = v.Handler()
	case docuseal.Name:
		v, err := docusealsim.New(docusealsim.Options{APIKey: demoDocuSealKey})
		if err != nil {
			return err
		}
		v.SetWebhook(self+"/api/v1/providers/"+docuseal.Name+"/webhook", webhookSecret)
		defer v.Close()
		vendorHandler = v.Handler()
	case documenso.Name:
		v, err := documensosim.New(documensosim.Options{APIKey: demoDocumensoKey})
		if err != nil {
			return err
		}
		v.SetWebhook(self+"/api/v1/providers/"+documenso.Name+"/webhook", webhookSecret)
		defer v.Close()
		vendorHandler = v.Handler()
	default:
		v := simulated.NewServer(simulated.ServerOptions{WebhookURL: self + "/api/v1/providers/simulated/webhook", WebhookSecret: webhookSecret})
		defer v.Close()
		vendorHandler = v.Handler()
	}
	stopVendor := serveBackground(vendorLn, vendorHandler)
	defer stopVendor()
	// A demo CA with its OCSP responder on loopback, and a time-stamping authority it certifies, so
	// the demo's signatures are B-T and its signed documents B-LTA with OCSP responses in their
	// document security store, as with a municipality's TSA and a real CA.
	ca, err := pades.NewDemoOCSP("signingd dev CA")
	if err != nil {
		return err
	}
	ocspLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("dev: OCSP responder: %w", err)
	}
	defer ocspLn.Close()
	stopOCSP := serveBackground(ocspLn, ca)
	defer stopOCSP()
	tsa, err := ca.TSA("signingd dev TSA", lnURL(ocspLn)+"/")
	if err != nil {
		return err
	}
	tsaLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("dev: TSA: %w", err)
	}
	defer tsaLn.Close()
	stopTSA := serveBackground(tsaLn, tsa)
	defer stopTSA()

	for _, k := range []string{"SECRET_KEY", "KEY_ENCRYPTION_KEY"} {
		if getenv(k) == "" {
			fmt.Fprintf(out, "dev: %s is the published demo value %q (not secret; serve requires your own)\n", k, devKeys[k])
		}
	}
	env := func(k string) string {
		switch k {
		case "SECRET_KEY", "KEY_ENCRYPTION_KEY":
			return or(k, devKeys[k])
		case "DATABASE_URL":
			return dbURL
		case "CONFIG_FILE":
			return ""
		case "LISTEN_ADDR":
			return listen
		case "PUBLIC_URL":
			return publicURL
		case "MIGRATE_ON_START", "BUILTIN_DEV_OUTBOX":
			return "true"
		case "LOG_LEVEL":
			return or(k, "warn") // the printed flow stays readable; LOG_LEVEL=info shows every step
		}
		return getenv(k)
	}
	cfg, logger, pool, err := open(ctx, env, stderr)
	if err != nil {
		return err
	}
	defer pool.Close()
	cfg.Landscape = devLandscape(zgwSim, o.provider, vendorURL, webhookSecret)
	// The demo organisation's look, as an operator would give it (branding in the landscape).
	logo := filepath.Join(o.dir, "logo.svg")
	if err := os.WriteFile(logo, []byte(demoLogo), 0o644); err != nil {
		return err
	}
	cfg.Landscape.Organisations[0].Branding = config.Branding{Logo: logo, Colour: "#01689b", SenderName: "Gemeente Voorbeeld"}
	cfg.Landscape.Organisations[0].TSA = &config.TSA{URL: lnURL(tsaLn) + "/"}
	// The built-in signer signs with a certificate of the demo CA (unless BUILTIN_SIGNING_CERT names
	// another), and asks the demo responder, the one host listed, for the revocation data.
	cfg.Landscape.Validation = &config.Validation{OCSP: config.Fetch, Hosts: []string{ocspLn.Addr().String()}}
	if cfg.Builtin.SigningCert == "" {
		if cfg.Builtin.SigningCert, err = devSigningCert(ca, lnURL(ocspLn)+"/", o.dir); err != nil {
			return err
		}
	}
	if err := cfg.Landscape.Validate(); err != nil {
		return fmt.Errorf("dev: generated landscape: %w", err)
	}
	zac := func(e *echo.Echo) {
		e.POST(devCallbackPath, func(c echo.Context) error {
			if c.Request().Header.Get("Authorization") != "Bearer "+zacToken {
				return c.NoContent(http.StatusUnauthorized)
			}
			var m sim.Message
			if err := json.NewDecoder(io.LimitReader(c.Request().Body, 1<<20)).Decode(&m); err != nil {
				return c.NoContent(http.StatusBadRequest)
			}
			line := fmt.Sprintf("ZAC received notification %s: transaction_id=%s zaak=%s", m.Actie, m.Kenmerken["transaction_id"], m.HoofdObject)
			if r := m.Kenmerken["reden"]; r != "" {
				line += fmt.Sprintf(" reden=%q", r)
			}
			fmt.Fprintln(out, line)
			return c.NoContent(http.StatusNoContent)
		})
	}
	a, err := assemble(ctx, cfg, logger, pool, env, zac)
	if err != nil {
		return err
	}
	defer a.close()

	demo, err := seedDemo(zgwSim, self+devCallbackPath, "Bearer "+zacToken, o.provider)
	if err != nil {
		return fmt.Errorf("dev: seed the simulator: %w", err)
	}
	triggerPath, declinePath := filepath.Join(o.dir, "trigger.json"), filepath.Join(o.dir, "trigger-decline.json")
	if err := os.WriteFile(triggerPath, demo.trigger, 0o644); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	if err := os.WriteFile(declinePath, demo.declineTrigger, 0o644); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	cred, err := devClient(ctx, a)
	if err != nil {
		return fmt.Errorf("dev: demo client: %w", err)
	}
	return a.run(ctx, func(net.Addr) {
		printDevBanner(out, devBanner{
			self: self, publicURL: publicURL, simURL: simURL, vendorURL: vendorURL, db: redactURL(dbURL),
			provider: o.provider, cred: cred, demo: demo, trigger: triggerPath, declineTrigger: declinePath,
		})
	})
}

// devLandscape is the one organisation of dev, with every ZGW service on the simulator and both
// providers configured; provider picks the one that signs.
func devLandscape(s *sim.Sim, provider, vendorURL, webhookSecret string) config.Landscape {
	vendor := config.Provider{Name: simulated.Name, AuthMethods: []string{signing.AuthSMS, signing.AuthEmail},
		BaseURL: vendorURL, CallbackKey: config.NewSecret(webhookSecret), PollInterval: 5 * time.Second}
	switch provider {
	case onespan.DefaultName:
		vendor = config.Provider{Name: onespan.DefaultName, Type: config.ProviderOneSpan, BaseURL: vendorURL + "/api",
			APIKey: config.NewSecret(demoOneSpanKey), CallbackKey: config.NewSecret(webhookSecret), PollInterval: 5 * time.Second}
	case docuseal.Name:
		vendor = config.Provider{Name: docuseal.Name, Type: config.ProviderDocuSeal, BaseURL: vendorURL + "/api",
			APIKey: config.NewSecret(demoDocuSealKey), CallbackKey: config.NewSecret(webhookSecret), PollInterval: 5 * time.Second}
	case documenso.Name:
		vendor = config.Provider{Name: documenso.Name, Type: config.ProviderDocumenso, BaseURL: vendorURL,
			APIKey: config.NewSecret(demoDocumensoKey), CallbackKey: config.NewSecret(webhookSecret), PollInterval: 5 * time.Second}
	}
	none := config.ServiceAuth{Mode: zgw.AuthNone}
	return config.Landscape{
		Organisations: []config.Organisation{{RSIN: devRSIN, Name: "Gemeente Voorbeeld (signingd dev)", Provider: provider, Services: []config.Service{
			{Kind: zgw.KindDRC, APIRoot: s.DRC(), Auth: none},
			{Kind: zgw.KindZRC, APIRoot: s.ZRC(), Auth: none},
			{Kind: zgw.KindZTC, APIRoot: s.ZTC(), Auth: none},
			{Kind: zgw.KindNRC, APIRoot: s.NRC(), Auth: none},
		}}},
		Providers: []config.Provider{
			{Name: builtin.Name, AuthMethods: []string{signing.AuthSMS, signing.AuthEmail}},
			vendor,
		},
	}
}

// demoLogo is the demo organisation's logo: a shield in its colour.
const demoLogo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 48" width="40" height="48">
<path d="M20 2 L38 8 V24 C38 36 30 43 20 46 C10 43 2 36 2 24 V8 Z" fill="#01689b"/>
<path d="M20 12 L28 16 V25 C28 31 24 35 20 37 C16 35 12 31 12 25 V16 Z" fill="#fff"/>
</svg>
`

// devDemo is what dev seeded in the simulator.
type devDemo struct {
	zaak, iot string
	docs      []string
	trigger   []byte // the trigger message for them, indented JSON
	// a second zaak and its trigger, for trying an abort without touching the first
	declineZaak    string
	declineTrigger []byte
}

// seedDemo seeds a zaaktype that allows the evidence informatieobjecttype, two zaken with two PDF
// documents each, and a subscription of the case system (dev's callback) to kanaal documentacties.
func seedDemo(s *sim.Sim, callback, callbackAuth, provider string) (devDemo, error) {
	var d devDemo
	// The first signer proves who they are with an SMS code, or with a code by e-mail at a vendor
	// without SMS (Documenso).
	firstAuth := map[string]any{"methode": signing.AuthSMS, "waarde": devSigner1Phone}
	if provider == documenso.Name {
		firstAuth = map[string]any{"methode": signing.AuthEmail}
	}
	d.iot = s.SeedInformatieobjecttype(sim.IOTSeed{Omschrijving: "Bewijs van ondertekening"})
	zt, err := s.SeedZaaktype(sim.ZaaktypeSeed{Omschrijving: "Omgevingsvergunning", Informatieobjecttypen: []string{s.DefaultIOT(), d.iot}})
	if err != nil {
		return d, err
	}
	if d.zaak, d.docs, d.trigger, err = seedDemoZaak(s, zt, d.iot, "ZAAK-2026-0001", "Dorpsstraat 12", firstAuth); err != nil {
		return d, err
	}
	if d.declineZaak, _, d.declineTrigger, err = seedDemoZaak(s, zt, d.iot, "ZAAK-2026-0002", "Kerkplein 3", firstAuth); err != nil {
		return d, err
	}
	s.SeedKanaal(signing.Kanaal)
	if _, err := s.SeedAbonnement(callback, callbackAuth, signing.Kanaal, nil); err != nil {
		return d, err
	}
	return d, nil
}

// seedDemoZaak seeds one zaak of zaaktype zt with two documents and returns the trigger message
// that asks for both to be signed.
func seedDemoZaak(s *sim.Sim, zt, iot, identificatie, adres string, firstAuth map[string]any) (zaak string, docs []string, trigger []byte, err error) {
	if zaak, err = s.SeedZaak(sim.ZaakSeed{Zaaktype: zt, Omschrijving: "Omgevingsvergunning " + adres, Identificatie: identificatie}); err != nil {
		return "", nil, nil, err
	}
	type docSeed struct{ titel, bestandsnaam string }
	seeds := []docSeed{{"Besluit omgevingsvergunning", "besluit-omgevingsvergunning.pdf"}, {"Bijlage situatietekening", "situatietekening.pdf"}}
	var documenten []map[string]any
	for _, ds := range seeds {
		content, err := report.Plain(ds.titel, "Zaak "+identificatie+", "+adres, "",
			"Handtekening teamleider: {{Signer1}}", "", "Handtekening wethouder: {{Signer2}}")
		if err != nil {
			return "", nil, nil, err
		}
		u, err := s.SeedDocument(content, sim.DocumentSeed{Titel: ds.titel, Bestandsnaam: ds.bestandsnaam, Formaat: "application/pdf",
			Status: "in_bewerking", Zaak: zaak})
		if err != nil {
			return "", nil, nil, err
		}
		docs = append(docs, u)
		documenten = append(documenten, map[string]any{"uuid": lastSegment(u), "url": u, "titel": ds.titel, "versie": 1, "bestandsnaam": ds.bestandsnaam})
	}
	m := map[string]any{
		"naam":                        "Omgevingsvergunning " + adres + " - besluit",
		"eigenaar":                    "behandelaar@gemeente.example",
		"zaak":                        map[string]any{"uuid": lastSegment(zaak), "url": zaak},
		"bewijs_informatieobjecttype": iot,
		"documenten":                  documenten,
		"ondertekenaars": []map[string]any{
			{"e-mail": devSigner1Email, "voornaam": "Anouk", "achternaam": "de Vries", "identificatie": "Signer1", "volgorde": 1,
				"authenticatie": firstAuth},
			{"e-mail": devSigner2Email, "voornaam": "Sjoerd", "achternaam": "van den Berg", "identificatie": "Signer2", "volgorde": 2,
				"authenticatie": nil},
		},
	}
	trigger, err = json.MarshalIndent(m, "", "  ")
	return zaak, docs, append(trigger, '\n'), err
}

func lastSegment(u string) string { return u[strings.LastIndexByte(u, '/')+1:] }

// devCredentials are the demo client's, printed once like `signingd clients create` does.
type devCredentials struct{ clientID, secret, apiKey string }

func devClient(ctx context.Context, a *app) (devCredentials, error) {
	c, err := a.Store.CreateClient(ctx, store.NewClientID(), "Demo ZAC (signingd dev)", devRSIN, auth.AllScopes)
	if err != nil {
		return devCredentials{}, err
	}
	cred := devCredentials{clientID: c.ClientID, secret: auth.GenerateSecret(), apiKey: auth.GenerateAPIKey()}
	if err := a.Store.AddClientSecret(ctx, c.ID, auth.SecretDigest(a.pepper, cred.secret), nil); err != nil {
		return cred, err
	}
	if err := a.Store.AddAPIKey(ctx, c.ID, auth.NewAPIKeys(a.Store, a.pepper).Digest(cred.apiKey)); err != nil {
		return cred, err
	}
	return cred, a.Store.InsertAudit(ctx, []store.AuditEntry{{At: time.Now(), Event: auth.EventClientCreated, ClientID: c.ClientID,
		Method: "cli", Reason: "signingd dev demo client"}})
}

type devBanner struct {
	self, publicURL, simURL, vendorURL, db, provider string
	trigger, declineTrigger                          string // paths of the two trigger files
	cred                                             devCredentials
	demo                                             devDemo
}

// printDevBanner prints where everything runs and the commands to try a signing. The commands
// use only curl and sed, and each line can be pasted on its own.
func printDevBanner(w io.Writer, b devBanner) {
	var s strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	p("")
	p("signingd dev is running; Ctrl-C stops everything.")
	p("")
	p("  signingd        %s   (contract: %s/docs)", b.publicURL, b.publicURL)
	p("  ZGW simulator   %s   (DRC, ZRC, ZTC and NRC; inspection under /_sim/)", b.simURL)
	switch b.provider {
	case onespan.DefaultName:
		p("  vendor sim      %s/api (OneSpan Sign / ValidSign; inspection under /inspect/)", b.vendorURL)
	case documenso.Name:
		p("  vendor sim      %s/api/v2 (Documenso; inspection under /inspect/)", b.vendorURL)
	case docuseal.Name:
		p("  vendor sim      %s/api (DocuSeal Pro; inspection under /inspect/)", b.vendorURL)
	default:
		p("  vendor sim      %s/api/signings", b.vendorURL)
	}
	p("  database        %s", b.db)
	p("  provider        %s", b.provider)
	p("")
	p("Demo client of organisation %s (shown once):", devRSIN)
	p("  client_id:     %s", b.cred.clientID)
	p("  client_secret: %s", b.cred.secret)
	p("  api_key:       %s", b.cred.apiKey)
	p("")
	p("Seeded: zaak %s", b.demo.zaak)
	for _, d := range b.demo.docs {
		p("        document %s", d)
	}
	p("")
	p("# 1. Get a token (the line says why when there is none)")
	p("    RES=$(curl -sS -u '%s:%s' -d grant_type=client_credentials %s%s 2>&1); TOKEN=$(echo \"$RES\" | sed -n 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/p'); [ -n \"$TOKEN\" ] && echo 'token received' || echo \"no token: $RES\"",
		b.cred.clientID, b.cred.secret, b.self, auth.TokenPath)
	p("")
	if b.provider == builtin.Name {
		p("# 2. Post the trigger (two documents; %s signs first with an SMS code, then %s)", devSigner1Email, devSigner2Email)
	} else {
		p("# 2. Post the trigger (two documents; %s signs first, then %s)", devSigner1Email, devSigner2Email)
	}
	p("    %s", postTrigger(b.self, b.trigger))
	p("")
	p("# 3. Follow it")
	p("    curl -s %s/api/v1/transactions/$ID -H \"Authorization: Bearer $TOKEN\"", b.self)
	p("")
	p("# 4. Sign")
	if b.provider == builtin.Name {
		p("#    Open %s/dev/outbox: the e-mail to %s has the signer link;", b.publicURL, devSigner1Email)
		p("#    the SMS code to %s appears there when the page asks for it. Once signed, %s", devSigner1Phone, devSigner2Email)
		p("#    gets an e-mail with a link of their own. The outbox page lists every e-mail and SMS.")
		p("    echo %s/dev/outbox", b.publicURL)
	} else if b.provider == docuseal.Name {
		p("#    The DocuSeal simulator stands in for DocuSeal Pro. signingd creates the submission there a")
		p("#    moment after the trigger: the first line waits for it. Then the signers sign, in their order.")
		p("    %s", waitSubmission(b.vendorURL))
		p("    curl -s -X POST '%s/inspect/submissions/'$SUBMISSION'/sign?email=%s'", b.vendorURL, devSigner1Email)
		p("    curl -s -X POST '%s/inspect/submissions/'$SUBMISSION'/sign?email=%s'", b.vendorURL, devSigner2Email)
	} else if b.provider == documenso.Name {
		p("#    The Documenso simulator stands in for your Documenso. signingd creates the envelope there a")
		p("#    moment after the trigger: the first line waits for it. Then the signers sign, in their order.")
		p("    %s", waitEnvelope(b.vendorURL))
		p("    curl -s -X POST '%s/inspect/envelopes/'$ENVELOPE'/sign?email=%s'", b.vendorURL, devSigner1Email)
		p("    curl -s -X POST '%s/inspect/envelopes/'$ENVELOPE'/sign?email=%s'", b.vendorURL, devSigner2Email)
	} else if b.provider == onespan.DefaultName {
		p("#    The OneSpan simulator stands in for ValidSign. signingd creates the package there a moment")
		p("#    after the trigger: the first line waits for it. Then the signers sign, in their order (or open")
		p("#    %s/sign/$PACKAGE/signer0 and press \"Ondertekenen\").", b.vendorURL)
		p("    %s", waitPackage(b.vendorURL))
		p("    curl -s -X POST %s/inspect/packages/$PACKAGE/sign -d '{\"email\":\"%s\"}'", b.vendorURL, devSigner1Email)
		p("    curl -s -X POST %s/inspect/packages/$PACKAGE/sign -d '{\"email\":\"%s\"}'", b.vendorURL, devSigner2Email)
	} else {
		p("#    The vendor simulator's API stands in for its signing pages. signingd creates the signing there")
		p("#    a moment after the trigger: the first line waits for it. Then the signers sign, in their order.")
		p("    %s", waitSigning(b.vendorURL))
		p("    curl -s -X POST %s/api/signings/$SIGNING/signers/0/sign", b.vendorURL)
		p("    curl -s -X POST %s/api/signings/$SIGNING/signers/1/sign", b.vendorURL)
	}
	p("")
	p("# 5. The notification: this terminal prints \"ZAC received notification OndertekenenVoltooid\" when the")
	p("#    case system's subscription gets it; every delivery of the simulated NRC is listed at")
	p("    curl -s %s/_sim/deliveries", b.simURL)
	p("#    and the signed versions of the first document at")
	p("    curl -s %s/_sim/documents/%s/versions", b.simURL, lastSegment(b.demo.docs[0]))
	p("")
	p("# 6. An abort: a second zaak's documents, which the first signer declines; this terminal then prints")
	p("#    \"ZAC received notification OndertekenenAfgebroken\" with the reason")
	p("    %s", postTrigger(b.self, b.declineTrigger))
	if b.provider == builtin.Name {
		p("#    Open the newest e-mail to %s in %s/dev/outbox, enter the SMS code and choose \"Weigeren\".", devSigner1Email, b.publicURL)
	} else if b.provider == docuseal.Name {
		p("    %s", waitSubmission(b.vendorURL))
		p("    curl -s -X POST '%s/inspect/submissions/'$SUBMISSION'/decline?email=%s&reason=bedrag+klopt+niet'", b.vendorURL, devSigner1Email)
	} else if b.provider == documenso.Name {
		p("    %s", waitEnvelope(b.vendorURL))
		p("    curl -s -X POST '%s/inspect/envelopes/'$ENVELOPE'/reject?email=%s&reason=bedrag+klopt+niet'", b.vendorURL, devSigner1Email)
	} else if b.provider == onespan.DefaultName {
		p("    %s", waitPackage(b.vendorURL))
		p("    curl -s -X POST %s/inspect/packages/$PACKAGE/decline -d '{\"email\":\"%s\",\"reason\":\"bedrag klopt niet\"}'", b.vendorURL, devSigner1Email)
	} else {
		p("    %s", waitSigning(b.vendorURL))
		p("    curl -s -X POST %s/api/signings/$SIGNING/signers/0/decline -d '{\"reden\":\"bedrag klopt niet\"}'", b.vendorURL)
	}
	p("")
	io.WriteString(w, s.String()) //nolint:errcheck // the terminal
}

// postTrigger is the command that posts the trigger file at path and prints the transaction id
// (or, when there is none, signingd's answer).
func postTrigger(self, path string) string {
	return fmt.Sprintf(`[ -n "$TOKEN" ] || echo 'no token: paste step 1 first'; RES=$(curl -sS -X POST %s/api/v1/transactions -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data @%s 2>&1); ID=$(echo "$RES" | sed -n 's/.*"transaction_id":"\([^"]*\)".*/\1/p'); echo "${ID:-no transaction: $RES}"`,
		self, shellQuote(path))
}

// waitSigning is the command that waits (up to 30 s) until the vendor simulator knows the signing
// of transaction $ID, and sets SIGNING to its id.
func waitSigning(vendorURL string) string {
	return fmt.Sprintf(`for i in $(seq 30); do SIGNING=$(curl -s '%s/api/signings?external_id='$ID | sed -n 's/^\[{"id":"\([^"]*\)".*/\1/p'); [ -n "$SIGNING" ] && break; sleep 1; done; echo "signing at the vendor: ${SIGNING:-none yet}"`,
		vendorURL)
}

// waitPackage is the command that waits (up to 30 s) until the OneSpan simulator has the package
// of transaction $ID, and sets PACKAGE to its id.
func waitPackage(vendorURL string) string {
	return fmt.Sprintf(`for i in $(seq 30); do PACKAGE=$(curl -s %s/inspect/transactions/$ID | sed -n 's/.*"id":"\([^"]*\)".*/\1/p'); [ -n "$PACKAGE" ] && break; sleep 1; done; echo "package at the vendor: ${PACKAGE:-none yet}"`,
		vendorURL)
}

// waitSubmission is the command that waits (up to 30 s) until the DocuSeal simulator has the
// submission of transaction $ID, and sets SUBMISSION to its id.
func waitSubmission(vendorURL string) string {
	return fmt.Sprintf(`for i in $(seq 30); do SUBMISSION=$(curl -s %s/inspect/transactions/$ID | sed -n 's/.*"id":"\([^"]*\)".*/\1/p'); [ -n "$SUBMISSION" ] && break; sleep 1; done; echo "submission at the vendor: ${SUBMISSION:-none yet}"`,
		vendorURL)
}

// waitEnvelope is the command that waits (up to 30 s) until the Documenso simulator has the
// envelope of transaction $ID, and sets ENVELOPE to its id.
func waitEnvelope(vendorURL string) string {
	return fmt.Sprintf(`for i in $(seq 30); do ENVELOPE=$(curl -s %s/inspect/transactions/$ID | sed -n 's/.*"id":"\([^"]*\)".*/\1/p'); [ -n "$ENVELOPE" ] && break; sleep 1; done; echo "envelope at the vendor: ${ENVELOPE:-none yet}"`,
		vendorURL)
}

// shellQuote quotes a path for sh when it needs it.
func shellQuote(s string) string {
	if regexp.MustCompile(`^[A-Za-z0-9_./@:-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// lockedWriter serialises writes from the banner and the notification callback.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serveBackground serves h on ln until the returned stop is called.
func serveBackground(ln net.Listener, h http.Handler) (stop func()) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed on stop
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
}

// lnURL is the http URL of a listener as other processes on this machine reach it.
func lnURL(ln net.Listener) string {
	u, _ := addrURL(ln.Addr().String())
	return u
}

// addrURL turns a listen address (":8080", "0.0.0.0:8080", "127.0.0.1:8080") into a local URL.
func addrURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "(DATABASE_URL)"
}

// devDatabase returns the URL of a fresh database for dev: on DATABASE_URL's server when it
// answers (or -local-pg is not given), else on a throwaway cluster it starts. stop ends the
// cluster, if any.
func devDatabase(ctx context.Context, server string, o devOptions, out io.Writer) (dbURL string, stop func(), err error) {
	stop = func() {}
	if !o.localPG {
		if err = pingDatabase(ctx, server); err != nil {
			fmt.Fprintf(out, "PostgreSQL at %s does not answer (%s); starting a throwaway cluster under %s\n", redactURL(server), strings.Join(strings.Fields(err.Error()), " "), filepath.Join(o.dir, "pg"))
		}
	}
	if o.localPG || err != nil {
		c, err := startCluster(filepath.Join(o.dir, "pg"))
		if err != nil {
			return "", stop, fmt.Errorf("dev: no database: set DATABASE_URL to a PostgreSQL server, or install PostgreSQL for a throwaway cluster: %w", err)
		}
		server, stop = c.url(), c.stop
	}
	if o.database == "" {
		return server, stop, nil
	}
	dbURL, err = recreateDatabase(ctx, server, o.database)
	if err != nil {
		stop()
		return "", func() {}, fmt.Errorf("dev: database %s: %w (use --database= to use DATABASE_URL's database as it is)", o.database, err)
	}
	stopCluster := stop
	stop = func() {
		// the demo's data is worthless without the simulator's, which is gone: leave nothing behind
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, server, o.database); err != nil {
			fmt.Fprintf(out, "dev: could not drop database %s: %v\n", o.database, err)
		}
		stopCluster()
	}
	return dbURL, stop, nil
}

// dropDatabase drops the database name on the server of dsn, closing its connections.
func dropDatabase(ctx context.Context, dsn, name string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

func pingDatabase(ctx context.Context, dsn string) error {
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	pc.ConnectTimeout = 3 * time.Second
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// recreateDatabase drops and creates the database name on the server of dsn (a URL) and returns
// its URL: old transactions would point at documents of a simulator that is gone.
func recreateDatabase(ctx context.Context, dsn, name string) (string, error) {
	if !identRE.MatchString(name) {
		return "", fmt.Errorf("want a lower-case identifier")
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("DATABASE_URL must be a postgres:// URL for dev")
	}
	if err := dropDatabase(ctx, dsn, name); err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// cluster is a throwaway PostgreSQL server of dev: trust authentication, TCP on a free loopback
// port, its socket in its data directory, no fsync.
type cluster struct {
	dir           string
	initdb, pgCtl string
	runAs         string // PostgreSQL refuses to run as root: then its binaries run as this user
	port          int
	stopOnce      sync.Once
}

func (c *cluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// pgBinaries finds initdb and pg_ctl on PATH, else in the newest /usr/lib/postgresql/*/bin.
func pgBinaries() (initdb, pgCtl string, err error) {
	if i, err := exec.LookPath("initdb"); err == nil {
		if p, err := exec.LookPath("pg_ctl"); err == nil {
			return i, p, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl")
		if isFile(i) && isFile(p) {
			return i, p, nil
		}
	}
	return "", "", errors.New("initdb and pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// startCluster makes a fresh cluster in dir and starts it. A server left running in dir by a
// previous run that was killed is stopped first.
func startCluster(dir string) (*cluster, error) {
	initdb, pgCtl, err := pgBinaries()
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, initdb: initdb, pgCtl: pgCtl}
	var uid, gid int = -1, -1
	if os.Geteuid() == 0 {
		for _, name := range []string{"postgres", "nobody"} {
			if u, err := user.Lookup(name); err == nil {
				c.runAs = name
				uid, _ = strconv.Atoi(u.Uid)
				gid, _ = strconv.Atoi(u.Gid)
				break
			}
		}
		if c.runAs == "" {
			return nil, errors.New("running as root, and neither user postgres nor nobody exists to run PostgreSQL as")
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			return nil, fmt.Errorf("running as root: runuser is needed to run PostgreSQL as %s", c.runAs)
		}
	}
	if isFile(filepath.Join(dir, "postmaster.pid")) {
		_ = c.pg(pgCtl, "-D", dir, "-m", "immediate", "-w", "stop")
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		if err := c.reachable(); err != nil {
			return nil, fmt.Errorf("PostgreSQL runs as %s: %w", c.runAs, err)
		}
	}
	if err := c.pg(initdb, "-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	sockets := dir
	if len(dir)+len("/.s.PGSQL.65535") > 100 { // the limit of a unix socket path; TCP only then
		sockets = ""
	}
	conf := fmt.Sprintf("\n# signingd dev\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
		c.port, strings.ReplaceAll(sockets, "'", "''"))
	f, err := os.OpenFile(filepath.Join(dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := c.pg(pgCtl, "-D", dir, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "30", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		return nil, fmt.Errorf("%w\n%s", err, log)
	}
	return c, nil
}

// stop stops the server and removes the cluster.
func (c *cluster) stop() {
	c.stopOnce.Do(func() {
		_ = c.pg(c.pgCtl, "-D", c.dir, "-m", "fast", "-w", "-t", "30", "stop")
		_ = os.RemoveAll(c.dir)
	})
}

// pg runs a PostgreSQL program, as c.runAs when set.
func (c *cluster) pg(bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	if c.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.runAs, "--", bin}, args...)...)
	}
	cmd.Dir = "/" // a directory the user can enter, whatever the caller's working directory
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", filepath.Base(bin), err, out)
	}
	return nil
}

// reachable reports whether the user PostgreSQL runs as can write dir, that is, enter every
// parent of it; a home directory of mode 0700 is the usual obstacle.
func (c *cluster) reachable() error {
	if err := c.pg("test", "-w", c.dir); err != nil {
		return fmt.Errorf("it cannot reach %s: make its parents traversable (chmod o+x), choose another --dir, or set DATABASE_URL", c.dir)
	}
	return nil
}

// devSigningCert issues the demo signer's certificate under the dev CA, naming its OCSP responder,
// and writes it with its key to a PEM file in dir (readable by the user only).
func devSigningCert(ca *pades.OCSPServer, ocspURL, dir string) (string, error) {
	key, chain, err := ca.Certificate("signingd demo signer", ocspURL)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	for _, c := range chain {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	_ = pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	path := filepath.Join(dir, "signing.pem")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return "", fmt.Errorf("dev: signing certificate: %w", err)
	}
	return path, nil
}
