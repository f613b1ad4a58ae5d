// Package store keeps signingd's state in Postgres through pgx. All SQL lives here.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/signingd/signingd/signing"
)

// JobInserter enqueues River jobs inside a database transaction; *river.Client[pgx.Tx] is one.
type JobInserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Store is the database of one signingd deployment.
type Store struct {
	pool *pgxpool.Pool
	jobs JobInserter
	// maxAttempts is the workflow's attempt limit for the intake's job, which the store inserts
	// itself; River's default when zero.
	maxAttempts int
}

// Open connects to Postgres. Pool size follows pool_max_conns in the URL, else 20.
func Open(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: parse database url: %w", err)
	}
	if !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = 20
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	return pool, nil
}

// New returns a Store on pool. jobs may be nil until the job client exists (SetJobs).
func New(pool *pgxpool.Pool, jobs JobInserter) *Store {
	return &Store{pool: pool, jobs: jobs}
}

// SetJobs sets the job inserter; River's client needs the pool first, the store needs the client.
func (s *Store) SetJobs(jobs JobInserter) { s.jobs = jobs }

// SetMaxAttempts sets the attempt limit of the first job the intake writes, to match the limit the
// job client gives every other job.
func (s *Store) SetMaxAttempts(n int) { s.maxAttempts = n }

func (s *Store) intakeMaxAttempts() int {
	if s.maxAttempts > 0 {
		return s.maxAttempts
	}
	return river.MaxAttemptsDefault
}

// Pool returns the connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// translate maps driver errors to application errors at the boundary; the rest stays internal.
func translate(err error, what string) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return &signing.Error{Code: signing.ENOTFOUND, Message: what + " not found."}
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		return &signing.Error{Code: signing.ECONFLICT, Message: what + " already exists."}
	default:
		return err
	}
}
