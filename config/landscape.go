package config

import (
	"errors"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// Landscape is the operator's YAML file: the organisations signingd serves, the ZGW services of each,
// and the signing providers.
type Landscape struct {
	Organisations []Organisation `yaml:"organisations"`
	Providers     []Provider     `yaml:"providers"`
	// Issuers are external identity providers whose tokens the API accepts.
	Issuers []Issuer `yaml:"issuers"`
}

// Organisation is one tenant, identified by its RSIN. Every API client belongs to exactly one.
type Organisation struct {
	RSIN string `yaml:"rsin"`
	Name string `yaml:"name"`
	// Provider names the provider that signs this organisation's transactions.
	Provider string    `yaml:"provider"`
	Services []Service `yaml:"services"`
}

// Service kinds, as the ZGW component abbreviations.
const (
	KindDRC = "drc"
	KindZRC = "zrc"
	KindNRC = "nrc"
	KindZTC = "ztc"
)

// Service is one ZGW API that signingd may call for an organisation. No request ever goes to a URL
// that does not lie under the APIRoot of a configured service.
type Service struct {
	Kind    string      `yaml:"kind"`
	APIRoot string      `yaml:"api_root"`
	Auth    ServiceAuth `yaml:"auth"`
}

// Outbound authentication modes.
const (
	AuthNone              = "none"
	AuthZGWJWT            = "zgw-jwt"
	AuthClientCredentials = "client-credentials"
	AuthPrivateKeyJWT     = "private-key-jwt"
)

// ServiceAuth says how signingd authenticates to a ZGW service.
type ServiceAuth struct {
	Mode     string `yaml:"mode"`
	ClientID string `yaml:"client_id"`
	// Secret is the HS256 key (zgw-jwt) or the client secret (client-credentials).
	Secret Secret `yaml:"secret"`

	// zgw-jwt
	UserID             string         `yaml:"user_id"`
	UserRepresentation string         `yaml:"user_representation"`
	Claims             map[string]any `yaml:"claims"` // extra claims: rsin, aud, sub, jti, exp (seconds)

	// client-credentials and private-key-jwt
	TokenURL  string   `yaml:"token_url"`
	Scopes    []string `yaml:"scopes"`
	AuthStyle string   `yaml:"auth_style"` // basic (default) or post

	// private-key-jwt
	KeyFile    string `yaml:"key_file"`    // ZITADEL-style JSON key file {type, keyId, key, clientId}
	PrivateKey Secret `yaml:"private_key"` // PEM, when no key file is given
	KeyID      string `yaml:"key_id"`
	Algorithm  string `yaml:"algorithm"` // RS256 or ES256; derived from the key when empty
	Audience   string `yaml:"audience"`  // assertion aud; the token URL when empty
}

// Provider configures one signing provider.
type Provider struct {
	Name string `yaml:"name"`
	// AuthMethods lists the signer authentication methods the provider supports besides null.
	AuthMethods []string          `yaml:"auth_methods"`
	Settings    map[string]string `yaml:"settings"`
}

// LoadLandscape reads and validates a landscape file. An empty path gives an empty landscape.
func LoadLandscape(path string) (Landscape, error) {
	var l Landscape
	if path == "" {
		return l, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return l, fmt.Errorf("config: read landscape: %w", err)
	}
	if err := yaml.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("config: parse landscape %s: %w", path, err)
	}
	if err := l.Validate(); err != nil {
		return l, fmt.Errorf("config: landscape %s: %w", path, err)
	}
	return l, nil
}

// Organisation returns the organisation with the given RSIN.
func (l Landscape) Organisation(rsin string) (Organisation, bool) {
	for _, o := range l.Organisations {
		if o.RSIN == rsin {
			return o, true
		}
	}
	return Organisation{}, false
}

// Provider returns the provider configuration with the given name.
func (l Landscape) Provider(name string) (Provider, bool) {
	for _, p := range l.Providers {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// Validate reports every problem in the landscape at once.
func (l Landscape) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, o := range l.Organisations {
		if !validRSIN(o.RSIN) {
			errs = append(errs, fmt.Errorf("organisations[%d].rsin: %q is not a 9-digit RSIN", i, o.RSIN))
		}
		if seen[o.RSIN] {
			errs = append(errs, fmt.Errorf("organisations[%d].rsin: %s appears twice", i, o.RSIN))
		}
		seen[o.RSIN] = true
		for j, s := range o.Services {
			switch s.Kind {
			case KindDRC, KindZRC, KindNRC, KindZTC:
			default:
				errs = append(errs, fmt.Errorf("organisations[%d].services[%d].kind: %q is not drc, zrc, nrc or ztc", i, j, s.Kind))
			}
			if s.APIRoot == "" {
				errs = append(errs, fmt.Errorf("organisations[%d].services[%d].api_root: required", i, j))
			}
		}
	}
	return errors.Join(errs...)
}

func validRSIN(s string) bool {
	if len(s) != 9 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
