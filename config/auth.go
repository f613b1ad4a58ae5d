package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/signingd/signingd/internal/loopback"
)

// Issuer is an external identity provider whose tokens the API accepts (Keycloak, ZITADEL,
// OneGround). Its tokens are checked by signature against its JWKS, or by RFC 7662 introspection.
//
//	issuers:
//	  - issuer: https://keycloak.example.nl/realms/zgw
//	    jwks_url: https://keycloak.example.nl/realms/zgw/protocol/openid-connect/certs
//	    algorithms: [RS256]
//	    audience: signingd
//	    organisation_claim: azp
//	    organisations: {zac-utrecht: "002220647"}
//	    types: [at+jwt, JWT]
//	    max_lifetime: 1h
//
// Its tokens are held to the rules of our own: an accepted typ, exp/nbf/iat as JSON numbers, a
// bounded lifetime, keys only from an https JWKS URL.
type Issuer struct {
	Issuer string `yaml:"issuer"`
	// JWKSURL is where the issuer's public keys are fetched; the only URL fetched for it.
	JWKSURL string `yaml:"jwks_url"`
	// Introspection checks opaque or JWT tokens with the issuer instead of locally.
	Introspection *Introspection `yaml:"introspection"`
	// Algorithms allowed for the issuer's tokens; RS256 when empty. none and HS* are never allowed.
	Algorithms []string `yaml:"algorithms"`
	// Audience the tokens must carry in aud (required).
	Audience string `yaml:"audience"`
	// OrganisationClaim names the claim that identifies the caller's organisation; rsin when empty.
	OrganisationClaim string `yaml:"organisation_claim"`
	// Organisations maps values of OrganisationClaim to RSINs. When empty the claim holds the RSIN.
	Organisations map[string]string `yaml:"organisations"`
	// ClientIDClaim names the claim with the calling client's id; client_id, then azp, then sub when empty.
	ClientIDClaim string `yaml:"client_id_claim"`
	// Scopes granted to the issuer's callers when the token has no scope claim of ours (roles
	// rarely map one to one); empty means the token's scope claim decides.
	Scopes []string `yaml:"scopes"`
	// Types are the accepted values of the JWT typ header (compared without case, the
	// "application/" prefix optional); at+jwt (RFC 9068) when empty. An operator adds JWT for an
	// IdP that sends that; a token without typ is always refused.
	Types []string `yaml:"types"`
	// MaxLifetime bounds exp − iat (and exp − now) of the issuer's tokens; DefaultIssuerMaxLifetime
	// when zero.
	MaxLifetime time.Duration `yaml:"max_lifetime"`
}

// DefaultIssuerTypes are the typ values accepted from an issuer that lists none: the one our own
// tokens carry.
var DefaultIssuerTypes = []string{"at+jwt"}

// DefaultIssuerMaxLifetime is the longest lifetime of an external token unless configured: the
// longest of our own.
const DefaultIssuerMaxLifetime = MaxTokenTTL

// maxIssuerLifetime is the most an operator may allow.
const maxIssuerLifetime = 24 * time.Hour

// AcceptedTypes returns the typ values the issuer's tokens may carry.
func (i Issuer) AcceptedTypes() []string {
	if len(i.Types) == 0 {
		return DefaultIssuerTypes
	}
	return i.Types
}

// TokenLifetime returns the longest lifetime the issuer's tokens may have.
func (i Issuer) TokenLifetime() time.Duration {
	if i.MaxLifetime == 0 {
		return DefaultIssuerMaxLifetime
	}
	return i.MaxLifetime
}

// Introspection configures RFC 7662 token introspection at an external issuer.
type Introspection struct {
	URL          string `yaml:"url"`
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
}

// Validate reports problems in an issuer's configuration.
func (i Issuer) Validate() error {
	var errs []error
	if i.Issuer == "" {
		errs = append(errs, errors.New("issuer: required"))
	}
	if (i.JWKSURL == "") == (i.Introspection == nil) {
		errs = append(errs, errors.New("want exactly one of jwks_url and introspection"))
	}
	if i.JWKSURL != "" {
		if err := checkHTTPSURL(i.JWKSURL); err != nil {
			errs = append(errs, fmt.Errorf("jwks_url: %w", err))
		}
	}
	if i.Introspection != nil {
		if err := checkHTTPSURL(i.Introspection.URL); err != nil {
			errs = append(errs, fmt.Errorf("introspection.url: %w", err))
		}
	}
	if i.Audience == "" {
		errs = append(errs, errors.New("audience: required"))
	}
	for _, a := range i.Algorithms {
		switch a {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
		default:
			errs = append(errs, fmt.Errorf("algorithms: %q is not an asymmetric JWS algorithm", a))
		}
	}
	for _, t := range i.Types {
		if strings.TrimSpace(t) == "" || strings.EqualFold(t, "none") {
			errs = append(errs, fmt.Errorf("types: %q is not a typ value", t))
		}
	}
	if i.MaxLifetime < 0 || i.MaxLifetime > maxIssuerLifetime {
		errs = append(errs, fmt.Errorf("max_lifetime: want at most %s, got %s", maxIssuerLifetime, i.MaxLifetime))
	}
	return errors.Join(errs...)
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q: want an http(s) URL without userinfo", raw)
	}
	return nil
}

// checkHTTPSURL accepts an https URL without userinfo, plain http only on loopback (as for a
// client's jwks_uri): keys fetched or tokens sent in the clear could be swapped or read on the way.
func checkHTTPSURL(raw string) error {
	if err := checkHTTPURL(raw); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if u.Scheme != "https" && !loopback.Host(u.Hostname()) {
		return fmt.Errorf("%q: want https (http only on loopback)", raw)
	}
	return nil
}

// AuthConfig configures signingd's own token service.
type AuthConfig struct {
	// TokenAlg signs access tokens.
	TokenAlg string `env:"TOKEN_ALG" default:"ES256" oneof:"ES256 RS256" doc:"Algorithm of the access tokens signingd issues: ES256 or RS256. RS256 signs about ten times slower (some 1 000 instead of 9 000 tokens a second on two cores); choose it only for a party that cannot check ES256."`
	// TokenTTL is the lifetime of access tokens, at most MaxTokenTTL.
	TokenTTL time.Duration `env:"TOKEN_TTL" default:"15m" min:"1s" doc:"Lifetime of access tokens (at most 1h)."`
	// Audience is the aud of our tokens; PUBLIC_URL + "/api/v1" when empty.
	Audience string `env:"TOKEN_AUDIENCE" doc:"aud of the access tokens; PUBLIC_URL + /api/v1 when empty."`
	// KeyEncryptionKey seals the signing keys in the database: 32 bytes, base64 or hex.
	KeyEncryptionKey Secret `env:"KEY_ENCRYPTION_KEY" doc:"32-byte key (base64 or hex; literal, env:NAME or file:/path) sealing the token signing keys in the database."`
	// SigningKeyFiles are PEM private keys to sign with instead of database keys: the first signs,
	// the others are still accepted and published (the previous keys).
	SigningKeyFiles []string `env:"SIGNING_KEY_FILES" doc:"Comma-separated PEM private keys to sign tokens with instead of database keys; the first signs, the others stay valid."`
	// KeyRotationInterval rotates the database keys on a schedule; 0 turns the schedule off.
	KeyRotationInterval time.Duration `env:"KEY_ROTATION_INTERVAL" default:"720h" doc:"Rotate the database signing keys this often; 0 turns the schedule off."`
	// RatePerClient limits an authenticated client's token, introspection and revocation requests
	// per second; RatePerAddress limits failed client authentications per address (burst twice
	// that), so it never refuses a client that authenticates correctly.
	RatePerClient  float64 `env:"TOKEN_RATE_PER_CLIENT" default:"20" min:"0.01" doc:"Token, introspection and revocation requests per second per authenticated client (burst twice that); more get 429."`
	RatePerAddress float64 `env:"TOKEN_RATE_PER_ADDRESS" default:"50" min:"0.01" doc:"Failed client authentications per second per client address (burst twice that); more get 429. A client that authenticates correctly is never refused by it."`
	// LockoutThreshold failed authentications within LockoutDuration lock the client id at that
	// address out, and make every further failure from the address a 429, for LockoutDuration.
	LockoutThreshold int           `env:"AUTH_LOCKOUT_THRESHOLD" default:"10" min:"1" doc:"Failed client authentications within AUTH_LOCKOUT_DURATION that lock the client id out at that address (other clients at the address are still served)."`
	LockoutDuration  time.Duration `env:"AUTH_LOCKOUT_DURATION" default:"5m" doc:"Window and length of the lockout after failed authentications."`
	// AuditRetention is how long the token service's audit trail is kept.
	AuditRetention time.Duration `env:"AUDIT_RETENTION" default:"8760h" min:"1h" doc:"How long the token service's audit trail (tokens issued, refused, revoked; client changes) is kept; a periodic job deletes older entries (8760h is a year)."`
	// ClientJWKSHosts are the hosts a client's registered jwks_uri may point to.
	ClientJWKSHosts []string `env:"CLIENT_JWKS_HOSTS" doc:"Comma-separated hosts a client's registered jwks_uri may point to."`
}

// MaxTokenTTL is the longest lifetime an access token may have.
const MaxTokenTTL = time.Hour

// DefaultAuth returns the token service's defaults.
func DefaultAuth() AuthConfig { return Defaults().Auth }

// check applies the token service's rules across values.
func (a AuthConfig) check() error {
	if a.TokenTTL > MaxTokenTTL {
		return fmt.Errorf("config: TOKEN_TTL: want at most %s, got %s", MaxTokenTTL, a.TokenTTL)
	}
	if a.KeyRotationInterval != 0 && a.KeyRotationInterval < 2*MaxTokenTTL {
		return fmt.Errorf("config: KEY_ROTATION_INTERVAL: want 0 or at least %s, so a previous key outlives its tokens", 2*MaxTokenTTL)
	}
	return nil
}
