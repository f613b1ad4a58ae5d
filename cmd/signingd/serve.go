package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/api"
	"github.com/signingd/signingd/config"
	signingdapp "github.com/signingd/signingd/internal/app"
	"github.com/signingd/signingd/metrics"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/builtin"
	"github.com/signingd/signingd/signing/providers/documenso"
	"github.com/signingd/signingd/signing/providers/docuseal"
	"github.com/signingd/signingd/signing/providers/onespan"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/tracing"
	"github.com/signingd/signingd/workflow"
	"github.com/signingd/signingd/zgw"
)

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(tracing.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}

// open reads the configuration, connects to the database and makes sure the schema is current:
// migrated when MIGRATE_ON_START, otherwise refused when behind.
func open(ctx context.Context, getenv func(string) string, stderr io.Writer) (config.Config, *slog.Logger, *pgxpool.Pool, error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return cfg, nil, nil, err
	}
	logger := newLogger(stderr, cfg.LogLevel)
	pool, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return cfg, logger, nil, err
	}
	if cfg.MigrateOnStart {
		err = store.Migrate(ctx, pool)
	} else {
		err = store.CheckMigrations(ctx, pool)
	}
	if err != nil {
		pool.Close()
		return cfg, logger, nil, err
	}
	return cfg, logger, pool, nil
}

// pepper returns the server secret that keys the digests of API keys and client secrets and
// protects one-time codes: SECRET_KEY, kept outside the database so that a database reader cannot
// use it (see config.Config.CheckKeys).
func pepper(cfg config.Config) ([]byte, error) {
	if err := cfg.CheckKeys(); err != nil {
		return nil, err
	}
	return []byte(cfg.SecretKey.Value()), nil
}

func serve(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	cfg, logger, pool, err := open(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer pool.Close()
	// The pepper and the key-encryption key live outside the database, or a database reader
	// recovers one-time codes and unseals the token keys.
	if err := cfg.CheckKeys(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if cfg.Builtin.DevOutbox {
		// The outbox page shows every link and code of every organisation to anyone who can reach it.
		return errors.New("serve: BUILTIN_DEV_OUTBOX is for signingd dev only; configure BUILTIN_SMTP_ADDR to send signer mail")
	}
	a, err := assemble(ctx, cfg, logger, pool, getenv)
	if err != nil {
		return err
	}
	defer a.close()
	return a.run(ctx, nil)
}

// app is the service as serve assembles it between the open database and the listener; `signingd
// dev` runs the same assembly, so what a new user tries is what production runs.
type app struct {
	*signingdapp.App
	cfg      config.Config
	logger   *slog.Logger
	pool     *pgxpool.Pool
	pepper   []byte
	registry *zgw.Registry
	metrics  *metrics.Metrics
	closers  []func()
}

// close releases what assemble set up (the tracer's flush); the pool belongs to the caller.
func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// assemble builds the service on an open, migrated pool with internal/app: the store, then on it
// the ZGW registry, providers (the built-in signer among them), authentication and the API's
// dependencies, then the workflow and the API handler. Background work (key rotation, the
// built-in signer's ticks) runs until ctx ends. extra mounts more routes on the API's router.
func assemble(ctx context.Context, cfg config.Config, logger *slog.Logger, pool *pgxpool.Pool, getenv func(string) string, extra ...func(*echo.Echo)) (_ *app, err error) {
	a := &app{cfg: cfg, logger: logger, pool: pool}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	registry, err := zgw.NewRegistry(cfg.Landscape.ZGW(), zgw.RegistryOptions{Logger: logger})
	if err != nil {
		return nil, err
	}
	a.registry = registry
	tp, stopTracing, err := tracing.Setup(ctx, getenv, version)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { _ = stopTracing(context.Background()) }) // best effort flush at exit
	m := metrics.New()
	m.RegisterDatabase(pool)
	a.metrics = m
	wcfg := workflowConfig(cfg, logger, registry)
	wcfg.Metrics, wcfg.Tracer = m, tp
	wcfg.HTTPClient = &http.Client{Transport: tracing.Transport(tp, m.Transport(zgw.DefaultTransport()))}
	cert, err := serviceCertificate(ctx, cfg.Builtin, logger)
	if err != nil {
		return nil, err
	}
	if cert != nil {
		wcfg.Sealer = &workflow.Sealer{Key: cert.Key, Chain: cert.Chain, Name: "signingd"}
	}
	lt, err := longTermFrom(ctx, cfg.Landscape, cert, logger)
	if err != nil {
		return nil, err
	}
	wcfg.TSAs, wcfg.Revocation = lt.tsas, lt.revocation
	pep, err := pepper(cfg)
	if err != nil {
		return nil, err
	}
	build := func(ctx context.Context, st *store.Store, progress signing.ProgressFunc) (signingdapp.Parts, error) {
		if err := st.SyncOrganisations(ctx, cfg.Landscape.OrganisationNames()); err != nil {
			return signingdapp.Parts{}, err
		}
		a.pepper = pep
		providers, err := buildProviders(cfg.Landscape, &http.Client{Transport: tracing.Transport(tp, nil), Timeout: time.Minute})
		if err != nil {
			return signingdapp.Parts{}, err
		}
		var mounts []func(*echo.Echo)
		bp, mountBuiltin, err := setupBuiltin(ctx, cfg, cert, lt, st, progress, logger)
		if err != nil {
			return signingdapp.Parts{}, err
		}
		if bp != nil {
			providers[bp.Info().Name] = bp
			mounts = append(mounts, mountBuiltin)
		}
		if err := providersRunning(cfg.Landscape, providers); err != nil {
			return signingdapp.Parts{}, err
		}
		authn, mountAuth, err := setupAuth(ctx, cfg, st, pep, m, logger)
		if err != nil {
			return signingdapp.Parts{}, err
		}
		mounts = append(mounts, mountAuth)
		mounts = append(mounts, extra...)
		return signingdapp.Parts{Providers: providers, API: api.Deps{
			Auth:           authn,
			Metrics:        m,
			ServeMetrics:   cfg.MetricsAddr == "",
			Tracer:         tp,
			Mounts:         mounts,
			Expiry:         cfg.Workflow.Expiry,
			Landscape:      cfg.Landscape,
			CheckURL:       registry.CheckResource,
			PublicURL:      cfg.PublicURL,
			TrustedProxies: cfg.TrustedProxies,
			BodyRules: []api.BodyRule{
				{Prefix: "/sign/", Limit: builtin.MaxFormSize, Types: []string{"application/x-www-form-urlencoded"}},
			},
			Logger: logger,
			Ready:  readiness(st, pool),
		}}, nil
	}
	if a.App, err = signingdapp.New(ctx, signingdapp.Options{Pool: pool, Workflow: wcfg, Build: build}); err != nil {
		return nil, err
	}
	return a, nil
}

// readiness answers /readyz: the database answers and its schema is current. The schema is checked
// until it is found current once (it does not go back), by concurrent requests.
func readiness(st *store.Store, pool *pgxpool.Pool) func(context.Context) error {
	var migrationsOK atomic.Bool
	return func(ctx context.Context) error {
		if err := st.Ping(ctx); err != nil {
			return err
		}
		if !migrationsOK.Load() {
			if err := store.CheckMigrations(ctx, pool); err != nil {
				return err
			}
			migrationsOK.Store(true)
		}
		return nil
	}
}

// run listens on LISTEN_ADDR, starts the jobs and serves until ctx ends, then drains. serving, when
// set, is called once the listener is open and the jobs run.
func (a *app) run(ctx context.Context, serving func(addr net.Addr)) error {
	cfg, logger := a.cfg, a.logger
	srv := &http.Server{
		Addr:              cfg.ListenAddr,
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := a.Start(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("start jobs: %w", err)
	}
	go a.Workflow.EnsureKanalen(ctx, rsins(cfg.Landscape))
	if cfg.MetricsAddr != "" {
		msrv := &http.Server{Addr: cfg.MetricsAddr, Handler: a.metrics.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := msrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics server", "err", err)
			}
		}()
		defer msrv.Close()
	}
	logger.Info("signingd serving", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "version", version)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if serving != nil {
		serving(ln.Addr())
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Drain in order: stop taking requests, let running jobs finish, then the pool closes.
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if jerr := a.Stop(sctx); jerr != nil {
		err = errors.Join(err, fmt.Errorf("stop jobs: %w", jerr))
	}
	logger.Info("stopped")
	return err
}

func migrate(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.LogLevel)
	pool, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool); err != nil {
		return err
	}
	logger.Info("migrations applied")
	return nil
}

// workflowConfig turns the process configuration into the job client's.
func workflowConfig(cfg config.Config, logger *slog.Logger, reg *zgw.Registry) workflow.Config {
	w := cfg.Workflow
	return workflow.Config{
		Workers: cfg.Workers, Logger: logger, Registry: reg,
		Drift: signing.DriftPolicy(w.DriftPolicy), BlobRetention: w.BlobRetention,
		RetryBase: w.RetryBase, RetryMax: w.RetryMax, MaxAttempts: w.MaxAttempts, LockRetry: w.LockRetry,
		LockWaitMax: w.LockWaitMax, ForceUnlockAfter: w.ForceUnlockAfter,
		IntakeWorkers: w.IntakeWorkers, FinishWorkers: w.FinishWorkers,
		FetchPollInterval: w.JobPoll, RescueAfter: w.RescueAfter, AuditRetention: cfg.Auth.AuditRetention,
		Location: cfg.TimeZone, OrganisationNames: cfg.Landscape.OrganisationNames(),
	}
}

// buildProviders makes the signing providers the landscape configures (config check has checked
// them): one adapter per account, each calling only its base_url.
func buildProviders(l config.Landscape, hc *http.Client) (map[string]signing.Provider, error) {
	out := map[string]signing.Provider{}
	for _, p := range l.Providers {
		switch p.Kind() {
		case config.BuiltinProvider: // built by setupBuiltin; listed to narrow its methods
		case config.ProviderSimulated:
			out[p.Name] = simulated.New(simulated.Config{BaseURL: p.BaseURL, WebhookSecret: p.CallbackKey.Value(), PollInterval: p.PollInterval,
				CallsPerMinute: p.CallsPerMinute, Client: hc})
		case config.ProviderOneSpan:
			a, err := onespan.New(onespan.Config{Name: p.Name, BaseURL: p.BaseURL, APIKey: p.APIKey.Value(), CallbackKey: p.CallbackKey.Value(),
				Sender: p.Sender, Language: p.Language, PollInterval: p.PollInterval, CallsPerMinute: p.CallsPerMinute, Client: hc})
			if err != nil {
				return nil, fmt.Errorf("provider %s: %w", p.Name, err)
			}
			out[p.Name] = a
		case config.ProviderDocumenso:
			a, err := documenso.New(documenso.Config{Name: p.Name, BaseURL: p.BaseURL, APIKey: p.APIKey.Value(), WebhookSecret: p.CallbackKey.Value(),
				Language: p.Language, PollInterval: p.PollInterval, CallsPerMinute: p.CallsPerMinute, Client: hc})
			if err != nil {
				return nil, fmt.Errorf("provider %s: %w", p.Name, err)
			}
			out[p.Name] = a
		case config.ProviderDocuSeal:
			a, err := docuseal.New(docuseal.Config{Name: p.Name, BaseURL: p.BaseURL, APIKey: p.APIKey.Value(), WebhookSecret: p.CallbackKey.Value(),
				LegacyHeader: p.LegacyHeader, Edition: p.Edition, Language: p.Language, PollInterval: p.PollInterval, CallsPerMinute: p.CallsPerMinute, Client: hc})
			if err != nil {
				return nil, fmt.Errorf("provider %s: %w", p.Name, err)
			}
			out[p.Name] = a
		default:
			return nil, fmt.Errorf("provider %s: no adapter of type %q", p.Name, p.Kind())
		}
	}
	return out, nil
}

// providersRunning refuses to start when an organisation's provider is not running here, rather
// than accept triggers that cannot be signed.
func providersRunning(l config.Landscape, providers map[string]signing.Provider) error {
	var errs []error
	for _, o := range l.Organisations {
		p, _ := l.ProviderFor(o.RSIN) // config check: every organisation has one
		if _, ok := providers[p.Name]; !ok {
			hint := ""
			if p.Name == builtin.Name {
				hint = " (the built-in signer needs BUILTIN_SMTP_ADDR)"
			}
			errs = append(errs, fmt.Errorf("organisation %s: provider %q is not running%s", o.RSIN, p.Name, hint))
		}
	}
	return errors.Join(errs...)
}

func rsins(l config.Landscape) []string {
	var out []string
	for _, o := range l.Organisations {
		out = append(out, o.RSIN)
	}
	return out
}
