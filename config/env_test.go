package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// tagged calls fn for every field read from the environment, with its tags.
func tagged(t reflect.Type, fn func(f reflect.StructField, index []int), index []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		idx := append(index[:len(index):len(index)], i)
		switch env := f.Tag.Get("env"); {
		case env == "-":
		case env == "" && f.Type.Kind() == reflect.Struct:
			tagged(f.Type, fn, idx)
		case env != "":
			fn(f, idx)
		}
	}
}

// Every variable the reference lists is the one the loader reads: setting it changes its field from
// the default. The default tags themselves load (Defaults would panic), and no name is used twice.
func TestEveryVariableIsRead(t *testing.T) {
	t.Parallel()
	// Values that pass the cross-field checks; the rest are derived from the field's type.
	special := map[string]string{
		"BUILTIN_SMTP_ADDR": "127.0.0.1:2525", "BUILTIN_SMS_URL": "https://sms.example/send",
		"BUILTIN_GOTENBERG_URL": "http://gotenberg:3000", "TOKEN_TTL": "45m", "KEY_ROTATION_INTERVAL": "48h",
		"TRUSTED_PROXIES": "10.0.0.0/8", "LOG_LEVEL": "debug", "MIGRATE_ON_START": "false",
		"TIME_ZONE": "America/Kralendijk", // Caribisch Nederland
	}
	env := map[string]string{}
	seen := map[string]bool{}
	tagged(reflect.TypeFor[Config](), func(f reflect.StructField, _ []int) {
		name := f.Tag.Get("env")
		if seen[name] {
			t.Errorf("%s is read into two fields", name)
		}
		seen[name] = true
		if v, ok := special[name]; ok {
			env[name] = v
			return
		}
		if one := strings.Fields(f.Tag.Get("oneof")); len(one) > 0 {
			env[name] = one[len(one)-1]
			return
		}
		switch f.Type {
		case durationType:
			env[name] = "123h"
		default:
			switch f.Type.Kind() {
			case reflect.Bool:
				env[name] = "true"
			case reflect.Int, reflect.Float64:
				env[name] = "77"
			default:
				env[name] = "set-" + strings.ToLower(name)
			}
		}
	}, nil)
	got, err := fromEnv(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	def := reflect.ValueOf(Defaults())
	tagged(reflect.TypeFor[Config](), func(f reflect.StructField, idx []int) {
		if reflect.DeepEqual(def.FieldByIndex(idx).Interface(), reflect.ValueOf(got).FieldByIndex(idx).Interface()) {
			t.Errorf("%s=%s left %s at its default", f.Tag.Get("env"), env[f.Tag.Get("env")], f.Name)
		}
	}, nil)
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := Defaults()
	if c.DatabaseURL != DefaultDatabaseURL || c.Auth.TokenTTL != 15*time.Minute || c.Workflow.Expiry != 30*24*time.Hour ||
		c.Builtin.LinkExpiry != 14*24*time.Hour || c.Builtin.SMTPTLS != "starttls" || !c.MigrateOnStart || c.Workers != 50 {
		t.Fatalf("defaults: %+v", c)
	}
}

// Each wrong variable is named, all of them in one error, and a bound or a choice is enforced.
func TestFromEnvRefuses(t *testing.T) {
	t.Parallel()
	for name, m := range map[string]map[string]string{
		"TOKEN_TTL":              {"TOKEN_TTL": "2h"},
		"TOKEN_ALG":              {"TOKEN_ALG": "HS256"},
		"KEY_ROTATION_INTERVAL":  {"KEY_ROTATION_INTERVAL": "1h"},
		"TOKEN_RATE_PER_CLIENT":  {"TOKEN_RATE_PER_CLIENT": "-1"},
		"AUTH_LOCKOUT_THRESHOLD": {"AUTH_LOCKOUT_THRESHOLD": "0"},
		"WORKERS":                {"WORKERS": "many"},
		"LOG_LEVEL":              {"LOG_LEVEL": "loud"},
		"EXPIRY":                 {"EXPIRY": "0s"},
		"DRIFT_POLICY":           {"DRIFT_POLICY": "ignore"},
		"BUILTIN_OTP_LOCKOUT":    {"BUILTIN_OTP_LOCKOUT": "-5m"},
		"BUILTIN_SMS_URL":        {"BUILTIN_SMS_URL": "ftp://sms.example"},
		"TRUSTED_PROXIES":        {"TRUSTED_PROXIES": "proxy.example"},
		"MIGRATE_ON_START":       {"MIGRATE_ON_START": "ja"},
		"TIME_ZONE":              {"TIME_ZONE": "Amsterdam"},
	} {
		if _, err := FromEnv(envOf(m)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want an error naming it", name, err)
		}
	}
	_, err := FromEnv(envOf(map[string]string{"WORKERS": "0", "RETRY_MAX": "soon"}))
	if err == nil || !strings.Contains(err.Error(), "WORKERS") || !strings.Contains(err.Error(), "RETRY_MAX") {
		t.Errorf("two wrong variables: %v, want both named", err)
	}
}

// BUILTIN_SMTP_TLS defaults to starttls, takes tls and none, and refuses plain text to a mail
// server that is not on this machine: a signing link is a bearer secret.
func TestBuiltinSMTPTLS(t *testing.T) {
	t.Parallel()
	for _, ok := range []map[string]string{
		{"BUILTIN_SMTP_ADDR": "mail.example:465", "BUILTIN_SMTP_TLS": "tls"},
		{"BUILTIN_SMTP_ADDR": "127.0.0.1:1025", "BUILTIN_SMTP_TLS": "none"},
		{"BUILTIN_SMTP_ADDR": "localhost:1025", "BUILTIN_SMTP_TLS": "none"},
		{"BUILTIN_SMTP_ADDR": "[::1]:1025", "BUILTIN_SMTP_TLS": "none"},
		{"BUILTIN_SMTP_TLS": "none"}, // no SMTP server: nothing is mailed
	} {
		if c, err := FromEnv(envOf(ok)); err != nil || c.Builtin.SMTPTLS != ok["BUILTIN_SMTP_TLS"] {
			t.Errorf("%v: %v %q", ok, err, c.Builtin.SMTPTLS)
		}
	}
	for _, bad := range []map[string]string{
		{"BUILTIN_SMTP_ADDR": "mail.example:587", "BUILTIN_SMTP_TLS": "opportunistic"},
		{"BUILTIN_SMTP_ADDR": "mail.example:587", "BUILTIN_SMTP_TLS": "STARTTLS "},
		{"BUILTIN_SMTP_ADDR": "mail.example:25", "BUILTIN_SMTP_TLS": "none"},
		{"BUILTIN_SMTP_ADDR": "10.0.0.25:25", "BUILTIN_SMTP_TLS": "none"},
		{"BUILTIN_SMTP_ADDR": "localhost.mail.example:25", "BUILTIN_SMTP_TLS": "none"},
	} {
		if _, err := FromEnv(envOf(bad)); err == nil || !strings.Contains(err.Error(), "BUILTIN_SMTP_TLS") {
			t.Errorf("%v: %v, want an error naming BUILTIN_SMTP_TLS", bad, err)
		}
	}
	if _, err := FromEnv(envOf(map[string]string{"BUILTIN_SMTP_ADDR": "mail.example"})); err == nil || !strings.Contains(err.Error(), "BUILTIN_SMTP_ADDR") {
		t.Errorf("address without a port: %v", err)
	}
}
