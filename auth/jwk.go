package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// JWK is the public part of a JSON Web Key (RFC 7517). Private members are never kept.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

var b64 = base64.RawURLEncoding

// minRSABits is the smallest RSA key accepted anywhere.
const minRSABits = 2048

// PublicKey returns the key the JWK describes.
func (k JWK) PublicKey() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("jwk: bad RSA n or e")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("jwk: RSA key of %d bits, want at least %d", pub.N.BitLen(), minRSABits)
		}
		return pub, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("jwk: unsupported curve %q", k.Crv)
		}
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		size := (curve.Params().BitSize + 7) / 8
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return nil, errors.New("jwk: bad EC x or y")
		}
		// Build the uncompressed point and let crypto/ecdh-backed parsing check it is on the curve.
		raw := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
		if err != nil {
			return nil, fmt.Errorf("jwk: EC point: %w", err)
		}
		return pub, nil
	case "OKP":
		x, err := b64.DecodeString(k.X)
		if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("jwk: want an Ed25519 OKP key")
		}
		return ed25519.PublicKey(x), nil
	default:
		return nil, fmt.Errorf("jwk: unsupported kty %q", k.Kty)
	}
}

// NewJWK describes a public key as a JWK for signatures.
func NewJWK(pub crypto.PublicKey, kid, alg string) (JWK, error) {
	k := JWK{Kid: kid, Alg: alg, Use: "sig"}
	switch p := pub.(type) {
	case *rsa.PublicKey:
		k.Kty, k.N, k.E = "RSA", b64.EncodeToString(p.N.Bytes()), b64.EncodeToString(big.NewInt(int64(p.E)).Bytes())
	case *ecdsa.PublicKey:
		raw, err := p.Bytes()
		if err != nil {
			return k, fmt.Errorf("jwk: %w", err)
		}
		size := (len(raw) - 1) / 2
		k.Kty, k.Crv = "EC", p.Curve.Params().Name
		k.X, k.Y = b64.EncodeToString(raw[1:1+size]), b64.EncodeToString(raw[1+size:])
	case ed25519.PublicKey:
		k.Kty, k.Crv, k.X = "OKP", "Ed25519", b64.EncodeToString(p)
	default:
		return k, fmt.Errorf("jwk: unsupported key type %T", pub)
	}
	return k, nil
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of the key, used as kid of our own keys.
func (k JWK) Thumbprint() string {
	var s string
	switch k.Kty {
	case "RSA":
		s = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, k.E, k.N)
	case "EC":
		s = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, k.Crv, k.X, k.Y)
	case "OKP":
		s = fmt.Sprintf(`{"crv":%q,"kty":"OKP","x":%q}`, k.Crv, k.X)
	}
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

// keyFits reports whether a JWS algorithm may be verified with the key. This is what keeps an
// HS256 token "signed" with a public key, or an RS256 token checked against an EC key, out.
func keyFits(alg string, key crypto.PublicKey) bool {
	switch p := key.(type) {
	case *rsa.PublicKey:
		return (strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")) && p.N.BitLen() >= minRSABits
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return p.Curve == elliptic.P256()
		case "ES384":
			return p.Curve == elliptic.P384()
		case "ES512":
			return p.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// ParsePublicKey reads a public key in any of the forms a client registers: a JWK, a PEM public
// key or certificate, a PEM private key (only its public half is kept), or a ZITADEL key file
// ({"type", "keyId", "key", "clientId"}). It returns the key as a JWK and the kid the input names.
func ParsePublicKey(data []byte) (JWK, error) {
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "{") {
		var probe struct {
			KeyID string `json:"keyId"`
			Key   string `json:"key"`
			Kty   string `json:"kty"`
		}
		if err := json.Unmarshal([]byte(trimmed), &probe); err != nil {
			return JWK{}, fmt.Errorf("key: not JSON: %w", err)
		}
		if probe.Key != "" { // ZITADEL key file: the private key in PEM, with its key id
			k, err := ParsePublicKey([]byte(probe.Key))
			k.Kid = probe.KeyID
			return k, err
		}
		var k JWK
		if err := json.Unmarshal([]byte(trimmed), &k); err != nil {
			return JWK{}, fmt.Errorf("key: %w", err)
		}
		pub, err := k.PublicKey()
		if err != nil {
			return JWK{}, err
		}
		return NewJWK(pub, k.Kid, k.Alg)
	}
	pub, err := parsePEMPublic([]byte(trimmed))
	if err != nil {
		return JWK{}, err
	}
	return NewJWK(pub, "", "")
}

func parsePEMPublic(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("key: neither JSON nor PEM")
	}
	var pub crypto.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		pub = k
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		pub = k
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		pub = c.PublicKey
	default:
		priv, err := parsePEMPrivate(data)
		if err != nil {
			return nil, err
		}
		pub = priv.Public()
	}
	if r, ok := pub.(*rsa.PublicKey); ok && r.N.BitLen() < minRSABits {
		return nil, fmt.Errorf("key: RSA key of %d bits, want at least %d", r.N.BitLen(), minRSABits)
	}
	return pub, nil
}

// parsePEMPrivate reads a PKCS#1, PKCS#8 or SEC 1 PEM private key.
func parsePEMPrivate(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("key: no PEM block")
	}
	var k any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("key: unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key: unsupported private key %T", k)
	}
	return s, nil
}
