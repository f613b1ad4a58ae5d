package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/auth"
)

type ctxKey int

const (
	principalKey ctxKey = iota
	loggerKey
)

// PrincipalFrom returns the authenticated caller of the request.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey).(auth.Principal)
	return p, ok
}

func loggerFrom(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return fallback
}

// requestLogger puts a logger carrying the request id in the context and logs one line per request.
func requestLogger(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			l := logger.With("request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			req := c.Request()
			c.SetRequest(req.WithContext(context.WithValue(req.Context(), loggerKey, l)))
			err := next(c)
			if err != nil {
				c.Error(err) // write the problem now so the status is known
			}
			attrs := []any{"method", req.Method, "route", c.Path(), "status", c.Response().Status,
				"duration_ms", float64(time.Since(start).Microseconds()) / 1000}
			if p, ok := PrincipalFrom(c.Request().Context()); ok {
				attrs = append(attrs, "client_id", p.ClientID)
			}
			l.LogAttrs(req.Context(), levelFor(c.Response().Status, c.Response().Header()), "request", slogAttrs(attrs)...)
			return nil
		}
	}
}

// levelFor is ERROR for a failure someone should look at; an unavailable answer with
// Retry-After is one we give on purpose (a vendor's callback that came before our commit), and
// the caller retries: a warning.
func levelFor(status int, h http.Header) slog.Level {
	switch {
	case status == http.StatusServiceUnavailable && h.Get("Retry-After") != "":
		return slog.LevelWarn
	case status >= 500:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func slogAttrs(kv []any) []slog.Attr {
	out := make([]slog.Attr, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, slog.Any(kv[i].(string), kv[i+1]))
	}
	return out
}

// routeScopes names the scope each operation needs, keyed by method and route.
var routeScopes = map[string]string{
	http.MethodPost + " /api/v1/transactions":            auth.ScopeCreate,
	http.MethodGet + " /api/v1/transactions":             auth.ScopeRead,
	http.MethodGet + " /api/v1/transactions/:id":         auth.ScopeRead,
	http.MethodPost + " /api/v1/transactions/:id/cancel": auth.ScopeCancel,
}

// authenticate finds the caller and checks the operation's scope before the body is read, so an
// unauthenticated caller learns nothing about validation.
func authenticate(a auth.Authenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			p, err := a.Authenticate(req.Context(), req)
			if err != nil {
				return err
			}
			if scope, ok := routeScopes[req.Method+" "+c.Path()]; ok && !p.HasScope(scope) {
				return signingd.Errorf(signingd.EFORBIDDEN, "This operation needs scope %s.", scope)
			}
			ctx := context.WithValue(req.Context(), principalKey, p)
			l := loggerFrom(ctx, slog.Default()).With("client_id", p.ClientID)
			c.SetRequest(req.WithContext(context.WithValue(ctx, loggerKey, l)))
			return next(c)
		}
	}
}
