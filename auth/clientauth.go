package auth

import (
	"context"
	"crypto"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/signingd/signingd/internal/clientip"
	"github.com/signingd/signingd/internal/loopback"
	"github.com/signingd/signingd/store"
)

// Client authentication methods (RFC 7591 names).
const (
	MethodSecretBasic   = "client_secret_basic"
	MethodSecretPost    = "client_secret_post"
	MethodPrivateKeyJWT = "private_key_jwt"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// oauthError is an RFC 6749 §5.2 error answer. reason is for the audit trail only.
type oauthError struct {
	status     int
	code       string
	desc       string
	reason     string
	retryAfter time.Duration
	basic      bool // the client tried HTTP Basic: answer with a Basic challenge
}

func (e *oauthError) Error() string { return e.code + ": " + e.reason }

func invalidClient(reason string) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: "Client authentication failed.", reason: reason}
}

func invalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: desc, reason: desc}
}

// authenticatedClient is the outcome of client authentication.
type authenticatedClient struct {
	store.Client
	method string
}

// authenticateClient finds and checks the client of a token, introspection or revocation request.
// It counts failures and enforces the lockout and the per-client rate limit. clientID is what the
// request claims, also when authentication fails (for the audit trail).
func (s *Service) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (ac authenticatedClient, clientID string, oe *oauthError) {
	now := s.o.Now()
	addr := clientip.From(r)
	user, pass, hasBasic := r.BasicAuth()
	hasPost := form.Has("client_secret")
	hasAssertion := form.Has("client_assertion") || form.Has("client_assertion_type")
	n := 0
	for _, b := range []bool{hasBasic, hasPost, hasAssertion} {
		if b {
			n++
		}
	}
	if n > 1 {
		return ac, "", invalidRequest("Use exactly one client authentication method.")
	}
	var method, secret string
	var assertion jws
	var assertionClaims claims
	switch {
	case hasBasic:
		method = MethodSecretBasic
		// RFC 6749 §2.3.1: both parts are form-urlencoded before they go into the header.
		var err1, err2 error
		clientID, err1 = url.QueryUnescape(user)
		secret, err2 = url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return ac, "", s.failed("", addr, now, withBasic(invalidClient("malformed basic credentials"), true))
		}
		if form.Has("client_id") && form.Get("client_id") != clientID {
			return ac, clientID, invalidRequest("client_id differs from the authenticated client.")
		}
	case hasPost:
		method, clientID, secret = MethodSecretPost, form.Get("client_id"), form.Get("client_secret")
	case hasAssertion:
		method = MethodPrivateKeyJWT
		if form.Get("client_assertion_type") != assertionType {
			return ac, "", invalidRequest("client_assertion_type must be " + assertionType + ".")
		}
		var err error
		if assertion, err = parseJWS(form.Get("client_assertion")); err != nil {
			return ac, form.Get("client_id"), s.failed(form.Get("client_id"), addr, now, invalidClient("assertion: "+err.Error()))
		}
		if assertionClaims, err = assertion.claims(); err != nil {
			return ac, form.Get("client_id"), s.failed(form.Get("client_id"), addr, now, invalidClient("assertion: "+err.Error()))
		}
		clientID = assertionClaims.Iss
		if form.Has("client_id") && form.Get("client_id") != clientID {
			return ac, clientID, s.failed(clientID, addr, now, invalidClient("assertion iss differs from client_id"))
		}
	default:
		return ac, "", s.failed("", addr, now, withBasic(invalidClient("no client authentication"), true))
	}
	if clientID == "" || len(clientID) > 4*store.MaxClientIDLen || !printable(clientID) {
		return ac, "", s.failed("", addr, now, invalidClient("no client_id, or one that can't be"))
	}
	if len(clientID) > store.MaxClientIDLen {
		// no client has so long an id: refused without a lookup, and counted under the cut id
		clientID = cutClientID(clientID)
		return ac, clientID, s.failed(clientID, addr, now, withBasic(invalidClient("unknown client"), hasBasic))
	}
	if locked, wait := s.fails.locked(clientKey(clientID, addr), now); locked {
		return ac, clientID, tooMany("locked out after failed attempts", wait)
	}
	c, found, err := s.clients.get(ctx, clientID)
	if err != nil {
		return ac, clientID, &oauthError{status: http.StatusInternalServerError, code: "server_error", reason: err.Error()}
	}
	var digest []byte
	if method != MethodPrivateKeyJWT {
		digest = SecretDigest(s.o.Pepper, secret)
	}
	if !found || digest != nil && !secretMatches(c, digest, now) {
		// The cache may predate the client or its new secret (created or rotated elsewhere a
		// moment ago): a refusal is only ever based on what the database says now.
		if c, found, err = s.clients.load(ctx, clientID); err != nil {
			return ac, clientID, &oauthError{status: http.StatusInternalServerError, code: "server_error", reason: err.Error()}
		}
	}
	if !found {
		return ac, clientID, s.failed(clientID, addr, now, withBasic(invalidClient("unknown client"), hasBasic))
	}
	if c.RevokedAt != nil {
		return ac, clientID, s.failed(clientID, addr, now, withBasic(invalidClient("client revoked"), hasBasic))
	}
	switch method {
	case MethodSecretBasic, MethodSecretPost:
		if !secretMatches(c, digest, now) {
			return ac, clientID, s.failed(clientID, addr, now, withBasic(invalidClient("wrong secret"), hasBasic))
		}
	case MethodPrivateKeyJWT:
		if err := s.checkAssertion(ctx, c.Client, assertion, assertionClaims, now); err != nil {
			return ac, clientID, s.failed(clientID, addr, now, invalidClient("assertion: "+err.Error()))
		}
	}
	// Limited only once authenticated: others naming the client can't use up its budget.
	if ok, wait := s.byCli.allow(clientID, now); !ok {
		return ac, clientID, tooMany("client rate limit", wait)
	}
	return authenticatedClient{Client: c.Client, method: method}, clientID, nil
}

// clientKey is what failed attempts of a client are counted under: the client at one address, so
// nobody can lock a client out from elsewhere. With secrets and keys of 256 bits there is nothing
// to gain by guessing from many addresses; each address is also counted on its own.
func clientKey(clientID, addr string) string { return "client:" + clientID + " at " + addr }

// secretMatches compares digest with every live secret of the client, each in constant time,
// whatever the outcome.
func secretMatches(c store.ClientWithSecrets, digest []byte, now time.Time) bool {
	ok := false
	for _, sec := range c.Secrets {
		ok = hmac.Equal(sec.Digest, digest) && sec.ValidAt(now) || ok
	}
	return ok
}

// printable reports whether s is valid UTF-8 without control characters, as any client id is.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func withBasic(e *oauthError, basic bool) *oauthError {
	e.basic = basic
	return e
}

func tooMany(reason string, wait time.Duration) *oauthError {
	return &oauthError{status: http.StatusTooManyRequests, code: "invalid_request", desc: "Too many requests; retry later.",
		reason: reason, retryAfter: wait}
}

// failed counts a failed attempt against the client id at the address and against the address.
// The address's lockout and rate limit apply to failures only: an address that is locked or over
// its limit gets 429 for every failed attempt, yet a client that authenticates correctly from it
// (behind the same proxy or NAT as a guesser) is served.
func (s *Service) failed(clientID, addr string, now time.Time, e *oauthError) *oauthError {
	if clientID != "" {
		s.fails.fail(clientKey(clientID, addr), now)
	}
	locked, wait := s.fails.locked(addrKey(addr), now)
	s.fails.fail(addrKey(addr), now)
	if locked {
		return tooMany("address locked out after failed attempts", wait)
	}
	if ok, wait := s.byAddr.allow(addr, now); !ok {
		return tooMany("address rate limit", wait)
	}
	return e
}

// addrKey is what failed attempts from an address are counted under.
func addrKey(addr string) string { return "addr:" + addr }

// checkAssertion verifies a private_key_jwt client assertion (RFC 7523, with the current revision's
// audience rule) for client c.
func (s *Service) checkAssertion(ctx context.Context, c store.Client, t jws, cl claims, now time.Time) error {
	if !slices.Contains(assertionAlgs, t.alg) {
		return fmt.Errorf("algorithm %s not accepted", t.alg)
	}
	if t.typ != "" && !strings.EqualFold(t.typ, "JWT") && !strings.EqualFold(t.typ, "client-authentication+jwt") {
		return fmt.Errorf("typ %s not accepted", t.typ)
	}
	if cl.Sub != cl.Iss {
		return errors.New("sub differs from iss")
	}
	if len(cl.Aud) != 1 {
		return errors.New("aud must be one value")
	}
	if aud := cl.Aud[0]; aud != s.o.Issuer && aud != s.o.Issuer+TokenPath {
		return errors.New("aud is not this issuer")
	}
	switch {
	case cl.Exp == nil:
		return errors.New("no exp")
	case !now.Before(cl.Exp.Time):
		return errors.New("expired")
	case cl.Exp.After(now.Add(MaxAssertionLifetime + Leeway)):
		return errors.New("exp more than 5 minutes ahead")
	case cl.Nbf != nil && cl.Nbf.After(now.Add(Leeway)):
		return errors.New("not valid yet (nbf)")
	case cl.Iat != nil && cl.Iat.After(now.Add(Leeway)):
		return errors.New("issued in the future (iat)")
	case cl.Jti == "" || len(cl.Jti) > 200:
		return errors.New("no jti")
	}
	if err := s.verifyAssertionSignature(ctx, c, t); err != nil {
		return err
	}
	fresh, err := s.o.Store.UseAssertion(ctx, c.ClientID, cl.Jti, cl.Exp.Add(Leeway), now)
	if err != nil {
		return err
	}
	if !fresh {
		return errors.New("jti used before (replay)")
	}
	return nil
}

// verifyAssertionSignature tries the client's registered keys that match the kid.
func (s *Service) verifyAssertionSignature(ctx context.Context, c store.Client, t jws) error {
	keys, err := s.o.Store.ClientKeys(ctx, c.ID)
	if err != nil {
		return err
	}
	tried := false
	for _, k := range keys {
		var pub crypto.PublicKey
		if k.JWKSURI != "" {
			j, err := s.clientJWKS(k.JWKSURI)
			if err != nil {
				continue
			}
			if pub, err = j.key(ctx, t.kid, t.alg); err != nil {
				continue
			}
		} else {
			var jwk JWK
			if json.Unmarshal(k.JWK, &jwk) != nil {
				continue
			}
			if t.kid != "" && k.KID != t.kid && jwk.Kid != t.kid {
				continue
			}
			if jwk.Alg != "" && jwk.Alg != t.alg {
				continue
			}
			if pub, err = jwk.PublicKey(); err != nil {
				continue
			}
		}
		tried = true
		if t.verify(pub) == nil {
			return nil
		}
	}
	if !tried {
		return errors.New("no registered key matches the kid")
	}
	return errors.New("signature does not verify")
}

// clientJWKS returns the cache of a client's jwks_uri, if its host is allowed.
func (s *Service) clientJWKS(raw string) (*remoteJWKS, error) {
	if err := s.CheckJWKSURI(raw); err != nil {
		return nil, err
	}
	s.jwksMu.Lock()
	defer s.jwksMu.Unlock()
	j, ok := s.clientJ[raw]
	if !ok {
		j = newRemoteJWKS(raw, s.o.HTTPClient, s.o.JWKSRefreshWindow, s.o.Now)
		s.clientJ[raw] = j
	}
	return j, nil
}

// CheckJWKSURI refuses a client jwks_uri whose host is not in CLIENT_JWKS_HOSTS.
func (s *Service) CheckJWKSURI(raw string) error {
	return CheckJWKSURI(raw, s.o.ClientJWKSHosts)
}

// CheckJWKSURI refuses a jwks_uri that is not https (http only for loopback) or whose host is not
// allowed.
func CheckJWKSURI(raw string, hosts []string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return fmt.Errorf("jwks_uri %q is not a URL", raw)
	}
	loopback := loopback.Host(u.Hostname())
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
		return fmt.Errorf("jwks_uri %q must be https", raw)
	}
	if !slices.Contains(hosts, u.Host) && !slices.Contains(hosts, u.Hostname()) {
		return fmt.Errorf("jwks_uri host %s is not in CLIENT_JWKS_HOSTS", u.Host)
	}
	return nil
}
