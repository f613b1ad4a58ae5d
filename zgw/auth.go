package zgw

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/signingd/signingd/internal/text"
)

// Authenticator puts a service's credentials on a request. The client calls it only after the
// request URL resolved to that service, so credentials never go anywhere else.
type Authenticator interface {
	Authorize(req *http.Request) error
}

// NewAuthenticator builds the authenticator for a service's auth configuration. The registry does
// this for every configured service; it is exported for tools and tests.
func NewAuthenticator(a ServiceAuth, opts RegistryOptions) (Authenticator, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.TokenClient = tokenClient(opts.TokenClient)
	return newAuthenticator(a, opts)
}

func newAuthenticator(a ServiceAuth, opts RegistryOptions) (Authenticator, error) {
	switch a.Mode {
	case "", AuthNone:
		return noAuth{}, nil
	case AuthZGWJWT:
		return newZGWJWT(a, opts.Now)
	case AuthClientCredentials:
		return newClientCredentials(a, opts.TokenClient)
	case AuthPrivateKeyJWT:
		return newPrivateKeyJWT(a, opts.TokenClient, opts.Now)
	}
	return nil, fmt.Errorf("unknown mode %q (want %s, %s, %s or %s)", a.Mode,
		AuthNone, AuthZGWJWT, AuthClientCredentials, AuthPrivateKeyJWT)
}

type noAuth struct{}

func (noAuth) Authorize(*http.Request) error { return nil }

// zgwJWT signs the self-issued HS256 token of the ZGW standard. Tokens are cached for a short
// while only: Open Zaak measures the age from iat (JWT_EXPIRY) and allows no leeway.
type zgwJWT struct {
	secret []byte
	base   jwt.MapClaims // fixed claims
	expIn  time.Duration // exp = iat + expIn when > 0
	jti    bool
	now    func() time.Time

	mu      sync.Mutex
	token   string
	iat     time.Time
	validTo time.Time
}

// zgwJWTCache is how long a self-issued token is reused: well under a minute, so its age never
// matters to any provider.
const zgwJWTCache = 20 * time.Second

func newZGWJWT(a ServiceAuth, now func() time.Time) (*zgwJWT, error) {
	if a.ClientID == "" {
		return nil, errors.New("zgw-jwt needs client_id")
	}
	if a.Secret == "" {
		return nil, errors.New("zgw-jwt needs secret")
	}
	z := &zgwJWT{secret: []byte(a.Secret), now: now, base: jwt.MapClaims{
		"iss":                 a.ClientID,
		"client_id":           a.ClientID,
		"user_id":             a.UserID,
		"user_representation": a.UserRepresentation,
	}}
	for k, v := range a.Claims {
		switch k {
		case "iat":
			return nil, errors.New("claims.iat: iat is always the signing time")
		case "exp":
			secs, ok := number(v)
			if !ok || secs <= 0 || secs > 24*3600 {
				return nil, fmt.Errorf("claims.exp: want seconds after iat (1..86400), got %v", v)
			}
			z.expIn = time.Duration(secs) * time.Second
		case "jti":
			// jti: true (or "uuid") gives every token a fresh id; a fixed jti would defeat its purpose.
			if b, ok := v.(bool); ok && b || v == "uuid" {
				z.jti = true
				continue
			}
			return nil, fmt.Errorf("claims.jti: want true, got %v", v)
		default:
			z.base[k] = v
		}
	}
	return z, nil
}

func number(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case uint64:
		return int64(n), true
	case float64:
		return int64(n), n == float64(int64(n))
	}
	return 0, false
}

func (z *zgwJWT) Authorize(req *http.Request) error {
	tok, err := z.tokenString()
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func (z *zgwJWT) tokenString() (string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	now := z.now()
	// A clock that went back would make the cached iat lie in the future: sign anew then.
	if z.token != "" && now.Before(z.validTo) && !now.Before(z.iat) {
		return z.token, nil
	}
	// Unix() rounds down, so iat is never in the future, even by a fraction of a second.
	iat := now.Unix()
	claims := jwt.MapClaims{"iat": iat}
	for k, v := range z.base {
		claims[k] = v
	}
	ttl := zgwJWTCache
	if z.expIn > 0 {
		claims["exp"] = iat + int64(z.expIn/time.Second)
		if z.expIn/2 < ttl {
			ttl = z.expIn / 2
		}
	}
	if z.jti {
		claims["jti"] = uuid.NewString()
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(z.secret)
	if err != nil {
		return "", fmt.Errorf("sign zgw-jwt: %w", err)
	}
	z.token, z.iat, z.validTo = s, time.Unix(iat, 0), time.Unix(iat, 0).Add(ttl)
	return s, nil
}

// tokenSourceAuth puts an OAuth2 access token from a (caching) token source on the request.
type tokenSourceAuth struct {
	ts oauth2.TokenSource
}

func (t tokenSourceAuth) Authorize(req *http.Request) error {
	tok, err := t.ts.Token()
	if err != nil {
		return tokenError(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return nil
}

// tokenError turns a failed token request into an *Error (so IsTransient classifies a 503 from the
// IdP like one from a ZGW API) without copying the response body, which might echo credentials.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return &Error{Op: "get token", Method: http.MethodPost, URL: re.Response.Request.URL.String(),
			Status: re.Response.StatusCode, Code: re.ErrorCode, Title: "token request refused",
			Detail:     text.Truncate(re.ErrorDescription, 300),
			RetryAfter: parseRetryAfter(re.Response.Header.Get("Retry-After"), time.Now())}
	}
	var ze *Error
	if errors.As(err, &ze) {
		return err
	}
	return fmt.Errorf("get token: %w", err)
}

func authStyle(s string) (oauth2.AuthStyle, error) {
	switch strings.ToLower(s) {
	case "", "basic", "client_secret_basic":
		return oauth2.AuthStyleInHeader, nil
	case "post", "client_secret_post":
		return oauth2.AuthStyleInParams, nil
	}
	return 0, fmt.Errorf("auth_style %q: want basic or post", s)
}

func newClientCredentials(a ServiceAuth, hc *http.Client) (Authenticator, error) {
	if a.ClientID == "" || a.Secret == "" || a.TokenURL == "" {
		return nil, errors.New("client-credentials needs client_id, secret and token_url")
	}
	if err := checkTokenURL(a.TokenURL); err != nil {
		return nil, err
	}
	style, err := authStyle(a.AuthStyle)
	if err != nil {
		return nil, err
	}
	cfg := clientcredentials.Config{
		ClientID: a.ClientID, ClientSecret: a.Secret, TokenURL: a.TokenURL, Scopes: a.Scopes, AuthStyle: style,
	}
	// The token source outlives any one request; it uses this context only for its HTTP client.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	return tokenSourceAuth{ts: cfg.TokenSource(ctx)}, nil
}

func checkTokenURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("token_url %q: want an http(s) URL without userinfo", raw)
	}
	return nil
}

// keyFile is a ZITADEL-style service account / application key file.
type keyFile struct {
	Type     string `json:"type"`
	KeyID    string `json:"keyId"`
	Key      string `json:"key"`
	ClientID string `json:"clientId"`
	AppID    string `json:"appId"`
	UserID   string `json:"userId"`
}

// assertionSource gets access tokens with a private_key_jwt client assertion (RFC 7523), signing a
// fresh assertion for every token request.
type assertionSource struct {
	tokenURL string
	clientID string
	keyID    string
	audience string
	scopes   []string
	key      crypto.Signer
	method   jwt.SigningMethod
	hc       *http.Client
	now      func() time.Time
}

// assertionLifetime bounds how long a captured assertion could be replayed.
const assertionLifetime = 5 * time.Minute

func newPrivateKeyJWT(a ServiceAuth, hc *http.Client, now func() time.Time) (Authenticator, error) {
	if a.TokenURL == "" {
		return nil, errors.New("private-key-jwt needs token_url")
	}
	if err := checkTokenURL(a.TokenURL); err != nil {
		return nil, err
	}
	s := &assertionSource{tokenURL: a.TokenURL, clientID: a.ClientID, keyID: a.KeyID, audience: a.Audience,
		scopes: a.Scopes, hc: hc, now: now}
	var pemData string
	switch {
	case a.KeyFile != "":
		b, err := os.ReadFile(a.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("key_file: %w", err)
		}
		var kf keyFile
		if err := json.Unmarshal(b, &kf); err != nil {
			return nil, fmt.Errorf("key_file %s: not a JSON key file: %w", a.KeyFile, err)
		}
		pemData = kf.Key
		if s.clientID == "" {
			s.clientID = kf.ClientID
		}
		if s.clientID == "" {
			s.clientID = kf.UserID // ZITADEL service-account keys name the user instead
		}
		if s.keyID == "" {
			s.keyID = kf.KeyID
		}
	case a.PrivateKey != "":
		pemData = a.PrivateKey
	default:
		return nil, errors.New("private-key-jwt needs key_file or private_key")
	}
	if s.clientID == "" {
		return nil, errors.New("private-key-jwt needs client_id (or a key file naming it)")
	}
	if s.audience == "" {
		s.audience = a.TokenURL
	}
	key, err := parsePrivateKey([]byte(pemData))
	if err != nil {
		return nil, err
	}
	s.key = key
	if s.method, err = signingMethod(key, a.Algorithm); err != nil {
		return nil, err
	}
	return tokenSourceAuth{ts: oauth2.ReuseTokenSourceWithExpiry(nil, s, 30*time.Second)}, nil
}

// parsePrivateKey reads a PKCS#1, PKCS#8 or SEC 1 PEM private key.
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("private key: no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, errors.New("private key: unsupported PKCS#8 key type")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("private key: %s is not a PKCS#1, PKCS#8 or EC key", block.Type)
}

func signingMethod(key crypto.Signer, alg string) (jwt.SigningMethod, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		switch alg {
		case "", "RS256":
			return jwt.SigningMethodRS256, nil
		case "RS384":
			return jwt.SigningMethodRS384, nil
		case "RS512":
			return jwt.SigningMethodRS512, nil
		case "PS256":
			return jwt.SigningMethodPS256, nil
		}
	case *ecdsa.PrivateKey:
		want := map[elliptic.Curve]string{elliptic.P256(): "ES256", elliptic.P384(): "ES384", elliptic.P521(): "ES512"}[k.Curve]
		if alg == "" {
			alg = want
		}
		if alg == want && alg != "" {
			return jwt.GetSigningMethod(alg), nil
		}
	default:
		return nil, fmt.Errorf("private key: unsupported key type %T", key)
	}
	return nil, fmt.Errorf("algorithm %q does not fit the %T key", alg, key)
}

// assertion signs a client assertion: iss = sub = client_id, aud = the token endpoint (or the
// configured audience), a fresh jti, exp at most five minutes ahead.
func (s *assertionSource) assertion() (string, error) {
	now := s.now()
	claims := jwt.RegisteredClaims{
		Issuer:    s.clientID,
		Subject:   s.clientID,
		Audience:  jwt.ClaimStrings{s.audience},
		IssuedAt:  jwt.NewNumericDate(time.Unix(now.Unix(), 0)),
		ExpiresAt: jwt.NewNumericDate(time.Unix(now.Unix(), 0).Add(assertionLifetime)),
		ID:        uuid.NewString(),
	}
	t := jwt.NewWithClaims(s.method, claims)
	if s.keyID != "" {
		t.Header["kid"] = s.keyID
	}
	var key any = s.key
	return t.SignedString(key)
}

// Token implements oauth2.TokenSource.
func (s *assertionSource) Token() (*oauth2.Token, error) {
	a, err := s.assertion()
	if err != nil {
		return nil, fmt.Errorf("sign client assertion: %w", err)
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {a},
	}
	if len(s.scopes) > 0 {
		form.Set("scope", strings.Join(s.scopes, " "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token request %s: %w", s.tokenURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("token request %s: read: %w", s.tokenURL, err)
	}
	var out struct {
		AccessToken      string      `json:"access_token"`
		TokenType        string      `json:"token_type"`
		ExpiresIn        json.Number `json:"expires_in"`
		Error            string      `json:"error"`
		ErrorDescription string      `json:"error_description"`
	}
	_ = json.Unmarshal(body, &out)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || out.AccessToken == "" {
		status := resp.StatusCode
		if status >= 200 && status <= 299 {
			status = http.StatusBadGateway // a 200 without a token is the IdP's fault
		}
		return nil, &Error{Op: "get token", Method: http.MethodPost, URL: s.tokenURL, Status: status,
			Code: out.Error, Title: "token request refused", Detail: text.Truncate(out.ErrorDescription, 300),
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), s.now())}
	}
	tok := &oauth2.Token{AccessToken: out.AccessToken, TokenType: out.TokenType}
	if secs, err := out.ExpiresIn.Int64(); err == nil && secs > 0 {
		tok.Expiry = time.Now().Add(time.Duration(secs) * time.Second)
	}
	return tok, nil
}
