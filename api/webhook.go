package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/signing"
)

// Webhooks are the providers' callbacks: POST /api/v1/providers/{name}/webhook, authenticated by
// each provider its own way (the API key middleware does not apply to this route).
type Webhooks struct {
	Providers map[string]signing.Provider
	// Progressed is told of the signing a verified callback is about (the workflow queues a status
	// check); delivery identifies the callback, so that a replay of it queues nothing.
	Progressed func(ctx context.Context, provider, ref, delivery string) error
}

func (d *Deps) webhook(c echo.Context) error {
	name := c.Param("name")
	p, ok := d.Webhooks.Providers[name].(signing.WebhookProvider)
	if !ok {
		return &signingd.Error{Code: signingd.ENOTFOUND, Message: "No such provider."}
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, MaxBodySize))
	if err != nil {
		return &signingd.Error{Code: signingd.EINVALID, Message: "Unreadable body."}
	}
	ctx := c.Request().Context()
	ref, err := p.VerifyWebhook(c.Request(), body)
	switch {
	case errors.Is(err, signing.ErrWebhookUnauthorized):
		loggerFrom(ctx, d.Logger).WarnContext(ctx, "webhook refused", "provider", name)
		return &signingd.Error{Code: signingd.EUNAUTHORIZED, Message: "Webhook not authenticated."}
	case err != nil:
		return &signingd.Error{Code: signingd.EINVALID, Message: "Webhook not understood."}
	}
	sum := sha256.Sum256(body)
	err = d.Webhooks.Progressed(ctx, name, ref, name+":"+hex.EncodeToString(sum[:]))
	switch {
	case signingd.ErrorCode(err) == signingd.ENOTFOUND:
		// An authenticated callback about a signing we don't know yet: the vendor was quicker than
		// the commit that stores its reference. Let it retry rather than lose the news until the
		// next poll; transactions are never deleted, so this does not repeat for ever.
		c.Response().Header().Set("Retry-After", "1")
		return respondProblem(c, &signingd.Error{Code: signingd.EUNAVAILABLE, Message: "Unknown signing; try again shortly."})
	case err != nil:
		loggerFrom(ctx, d.Logger).ErrorContext(ctx, "webhook: queue status check", "provider", name, "err", err)
		return respondProblem(c, &signingd.Error{Code: signingd.EUNAVAILABLE, Message: "Try again later."})
	}
	return c.NoContent(http.StatusAccepted)
}
