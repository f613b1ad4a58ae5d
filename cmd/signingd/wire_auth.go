package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/metrics"
	"github.com/signingd/signingd/store"
)

// setupAuth builds the authenticator of the API (bearer tokens of ours and of the configured
// issuers, then API keys) and the token service's routes. The key ring rotates on schedule and the
// audit trail is flushed until ctx ends; the caches follow the database's change announcements.
func setupAuth(ctx context.Context, cfg config.Config, st *store.Store, pepper []byte, m *metrics.Metrics, logger *slog.Logger) (auth.Authenticator, func(*echo.Echo), error) {
	keys, err := openKeyRing(ctx, cfg, st, logger)
	if err != nil {
		return nil, nil, err
	}
	changes := new(auth.Changes)
	go changes.Watch(ctx, st, logger, m)
	o := auth.OptionsFrom(cfg.Auth, cfg.PublicURL)
	o.Store, o.Pepper, o.Keys, o.Logger, o.Metrics, o.Changes = st, pepper, keys, logger, m, changes
	svc, err := auth.NewService(o)
	if err != nil {
		return nil, nil, err
	}
	bearer, err := auth.NewBearer(auth.BearerOptions{Service: svc, Issuers: cfg.Landscape.Issuers, Store: st, Logger: logger, Changes: changes})
	if err != nil {
		svc.Close()
		return nil, nil, err
	}
	go keys.Run(ctx)
	go func() {
		<-ctx.Done()
		svc.Close()
	}()
	apiKeys := auth.NewAPIKeys(st, pepper)
	apiKeys.Changes = changes
	return auth.Chain{bearer, apiKeys}, svc.Mount, nil
}

// openKeyRing opens the token signing keys: PEM files when SIGNING_KEY_FILES is set, else the
// sealed keys in the database.
func openKeyRing(ctx context.Context, cfg config.Config, st *store.Store, logger *slog.Logger) (*auth.KeyRing, error) {
	if len(cfg.Auth.SigningKeyFiles) > 0 {
		return auth.NewFileKeyRing(cfg.Auth.SigningKeyFiles)
	}
	if err := cfg.CheckKeys(); err != nil {
		return nil, err
	}
	kek, err := auth.ParseKEK(cfg.Auth.KeyEncryptionKey.Value())
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return auth.NewKeyRing(ctx, auth.KeyRingOptions{Store: st, KEK: kek, Alg: cfg.Auth.TokenAlg,
		RotationInterval: cfg.Auth.KeyRotationInterval, Logger: logger})
}
