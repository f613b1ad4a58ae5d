package config

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"
	_ "time/tzdata" // TIME_ZONE must load on a machine without the system's zone files
)

// Config is the process configuration, read from the environment once at start. The tags are the
// only place a variable's name, default and meaning are written (see load.go).
type Config struct {
	DatabaseURL     string         `env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/postgres" doc:"Postgres connection URL."`
	ListenAddr      string         `env:"LISTEN_ADDR" default:":8080" doc:"Address the HTTP server listens on."`
	PublicURL       string         `env:"PUBLIC_URL" default:"http://localhost:8080" doc:"External base URL of this service, used in links and as token issuer."`
	LogLevel        slog.Level     `env:"LOG_LEVEL" default:"info" doc:"debug, info, warn or error."`
	ConfigFile      string         `env:"CONFIG_FILE" doc:"Path of the landscape YAML file (organisations, ZGW services, providers)."`
	SecretKey       Secret         `env:"SECRET_KEY" doc:"Server pepper keying the digests of API keys, client secrets and signer codes (literal, env:NAME or file:/path; e.g. openssl rand -base64 32). Required: serve, clients and keys refuse to start without it, so that nothing in the database alone opens a secret."`
	MigrateOnStart  bool           `env:"MIGRATE_ON_START" default:"true" doc:"Apply database migrations when serve starts."`
	ShutdownTimeout time.Duration  `env:"SHUTDOWN_TIMEOUT" default:"30s" doc:"How long a SIGTERM waits for requests and jobs to drain."`
	Workers         int            `env:"WORKERS" default:"50" min:"1" doc:"Maximum number of jobs run at once by this replica."`
	MetricsAddr     string         `env:"METRICS_ADDR" doc:"Serve /metrics on this address (e.g. 127.0.0.1:9090 or an internal interface) instead of on LISTEN_ADDR. Set it in production, so that /metrics is not on the public listener; empty serves /metrics on LISTEN_ADDR (dev and try-outs)."`
	TimeZone        *time.Location `env:"TIME_ZONE" default:"Europe/Amsterdam" doc:"IANA time zone of the times people read: in the stamps, the evidence reports and the mails (shown with their offset)."`
	TrustedProxies  Prefixes       `env:"TRUSTED_PROXIES" doc:"Comma-separated CIDRs (or single addresses) of the reverse proxies whose X-Forwarded-For and X-Real-IP are believed; the client is the right-most address not in them. Empty: the TCP peer is the client and forwarded headers are ignored."`

	// Sub-configurations; their fields carry env tags of their own.
	Auth     AuthConfig
	Workflow WorkflowConfig
	Builtin  BuiltinConfig

	Landscape Landscape `env:"-"`
}

// DefaultDatabaseURL is the local Postgres a developer machine has: DATABASE_URL's default.
var DefaultDatabaseURL = Defaults().DatabaseURL

// Defaults returns the configuration used when the environment says nothing: the default tags.
func Defaults() Config {
	c, err := fromEnv(func(string) string { return "" })
	if err != nil {
		panic(err) // the default tags are code; TestDefaults loads them
	}
	return c
}

// FromEnv reads the configuration from getenv over the defaults, checks it, and loads the landscape
// file. The error names every variable that is wrong, not only the first.
func FromEnv(getenv func(string) string) (Config, error) {
	c, err := fromEnv(getenv)
	if err != nil {
		return c, err
	}
	if c.Landscape, err = LoadLandscape(c.ConfigFile); err != nil {
		return c, err
	}
	return c, nil
}

func fromEnv(getenv func(string) string) (Config, error) {
	var c Config
	if err := load(getenv, reflect.ValueOf(&c).Elem()); err != nil {
		return c, err
	}
	if err := c.check(); err != nil {
		return c, err
	}
	return c, nil
}

// check applies the rules that involve more than one variable or more than a type and a bound.
func (c *Config) check() error {
	return errors.Join(c.Auth.check(), c.Builtin.check())
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
