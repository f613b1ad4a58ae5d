package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenMode selects how the Sim checks the Authorization header.
type TokenMode int

const (
	// TokensOff accepts any request (token or not) and grants DefaultScopes; claims are still decoded (unverified)
	// into the request log.
	TokensOff TokenMode = iota
	// TokensOpenZaak checks like Open Zaak / vng-api-common: HS256 with the client's secret, client_id and iat
	// required, no leeway (a future iat or nbf is 403 jwt-immaturesignatureerror), expired when now-iat >= 1 h
	// (403 jwt-expired), exp honoured when present. Every failure is 403.
	TokensOpenZaak
	// TokensOneGround checks like OneGround: HS256 self-signed tokens (client_id and secret) or RS256/ES256 OAuth2
	// access tokens verified with OAuthKeys/JWKSURL that must carry an rsin claim; exp and nbf with 30 s clock skew,
	// iat ignored, no exp means no expiry. Authentication failures are 401, missing scopes 403.
	TokensOneGround
)

// AllScopes grants every scope, including the geforceerd ones.
const AllScopes = "*"

// Client is a registered consumer (an applicatie in the Autorisaties API).
type Client struct {
	Secret string   // HS256 secret
	Scopes []string // e.g. "documenten.lezen"; AllScopes for everything
	RSIN   string   // when set, OAuth2 tokens must carry this rsin (OneGround)
}

// DefaultScopes are granted in TokensOff mode: everything an ordinary client may do, but none of the geforceerd
// scopes, so forced unlock and forced updates still have to be asked for (by configuring a token mode).
var DefaultScopes = []string{
	"documenten.lezen", "documenten.aanmaken", "documenten.bijwerken", "documenten.lock", "documenten.verwijderen",
	"zaken.lezen", "zaken.aanmaken", "zaken.bijwerken", "notificaties.publiceren", "notificaties.consumeren",
	"catalogi.lezen",
}

// principal is the authenticated caller of one request.
type principal struct {
	clientID string
	scopes   []string
	claims   map[string]any
}

func (p *principal) has(scope string) bool {
	return p != nil && (slices.Contains(p.scopes, AllScopes) || slices.Contains(p.scopes, scope))
}

func (p *principal) hasAny(scopes ...string) bool {
	return slices.ContainsFunc(scopes, p.has)
}

func authProblem(mode TokenMode, code, detail string) *problem {
	if mode == TokensOneGround {
		return &problem{Status: 401, Code: code, Title: "Authenticatiegegevens zijn ongeldig.", Detail: detail}
	}
	return &problem{Status: 403, Code: code, Title: "U heeft geen toestemming om deze actie uit te voeren.", Detail: detail}
}

// authenticate checks the Authorization header according to the Sim's token mode.
func (s *Sim) authenticate(r *http.Request) (*principal, error) {
	mode := s.opts.Tokens
	h := r.Header.Get("Authorization")
	tok, hasBearer := strings.CutPrefix(h, "Bearer ")
	if mode == TokensOff {
		p := &principal{scopes: DefaultScopes}
		if hasBearer {
			if c, err := unverifiedClaims(tok); err == nil {
				p.claims = c
				p.clientID, _ = c["client_id"].(string)
			}
		}
		return p, nil
	}
	if h == "" {
		if mode == TokensOneGround {
			return nil, authProblem(mode, "not_authenticated", "Authenticatiegegevens zijn niet opgegeven.")
		}
		return nil, authProblem(mode, "not_authenticated", "Authenticatiegegevens zijn niet opgegeven.")
	}
	if !hasBearer || strings.TrimSpace(tok) == "" {
		return nil, authProblem(mode, "authentication_failed", "Authorization header moet 'Bearer <token>' zijn.")
	}
	tok = strings.TrimSpace(tok)
	claims, err := unverifiedClaims(tok)
	if err != nil {
		return nil, authProblem(mode, "invalid-jwt", "Het token is geen geldig JWT: "+err.Error())
	}
	alg := tokenAlg(tok)
	if mode == TokensOneGround && alg != "HS256" {
		return s.oauthPrincipal(tok, claims)
	}
	clientID, _ := claims["client_id"].(string)
	if clientID == "" {
		return nil, authProblem(mode, "missing-client-identifier", "Het token bevat geen client_id claim.")
	}
	c, ok := s.opts.Clients[clientID]
	if !ok || c.Secret == "" {
		return nil, authProblem(mode, "invalid-client-identifier", fmt.Sprintf("Client %q is niet bekend.", clientID))
	}
	_, err = jwt.Parse(tok, func(*jwt.Token) (any, error) { return []byte(c.Secret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		return nil, authProblem(mode, "invalid-jwt-signature", "De signature van het token is ongeldig.")
	}
	if err := s.checkTimes(mode, claims); err != nil {
		return nil, err
	}
	return &principal{clientID: clientID, scopes: c.Scopes, claims: claims}, nil
}

// checkTimes validates exp, nbf and (Open Zaak) iat.
func (s *Sim) checkTimes(mode TokenMode, claims map[string]any) error {
	now := s.now()
	leeway := time.Duration(0)
	if mode == TokensOneGround {
		leeway = 30 * time.Second
	}
	num := func(name string) (time.Time, bool, error) {
		v, ok := claims[name]
		if !ok {
			return time.Time{}, false, nil
		}
		f, ok := v.(float64)
		if !ok {
			return time.Time{}, true, fmt.Errorf("claim %s is geen getal", name)
		}
		return time.Unix(0, int64(f*float64(time.Second))), true, nil
	}
	exp, hasExp, err := num("exp")
	if err != nil {
		return authProblem(mode, "invalid-jwt", err.Error())
	}
	if hasExp && !now.Before(exp.Add(leeway)) {
		return authProblem(mode, "jwt-expired", "Het token is verlopen (exp).")
	}
	nbf, hasNbf, err := num("nbf")
	if err != nil {
		return authProblem(mode, "invalid-jwt", err.Error())
	}
	if hasNbf && now.Add(leeway).Before(nbf) {
		return authProblem(mode, "jwt-immaturesignatureerror", "Het token is nog niet geldig (nbf).")
	}
	if mode != TokensOpenZaak {
		return nil
	}
	iat, hasIat, err := num("iat")
	if err != nil {
		return authProblem(mode, "invalid-jwt", err.Error())
	}
	if !hasIat {
		return authProblem(mode, "jwt-missing-iat-claim", "Het token mist de iat claim.")
	}
	if now.Before(iat) {
		return authProblem(mode, "jwt-immaturesignatureerror", "Het token is nog niet geldig (iat ligt in de toekomst).")
	}
	if now.Sub(iat) >= time.Hour {
		return authProblem(mode, "jwt-expired", "Het token is verlopen (iat ouder dan JWT_EXPIRY).")
	}
	return nil
}

// oauthPrincipal verifies an OneGround OAuth2 access token (RS256/ES256) and requires an rsin claim.
func (s *Sim) oauthPrincipal(tok string, claims map[string]any) (*principal, error) {
	mode := TokensOneGround
	keys := s.opts.OAuthKeys
	if s.opts.JWKSURL != "" {
		k, err := s.jwks.keys(s.opts.JWKSURL, s.opts.DeliveryClient)
		if err != nil {
			return nil, authProblem(mode, "authentication_failed", "JWKS niet beschikbaar: "+err.Error())
		}
		keys = append(slices.Clip(keys), k...)
	}
	var verified bool
	for _, k := range keys {
		_, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return k, nil },
			jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384"}), jwt.WithoutClaimsValidation())
		if err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, authProblem(mode, "invalid-jwt-signature", "De signature van het access token is ongeldig.")
	}
	if err := s.checkTimes(mode, claims); err != nil {
		return nil, err
	}
	clientID, _ := claims["client_id"].(string)
	if clientID == "" {
		clientID, _ = claims["azp"].(string)
	}
	rsin, _ := claims["rsin"].(string)
	if rsin == "" {
		return nil, &problem{Status: 403, Code: "missing-rsin", Title: "U heeft geen toestemming om deze actie uit te voeren.",
			Detail: "Het access token bevat geen rsin claim."}
	}
	c, ok := s.opts.Clients[clientID]
	if !ok {
		return nil, permissionDenied(fmt.Sprintf("Client %q heeft geen autorisaties.", clientID))
	}
	if c.RSIN != "" && c.RSIN != rsin {
		return nil, permissionDenied("De rsin in het token hoort niet bij deze client.")
	}
	return &principal{clientID: clientID, scopes: c.Scopes, claims: claims}, nil
}

func unverifiedClaims(tok string) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("verwacht drie delen")
	}
	data, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, err
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil || c == nil {
		return nil, errors.New("payload is geen JSON object")
	}
	return c, nil
}

func tokenAlg(tok string) string {
	head, _, _ := strings.Cut(tok, ".")
	data, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	_ = json.Unmarshal(data, &h)
	return h.Alg
}

// jwksCache fetches a JWKS document and keeps its keys for five minutes.
type jwksCache struct {
	mu      sync.Mutex
	url     string
	fetched time.Time
	cached  []any
}

func (c *jwksCache) keys(u string, client *http.Client) ([]any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.url == u && time.Since(c.fetched) < 5*time.Minute {
		return c.cached, nil
	}
	resp, err := client.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("JWKS %s: HTTP %d", u, resp.StatusCode)
	}
	var set struct {
		Keys []struct {
			Kty, Crv, N, E, X, Y string
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, err
	}
	var out []any
	raw := func(s string) []byte {
		b, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		return b
	}
	b64 := func(s string) *big.Int { return new(big.Int).SetBytes(raw(s)) }
	for _, k := range set.Keys {
		switch k.Kty {
		case "RSA":
			out = append(out, &rsa.PublicKey{N: b64(k.N), E: int(b64(k.E).Int64())})
		case "EC":
			var curve elliptic.Curve
			size := 32
			switch k.Crv {
			case "P-256":
				curve = elliptic.P256()
			case "P-384":
				curve, size = elliptic.P384(), 48
			default:
				continue
			}
			point := append([]byte{4}, b64(k.X).FillBytes(make([]byte, size))...)
			point = append(point, b64(k.Y).FillBytes(make([]byte, size))...)
			if pk, err := ecdsa.ParseUncompressedPublicKey(curve, point); err == nil {
				out = append(out, pk)
			}
		}
	}
	c.url, c.fetched, c.cached = u, time.Now(), out
	return out, nil
}
