package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/tracing"
)

// Progressed is told that a provider's signing moved (by webhook or by the built-in signer); it
// queues a status check. Duplicates are harmless: the check is idempotent.
func (wf *Workflow) Progressed(ctx context.Context, provider, ref string) error {
	return wf.progressed(ctx, provider, ref, "")
}

// progressed queues the status check; delivery, when set, identifies a webhook delivery so that a
// replay of it queues nothing (River keeps one job per args until it prunes completed jobs; by
// then the vendor's signed timestamp has left its window).
func (wf *Workflow) progressed(ctx context.Context, provider, ref, delivery string) error {
	id, err := wf.store.TransactionByProviderRef(ctx, provider, ref)
	if err != nil {
		return err
	}
	// The check, and the steps after it, belong to the transaction's trace, not to this request's.
	if tp, err := wf.store.Traceparent(ctx, id); err == nil {
		var end func()
		ctx, end = tracing.ContinueTrace(ctx, wf.cfg.Tracer, tp, "provider progressed")
		defer end()
	}
	var opts *river.InsertOpts
	if delivery != "" {
		opts = &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
	}
	res, err := wf.river.Insert(ctx, CheckProgressArgs{TransactionID: id, Delivery: delivery}, opts)
	if err != nil {
		return err
	}
	if res.UniqueSkippedAsDuplicate {
		wf.log.Debug("provider webhook replayed; no new check", "transaction_id", id.String(), "provider", provider)
		return nil
	}
	wf.log.Debug("provider reported progress", "transaction_id", id.String(), "provider", provider)
	return nil
}

var _ signing.ProgressFunc = (*Workflow)(nil).Progressed

// MountWebhooks serves POST /api/v1/providers/{name}/webhook, authenticated by each provider its
// own way (the API key middleware does not apply to these routes).
func (wf *Workflow) MountWebhooks(e *echo.Echo) {
	e.POST("/api/v1/providers/:name/webhook", wf.webhook)
}

func (wf *Workflow) webhook(c echo.Context) error {
	name := c.Param("name")
	p, ok := wf.cfg.Providers[name].(signing.WebhookProvider)
	if !ok {
		return c.JSON(http.StatusNotFound, map[string]string{"title": "No such provider."})
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
	if err != nil {
		return c.JSON(http.StatusBadRequest, map[string]string{"title": "Unreadable body."})
	}
	ref, err := p.VerifyWebhook(c.Request(), body)
	switch {
	case errors.Is(err, signing.ErrWebhookUnauthorized):
		wf.log.Warn("webhook refused", "provider", name)
		return c.JSON(http.StatusUnauthorized, map[string]string{"title": "Webhook not authenticated."})
	case err != nil:
		return c.JSON(http.StatusBadRequest, map[string]string{"title": "Webhook not understood."})
	}
	sum := sha256.Sum256(body)
	err = wf.progressed(c.Request().Context(), name, ref, name+":"+hex.EncodeToString(sum[:]))
	switch {
	case signing.ErrorCode(err) == signing.ENOTFOUND:
		// An authenticated callback about a signing we don't know yet: the vendor was quicker than
		// the commit that stores its reference. Let it retry rather than lose the news until the
		// next poll; transactions are never deleted, so this does not repeat for ever.
		c.Response().Header().Set("Retry-After", "1")
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"title": "Unknown signing; try again shortly."})
	case err != nil:
		wf.log.Error("webhook: queue status check", "provider", name, "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"title": "Try again later."})
	}
	return c.NoContent(http.StatusAccepted)
}
