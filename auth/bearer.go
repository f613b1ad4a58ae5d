package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/store"
)

// Bearer authenticates API callers by access token: tokens of our own token service, and tokens of
// the external issuers in the landscape. Every token is refused unless its issuer is on that list,
// its algorithm is allowed for the issuer, its key is known (an unknown kid causes at most one
// JWKS fetch per window), and exp, iss and aud check out.
type Bearer struct {
	svc     *Service // nil: only external issuers
	issuers map[string]*external
	ordered []*external // introspection issuers, for opaque tokens
	st      *store.Store
	logger  *slog.Logger
	now     func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cachedToken // verified tokens of ours: signature checked once
}

type cachedToken struct {
	v       verified
	expires time.Time
}

type external struct {
	cfg     config.Issuer
	algs    []string
	jwks    *remoteJWKS
	intro   *http.Client
	clients clientCache

	mu    sync.Mutex
	cache map[[32]byte]cachedIntrospection
}

type cachedIntrospection struct {
	p       Principal
	err     error
	expires time.Time
}

// BearerOptions configure a Bearer authenticator.
type BearerOptions struct {
	// Service is our own token service; its tokens are accepted.
	Service *Service
	// Issuers are the external issuers whose tokens are accepted.
	Issuers []config.Issuer
	Store   *store.Store
	// JWKSRefreshWindow is the least time between two fetches of an issuer's JWKS.
	JWKSRefreshWindow time.Duration
	HTTPClient        *http.Client
	Logger            *slog.Logger
	Now               func() time.Time
	// Changes drops cached external clients when the database announces a change.
	Changes *Changes
}

// NewBearer returns the bearer token authenticator.
func NewBearer(o BearerOptions) (*Bearer, error) {
	if o.HTTPClient == nil {
		o.HTTPClient = newFetchClient()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := &Bearer{svc: o.Service, issuers: map[string]*external{}, st: o.Store, logger: o.Logger, now: o.Now, cache: map[[32]byte]cachedToken{}}
	for i, ic := range o.Issuers {
		if err := ic.Validate(); err != nil {
			return nil, fmt.Errorf("auth: issuers[%d]: %w", i, err)
		}
		if o.Service != nil && ic.Issuer == o.Service.Issuer() {
			return nil, fmt.Errorf("auth: issuers[%d]: %s is signingd itself", i, ic.Issuer)
		}
		if _, dup := b.issuers[ic.Issuer]; dup {
			return nil, fmt.Errorf("auth: issuers[%d]: %s appears twice", i, ic.Issuer)
		}
		e := &external{cfg: ic, algs: ic.Algorithms, cache: map[[32]byte]cachedIntrospection{}}
		if len(e.algs) == 0 {
			e.algs = []string{"RS256"}
		}
		e.clients = clientCache{st: o.Store, now: o.Now, changes: o.Changes}
		if ic.JWKSURL != "" {
			e.jwks = newRemoteJWKS(ic.JWKSURL, o.HTTPClient, o.JWKSRefreshWindow, o.Now)
		} else {
			e.intro = o.HTTPClient
			b.ordered = append(b.ordered, e)
		}
		b.issuers[ic.Issuer] = e
	}
	return b, nil
}

// refused is the answer for every bad token; the reason is safe to show (it never quotes the token).
func refused(reason string) error {
	return &signingd.Error{Code: signingd.EUNAUTHORIZED, Message: "Invalid access token: " + reason + "."}
}

// Authenticate implements Authenticator.
func (b *Bearer) Authenticate(ctx context.Context, r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Principal{}, ErrNoCredentials
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return Principal{}, ErrNoCredentials
	}
	tok = strings.TrimSpace(tok)
	p, err := b.validate(ctx, tok)
	if err != nil {
		var se *signingd.Error
		if errors.As(err, &se) {
			return Principal{}, err
		}
		var ie *errInternal
		if errors.As(err, &ie) {
			b.logger.Error("bearer validation failed", "err", ie.error)
			return Principal{}, &signingd.Error{Code: signingd.EUNAVAILABLE, Message: "Token validation is unavailable; retry later."}
		}
		b.logger.Debug("bearer token refused", "reason", err.Error())
		return Principal{}, refused(strings.TrimSuffix(err.Error(), "."))
	}
	return p, nil
}

// errInternal marks failures that are ours, not the token's.
type errInternal struct{ error }

func (b *Bearer) validate(ctx context.Context, tok string) (Principal, error) {
	if len(tok) > MaxTokenSize {
		return Principal{}, errTooLarge
	}
	if tok == "" {
		return Principal{}, errMalformed
	}
	if strings.Count(tok, ".") != 2 {
		return b.introspectAny(ctx, tok)
	}
	sum := sha256.Sum256([]byte(tok))
	now := b.now()
	if b.svc != nil {
		b.mu.Lock()
		ct, ok := b.cache[sum]
		b.mu.Unlock()
		if ok && now.Before(ct.expires) {
			return b.live(ctx, ct.v)
		}
	}
	t, err := parseJWS(tok)
	if err != nil {
		return Principal{}, err
	}
	c, err := t.claims()
	if err != nil {
		return Principal{}, err
	}
	if b.svc != nil && c.Iss == b.svc.Issuer() {
		v, err := b.svc.verifyOwn(ctx, t, c)
		if err != nil {
			return Principal{}, err
		}
		b.remember(sum, v, now)
		return b.live(ctx, v)
	}
	e, ok := b.issuers[c.Iss]
	if !ok {
		return Principal{}, errors.New("issuer is not accepted")
	}
	if e.jwks == nil {
		return b.introspect(ctx, e, tok, sum)
	}
	return b.verifyExternal(ctx, e, t, c)
}

// maxVerified bounds the cache of verified tokens (about 2 MiB).
const maxVerified = 10_000

// remember caches a verified token of ours until it expires. When the cache is full, expired
// entries go first; if that frees less than a tenth, all of them, so sweeps stay rare.
func (b *Bearer) remember(sum [32]byte, v verified, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.cache) >= maxVerified {
		for k, ct := range b.cache {
			if !now.Before(ct.expires) {
				delete(b.cache, k)
			}
		}
		if len(b.cache) >= maxVerified*9/10 {
			clear(b.cache)
		}
	}
	b.cache[sum] = cachedToken{v: v, expires: v.Exp.Time}
}

func (b *Bearer) live(ctx context.Context, v verified) (Principal, error) {
	return b.svc.live(ctx, v)
}

// verifyExternal checks a JWT of an external issuer against its JWKS.
func (b *Bearer) verifyExternal(ctx context.Context, e *external, t jws, c claims) (Principal, error) {
	if !slices.Contains(e.algs, t.alg) {
		return Principal{}, fmt.Errorf("algorithm %s is not allowed for this issuer", t.alg)
	}
	key, err := e.jwks.key(ctx, t.kid, t.alg)
	if err != nil {
		return Principal{}, err
	}
	if err := t.verify(key); err != nil {
		return Principal{}, err
	}
	if !acceptedType(t.typ, e.cfg.AcceptedTypes()) {
		return Principal{}, errors.New("token type (typ) is not accepted for this issuer")
	}
	now := b.now()
	if err := c.checkTimes(now); err != nil {
		return Principal{}, err
	}
	if err := checkLifetime(c.Exp.Time, c.Iat, now, e.cfg.TokenLifetime()); err != nil {
		return Principal{}, err
	}
	if !c.hasAudience(e.cfg.Audience) {
		return Principal{}, errors.New("token is not meant for this API (aud)")
	}
	var all map[string]any
	if err := json.Unmarshal(t.payload, &all); err != nil {
		return Principal{}, errMalformed
	}
	return b.principal(ctx, e, all)
}

// acceptedType reports whether a JWT typ header is one of the accepted values; "application/" may
// be left off (RFC 7515 §4.1.9), case does not count, an absent typ never matches.
func acceptedType(typ string, accepted []string) bool {
	norm := func(s string) string {
		s = strings.ToLower(s)
		return strings.TrimPrefix(s, "application/")
	}
	if typ == "" {
		return false
	}
	return slices.ContainsFunc(accepted, func(a string) bool { return norm(a) == norm(typ) })
}

// checkLifetime refuses a token that lives longer than limit: exp − iat, or when it has no iat,
// exp − now (leaving iat out buys no longer life).
func checkLifetime(exp time.Time, iat *numericDate, now time.Time, limit time.Duration) error {
	from := now
	if iat != nil {
		from = iat.Time
	}
	if exp.Sub(from) > limit+Leeway || exp.Sub(now) > limit+Leeway {
		return fmt.Errorf("token lives longer than %s", limit)
	}
	return nil
}

// principal maps an external token's claims to a client of an organisation.
func (b *Bearer) principal(ctx context.Context, e *external, all map[string]any) (Principal, error) {
	str := func(name string) string { s, _ := all[name].(string); return s }
	orgClaim := e.cfg.OrganisationClaim
	if orgClaim == "" {
		orgClaim = "rsin"
	}
	rsin := str(orgClaim)
	if len(e.cfg.Organisations) > 0 {
		rsin = e.cfg.Organisations[rsin]
	}
	if rsin == "" || !printable(rsin) {
		return Principal{}, &signingd.Error{Code: signingd.EFORBIDDEN, Message: "The token names no organisation signingd serves."}
	}
	var id string
	if e.cfg.ClientIDClaim != "" {
		id = str(e.cfg.ClientIDClaim)
	} else {
		for _, n := range []string{"client_id", "azp", "sub"} {
			if id = str(n); id != "" {
				break
			}
		}
	}
	if id == "" || len(id) > 200 || !printable(id) {
		return Principal{}, errors.New("token names no client")
	}
	u, _ := url.Parse(e.cfg.Issuer)
	clientID := id + "@" + u.Host
	c, found, err := e.clients.get(ctx, clientID)
	if err != nil {
		return Principal{}, &errInternal{err}
	}
	if !found {
		_, err = b.st.EnsureClient(ctx, clientID, id+" ("+e.cfg.Issuer+")", rsin)
		if signingd.ErrorCode(err) == signingd.ENOTFOUND {
			return Principal{}, &signingd.Error{Code: signingd.EFORBIDDEN, Message: "The token's organisation is not served by signingd."}
		} else if err != nil {
			return Principal{}, &errInternal{err}
		}
		if c, found, err = e.clients.load(ctx, clientID); err != nil {
			return Principal{}, &errInternal{err}
		} else if !found {
			return Principal{}, errors.New("client is gone")
		}
	}
	if c.RevokedAt != nil {
		return Principal{}, errors.New("client is revoked")
	}
	if c.RSIN != rsin {
		return Principal{}, &signingd.Error{Code: signingd.EFORBIDDEN, Message: "The token's organisation differs from its client's."}
	}
	scopes := e.cfg.Scopes
	if len(scopes) == 0 {
		var raw []string
		switch v := all["scope"].(type) {
		case string:
			raw = strings.Fields(v)
		case []any:
			for _, s := range v {
				if s, ok := s.(string); ok {
					raw = append(raw, s)
				}
			}
		}
		if scp, ok := all["scp"].([]any); ok {
			for _, s := range scp {
				if s, ok := s.(string); ok {
					raw = append(raw, s)
				}
			}
		}
		for _, s := range raw {
			if slices.Contains(AllAuthScopes, s) && !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	return Principal{ClientUUID: c.ID, ClientID: c.ClientID, OrganisationID: c.OrganisationID, RSIN: c.RSIN, Scopes: scopes, Method: "bearer"}, nil
}

// introspectAny tries an opaque token with each introspection issuer.
func (b *Bearer) introspectAny(ctx context.Context, tok string) (Principal, error) {
	if len(b.ordered) == 0 {
		return Principal{}, errMalformed
	}
	sum := sha256.Sum256([]byte(tok))
	var err error
	for _, e := range b.ordered {
		var p Principal
		if p, err = b.introspect(ctx, e, tok, sum); err == nil {
			return p, nil
		}
	}
	return Principal{}, err
}

// introspectionCacheTTL bounds how long an introspection answer is reused.
const introspectionCacheTTL = 30 * time.Second

// introspect asks an external issuer about a token (RFC 7662), caching the answer briefly.
func (b *Bearer) introspect(ctx context.Context, e *external, tok string, sum [32]byte) (Principal, error) {
	now := b.now()
	e.mu.Lock()
	ci, ok := e.cache[sum]
	e.mu.Unlock()
	if ok && now.Before(ci.expires) {
		return ci.p, ci.err
	}
	p, exp, err := b.askIssuer(ctx, e, tok)
	var ie *errInternal
	if errors.As(err, &ie) {
		return p, err
	}
	until := now.Add(introspectionCacheTTL)
	if err == nil && exp.Before(until) {
		until = exp
	}
	e.mu.Lock()
	if len(e.cache) > 10_000 {
		clear(e.cache)
	}
	e.cache[sum] = cachedIntrospection{p: p, err: err, expires: until}
	e.mu.Unlock()
	return p, err
}

func (b *Bearer) askIssuer(ctx context.Context, e *external, tok string) (Principal, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ic := e.cfg.Introspection
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ic.URL,
		strings.NewReader(url.Values{"token": {tok}, "token_type_hint": {"access_token"}}.Encode()))
	if err != nil {
		return Principal{}, time.Time{}, &errInternal{err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(ic.ClientID), url.QueryEscape(ic.ClientSecret.Value()))
	res, err := e.intro.Do(req)
	if err != nil {
		return Principal{}, time.Time{}, &errInternal{fmt.Errorf("introspection at %s: %w", e.cfg.Issuer, err)}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return Principal{}, time.Time{}, &errInternal{fmt.Errorf("introspection at %s: status %d", e.cfg.Issuer, res.StatusCode)}
	}
	var all map[string]any
	if err := json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&all); err != nil {
		return Principal{}, time.Time{}, &errInternal{fmt.Errorf("introspection at %s: %w", e.cfg.Issuer, err)}
	}
	if active, _ := all["active"].(bool); !active {
		return Principal{}, time.Time{}, errors.New("token is not active")
	}
	if iss, ok := all["iss"].(string); ok && iss != e.cfg.Issuer {
		return Principal{}, time.Time{}, errors.New("issuer is not accepted")
	}
	expF, ok := all["exp"].(float64)
	if !ok {
		return Principal{}, time.Time{}, errors.New("token has no exp")
	}
	exp := time.Unix(int64(expF), 0)
	if !b.now().Before(exp) {
		return Principal{}, time.Time{}, errors.New("token has expired")
	}
	if err := checkLifetime(exp, nil, b.now(), e.cfg.TokenLifetime()); err != nil {
		return Principal{}, time.Time{}, err
	}
	audOK := false
	switch a := all["aud"].(type) {
	case string:
		audOK = a == e.cfg.Audience
	case []any:
		for _, v := range a {
			audOK = audOK || v == e.cfg.Audience
		}
	}
	if !audOK {
		return Principal{}, time.Time{}, errors.New("token is not meant for this API (aud)")
	}
	p, err := b.principal(ctx, e, all)
	return p, exp, err
}
