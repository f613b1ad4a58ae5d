package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/signingd/signingd/migrations"
)

func gooseProvider(pool *pgxpool.Pool) (*goose.Provider, *sql.DB, error) {
	db := stdlib.OpenDBFromPool(pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, db, nil
}

// Migrate applies River's migrations and then ours. It is safe to run concurrently from several
// replicas: one advisory lock serialises them.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Release()
	const lockID = 0x5167_6e64 // "Sgnd"
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
		return fmt.Errorf("store: migrate lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockID) //nolint:errcheck

	rm, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("store: river migrations: %w", err)
	}
	if _, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("store: river migrations: %w", err)
	}
	p, db, err := gooseProvider(pool)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// ErrSchemaBehind is returned by CheckMigrations when the database lacks migrations this binary has.
var ErrSchemaBehind = errors.New("store: database schema is behind; run `signingd migrate`")

// CheckMigrations returns an error when the schema is behind this binary's migrations (ours or
// River's), so that serve and /readyz refuse an old schema.
func CheckMigrations(ctx context.Context, pool *pgxpool.Pool) error {
	p, db, err := gooseProvider(pool)
	if err != nil {
		return err
	}
	defer db.Close()
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("store: check migrations: %w", err)
	}
	if pending {
		return ErrSchemaBehind
	}
	rm, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("store: river migrations: %w", err)
	}
	res, err := rm.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: check river migrations: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("%w (river: %v)", ErrSchemaBehind, res.Messages)
	}
	return nil
}
