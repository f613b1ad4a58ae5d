// Package app assembles signingd in one straight line: the store with its job inserter, the parts
// the caller builds on the store (providers, authentication, the API's dependencies), the workflow
// with those providers, and the HTTP handler. serve, dev, the end-to-end tests and the benchmarks
// all call New, so what they run is what production runs.
package app

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/api"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/workflow"
)

// Parts are what the caller builds on the store.
type Parts struct {
	// Providers by name; the workflow and the webhooks get them whole.
	Providers map[string]signing.Provider
	// API is the HTTP API's dependencies but its store and webhooks, which New sets.
	API api.Deps
}

// Options say how to assemble.
type Options struct {
	Pool *pgxpool.Pool
	// Workflow configures the workflow and its jobs (Providers is set from Parts).
	Workflow workflow.Config
	// Build makes the parts that need the store. progress is how a provider tells the workflow
	// that a signing moved (the built-in signer calls it directly); it needs nothing but the store,
	// so providers exist before the workflow that is given them.
	Build func(ctx context.Context, st *store.Store, progress signing.ProgressFunc) (Parts, error)
}

// App is the assembled service.
type App struct {
	Store     *store.Store
	Workflow  *workflow.Workflow
	Providers map[string]signing.Provider
	Handler   *echo.Echo
}

// New assembles the service on an open, migrated pool. Nothing runs yet: Start works the jobs.
func New(ctx context.Context, o Options) (*App, error) {
	ins, err := workflow.NewInserter(o.Pool, o.Workflow)
	if err != nil {
		return nil, err
	}
	st := store.New(o.Pool, store.Jobs{Inserter: ins, MaxAttempts: o.Workflow.Attempts()})
	progress := workflow.NewProgress(st, ins, o.Workflow)
	var parts Parts
	if o.Build != nil {
		if parts, err = o.Build(ctx, st, progress.Progressed); err != nil {
			return nil, err
		}
	}
	if parts.Providers == nil {
		parts.Providers = map[string]signing.Provider{}
	}
	wcfg := o.Workflow
	wcfg.Providers = parts.Providers
	wf, err := workflow.New(o.Pool, st, wcfg)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	deps := parts.API
	deps.Store = st
	deps.Webhooks = api.Webhooks{Providers: parts.Providers, Progressed: progress.Delivered}
	return &App{Store: st, Workflow: wf, Providers: parts.Providers, Handler: api.New(deps)}, nil
}

// Start works the workflow's jobs until Stop.
func (a *App) Start(ctx context.Context) error { return a.Workflow.Start(ctx) }

// Stop lets running jobs finish, within ctx.
func (a *App) Stop(ctx context.Context) error { return a.Workflow.Stop(ctx) }
