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

	"github.com/signingd/signingd"
)

// JobInserter enqueues River jobs inside a database transaction; *river.Client[pgx.Tx] is one.
type JobInserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Jobs is how the store queues the workflow's jobs, in the same database transaction as the state
// change that calls for them.
type Jobs struct {
	// Inserter inserts every job but the first; a store without one cannot queue (tests of other
	// parts, commands that only manage clients).
	Inserter JobInserter
	// MaxAttempts is the workflow's attempt limit for the intake's job, which the store writes
	// itself; River's default when zero.
	MaxAttempts int
}

// Store is the database of one signingd deployment.
type Store struct {
	pool *pgxpool.Pool
	jobs JobInserter
	// maxAttempts is the workflow's attempt limit for the intake's job; River's default when zero.
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

// New returns a Store on pool that queues jobs as jobs says.
func New(pool *pgxpool.Pool, jobs Jobs) *Store {
	return &Store{pool: pool, jobs: jobs.Inserter, maxAttempts: jobs.MaxAttempts}
}

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
		return &signingd.Error{Code: signingd.ENOTFOUND, Message: what + " not found."}
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		return &signingd.Error{Code: signingd.ECONFLICT, Message: what + " already exists."}
	default:
		return err
	}
}
