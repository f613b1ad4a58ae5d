package auth

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// DefaultJWKSRefreshWindow is the least time between two fetches of one JWKS URL: an unknown kid
// causes at most one fetch per window, however many tokens carry it.
const DefaultJWKSRefreshWindow = 5 * time.Minute

// jwksMaxAge is how long fetched keys are used before they are fetched again.
const jwksMaxAge = time.Hour

// remoteJWKS caches the key set at one configured URL. Keys are looked up by kid; a kid that is
// not in the cache makes it fetch again only when the last fetch is older than the window.
type remoteJWKS struct {
	url    string
	hc     *http.Client
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	keys    map[string]crypto.PublicKey
	algs    map[string]string // kid → alg the JWK pins, if any
	fetched time.Time         // last attempt, successful or not
	good    time.Time         // last successful fetch
}

func newRemoteJWKS(url string, hc *http.Client, window time.Duration, now func() time.Time) *remoteJWKS {
	if window <= 0 {
		window = DefaultJWKSRefreshWindow
	}
	return &remoteJWKS{url: url, hc: hc, window: window, now: now}
}

var errUnknownKID = errors.New("token is signed with an unknown key (kid)")

// key returns the key with the kid; with kid "" the only key of the set.
func (j *remoteJWKS) key(ctx context.Context, kid, alg string) (crypto.PublicKey, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	k, ok := j.find(kid)
	stale := now.Sub(j.good) > jwksMaxAge
	if (!ok || stale) && now.Sub(j.fetched) >= j.window {
		j.fetched = now
		if err := j.fetch(ctx); err != nil {
			if !ok {
				return nil, fmt.Errorf("keys of the issuer unavailable: %w", err)
			}
		} else {
			j.good = now
			k, ok = j.find(kid)
		}
	}
	if !ok {
		return nil, errUnknownKID
	}
	if pinned := j.algs[kid]; pinned != "" && pinned != alg {
		return nil, fmt.Errorf("key %s is for %s, token says %s", kid, pinned, alg)
	}
	return k, nil
}

func (j *remoteJWKS) find(kid string) (crypto.PublicKey, bool) {
	if kid == "" {
		if len(j.keys) != 1 {
			return nil, false
		}
		for _, k := range j.keys {
			return k, true
		}
	}
	k, ok := j.keys[kid]
	return k, ok
}

// fetch reads the set from the configured URL only; redirects are not followed.
func (j *remoteJWKS) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	res, err := j.hc.Do(req)
	if err != nil {
		return fmt.Errorf("fetch jwks: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch jwks: status %d", res.StatusCode)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 256<<10)).Decode(&set); err != nil {
		return fmt.Errorf("fetch jwks: %w", err)
	}
	keys, algs := map[string]crypto.PublicKey{}, map[string]string{}
	for _, raw := range set.Keys {
		var k JWK
		if json.Unmarshal(raw, &k) != nil || (k.Use != "" && k.Use != "sig") {
			continue
		}
		pub, err := k.PublicKey()
		if err != nil {
			continue // keys we can't use (other curves, enc keys) don't spoil the set
		}
		keys[k.Kid] = pub
		algs[k.Kid] = k.Alg
	}
	j.keys, j.algs = keys, algs
	return nil
}

// newFetchClient returns the HTTP client for key and introspection requests: short timeouts and no
// redirects, so nothing is fetched from a URL that is not configured.
func newFetchClient() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
