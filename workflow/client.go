// Package workflow runs the signing workflow: its steps as River jobs on Postgres, one worker per step.
// Every step is idempotent: it may run twice (after a crash, a lost completion, a duplicate
// webhook) and then finds its work done or continues where the last run stopped.
package workflow

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/trace"

	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/metrics"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/tracing"
	"github.com/signingd/signingd/zgw"
)

// Config tunes the job client and the workflow. A zero duration or count takes the default of
// config.WorkflowConfig, where each default is written once.
type Config struct {
	Workers int // jobs run at once by this replica; 0 makes an insert-only client
	// IntakeWorkers run fetch and create jobs (queue intake); Workers/8 (at least 2) when zero.
	// Kept small: intake jobs that run by the dozen crowd the database, the DRC and the provider,
	// which the finishing steps need as well.
	IntakeWorkers int
	// FinishWorkers run the steps after the signing, progress checks and aborts (queue finish);
	// Workers when zero. Apart from intake, so new transactions cannot delay finishing ones.
	FinishWorkers int

	Logger *slog.Logger

	// Registry resolves the ZGW services; required when Workers > 0.
	Registry *zgw.Registry
	// Providers by name.
	Providers map[string]signing.Provider
	// HTTPClient for ZGW calls; zgw's default transport when nil.
	HTTPClient *http.Client
	// PartThreshold is the size from which uploads use bestandsdelen; zgw's default when zero.
	PartThreshold int64

	Drift         signing.DriftPolicy // abort (default) or next_version
	ServiceName   string              // auteur of evidence documents without eigenaar; "signingd" when empty
	BlobRetention time.Duration       // how long content is kept after the end

	RetryBase    time.Duration // first retry delay
	RetryMax     time.Duration // longest retry delay
	MaxAttempts  int           // per step before the transaction aborts
	LockRetry    time.Duration // wait before retrying a document locked by someone else
	NotifyMaxTry int           // NRC delivery attempts; 100 when zero
	// LockWaitMax caps the wait for a document locked by someone else: then the transaction
	// aborts.
	LockWaitMax time.Duration
	// ForceUnlockAfter is how long a document stays locked by a lock of ours whose id was lost
	// (a crash or a timeout right after the lock request) before it is forced open, which needs the
	// scope documenten.geforceerd-unlock; without it the transaction aborts.
	ForceUnlockAfter time.Duration

	FetchPollInterval time.Duration // River's; its default when zero
	FetchCooldown     time.Duration
	JobTimeout        time.Duration  // 10 min when zero
	RescueAfter       time.Duration  // a running job of a dead process is retried after this
	CleanupInterval   time.Duration  // how often stored content and the audit trail are cleaned up; 1 h when zero
	AuditRetention    time.Duration  // how long the token service's audit trail is kept
	Location          *time.Location // time zone of the times in the evidence report (TIME_ZONE)
	// Sealer signs the evidence reports the workflow writes; unsigned without one (no service
	// certificate configured).
	Sealer *Sealer
	// TSAs are the organisations' time-stamping authorities, by RSIN: the signed PDFs of a digital
	// signer that does not do it itself get the validation data and a document time-stamp
	// (PAdES B-LTA) before upload.
	TSAs map[string]*pades.TSA
	// Revocation is where that validation data's OCSP responses and CRLs come from; certificates
	// only when nil.
	Revocation *pades.Revocation
	// OrganisationNames are the names signers know the organisations by, by RSIN (the landscape's).
	OrganisationNames map[string]string

	Now func() time.Time

	// Metrics counts steps and outcomes; nil records nothing.
	Metrics *metrics.Metrics
	// Tracer, when set, carries traces into jobs and makes a span of every step.
	Tracer trace.TracerProvider
}

// defaults fills what the caller left zero from the configuration's defaults (written once, in the
// config package's tags), and the few settings that are not configuration.
func (c *Config) defaults() {
	all := config.Defaults()
	d := all.Workflow
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Drift == "" {
		c.Drift = signing.DriftPolicy(d.DriftPolicy)
	}
	if c.ServiceName == "" {
		c.ServiceName = "signingd"
	}
	setDefault(&c.BlobRetention, d.BlobRetention)
	setDefault(&c.RetryBase, d.RetryBase)
	setDefault(&c.RetryMax, d.RetryMax)
	setDefault(&c.MaxAttempts, d.MaxAttempts)
	setDefault(&c.LockRetry, d.LockRetry)
	setDefault(&c.LockWaitMax, d.LockWaitMax)
	setDefault(&c.ForceUnlockAfter, d.ForceUnlockAfter)
	setDefault(&c.RescueAfter, d.RescueAfter)
	setDefault(&c.AuditRetention, all.Auth.AuditRetention)
	setDefault(&c.Location, all.TimeZone)
	if c.NotifyMaxTry == 0 {
		c.NotifyMaxTry = 100
	}
	if c.JobTimeout == 0 {
		c.JobTimeout = 10 * time.Minute
	}
	if c.RescueAfter <= c.JobTimeout {
		c.JobTimeout = c.RescueAfter / 2
	}
	if c.FetchPollInterval > 0 && c.FetchCooldown == 0 && c.FetchPollInterval < 100*time.Millisecond {
		c.FetchCooldown = c.FetchPollInterval / 5 // River refuses a cooldown longer than the poll interval
	}
	if c.CleanupInterval == 0 {
		c.CleanupInterval = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.IntakeWorkers == 0 {
		c.IntakeWorkers = max(c.Workers/8, 2)
	}
	if c.FinishWorkers == 0 {
		c.FinishWorkers = max(c.Workers, 1)
	}
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Client is River's client for signingd's jobs.
type Client = river.Client[pgx.Tx]

// NewInserter returns the River client that inserts the workflow's jobs and works none. The store
// gets it at construction, before the workflow (which needs the store) exists. It gives every job
// cfg's attempt limit and carries the trace into it.
func NewInserter(pool *pgxpool.Pool, cfg Config) (*Client, error) {
	cfg.defaults()
	rc := &river.Config{Logger: cfg.Logger, MaxAttempts: cfg.MaxAttempts}
	if cfg.Tracer != nil {
		rc.Middleware = []rivertype.Middleware{tracing.NewJobMiddleware(cfg.Tracer)}
	}
	c, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("workflow: new inserter: %w", err)
	}
	return c, nil
}

// Attempts is the attempt limit of every step under cfg; the store
// gives it to the first job, which it writes itself.
func (c Config) Attempts() int {
	c.defaults()
	return c.MaxAttempts
}

// New returns the workflow on s, whose inserter queues the steps. With cfg.Workers > 0 it has a
// River client that works the steps once started; with none it only gives Progress its meaning.
func New(pool *pgxpool.Pool, s *store.Store, cfg Config) (*Workflow, error) {
	cfg.defaults()
	wf := &Workflow{cfg: cfg, store: s, log: cfg.Logger, retry: retryPolicy{base: cfg.RetryBase, max: cfg.RetryMax}}
	if cfg.Workers == 0 {
		return wf, nil
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, step(wf, "fetch", wf.fetch))
	river.AddWorker(workers, step(wf, "create", wf.create))
	river.AddWorker(workers, step(wf, "progress", wf.progress))
	river.AddWorker(workers, step(wf, "collect", wf.collect))
	river.AddWorker(workers, step(wf, "upload", wf.upload))
	river.AddWorker(workers, step(wf, "evidence", wf.evidence))
	river.AddWorker(workers, step(wf, "notify", wf.notify))
	river.AddWorker(workers, step(wf, "abort", wf.abort))
	river.AddWorker(workers, &cleanupWorker{wf: wf})
	rc := &river.Config{
		Workers:              workers,
		Logger:               cfg.Logger,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		RetryPolicy:          &wf.retry,
		FetchPollInterval:    cfg.FetchPollInterval,
		FetchCooldown:        cfg.FetchCooldown,
		MaxAttempts:          cfg.MaxAttempts,
		Queues: map[string]river.QueueConfig{
			store.QueueIntake: {MaxWorkers: cfg.IntakeWorkers},
			store.QueueFinish: {MaxWorkers: cfg.FinishWorkers},
			// Cleanup, and jobs queued by an older version before the queues were split.
			river.QueueDefault: {MaxWorkers: min(cfg.Workers, 4)},
		},
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cfg.CleanupInterval),
			func() (river.JobArgs, *river.InsertOpts) { return CleanupArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true})},
	}
	if cfg.Tracer != nil {
		rc.Middleware = []rivertype.Middleware{tracing.NewJobMiddleware(cfg.Tracer)}
	}
	c, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("workflow: new client: %w", err)
	}
	wf.river = c
	return wf, nil
}

// Start works the steps until Stop (nothing without workers).
func (wf *Workflow) Start(ctx context.Context) error {
	if wf.river == nil {
		return nil
	}
	return wf.river.Start(ctx)
}

// Stop lets running steps finish, within ctx.
func (wf *Workflow) Stop(ctx context.Context) error {
	if wf.river == nil {
		return nil
	}
	return wf.river.Stop(ctx)
}

// retryPolicy backs off exponentially with jitter.
type retryPolicy struct{ base, max time.Duration }

func (p *retryPolicy) NextRetry(job *rivertype.JobRow) time.Time { return p.next(job.Attempt, 0) }

// next is the time of the attempt after attempt, no sooner than atLeast from now.
func (p *retryPolicy) next(attempt int, atLeast time.Duration) time.Time {
	d := p.base << min(max(attempt-1, 0), 20)
	if d > p.max || d <= 0 {
		d = p.max
	}
	d = d/2 + rand.N(d/2+1) // jitter: spread retries of many transactions
	return time.Now().Add(max(d, atLeast))
}

// cleanupWorker deletes the content of transactions that ended more than BlobRetention ago, and
// the audit trail's entries older than AuditRetention.
type cleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	wf *Workflow
}

func (w *cleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	now := w.wf.cfg.Now().UTC()
	n, err := w.wf.store.DeleteFinishedBlobs(ctx, now.Add(-w.wf.cfg.BlobRetention), now)
	if err != nil {
		return err
	}
	if n > 0 {
		w.wf.log.InfoContext(ctx, "deleted stored content of finished transactions", "blobs", n)
	}
	if n, err = w.wf.store.DeleteAuditBefore(ctx, now.Add(-w.wf.cfg.AuditRetention)); err != nil {
		return err
	}
	if n > 0 {
		w.wf.log.InfoContext(ctx, "deleted audit entries past their retention", "entries", n, "retention", w.wf.cfg.AuditRetention.String())
	}
	return nil
}

// clients caches one ZGW client per organisation.
type clients struct {
	mu sync.Mutex
	m  map[string]*zgw.Client
}
