package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/metrics"
	"github.com/signingd/signingd/store"
)

// Paths of the token service.
const (
	TokenPath         = "/oauth2/token"
	JWKSPath          = "/oauth2/jwks"
	IntrospectionPath = "/oauth2/introspect"
	RevocationPath    = "/oauth2/revoke"
)

// RevocationCacheTTL bounds how long a replica keeps accepting a token after it, or its client, is
// revoked elsewhere (another replica, or the `signingd clients revoke` command) when the database's
// change announcements do not reach it (see Changes); normally that takes milliseconds. On the
// replica that handles the revocation request it takes effect at once.
const RevocationCacheTTL = 5 * time.Second

// MaxAssertionLifetime is how far ahead a client assertion's exp may lie.
const MaxAssertionLifetime = 5 * time.Minute

// assertionAlgs are the algorithms accepted for private_key_jwt assertions.
var assertionAlgs = []string{"RS256", "PS256", "ES256", "EdDSA"}

// AllAuthScopes lists every scope a client may be given.
var AllAuthScopes = []string{ScopeCreate, ScopeRead, ScopeCancel, ScopeAdmin}

// Options configure the token service.
type Options struct {
	Store  *store.Store
	Pepper []byte
	Keys   *KeyRing
	// Issuer is our iss and the base of our endpoints: PUBLIC_URL.
	Issuer string
	// Audience is the aud of our tokens; Issuer + "/api/v1" when empty.
	Audience string
	TTL      time.Duration

	RatePerClient, RatePerAddress float64
	LockoutThreshold              int
	LockoutDuration               time.Duration
	// ClientJWKSHosts are the hosts a client's jwks_uri may name.
	ClientJWKSHosts []string
	// JWKSRefreshWindow is the least time between two fetches of one JWKS URL.
	JWKSRefreshWindow time.Duration
	HTTPClient        *http.Client
	Logger            *slog.Logger
	Now               func() time.Time
	// Metrics counts issued and refused tokens; nil records nothing.
	Metrics *metrics.Metrics
	// Changes drops cached clients and revocations when the database announces a change.
	Changes *Changes
}

// OptionsFrom fills Options from the configuration.
func OptionsFrom(c config.AuthConfig, publicURL string) Options {
	return Options{
		Issuer: strings.TrimRight(publicURL, "/"), Audience: c.Audience, TTL: c.TokenTTL,
		RatePerClient: c.RatePerClient, RatePerAddress: c.RatePerAddress,
		LockoutThreshold: c.LockoutThreshold, LockoutDuration: c.LockoutDuration, ClientJWKSHosts: c.ClientJWKSHosts,
	}
}

// Service is signingd's OAuth2 authorization server for the client credentials grant: the token,
// JWKS, metadata, introspection and revocation endpoints.
type Service struct {
	o      Options
	audit  *Auditor
	byAddr *limiter
	byCli  *limiter
	fails  *lockout

	jwksMu  sync.Mutex
	clientJ map[string]*remoteJWKS // client jwks_uri → cache

	revoked revocations
	clients clientCache
}

// NewService returns the token service. Close it to flush the audit trail.
func NewService(o Options) (*Service, error) {
	if o.Store == nil || o.Keys == nil || len(o.Pepper) == 0 || o.Issuer == "" {
		return nil, errors.New("auth: token service needs a store, keys, a pepper and an issuer")
	}
	d := config.DefaultAuth()
	if o.TTL <= 0 {
		o.TTL = d.TokenTTL
	}
	if o.TTL > config.MaxTokenTTL {
		return nil, fmt.Errorf("auth: token lifetime %s is over %s", o.TTL, config.MaxTokenTTL)
	}
	if o.Audience == "" {
		o.Audience = o.Issuer + "/api/v1"
	}
	if o.RatePerClient <= 0 {
		o.RatePerClient = d.RatePerClient
	}
	if o.RatePerAddress <= 0 {
		o.RatePerAddress = d.RatePerAddress
	}
	if o.LockoutThreshold <= 0 {
		o.LockoutThreshold = d.LockoutThreshold
	}
	if o.LockoutDuration <= 0 {
		o.LockoutDuration = d.LockoutDuration
	}
	if o.HTTPClient == nil {
		o.HTTPClient = newFetchClient()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{
		o: o, audit: NewAuditor(o.Store, o.Logger),
		byAddr: newLimiter(o.RatePerAddress), byCli: newLimiter(o.RatePerClient),
		fails: newLockout(o.LockoutThreshold, o.LockoutDuration), clientJ: map[string]*remoteJWKS{},
	}
	s.revoked.st, s.revoked.now, s.revoked.changes = o.Store, o.Now, o.Changes
	s.clients = clientCache{st: o.Store, now: o.Now, changes: o.Changes}
	return s, nil
}

// Close writes the queued audit entries.
func (s *Service) Close() { s.audit.Close() }

// FlushAudit writes the queued audit entries now.
func (s *Service) FlushAudit() { s.audit.Flush() }

// Issuer returns our iss.
func (s *Service) Issuer() string { return s.o.Issuer }

// Audience returns the aud of our tokens.
func (s *Service) Audience() string { return s.o.Audience }

// Keys returns the key ring.
func (s *Service) Keys() *KeyRing { return s.o.Keys }

// secretPrefix marks signingd client secrets for secret scanners.
const secretPrefix = "sgs_"

// GenerateSecret returns a new 256-bit client secret. It is shown once and never stored.
func GenerateSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// SecretDigest returns the stored form of a client secret: HMAC-SHA256 under the pepper. A
// 256-bit random secret needs no slow hash.
func SecretDigest(pepper []byte, secret string) []byte {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte("client-secret:"))
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// accessClaims are the claims of our access tokens (RFC 9068).
type accessClaims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Iat      int64  `json:"iat"`
	Nbf      int64  `json:"nbf"`
	Exp      int64  `json:"exp"`
	Jti      string `json:"jti"`
	RSIN     string `json:"rsin"`
}

// issue signs an access token for the client with the scopes.
func (s *Service) issue(ctx context.Context, c store.Client, scopes []string) (token, jti string, exp time.Time, err error) {
	key := s.o.Keys.keys(ctx).current
	now := s.o.Now()
	exp = now.Add(s.o.TTL)
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	jti = base64.RawURLEncoding.EncodeToString(b)
	payload, err := json.Marshal(accessClaims{
		Iss: s.o.Issuer, Sub: c.ClientID, Aud: s.o.Audience, ClientID: c.ClientID, Scope: strings.Join(scopes, " "),
		Iat: now.Unix(), Nbf: now.Unix(), Exp: exp.Unix(), Jti: jti, RSIN: c.RSIN,
	})
	if err != nil {
		return "", "", exp, fmt.Errorf("auth: token claims: %w", err)
	}
	input := key.header + "." + b64.EncodeToString(payload)
	sig, err := jwt.GetSigningMethod(key.alg).Sign(input, key.priv)
	if err != nil {
		return "", "", exp, fmt.Errorf("auth: sign token: %w", err)
	}
	return input + "." + b64.EncodeToString(sig), jti, exp, nil
}

// verified is what a valid token of ours says.
type verified struct {
	claims
	scopes []string
}

// verifyOwn checks a token of ours: header, key, signature and claims, but not revocation.
func (s *Service) verifyOwn(ctx context.Context, t jws, c claims) (verified, error) {
	if !strings.EqualFold(t.typ, "at+jwt") && !strings.EqualFold(t.typ, "application/at+jwt") {
		return verified{}, errors.New("token is not an access token (typ)")
	}
	if t.kid == "" {
		return verified{}, errors.New("token has no kid")
	}
	key, ok := s.o.Keys.lookup(ctx, t.kid)
	if !ok {
		return verified{}, errUnknownKID
	}
	if key.alg != t.alg {
		return verified{}, errors.New("token algorithm does not match its key")
	}
	if err := t.verify(key.pub); err != nil {
		return verified{}, err
	}
	if err := c.checkTimes(s.o.Now()); err != nil {
		return verified{}, err
	}
	switch {
	case c.Iss != s.o.Issuer:
		return verified{}, errors.New("token issuer is not accepted")
	case !c.hasAudience(s.o.Audience):
		return verified{}, errors.New("token is not meant for this API (aud)")
	case c.Jti == "" || c.ClientID == "" || c.Sub != c.ClientID:
		return verified{}, errors.New("token lacks jti or client_id")
	}
	return verified{claims: c, scopes: strings.Fields(c.Scope)}, nil
}

// revocations is the set of revoked jti, read again after a change is announced, and at least
// every RevocationCacheTTL.
type revocations struct {
	st      *store.Store
	now     func() time.Time
	changes *Changes

	mu     sync.Mutex
	jtis   map[string]bool
	loaded time.Time
	gen    uint64
}

func (r *revocations) isRevoked(ctx context.Context, jti string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if gen := r.changes.revokedGen(); r.jtis == nil || gen != r.gen || now.Sub(r.loaded) >= RevocationCacheTTL {
		list, err := r.st.RevokedTokens(ctx, now)
		if err != nil {
			return false, err
		}
		r.jtis = make(map[string]bool, len(list))
		for _, j := range list {
			r.jtis[j] = true
		}
		r.loaded, r.gen = now, gen
	}
	return r.jtis[jti], nil
}

func (r *revocations) add(jti string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jtis != nil {
		r.jtis[jti] = true
	}
}

// clientCache keeps clients with their secrets' digests until a change is announced, and at most
// RevocationCacheTTL, so issuing or validating a token costs no query while a revoked or deleted
// client is noticed within that time.
type clientCache struct {
	st      *store.Store
	now     func() time.Time
	changes *Changes

	mu sync.Mutex
	m  map[string]cachedClient
}

type cachedClient struct {
	c       store.ClientWithSecrets
	found   bool
	expires time.Time
	gen     uint64
}

// get returns the client, from the cache when it is fresh.
func (cc *clientCache) get(ctx context.Context, clientID string) (store.ClientWithSecrets, bool, error) {
	now := cc.now()
	cc.mu.Lock()
	e, ok := cc.m[clientID]
	cc.mu.Unlock()
	if ok && now.Before(e.expires) && e.gen == cc.changes.clientsGen() {
		return e.c, e.found, nil
	}
	return cc.load(ctx, clientID)
}

// load reads the client from the database and caches it.
func (cc *clientCache) load(ctx context.Context, clientID string) (store.ClientWithSecrets, bool, error) {
	now := cc.now()
	gen := cc.changes.clientsGen() // before the query: a change announced during it makes the entry stale
	c, err := cc.st.ClientForTokenRequest(ctx, clientID, now)
	found := err == nil
	if err != nil && signingd.ErrorCode(err) != signingd.ENOTFOUND {
		return c, false, err
	}
	cc.put(clientID, cachedClient{c: c, found: found, expires: now.Add(RevocationCacheTTL), gen: gen})
	return c, found, nil
}

func (cc *clientCache) put(clientID string, e cachedClient) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil || len(cc.m) > 10_000 {
		cc.m = map[string]cachedClient{}
	}
	cc.m[clientID] = e
}

func (cc *clientCache) forget(clientID string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	delete(cc.m, clientID)
}

// live checks that a token of ours is not revoked and its client still exists and is not revoked,
// and returns the principal, with the token's scopes narrowed to what the client holds now.
func (s *Service) live(ctx context.Context, v verified) (Principal, error) {
	rev, err := s.revoked.isRevoked(ctx, v.Jti)
	if err != nil {
		return Principal{}, &errInternal{fmt.Errorf("auth: revocation list: %w", err)}
	}
	if rev {
		return Principal{}, errors.New("token has been revoked")
	}
	c, found, err := s.clients.get(ctx, v.ClientID)
	if err != nil {
		return Principal{}, &errInternal{fmt.Errorf("auth: client: %w", err)}
	}
	if !found || c.RevokedAt != nil {
		return Principal{}, errors.New("client of the token is revoked or gone")
	}
	if v.RSIN != "" && v.RSIN != c.RSIN {
		return Principal{}, errors.New("token organisation does not match the client")
	}
	var scopes []string
	for _, sc := range v.scopes {
		if slices.Contains(c.Scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	return Principal{ClientUUID: c.ID, ClientID: c.ClientID, OrganisationID: c.OrganisationID, RSIN: c.RSIN,
		Scopes: scopes, Method: "bearer"}, nil
}

// RevokeClient revokes a client in the store and, on this replica, at once.
func (s *Service) RevokeClient(ctx context.Context, clientID string) error {
	if err := s.o.Store.RevokeClient(ctx, clientID, s.o.Now().UTC()); err != nil {
		return err
	}
	s.clients.forget(clientID)
	s.audit.Record(store.AuditEntry{Event: EventClientRevoked, ClientID: clientID})
	return nil
}
