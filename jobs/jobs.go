// Package jobs runs signingd's durable work: River workers on Postgres, one per workflow step.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/signingd/signingd/store"
)

// Config tunes the job client.
type Config struct {
	Workers int // jobs run at once by this replica; 0 makes an insert-only client
	Logger  *slog.Logger
}

// NewClient returns the River client. With Workers > 0 it also works jobs once started.
func NewClient(pool *pgxpool.Pool, s *store.Store, cfg Config) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &fetchWorker{store: s})
	river.AddWorker(workers, &abortWorker{store: s})
	rc := &river.Config{Workers: workers, Logger: cfg.Logger, JobTimeout: 10 * time.Minute}
	if cfg.Workers > 0 {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
	}
	c, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: new client: %w", err)
	}
	return c, nil
}

// fetchWorker only records in the audit trail that it ran; the workflow gives it its real work.
type fetchWorker struct {
	river.WorkerDefaults[store.FetchDocumentsArgs]
	store *store.Store
}

func (w *fetchWorker) Work(ctx context.Context, job *river.Job[store.FetchDocumentsArgs]) error {
	return w.store.RecordJobRan(ctx, job.Args.TransactionID, job.Kind, time.Now().UTC())
}

// abortWorker only records in the audit trail that it ran; the workflow gives it its real work.
type abortWorker struct {
	river.WorkerDefaults[store.AbortArgs]
	store *store.Store
}

func (w *abortWorker) Work(ctx context.Context, job *river.Job[store.AbortArgs]) error {
	return w.store.RecordJobRan(ctx, job.Args.TransactionID, job.Kind, time.Now().UTC())
}
