package pades_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"os"

	"github.com/signingd/signingd/signing/pades"
)

// Sign a file at the signer's placeholder with a B-T timestamp.
func ExampleSign() {
	var key crypto.Signer         // e.g. a KMS or PKCS #11 key
	var chain []*x509.Certificate // signer certificate first
	in, err := os.Open("contract.pdf")
	if err != nil {
		return
	}
	defer in.Close()
	st, _ := in.Stat()
	out, _ := os.Create("contract-signed.pdf")
	defer out.Close()
	err = pades.Sign(context.Background(), in, st.Size(), out, pades.Options{
		Signer:       key,
		Certificates: chain,
		Name:         "Zoë Çelik-Łukasiewicz",
		Reason:       "Akkoord",
		Location:     "Utrecht",
		Placeholder:  "{{Signer1}}",
		TSA:          &pades.TSA{URL: "https://tsa.example.nl"},
	})
	_ = err // errors.Is(err, pades.ErrEncrypted), ErrLocked, ErrMalformed, ...
}
