package simulated

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
)

// sealer is the simulated vendor's own signing key and certificate chain, as a real vendor signs
// the PDFs its signers sign with a certificate of its own.
type sealer struct {
	key   crypto.Signer
	cert  *x509.Certificate // the signing certificate
	chain []*x509.Certificate
	root  *x509.Certificate // its self-signed CA, which a verifier trusts
}

func newSealer(now time.Time) (*sealer, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	root, err := certificate(&x509.Certificate{
		Subject:   pkix.Name{CommonName: "Simulated signing vendor CA", Organization: []string{"signingd test"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(20 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := certificate(&x509.Certificate{
		Subject:   pkix.Name{CommonName: "Simulated signing vendor", Organization: []string{"signingd test"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}, root, key.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	// The root is left out of the chain, as is usual: verifiers have it in their trust store.
	return &sealer{key: key, cert: cert, chain: []*x509.Certificate{cert}, root: root}, nil
}

// Root returns the certificate authority of the vendor's signing certificate: a verifier that
// trusts it finds the vendor's signatures valid.
func (s *Server) Root() *x509.Certificate { return s.sealer.root }

// certificate signs tmpl with key under parent (self-signed when parent is nil).
func certificate(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// sign adds one PAdES signature per signer to pdf, in the order they signed, each at its anchor
// (the placeholder text the signer's stamp covers) or on a signature page when the document has
// none.
func (s *sealer) sign(pdf []byte, signers []*vendorSigner) ([]byte, error) {
	order := slices.Clone(signers)
	slices.SortStableFunc(order, func(a, b *vendorSigner) int { return a.At.Compare(b.At) })
	for _, sg := range order {
		var out bytes.Buffer
		err := pades.Sign(context.Background(), bytes.NewReader(pdf), int64(len(pdf)), &out, pades.Options{
			Signer: s.key, Certificates: s.chain,
			Name: sg.Name, ContactInfo: sg.Email, Time: sg.At, Placeholder: sg.Anchor,
			Reason: fmt.Sprintf("Ondertekend via de gesimuleerde leverancier (%s)", signing.AuthWords(sg.AuthMethod)),
		})
		if err != nil {
			return nil, fmt.Errorf("simulated: sign for %s: %w", sg.Name, err)
		}
		pdf = out.Bytes()
	}
	return pdf, nil
}
