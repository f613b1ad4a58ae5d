package workflow

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/tracing"
)

// Progress queues a status check when a provider's signing moved (told by webhook, or by the
// built-in signer directly). It needs only the store and the job inserter, so the providers are
// built with it before the workflow that is given them. Duplicates are harmless: the check is
// idempotent.
type Progress struct {
	store *store.Store
	ins   *Client
	cfg   Config
}

// NewProgress returns the Progress of the workflow that cfg configures.
func NewProgress(s *store.Store, ins *Client, cfg Config) *Progress {
	cfg.defaults()
	return &Progress{store: s, ins: ins, cfg: cfg}
}

// Progressed queues a status check of the provider's signing ref (a signing.ProgressFunc).
func (p *Progress) Progressed(ctx context.Context, provider, ref string) error {
	return p.Delivered(ctx, provider, ref, "")
}

// Delivered queues the status check; delivery, when set, identifies a webhook delivery so that a
// replay of it queues nothing (River keeps one job per args until it prunes completed jobs; by
// then the vendor's signed timestamp has left its window).
func (p *Progress) Delivered(ctx context.Context, provider, ref, delivery string) error {
	id, err := p.store.TransactionByProviderRef(ctx, provider, ref)
	if err != nil {
		return err
	}
	// The check, and the steps after it, belong to the transaction's trace, not to this request's.
	if tp, err := p.store.Traceparent(ctx, id); err == nil {
		var end func()
		ctx, end = tracing.ContinueTrace(ctx, p.cfg.Tracer, tp, "provider progressed")
		defer end()
	}
	var opts *river.InsertOpts
	if delivery != "" {
		opts = &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
	}
	res, err := p.ins.Insert(ctx, CheckProgressArgs{TransactionID: id, Delivery: delivery}, opts)
	if err != nil {
		return err
	}
	if res.UniqueSkippedAsDuplicate {
		p.cfg.Logger.DebugContext(ctx, "provider webhook replayed; no new check", "transaction_id", id.String(), "provider", provider)
		return nil
	}
	p.cfg.Logger.DebugContext(ctx, "provider reported progress", "transaction_id", id.String(), "provider", provider)
	return nil
}
