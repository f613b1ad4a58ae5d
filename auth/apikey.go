package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/store"
)

// APIKeyHeader carries an API key.
const APIKeyHeader = "X-API-Key"

// apiKeyPrefix marks signingd API keys, so a leaked one is recognisable in a secret scanner.
const apiKeyPrefix = "sgd_"

// APIKeyCacheTTL bounds how long a revoked key may still be accepted by a replica that misses the
// database's change announcements (see Changes).
const APIKeyCacheTTL = 10 * time.Second

// APIKeys authenticates callers by API key. Keys are 256-bit random values; only their HMAC-SHA256
// under the server pepper is stored, so a database leak reveals no usable key, and no slow hash is
// needed for a secret of that strength.
type APIKeys struct {
	// Changes drops the cache when the database announces a change; nil relies on APIKeyCacheTTL.
	Changes *Changes

	store  *store.Store
	pepper []byte
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cachedPrincipal
}

type cachedPrincipal struct {
	p       Principal
	expires time.Time
	gen     uint64
}

// NewAPIKeys returns an API key authenticator.
func NewAPIKeys(s *store.Store, pepper []byte) *APIKeys {
	return &APIKeys{store: s, pepper: pepper, now: time.Now, cache: map[string]cachedPrincipal{}}
}

// GenerateAPIKey returns a new random API key. It is shown once and never stored.
func GenerateAPIKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// Digest returns the stored form of a key.
func (a *APIKeys) Digest(key string) []byte {
	m := hmac.New(sha256.New, a.pepper)
	m.Write([]byte(key))
	return m.Sum(nil)
}

// Authenticate implements Authenticator.
func (a *APIKeys) Authenticate(ctx context.Context, r *http.Request) (Principal, error) {
	key := r.Header.Get(APIKeyHeader)
	if key == "" {
		return Principal{}, ErrNoCredentials
	}
	if !strings.HasPrefix(key, apiKeyPrefix) || len(key) > 100 {
		return Principal{}, signingd.Errorf(signingd.EUNAUTHORIZED, "Invalid API key.")
	}
	digest := a.Digest(key)
	now := a.now()
	a.mu.Lock()
	c, ok := a.cache[string(digest)]
	a.mu.Unlock()
	gen := a.Changes.clientsGen()
	if ok && now.Before(c.expires) && c.gen == gen {
		return c.p, nil
	}
	cl, err := a.store.ClientByAPIKey(ctx, digest)
	if signingd.ErrorCode(err) == signingd.ENOTFOUND {
		return Principal{}, signingd.Errorf(signingd.EUNAUTHORIZED, "Invalid API key.")
	} else if err != nil {
		return Principal{}, err
	}
	p := Principal{ClientUUID: cl.ID, ClientID: cl.ClientID, OrganisationID: cl.OrganisationID, RSIN: cl.RSIN, Scopes: cl.Scopes, Method: "api_key"}
	a.mu.Lock()
	if len(a.cache) > 10_000 {
		clear(a.cache)
	}
	a.cache[string(digest)] = cachedPrincipal{p: p, expires: now.Add(APIKeyCacheTTL), gen: gen}
	a.mu.Unlock()
	return p, nil
}
