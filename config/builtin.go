package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// BuiltinConfig configures the built-in signer (signing/providers/builtin).
type BuiltinConfig struct {
	SMTPAddr     string `env:"BUILTIN_SMTP_ADDR" doc:"host:port of the SMTP server for signer e-mail."`
	SMTPTLS      string `env:"BUILTIN_SMTP_TLS" doc:"How signer e-mail is protected: starttls (STARTTLS required; nothing is sent to a server that does not offer it), tls (TLS from the first byte, as on port 465) or none (plain text; only to a loopback BUILTIN_SMTP_ADDR such as a local mail catcher). The server's certificate is always verified against the system's roots."`
	SMTPUsername string `env:"BUILTIN_SMTP_USERNAME" doc:"SMTP user; empty for no authentication."`
	SMTPPassword Secret `env:"BUILTIN_SMTP_PASSWORD" doc:"SMTP password (literal, env:NAME or file:/path)."`
	MailFrom     string `env:"BUILTIN_MAIL_FROM" doc:"Sender address of signer e-mail."`

	SMSGatewayURL   string `env:"BUILTIN_SMS_URL" doc:"URL of an HTTP JSON SMS gateway: POST {\"to\",\"from\",\"text\"}."`
	SMSGatewayToken Secret `env:"BUILTIN_SMS_TOKEN" doc:"Bearer token for the SMS gateway (literal, env:NAME or file:/path)."`
	SMSFrom         string `env:"BUILTIN_SMS_FROM" doc:"Sender name of SMS messages."`

	// DevOutbox sends every e-mail and SMS to an in-memory outbox shown at /dev/outbox instead.
	DevOutbox bool `env:"BUILTIN_DEV_OUTBOX" doc:"Keep e-mail and SMS in a local outbox page (/dev/outbox) instead of sending; set by signingd dev, refused by serve (the page shows every link and code)."`

	GotenbergURL string `env:"BUILTIN_GOTENBERG_URL" doc:"Gotenberg base URL for Word/ODF → PDF; empty uses local LibreOffice (soffice)."`

	SigningCert         string `env:"BUILTIN_SIGNING_CERT" doc:"Service signing certificate: path to PEM (certificate chain, optionally with key) or PKCS#12 (.p12/.pfx); file: prefix allowed. Empty generates a demo CA (dev only)."`
	SigningKey          string `env:"BUILTIN_SIGNING_KEY" doc:"Path to the PEM private key when not inside BUILTIN_SIGNING_CERT."`
	SigningCertPassword Secret `env:"BUILTIN_SIGNING_CERT_PASSWORD" doc:"Password of the PKCS#12 file (literal, env:NAME or file:/path)."`

	LinkExpiry       time.Duration `env:"BUILTIN_LINK_EXPIRY" doc:"How long a signer link stays valid (never past the transaction deadline)."`
	ReminderInterval time.Duration `env:"BUILTIN_REMINDER_INTERVAL" doc:"Interval between reminders to signers who have not acted; 0 disables."`
	ExpiryWarning    time.Duration `env:"BUILTIN_EXPIRY_WARNING" doc:"How long before a link expires the signer is warned; 0 disables."`
	OTPLockout       time.Duration `env:"BUILTIN_OTP_LOCKOUT" doc:"How long a link stays locked after 5 wrong codes."`
}

// BuiltinDefaults are the built-in signer's settings when the environment says nothing.
func BuiltinDefaults() BuiltinConfig {
	return BuiltinConfig{
		SMTPTLS:          "starttls",
		MailFrom:         "signingd <noreply@localhost>",
		SMSFrom:          "signingd",
		LinkExpiry:       14 * 24 * time.Hour,
		ReminderInterval: 72 * time.Hour,
		ExpiryWarning:    24 * time.Hour,
		OTPLockout:       15 * time.Minute,
	}
}

// LoadBuiltin reads the built-in signer's settings from getenv over BuiltinDefaults.
func LoadBuiltin(getenv func(string) string) (BuiltinConfig, error) {
	c := BuiltinDefaults()
	return c, loadBuiltin(getenv, &c)
}

// loadBuiltin reads the BUILTIN_* variables into c.
func loadBuiltin(getenv func(string) string, c *BuiltinConfig) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("BUILTIN_SMTP_ADDR", &c.SMTPAddr)
	str("BUILTIN_SMTP_TLS", &c.SMTPTLS)
	str("BUILTIN_SMTP_USERNAME", &c.SMTPUsername)
	str("BUILTIN_MAIL_FROM", &c.MailFrom)
	str("BUILTIN_SMS_URL", &c.SMSGatewayURL)
	str("BUILTIN_SMS_FROM", &c.SMSFrom)
	str("BUILTIN_GOTENBERG_URL", &c.GotenbergURL)
	str("BUILTIN_SIGNING_CERT", &c.SigningCert)
	str("BUILTIN_SIGNING_KEY", &c.SigningKey)
	for _, s := range []struct {
		name string
		dst  *Secret
	}{{"BUILTIN_SMTP_PASSWORD", &c.SMTPPassword}, {"BUILTIN_SMS_TOKEN", &c.SMSGatewayToken},
		{"BUILTIN_SIGNING_CERT_PASSWORD", &c.SigningCertPassword}} {
		if v := getenv(s.name); v != "" {
			sec, err := ParseSecret(v)
			if err != nil {
				return fmt.Errorf("config: %s: %w", s.name, err)
			}
			*s.dst = sec
		}
	}
	if v := getenv("BUILTIN_DEV_OUTBOX"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: BUILTIN_DEV_OUTBOX: %w", err)
		}
		c.DevOutbox = b
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
		min  time.Duration
	}{{"BUILTIN_LINK_EXPIRY", &c.LinkExpiry, time.Minute}, {"BUILTIN_REMINDER_INTERVAL", &c.ReminderInterval, 0},
		{"BUILTIN_EXPIRY_WARNING", &c.ExpiryWarning, 0}, {"BUILTIN_OTP_LOCKOUT", &c.OTPLockout, time.Second}} {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x < d.min {
				return fmt.Errorf("config: %s: want a duration of at least %s, got %q", d.name, d.min, v)
			}
			*d.dst = x
		}
	}
	if err := checkSMTP(c); err != nil {
		return err
	}
	for name, u := range map[string]string{"BUILTIN_SMS_URL": c.SMSGatewayURL, "BUILTIN_GOTENBERG_URL": c.GotenbergURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("config: %s: want an http(s) URL, got %q", name, u)
		}
	}
	return nil
}

// checkSMTP checks BUILTIN_SMTP_ADDR and BUILTIN_SMTP_TLS: signing links are bearer secrets, so
// plain text is allowed only to a mail server on this machine.
func checkSMTP(c *BuiltinConfig) error {
	switch c.SMTPTLS {
	case "starttls", "tls", "none":
	default:
		return fmt.Errorf("config: BUILTIN_SMTP_TLS: want starttls, tls or none, got %q", c.SMTPTLS)
	}
	if c.SMTPAddr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(c.SMTPAddr)
	if err != nil {
		return fmt.Errorf("config: BUILTIN_SMTP_ADDR: want host:port, got %q", c.SMTPAddr)
	}
	if c.SMTPTLS == "none" && !LoopbackHost(host) {
		return fmt.Errorf("config: BUILTIN_SMTP_TLS=none would send signing links in plain text; "+
			"it is allowed only when BUILTIN_SMTP_ADDR is on loopback (localhost, 127.0.0.1, ::1), not %q", c.SMTPAddr)
	}
	return nil
}

// LoopbackHost reports whether host (a name or an address, without port) is localhost or a
// loopback address: the only place plain text or plain HTTP is ever allowed.
func LoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
