package simulated

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"slices"

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

func newSealer() (*sealer, error) {
	key, chain, root, err := pades.DemoCertificate("Simulated signing vendor")
	if err != nil {
		return nil, err
	}
	return &sealer{key: key, cert: chain[0], chain: chain, root: root}, nil
}

// Root returns the certificate authority of the vendor's signing certificate: a verifier that
// trusts it finds the vendor's signatures valid.
func (s *Server) Root() *x509.Certificate { return s.sealer.root }

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
