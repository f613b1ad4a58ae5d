package workflow

import (
	"context"
	"errors"
	"io"

	"github.com/signingd/signingd/signing"
)

// providerError marks an error that came from a provider. The provider contract decides what it
// means: only errors wrapping signing.ErrPermanent abort; everything else, an answer the adapter
// could not read included, is retried. ZGW's rules (any unreadable answer is permanent) do not
// apply to it.
type providerError struct{ err error }

func (e *providerError) Error() string { return e.err.Error() }
func (e *providerError) Unwrap() error { return e.err }

func fromProvider(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	return &providerError{err: err}
}

// guarded is a provider whose every error is marked as the provider's.
type guarded struct{ p signing.Provider }

func (g guarded) Info() signing.ProviderInfo { return g.p.Info() }

func (g guarded) Create(ctx context.Context, req signing.CreateRequest) (string, error) {
	ref, err := g.p.Create(ctx, req)
	return ref, fromProvider(err)
}

func (g guarded) Status(ctx context.Context, ref string) (signing.Progress, error) {
	p, err := g.p.Status(ctx, ref)
	return p, fromProvider(err)
}

func (g guarded) Signed(ctx context.Context, ref string, position int) (io.ReadCloser, error) {
	rc, err := g.p.Signed(ctx, ref, position)
	if err != nil {
		return nil, fromProvider(err)
	}
	return guardedBody{rc}, nil
}

func (g guarded) Evidence(ctx context.Context, ref string) (signing.Evidence, error) {
	ev, err := g.p.Evidence(ctx, ref)
	return ev, fromProvider(err)
}

func (g guarded) Cancel(ctx context.Context, ref, reden string) error {
	return fromProvider(g.p.Cancel(ctx, ref, reden))
}

// guardedBody marks the errors of reading a signed PDF from the provider.
type guardedBody struct{ io.ReadCloser }

func (b guardedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		return n, err
	}
	return n, fromProvider(err)
}
