package main

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/internal/branding"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/signing/providers/builtin"
	"github.com/signingd/signingd/store"
)

// serviceCertificate is the certificate signingd signs with: the built-in signer's signatures and
// the evidence reports of every provider. signingd dev generates a demo one; elsewhere there is
// none unless BUILTIN_SIGNING_CERT names it.
func serviceCertificate(ctx context.Context, bc config.BuiltinConfig, logger *slog.Logger) (*builtin.Certificate, error) {
	if bc.SigningCert != "" {
		c, err := builtin.LoadCertificate(bc.SigningCert, bc.SigningKey, bc.SigningCertPassword.Value())
		if err != nil {
			return nil, err
		}
		return &c, nil
	}
	if !bc.DevOutbox {
		logger.WarnContext(ctx, "no BUILTIN_SIGNING_CERT: evidence reports are not signed, and the built-in signer cannot run")
		return nil, nil
	}
	c, _, err := builtin.DevCertificate("signingd demo signer")
	if err != nil {
		return nil, err
	}
	logger.WarnContext(ctx, "signing with a generated demo certificate; signatures will not be trusted")
	return &c, nil
}

// setupBuiltin builds the built-in signer and the mount of its signer pages (and, with
// BUILTIN_DEV_OUTBOX, the /dev/outbox page). Its periodic work (reminders, expiry warnings,
// deadlines) runs until ctx ends. It returns a nil provider when neither SMTP nor the dev outbox is
// configured: without a way to send links nobody could sign.
func setupBuiltin(ctx context.Context, cfg config.Config, cert *builtin.Certificate, lt longTerm, st *store.Store, progress signing.ProgressFunc, logger *slog.Logger) (signing.Provider, func(*echo.Echo), error) {
	bc := cfg.Builtin
	var err error
	logger = logger.With("provider", builtin.Name)
	o := builtin.Options{
		Store: store.BuiltinStore{Store: st}, PublicURL: cfg.PublicURL, Progress: progress, Logger: logger,
		Converter:  builtin.Converter{GotenbergURL: bc.GotenbergURL},
		LinkExpiry: bc.LinkExpiry, ReminderInterval: bc.ReminderInterval, ExpiryWarning: bc.ExpiryWarning, OTPLockout: bc.OTPLockout,
		Location: cfg.TimeZone,
	}
	switch {
	case bc.DevOutbox:
		o.Outbox = builtin.NewOutbox()
		o.Mailer, o.SMS = o.Outbox, o.Outbox
	case bc.SMTPAddr != "":
		o.Mailer = builtin.SMTPMailer{Addr: bc.SMTPAddr, TLS: builtin.SMTPTLS(bc.SMTPTLS), Username: bc.SMTPUsername,
			Password: bc.SMTPPassword.Value(), From: bc.MailFrom}
		if bc.SMSGatewayURL != "" {
			o.SMS = builtin.HTTPSMS{URL: bc.SMSGatewayURL, Token: bc.SMSGatewayToken.Value(), From: bc.SMSFrom}
		}
	default:
		logger.InfoContext(ctx, "built-in signer disabled: set BUILTIN_SMTP_ADDR")
		return nil, nil, nil
	}
	if cert == nil {
		return nil, nil, fmt.Errorf("builtin: BUILTIN_SIGNING_CERT is required outside signingd dev")
	}
	if o.Brands, err = brands(cfg.Landscape); err != nil {
		return nil, nil, err
	}
	o.TSAs, o.Revocation = lt.tsas, lt.revocation
	o.Certificate = *cert
	pep, err := pepper(cfg)
	if err != nil {
		return nil, nil, err
	}
	o.Secret = append([]byte("builtin:"), pep...) // its own key, derived from the server pepper
	p, err := builtin.New(o)
	if err != nil {
		return nil, nil, err
	}
	go p.Run(ctx)
	return p, p.Mount, nil
}

// brands reads the organisations' looks from the landscape (config check has checked them).
func brands(l config.Landscape) (map[string]builtin.Brand, error) {
	out := map[string]builtin.Brand{}
	for _, o := range l.Organisations {
		b := builtin.Brand{Name: o.Name, Colour: o.Branding.Colour, SenderName: o.Branding.SenderName, ReplyTo: o.Branding.ReplyTo}
		if o.Branding.Logo != "" {
			data, err := os.ReadFile(o.Branding.Logo)
			if err != nil {
				return nil, fmt.Errorf("organisation %s: logo: %w", o.RSIN, err)
			}
			if _, err := branding.LogoType(data); err != nil {
				return nil, fmt.Errorf("organisation %s: %w", o.RSIN, err)
			}
			b.Logo = data
		}
		out[o.RSIN] = b
	}
	return out, nil
}

// longTerm is what makes signed documents B-LTA, for the built-in signer and for the vendors'
// output alike.
type longTerm struct {
	tsas       map[string]*pades.TSA
	revocation *pades.Revocation
}

// longTermFrom reads the organisations' TSAs and the validation block of the landscape.
func longTermFrom(ctx context.Context, l config.Landscape, cert *builtin.Certificate, logger *slog.Logger) (longTerm, error) {
	t, err := tsas(l)
	if err != nil {
		return longTerm{}, err
	}
	var chain []*x509.Certificate
	if cert != nil {
		chain = cert.Chain
	}
	return longTerm{tsas: t, revocation: revocation(ctx, l, chain, logger)}, nil
}

// tsas are the organisations' time-stamping authorities (config check has checked them).
func tsas(l config.Landscape) (map[string]*pades.TSA, error) {
	out := map[string]*pades.TSA{}
	for _, o := range l.Organisations {
		a := o.TSA
		if a == nil {
			continue
		}
		t := &pades.TSA{URL: a.URL, Username: a.Username, Password: a.Password.Value()}
		if a.Policy != "" {
			var oid asn1.ObjectIdentifier
			for _, part := range strings.Split(a.Policy, ".") {
				n, err := strconv.Atoi(part)
				if err != nil {
					return nil, fmt.Errorf("organisation %s: tsa policy %q: %w", o.RSIN, a.Policy, err)
				}
				oid = append(oid, n)
			}
			t.Policy = oid
		}
		out[o.RSIN] = t
	}
	return out, nil
}

// revocation is where the revocation data of B-LTA documents comes from (config check has checked
// the block; its files are re-read for every document). It logs, once, the service certificate's
// OCSP responders and CRLs that will not be asked because their hosts are not listed.
func revocation(ctx context.Context, l config.Landscape, chain []*x509.Certificate, logger *slog.Logger) *pades.Revocation {
	v := l.Validation
	if v == nil {
		return nil
	}
	r := &pades.Revocation{FetchOCSP: v.OCSP == config.Fetch, FetchCRL: v.CRL == config.Fetch, Hosts: v.Hosts,
		Timeout: cmp.Or(v.Timeout, config.DefaultValidationTimeout), MaxResponse: cmp.Or(v.MaxResponseBytes, config.DefaultValidationMaxBytes),
		Given: func() (pades.ValidationData, error) {
			f, err := v.Load()
			return pades.ValidationData{Certs: f.Certs, CRLs: f.CRLs, OCSPs: f.OCSPs}, err
		}}
	for _, c := range chain {
		for _, u := range append(slices.Clone(c.OCSPServer), c.CRLDistributionPoints...) {
			if v.Fetches() && !pades.HostAllowed(v.Hosts, u) {
				logger.WarnContext(ctx, "revocation data of the signing certificate will not be fetched: its host is not under validation.hosts",
					"certificate", c.Subject.String(), "url", u)
			}
		}
	}
	return r
}
