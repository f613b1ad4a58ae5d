package config

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// DefaultDatabaseURL is the local Postgres a developer machine has.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres"

// Config is the process configuration, read from the environment once at start.
type Config struct {
	DatabaseURL     string        `env:"DATABASE_URL" doc:"Postgres connection URL."`
	ListenAddr      string        `env:"LISTEN_ADDR" doc:"Address the HTTP server listens on."`
	PublicURL       string        `env:"PUBLIC_URL" doc:"External base URL of this service, used in links and as token issuer."`
	LogLevel        slog.Level    `env:"LOG_LEVEL" doc:"debug, info, warn or error."`
	ConfigFile      string        `env:"CONFIG_FILE" doc:"Path of the landscape YAML file (organisations, ZGW services, providers)."`
	SecretKey       Secret        `env:"SECRET_KEY" doc:"Server pepper keying the digests of API keys, client secrets and signer codes (literal, env:NAME or file:/path; e.g. openssl rand -base64 32). Required: serve, clients and keys refuse to start without it, so that nothing in the database alone opens a secret."`
	MigrateOnStart  bool          `env:"MIGRATE_ON_START" doc:"Apply database migrations when serve starts."`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" doc:"How long a SIGTERM waits for requests and jobs to drain."`
	Workers         int           `env:"WORKERS" doc:"Maximum number of jobs run at once by this replica."`
	MetricsAddr     string        `env:"METRICS_ADDR" doc:"Serve /metrics on this address (e.g. 127.0.0.1:9090 or an internal interface) instead of on LISTEN_ADDR. Set it in production, so that /metrics is not on the public listener; empty serves /metrics on LISTEN_ADDR (dev and try-outs)."`
	TrustedProxies  Prefixes      `env:"TRUSTED_PROXIES" doc:"Comma-separated CIDRs (or single addresses) of the reverse proxies whose X-Forwarded-For and X-Real-IP are believed; the client is the right-most address not in them. Empty: the TCP peer is the client and forwarded headers are ignored."`

	// Sub-configurations; their fields carry env tags of their own.
	Auth     AuthConfig
	Workflow WorkflowConfig
	Builtin  BuiltinConfig

	Landscape Landscape `env:"-"`
}

// Defaults returns the configuration used when the environment says nothing.
func Defaults() Config {
	return Config{
		DatabaseURL:     DefaultDatabaseURL,
		ListenAddr:      ":8080",
		PublicURL:       "http://localhost:8080",
		LogLevel:        slog.LevelInfo,
		MigrateOnStart:  true,
		ShutdownTimeout: 30 * time.Second,
		Workers:         50,
		Auth:            DefaultAuth(),
		Builtin:         BuiltinDefaults(),
	}
}

// FromEnv reads the configuration from getenv over the defaults and loads the landscape file.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Defaults()
	var err error
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("DATABASE_URL", &c.DatabaseURL)
	str("LISTEN_ADDR", &c.ListenAddr)
	str("PUBLIC_URL", &c.PublicURL)
	str("CONFIG_FILE", &c.ConfigFile)
	str("METRICS_ADDR", &c.MetricsAddr)
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return c, fmt.Errorf("config: LOG_LEVEL: %w", err)
		}
	}
	if v := getenv("SECRET_KEY"); v != "" {
		if c.SecretKey, err = ParseSecret(v); err != nil {
			return c, fmt.Errorf("config: SECRET_KEY: %w", err)
		}
	}
	if v := getenv("TRUSTED_PROXIES"); v != "" {
		if c.TrustedProxies, err = ParsePrefixes(v); err != nil {
			return c, fmt.Errorf("config: TRUSTED_PROXIES: %w", err)
		}
	}
	if v := getenv("MIGRATE_ON_START"); v != "" {
		if c.MigrateOnStart, err = strconv.ParseBool(v); err != nil {
			return c, fmt.Errorf("config: MIGRATE_ON_START: %w", err)
		}
	}
	if v := getenv("SHUTDOWN_TIMEOUT"); v != "" {
		if c.ShutdownTimeout, err = time.ParseDuration(v); err != nil {
			return c, fmt.Errorf("config: SHUTDOWN_TIMEOUT: %w", err)
		}
	}
	if v := getenv("WORKERS"); v != "" {
		if c.Workers, err = strconv.Atoi(v); err != nil || c.Workers < 1 {
			return c, fmt.Errorf("config: WORKERS: want a positive number, got %q", v)
		}
	}
	if err := loadAuth(getenv, &c); err != nil {
		return c, err
	}
	if err := loadBuiltin(getenv, &c.Builtin); err != nil {
		return c, err
	}
	if err := loadWorkflow(getenv, &c); err != nil {
		return c, err
	}
	if c.Landscape, err = LoadLandscape(c.ConfigFile); err != nil {
		return c, err
	}
	return c, nil
}

// CheckKeys refuses a configuration whose secrets would have to live in the database: the pepper
// (SECRET_KEY) and, for signing keys kept in the database, the key that seals them
// (KEY_ENCRYPTION_KEY). A database reader must not be able to recover a one-time code or unseal a
// token key. signingd dev sets demo values of both.
func (c Config) CheckKeys() error {
	var missing []string
	if c.SecretKey.IsZero() {
		missing = append(missing, "SECRET_KEY")
	}
	if c.Auth.KeyEncryptionKey.IsZero() && len(c.Auth.SigningKeyFiles) == 0 {
		missing = append(missing, "KEY_ENCRYPTION_KEY")
	}
	if len(missing) > 0 {
		return fmt.Errorf("config: %s must be set (e.g. `openssl rand -base64 32` each, kept outside the database); see docs/operations.md, Keys", strings.Join(missing, " and "))
	}
	return nil
}
