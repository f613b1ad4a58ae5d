package auth

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/signingd/signingd/metrics"
	"github.com/signingd/signingd/store"
)

// Changes tells the caches of authentication that the database changed under them. Each replica
// listens for the database's announcements (Watch); a cache entry filled before the last change is
// not used again. The caches' time limit (RevocationCacheTTL) stays as the bound for when
// announcements are lost, so revoking a client, a secret, a key or a token takes effect on every
// replica within milliseconds, and within RevocationCacheTTL at worst.
//
// A nil *Changes is valid: the caches then rely on their time limit alone.
type Changes struct {
	clients atomic.Uint64 // clients, secrets, keys, API keys, organisations
	revoked atomic.Uint64 // revoked tokens
}

// Watch listens until ctx ends. Changes missed while it did not listen are covered by dropping
// every cache when it starts listening again. m shows whether it listens (nil: not shown).
func (c *Changes) Watch(ctx context.Context, st *store.Store, logger *slog.Logger, m *metrics.Metrics) {
	st.ListenAuthChanges(ctx, c.changed, func(err error) {
		m.AuthListening(err == nil)
		if err != nil {
			logger.Warn("not listening for revocations; other replicas' revocations take effect within "+RevocationCacheTTL.String(), "err", err)
			return
		}
		c.clients.Add(1)
		c.revoked.Add(1)
	})
	m.AuthListening(false)
}

func (c *Changes) changed(table string) {
	if table == "revoked_tokens" {
		c.revoked.Add(1)
		return
	}
	c.clients.Add(1)
}

// clientsGen and revokedGen are the generations of the two kinds of cached data.
func (c *Changes) clientsGen() uint64 {
	if c == nil {
		return 0
	}
	return c.clients.Load()
}

func (c *Changes) revokedGen() uint64 {
	if c == nil {
		return 0
	}
	return c.revoked.Load()
}
