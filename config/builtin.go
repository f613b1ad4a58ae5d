package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/signingd/signingd/internal/loopback"
)

// BuiltinConfig configures the built-in signer (signing/providers/builtin).
type BuiltinConfig struct {
	SMTPAddr     string `env:"BUILTIN_SMTP_ADDR" doc:"host:port of the SMTP server for signer e-mail."`
	SMTPTLS      string `env:"BUILTIN_SMTP_TLS" default:"starttls" oneof:"starttls tls none" doc:"How signer e-mail is protected: starttls (STARTTLS required; nothing is sent to a server that does not offer it), tls (TLS from the first byte, as on port 465) or none (plain text; only to a loopback BUILTIN_SMTP_ADDR such as a local mail catcher). The server's certificate is always verified against the system's roots."`
	SMTPUsername string `env:"BUILTIN_SMTP_USERNAME" doc:"SMTP user; empty for no authentication."`
	SMTPPassword Secret `env:"BUILTIN_SMTP_PASSWORD" doc:"SMTP password (literal, env:NAME or file:/path)."`
	MailFrom     string `env:"BUILTIN_MAIL_FROM" default:"signingd <noreply@localhost>" doc:"Sender address of signer e-mail."`

	SMSGatewayURL   string `env:"BUILTIN_SMS_URL" doc:"URL of an HTTP JSON SMS gateway: POST {\"to\",\"from\",\"text\"}."`
	SMSGatewayToken Secret `env:"BUILTIN_SMS_TOKEN" doc:"Bearer token for the SMS gateway (literal, env:NAME or file:/path)."`
	SMSFrom         string `env:"BUILTIN_SMS_FROM" default:"signingd" doc:"Sender name of SMS messages."`

	// DevOutbox sends every e-mail and SMS to an in-memory outbox shown at /dev/outbox instead.
	DevOutbox bool `env:"BUILTIN_DEV_OUTBOX" doc:"Keep e-mail and SMS in a local outbox page (/dev/outbox) instead of sending; set by signingd dev, refused by serve (the page shows every link and code)."`

	GotenbergURL string `env:"BUILTIN_GOTENBERG_URL" doc:"Gotenberg base URL for Word/ODF → PDF; empty uses local LibreOffice (soffice)."`

	SigningCert         string `env:"BUILTIN_SIGNING_CERT" doc:"Service signing certificate: path to PEM (certificate chain, optionally with key) or PKCS#12 (.p12/.pfx); file: prefix allowed. Empty generates a demo CA (dev only)."`
	SigningKey          string `env:"BUILTIN_SIGNING_KEY" doc:"Path to the PEM private key when not inside BUILTIN_SIGNING_CERT."`
	SigningCertPassword Secret `env:"BUILTIN_SIGNING_CERT_PASSWORD" doc:"Password of the PKCS#12 file (literal, env:NAME or file:/path)."`

	LinkExpiry       time.Duration `env:"BUILTIN_LINK_EXPIRY" default:"336h" min:"1m" doc:"How long a signer link stays valid (never past the transaction deadline; 336h is 14 days)."`
	ReminderInterval time.Duration `env:"BUILTIN_REMINDER_INTERVAL" default:"72h" doc:"Interval between reminders to signers who have not acted; 0 disables."`
	ExpiryWarning    time.Duration `env:"BUILTIN_EXPIRY_WARNING" default:"24h" doc:"How long before a link expires the signer is warned; 0 disables."`
	OTPLockout       time.Duration `env:"BUILTIN_OTP_LOCKOUT" default:"15m" min:"1s" doc:"How long a link stays locked after 5 wrong codes."`
}

// check applies the built-in signer's rules across values. Signing links are bearer secrets, so
// plain-text SMTP is allowed only to a mail server on this machine.
func (c BuiltinConfig) check() error {
	var errs []error
	if c.SMTPAddr != "" {
		host, _, err := net.SplitHostPort(c.SMTPAddr)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("config: BUILTIN_SMTP_ADDR: want host:port, got %q", c.SMTPAddr))
		case c.SMTPTLS == "none" && !loopback.Host(host):
			errs = append(errs, fmt.Errorf("config: BUILTIN_SMTP_TLS=none would send signing links in plain text; "+
				"it is allowed only when BUILTIN_SMTP_ADDR is on loopback (localhost, 127.0.0.1, ::1), not %q", c.SMTPAddr))
		}
	}
	for _, u := range []struct{ name, url string }{{"BUILTIN_SMS_URL", c.SMSGatewayURL}, {"BUILTIN_GOTENBERG_URL", c.GotenbergURL}} {
		if u.url == "" {
			continue
		}
		if p, err := url.Parse(u.url); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("config: %s: want an http(s) URL, got %q", u.name, u.url))
		}
	}
	return errors.Join(errs...)
}
