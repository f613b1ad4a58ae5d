// Package auth decides who calls the API: API keys now, signingd's own tokens and external identity
// providers through the same Authenticator interface.
package auth

import (
	"context"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/signingd/signingd"
)

// Scopes a client can hold.
const (
	ScopeCreate = "transactions:create"
	ScopeRead   = "transactions:read"
	ScopeCancel = "transactions:cancel"
	ScopeAdmin  = "admin"
)

// AllScopes lists every scope, for new clients that get everything.
var AllScopes = []string{ScopeCreate, ScopeRead, ScopeCancel}

// Principal is an authenticated caller.
type Principal struct {
	ClientUUID     uuid.UUID
	ClientID       string
	OrganisationID uuid.UUID
	RSIN           string
	Scopes         []string
	Method         string // how the caller authenticated, for the audit trail: api_key, bearer
}

// HasScope reports whether the caller holds scope; admin holds them all.
func (p Principal) HasScope(scope string) bool {
	return slices.Contains(p.Scopes, scope) || slices.Contains(p.Scopes, ScopeAdmin)
}

// Authenticator finds the caller of a request. It returns an EUNAUTHORIZED *signingd.Error when the
// request carries no credentials it recognises or bad ones.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (Principal, error)
}

// Chain tries authenticators in order and returns the first success. A request that carries
// credentials an authenticator recognises but refuses stops the chain with that refusal.
type Chain []Authenticator

// ErrNoCredentials is returned by an authenticator when the request has none of its kind.
var ErrNoCredentials = &signingd.Error{Code: signingd.EUNAUTHORIZED, Message: "Authentication required."}

// Authenticate implements Authenticator.
func (c Chain) Authenticate(ctx context.Context, r *http.Request) (Principal, error) {
	for _, a := range c {
		p, err := a.Authenticate(ctx, r)
		if err == ErrNoCredentials {
			continue
		}
		return p, err
	}
	return Principal{}, ErrNoCredentials
}
