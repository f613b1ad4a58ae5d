package pades

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// signBytes signs in with o and returns the signed file.
func signBytes(t *testing.T, in []byte, o Options) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, o); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func verifyBytes(b []byte) (*Inspection, error) {
	return Verify(context.Background(), bytes.NewReader(b), int64(len(b)))
}

// TestVerify signs a two-page document twice, once at a placeholder and once on a signature page,
// and checks that Verify accepts it as it is and refuses it with one byte changed in a signed range,
// with bytes added after the last signature, and unsigned.
func TestVerify(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	orig := makePDF(genPDF{version: "1.7", pages: [][]string{{"Besluit", "{{Signer1}}"}, {"Bijlage"}}})
	o := p.signers["ecdsa"].options()
	o.Placeholder = "{{Signer1}}"
	once := signBytes(t, orig, o)
	o2 := p.signers["rsa"].options()
	o2.Placeholder = "{{Signer2}}" // not in the document: a signature page is appended
	signed := signBytes(t, once, o2)

	ins, err := verifyBytes(signed)
	if err != nil {
		t.Fatalf("Verify(signed) = %v", err)
	}
	if ins.Pages != 3 || ins.SignaturePages != 1 || len(ins.Signatures) != 2 {
		t.Fatalf("inspection %+v, want 3 pages of which 1 signature page, 2 signatures", ins)
	}
	if s := ins.Signatures[0]; s.End() != int64(len(once)) || s.Signer == nil || s.Signer.Subject.CommonName != p.signers["ecdsa"].chain[0].Subject.CommonName {
		t.Errorf("first signature %+v, want the ecdsa signer's over the first revision", s)
	}
	if ins, err := verifyBytes(orig); !errors.Is(err, ErrNotSigned) || ins.Pages != 2 || ins.SignaturePages != 0 {
		t.Errorf("Verify(unsigned) = %+v, %v; want ErrNotSigned and 2 pages", ins, err)
	}

	// one byte of the first page's text, inside both signatures' ranges
	altered := bytes.Clone(signed)
	i := bytes.Index(altered, []byte("Besluit"))
	altered[i] = 'b'
	if _, err := verifyBytes(altered); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify(altered) = %v, want ErrBadSignature", err)
	}

	// a byte of the newest signature's own CMS
	cms := bytes.Clone(signed)
	br := ins.Signatures[1].ByteRange
	cms[br[1]+40] ^= 0x01
	if _, err := verifyBytes(cms); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify(CMS altered) = %v, want ErrBadSignature", err)
	}

	// an unsigned incremental update after the last signature: the file still reads, the
	// signatures still verify, but they do not cover what was added
	appended := append(bytes.Clone(signed), "\n% added later\n"...)
	if _, err := verifyBytes(appended); !errors.Is(err, ErrNotCovered) {
		t.Errorf("Verify(appended) = %v, want ErrNotCovered", err)
	}

	if _, err := verifyBytes([]byte("geen pdf")); !errors.Is(err, ErrNotPDF) {
		t.Errorf("Verify(not a PDF) = %v, want ErrNotPDF", err)
	}
}
