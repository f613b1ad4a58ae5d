package config

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/signingd/signingd/zgw"
)

// Landscape is the operator's YAML file: the organisations signingd serves, the ZGW services of each,
// and the signing providers.
type Landscape struct {
	Organisations []Organisation `yaml:"organisations"`
	Providers     []Provider     `yaml:"providers"`
	// DefaultProvider signs for organisations that name none. Empty: each organisation names its own.
	DefaultProvider string `yaml:"default_provider"`
	// Issuers are external identity providers whose tokens the API accepts.
	Issuers []Issuer `yaml:"issuers"`
	// Validation is where the revocation data of long-term (B-LTA) documents comes from, for
	// every organisation with a tsa; none when nil.
	Validation *Validation `yaml:"validation"`
}

// Organisation is one tenant, identified by its RSIN. Every API client belongs to exactly one.
type Organisation struct {
	RSIN string `yaml:"rsin"`
	Name string `yaml:"name"`
	// Provider names the provider that signs this organisation's transactions: builtin or one
	// under providers. The landscape's default_provider when empty.
	Provider string    `yaml:"provider"`
	Services []Service `yaml:"services"`
	// SignsFor are further RSINs whose zaken and documents (their bronorganisatie) this
	// organisation may have signed; none by default.
	SignsFor []string `yaml:"signs_for"`
	// ClosedZaken allows signing documents of a zaak that has an einddatum.
	ClosedZaken bool `yaml:"closed_zaken"`
	// Branding is how signers see the organisation (name is the name they know it by).
	Branding Branding `yaml:"branding"`
	// TSA is the organisation's time-stamping authority (RFC 3161): with one, signatures are
	// PAdES B-T and completed documents B-LTA (with revocation data as the landscape's
	// validation block says); without, B-B.
	TSA *TSA `yaml:"tsa"`
}

// TSA is an RFC 3161 time-stamping authority.
type TSA struct {
	URL      string `yaml:"url"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	Policy   string `yaml:"policy"` // the TSA policy OID to ask for, e.g. 1.2.3.4; the TSA's default when empty
}

// Branding is the organisation's look on the built-in signer's pages and in its mails.
type Branding struct {
	Logo       string `yaml:"logo"`        // a PNG or SVG file, at most 256 KiB
	Colour     string `yaml:"colour"`      // #rrggbb, the pages' accent
	SenderName string `yaml:"sender_name"` // the mails' From name; the organisation's name when empty
	ReplyTo    string `yaml:"reply_to"`    // where signers' answers to a mail go
}

// Service is one ZGW API that signingd may call for an organisation. No request ever goes to a URL
// that does not lie under the APIRoot of a configured service.
type Service struct {
	Kind    string      `yaml:"kind"` // zgw.KindDRC, …
	APIRoot string      `yaml:"api_root"`
	Auth    ServiceAuth `yaml:"auth"`
}

// ServiceAuth says how signingd authenticates to a ZGW service.
type ServiceAuth struct {
	Mode     string `yaml:"mode"` // zgw.AuthNone, …
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

// OrganisationNames returns the organisations' names by RSIN, for the store.
func (l Landscape) OrganisationNames() map[string]string {
	out := make(map[string]string, len(l.Organisations))
	for _, o := range l.Organisations {
		out[o.RSIN] = o.Name
	}
	return out
}

// ZGW returns the organisations' ZGW services as the plain values the zgw registry takes, with the
// secrets resolved.
func (l Landscape) ZGW() []zgw.Organisation {
	out := make([]zgw.Organisation, 0, len(l.Organisations))
	for _, o := range l.Organisations {
		org := zgw.Organisation{RSIN: o.RSIN, Data: zgw.DataPolicy{SignsFor: o.SignsFor, ClosedZaken: o.ClosedZaken}}
		for _, s := range o.Services {
			a := s.Auth
			org.Services = append(org.Services, zgw.ServiceSpec{Kind: s.Kind, APIRoot: s.APIRoot, Auth: zgw.ServiceAuth{
				Mode: a.Mode, ClientID: a.ClientID, Secret: a.Secret.Value(),
				UserID: a.UserID, UserRepresentation: a.UserRepresentation, Claims: a.Claims,
				TokenURL: a.TokenURL, Scopes: a.Scopes, AuthStyle: a.AuthStyle,
				KeyFile: a.KeyFile, PrivateKey: a.PrivateKey.Value(), KeyID: a.KeyID, Algorithm: a.Algorithm, Audience: a.Audience,
			}})
		}
		out = append(out, org)
	}
	return out
}

// Provider configures one signing provider.
type Provider struct {
	// Name is how organisations and the webhook URL (/api/v1/providers/{name}/webhook) refer to
	// it. Several entries of one type are several accounts, e.g. one per municipality.
	Name string `yaml:"name"`
	// Type is the adapter: simulated, onespan (OneSpan Sign and ValidSign), documenso or docuseal;
	// the name when empty.
	Type string `yaml:"type"`
	// AuthMethods narrows the signer authentication methods the provider supports besides null.
	AuthMethods []string `yaml:"auth_methods"`
	// BaseURL is the vendor's API root (e.g. https://my.validsign.nl/api): signingd calls no
	// other host for this provider.
	BaseURL string `yaml:"base_url"`
	// APIKey is what signingd calls the vendor with (env:NAME or file:/path).
	APIKey Secret `yaml:"api_key"`
	// CallbackKey is what the vendor's callbacks must carry (env:NAME or file:/path).
	CallbackKey Secret `yaml:"callback_key"`
	// Sender is the vendor account's sender e-mail address, where the vendor wants one.
	Sender string `yaml:"sender"`
	// Language of the vendor's mails and pages: nl (default) or en.
	Language string `yaml:"language"`
	// PollInterval is the reconciliation poll of open signings; the adapter's default when zero.
	PollInterval time.Duration `yaml:"poll_interval"`
	// CallsPerMinute caps the status calls to the vendor per replica; the adapter's when zero.
	CallsPerMinute int `yaml:"calls_per_minute"`
	// Edition is DocuSeal's: pro (Pro or Cloud, the default) or free (the community edition, which
	// takes no documents through its API: every trigger is refused).
	Edition string `yaml:"edition"`
	// LegacyHeader names the static header older self-hosted DocuSeal versions send the webhook
	// secret in, instead of the X-Docuseal-Signature HMAC.
	LegacyHeader string `yaml:"legacy_header"`
}

// Provider types, the adapters signingd has.
const (
	ProviderSimulated = "simulated"
	ProviderOneSpan   = "onespan"
	ProviderDocumenso = "documenso"
	ProviderDocuSeal  = "docuseal"
)

// Kind is the provider's adapter: Type, or the name when Type is empty.
func (p Provider) Kind() string {
	if p.Type != "" {
		return p.Type
	}
	return p.Name
}

// LoadLandscape reads and validates a landscape file. An empty path gives an empty landscape. The
// error lists every problem, each with its line.
func LoadLandscape(path string) (Landscape, error) {
	if path == "" {
		return Landscape{}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Landscape{}, fmt.Errorf("config: read landscape: %w", err)
	}
	l, problems := CheckLandscape(b)
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = p
		}
		return l, fmt.Errorf("config: landscape %s:\n%w", path, errors.Join(errs...))
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

// BuiltinProvider is the name of the built-in signer, which needs no entry under providers.
const BuiltinProvider = "builtin"

// ProviderFor returns the provider that signs for the organisation with rsin: its own, else the
// landscape's default. ok is false when there is none. A provider without an entry under providers
// (the built-in signer) comes back with only its name.
func (l Landscape) ProviderFor(rsin string) (p Provider, ok bool) {
	name := l.DefaultProvider
	if o, found := l.Organisation(rsin); found && o.Provider != "" {
		name = o.Provider
	}
	if name == "" {
		return Provider{}, false
	}
	if p, found := l.Provider(name); found {
		return p, true
	}
	return Provider{Name: name}, true
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
	for _, p := range l.problems() {
		errs = append(errs, p)
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
