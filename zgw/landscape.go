package zgw

// Service kinds, as the ZGW component abbreviations.
const (
	KindDRC = "drc"
	KindZRC = "zrc"
	KindNRC = "nrc"
	KindZTC = "ztc"
)

// Outbound authentication modes.
const (
	AuthNone              = "none"
	AuthZGWJWT            = "zgw-jwt"
	AuthClientCredentials = "client-credentials"
	AuthPrivateKeyJWT     = "private-key-jwt"
)

// Organisation is what the registry needs of one organisation: its RSIN and its ZGW services.
// The caller converts its configuration into these plain values; zgw knows no configuration format.
type Organisation struct {
	RSIN     string
	Services []ServiceSpec
	Data     DataPolicy
}

// DataPolicy says which ZGW data an organisation may have signed, beyond its own.
type DataPolicy struct {
	// SignsFor are further RSINs whose zaken and documents (bronorganisatie) it may have signed.
	SignsFor []string
	// ClosedZaken allows signing documents of a zaak that has an einddatum.
	ClosedZaken bool
}

// ServiceSpec is one ZGW API of an organisation: its kind, API root and outbound authentication.
type ServiceSpec struct {
	Kind    string
	APIRoot string
	Auth    ServiceAuth
}

// ServiceAuth says how signingd authenticates to a ZGW service. Secrets are the resolved values.
type ServiceAuth struct {
	Mode     string
	ClientID string
	// Secret is the HS256 key (zgw-jwt) or the client secret (client-credentials).
	Secret string

	// zgw-jwt
	UserID             string
	UserRepresentation string
	Claims             map[string]any // extra claims: rsin, aud, sub, jti, exp (seconds)

	// client-credentials and private-key-jwt
	TokenURL  string
	Scopes    []string
	AuthStyle string // basic (default) or post

	// private-key-jwt
	KeyFile    string // ZITADEL-style JSON key file {type, keyId, key, clientId}
	PrivateKey string // PEM, when no key file is given
	KeyID      string
	Algorithm  string // RS256 or ES256; derived from the key when empty
	Audience   string // assertion aud; the token URL when empty
}
