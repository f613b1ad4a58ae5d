package builtin

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/signingd/signingd/signing/pades"
)

// Certificate is the service's signing identity: a key and its certificate chain (leaf first).
type Certificate struct {
	Key   crypto.Signer
	Chain []*x509.Certificate
}

// LoadCertificate reads the signing certificate from a PEM file (certificates, and the key unless
// keyPath names another PEM file) or a PKCS#12 file (.p12/.pfx, with password). A "file:" prefix
// is allowed on both paths.
func LoadCertificate(certPath, keyPath, password string) (Certificate, error) {
	certPath, keyPath = strings.TrimPrefix(certPath, "file:"), strings.TrimPrefix(keyPath, "file:")
	raw, err := os.ReadFile(certPath)
	if err != nil {
		return Certificate{}, fmt.Errorf("builtin: signing certificate: %w", err)
	}
	if !strings.Contains(string(raw), "-----BEGIN") {
		key, leaf, cas, err := pkcs12.DecodeChain(raw, password)
		if err != nil {
			return Certificate{}, fmt.Errorf("builtin: signing certificate: pkcs#12: %w", err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return Certificate{}, errors.New("builtin: signing certificate: pkcs#12 key cannot sign")
		}
		return Certificate{Key: signer, Chain: append([]*x509.Certificate{leaf}, cas...)}, nil
	}
	if keyPath != "" {
		k, err := os.ReadFile(keyPath)
		if err != nil {
			return Certificate{}, fmt.Errorf("builtin: signing key: %w", err)
		}
		raw = append(append(raw, '\n'), k...)
	}
	var c Certificate
	for block, rest := pem.Decode(raw); block != nil; block, rest = pem.Decode(rest) {
		switch block.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return Certificate{}, fmt.Errorf("builtin: signing certificate: %w", err)
			}
			c.Chain = append(c.Chain, cert)
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
			key, err := parseKey(block)
			if err != nil {
				return Certificate{}, fmt.Errorf("builtin: signing key: %w", err)
			}
			c.Key = key
		}
	}
	if len(c.Chain) == 0 || c.Key == nil {
		return Certificate{}, errors.New("builtin: signing certificate: need a certificate and its private key")
	}
	return c, nil
}

func parseKey(b *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch b.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("key cannot sign")
	}
	return s, nil
}

// DevCertificate generates a demo CA and a signing certificate issued by it, for `signingd dev`
// and tests. It returns the certificate and the CA (to trust in a validator such as pdfsig).
func DevCertificate(name string) (Certificate, *x509.Certificate, error) {
	key, chain, ca, err := pades.DemoCertificate(name)
	if err != nil {
		return Certificate{}, nil, fmt.Errorf("builtin: dev certificate: %w", err)
	}
	return Certificate{Key: key, Chain: chain}, ca, nil
}
