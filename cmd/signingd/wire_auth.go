package main

import (
	"context"
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/store"
)

// setupAuth builds the authenticator of the API and the routes the auth package serves itself.
func setupAuth(_ context.Context, _ config.Config, st *store.Store, pepper []byte, _ *slog.Logger) (auth.Authenticator, func(*echo.Echo), error) {
	return auth.Chain{auth.NewAPIKeys(st, pepper)}, func(*echo.Echo) {}, nil
}
