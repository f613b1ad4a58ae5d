package auth

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenSize is the largest token or assertion looked at; anything longer is refused before it
// is decoded, so a giant header can't cost memory or CPU.
const MaxTokenSize = 8 << 10

// Leeway is the clock skew tolerated on nbf and iat (and on the expiry of assertions).
const Leeway = 30 * time.Second

// jws is a compact JWS split into its parts, with a header that passed the strict checks.
type jws struct {
	alg, kid, typ string
	signingInput  string
	payload       []byte
	sig           []byte
}

// header holds the JOSE header members we read. The pointer members are refused when present:
// they would let the token choose where its key comes from (jku, x5u, jwk, x5c) or demand
// processing we don't do (crit).
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Jku  json.RawMessage `json:"jku"`
	X5u  json.RawMessage `json:"x5u"`
	Jwk  json.RawMessage `json:"jwk"`
	X5c  json.RawMessage `json:"x5c"`
	Crit json.RawMessage `json:"crit"`
	Zip  json.RawMessage `json:"zip"`
	Enc  json.RawMessage `json:"enc"`
}

// errMalformed and friends describe why a token was refused; their texts are safe to show.
var (
	errTooLarge  = errors.New("token is larger than 8 KiB")
	errMalformed = errors.New("token is not a well-formed JWS")
)

// strictB64 refuses non-zero unused bits, so that a token has one spelling only: another string
// that decodes to the same bytes is not the token that was issued (or revoked, or cached).
var strictB64 = base64.RawURLEncoding.Strict()

// parseJWS splits and decodes a compact JWS and checks its header. It does not verify anything.
func parseJWS(token string) (jws, error) {
	if len(token) > MaxTokenSize {
		return jws{}, errTooLarge
	}
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return jws{}, errMalformed
	}
	hb, err1 := strictB64.DecodeString(h64)
	pb, err2 := strictB64.DecodeString(p64)
	sig, err3 := strictB64.DecodeString(s64)
	if err1 != nil || err2 != nil || err3 != nil {
		return jws{}, errMalformed
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil {
		return jws{}, errMalformed
	}
	switch {
	case h.Jku != nil, h.X5u != nil:
		return jws{}, errors.New("token names a key URL (jku/x5u); keys come only from configuration")
	case h.Jwk != nil, h.X5c != nil:
		return jws{}, errors.New("token embeds its own key (jwk/x5c)")
	case h.Crit != nil:
		return jws{}, errors.New("token has critical header parameters we do not understand")
	case h.Zip != nil, h.Enc != nil:
		return jws{}, errors.New("token is encrypted or compressed")
	case h.Alg == "" || strings.EqualFold(h.Alg, "none"):
		return jws{}, errors.New("token is unsigned (alg none)")
	case len(sig) == 0:
		return jws{}, errMalformed
	}
	return jws{alg: h.Alg, kid: h.Kid, typ: h.Typ, signingInput: token[:len(h64)+1+len(p64)], payload: pb, sig: sig}, nil
}

// verify checks the signature with key, refusing an algorithm that does not fit the key: an
// HMAC "signature" keyed with a public key never verifies here.
func (t jws) verify(key crypto.PublicKey) error {
	if !keyFits(t.alg, key) {
		return fmt.Errorf("algorithm %s does not fit the key", t.alg)
	}
	m := jwt.GetSigningMethod(t.alg)
	if m == nil {
		return fmt.Errorf("unsupported algorithm %s", t.alg)
	}
	if err := m.Verify(t.signingInput, t.sig, key); err != nil {
		return errors.New("signature does not verify")
	}
	return nil
}

// claims are the registered claims and ours. Aud accepts a string or an array.
type claims struct {
	Iss      string           `json:"iss"`
	Sub      string           `json:"sub"`
	Aud      jwt.ClaimStrings `json:"aud"`
	Exp      *numericDate     `json:"exp"`
	Nbf      *numericDate     `json:"nbf"`
	Iat      *numericDate     `json:"iat"`
	Jti      string           `json:"jti"`
	ClientID string           `json:"client_id"`
	Scope    string           `json:"scope"`
	RSIN     string           `json:"rsin"`
}

func (t jws) claims() (claims, error) {
	var c claims
	if err := json.Unmarshal(t.payload, &c); errors.Is(err, errNotNumericDate) {
		return c, err
	} else if err != nil {
		return c, errors.New("token claims are not valid JSON")
	}
	return c, nil
}

var errNotNumericDate = errors.New("exp, nbf and iat must be JSON numbers")

// numericDate is an RFC 7519 NumericDate: a JSON number of seconds since the epoch. Unlike the jwt
// library's type it refuses a string ("exp": "1767225600"), which no conforming issuer sends.
type numericDate struct{ time.Time }

// maxNumericDate keeps a date within what time.Unix represents exactly (year 285 million).
const maxNumericDate = 1 << 53

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errNotNumericDate
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.Abs(f) > maxNumericDate {
		return errNotNumericDate
	}
	sec, frac := math.Modf(f)
	d.Time = time.Unix(int64(sec), int64(frac*1e9))
	return nil
}

// checkTimes requires exp and checks exp, nbf and iat against now.
func (c claims) checkTimes(now time.Time) error {
	switch {
	case c.Exp == nil:
		return errors.New("token has no exp")
	case !now.Before(c.Exp.Time):
		return errors.New("token has expired")
	case c.Nbf != nil && c.Nbf.After(now.Add(Leeway)):
		return errors.New("token is not valid yet (nbf)")
	case c.Iat != nil && c.Iat.After(now.Add(Leeway)):
		return errors.New("token is issued in the future (iat)")
	}
	return nil
}

func (c claims) hasAudience(aud string) bool {
	for _, a := range c.Aud {
		if a == aud {
			return true
		}
	}
	return false
}
