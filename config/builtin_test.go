package config

import (
	"strings"
	"testing"
)

// BUILTIN_SMTP_TLS defaults to starttls, takes tls and none, and refuses plain text to a mail
// server that is not on this machine: a signing link is a bearer secret.
func TestLoadBuiltinSMTPTLS(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := LoadBuiltin(env(map[string]string{"BUILTIN_SMTP_ADDR": "mail.example:587"}))
	if err != nil || c.SMTPTLS != "starttls" {
		t.Fatalf("default: %v %q", err, c.SMTPTLS)
	}
	for _, ok := range []map[string]string{
		{"BUILTIN_SMTP_ADDR": "mail.example:465", "BUILTIN_SMTP_TLS": "tls"},
		{"BUILTIN_SMTP_ADDR": "127.0.0.1:1025", "BUILTIN_SMTP_TLS": "none"},
		{"BUILTIN_SMTP_ADDR": "localhost:1025", "BUILTIN_SMTP_TLS": "none"},
		{"BUILTIN_SMTP_ADDR": "[::1]:1025", "BUILTIN_SMTP_TLS": "none"},
		{"BUILTIN_SMTP_TLS": "none"}, // no SMTP server: nothing is mailed
	} {
		if c, err := LoadBuiltin(env(ok)); err != nil || c.SMTPTLS != ok["BUILTIN_SMTP_TLS"] {
			t.Errorf("%v: %v %q", ok, err, c.SMTPTLS)
		}
	}
	for _, bad := range []map[string]string{
		{"BUILTIN_SMTP_ADDR": "mail.example:587", "BUILTIN_SMTP_TLS": "opportunistic"},
		{"BUILTIN_SMTP_ADDR": "mail.example:587", "BUILTIN_SMTP_TLS": "STARTTLS "},
		{"BUILTIN_SMTP_ADDR": "mail.example:25", "BUILTIN_SMTP_TLS": "none"},
		{"BUILTIN_SMTP_ADDR": "10.0.0.25:25", "BUILTIN_SMTP_TLS": "none"},
		{"BUILTIN_SMTP_ADDR": "localhost.mail.example:25", "BUILTIN_SMTP_TLS": "none"},
	} {
		if _, err := LoadBuiltin(env(bad)); err == nil || !strings.Contains(err.Error(), "BUILTIN_SMTP_TLS") {
			t.Errorf("%v: %v, want an error naming BUILTIN_SMTP_TLS", bad, err)
		}
	}
	if _, err := LoadBuiltin(env(map[string]string{"BUILTIN_SMTP_ADDR": "mail.example"})); err == nil || !strings.Contains(err.Error(), "BUILTIN_SMTP_ADDR") {
		t.Errorf("address without a port: %v", err)
	}
}
