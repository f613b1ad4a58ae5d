package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuthChannel is the channel on which the database announces changes to clients, secrets, keys,
// API keys, organisations and revoked tokens (migration 00012); the payload is the table's name.
const AuthChannel = "signingd_auth"

// ListenerApplicationName is the application_name of the listening connection, so operators (and
// tests) can find it in pg_stat_activity.
const ListenerApplicationName = "signingd-auth-listener"

// ListenAuthChanges calls changed with the table's name for every announced change until ctx
// ends. It holds one connection of its own, outside the pool. It calls state(nil) each time it
// starts listening — changes may have been missed while nobody listened — and state(err) when
// connecting or listening fails; then it retries with backoff.
func (s *Store) ListenAuthChanges(ctx context.Context, changed func(table string), state func(error)) {
	const first = 100 * time.Millisecond
	backoff := first
	for {
		listened, err := s.listen(ctx, changed, state)
		if ctx.Err() != nil {
			return
		}
		state(err)
		if listened {
			backoff = first
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// listen runs one session; listened tells whether it got as far as listening.
func (s *Store) listen(ctx context.Context, changed func(string), state func(error)) (listened bool, err error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = ListenerApplicationName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("store: listen for auth changes: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+AuthChannel); err != nil {
		return false, fmt.Errorf("store: listen for auth changes: %w", err)
	}
	state(nil)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("store: listen for auth changes: %w", err)
		}
		changed(n.Payload)
	}
}
