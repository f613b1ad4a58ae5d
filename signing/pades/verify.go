package pades

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Errors of Verify, for errors.Is. A PDF that cannot be read at all is
// reported with the reader's sentinels (ErrNotPDF, ErrMalformed, ...).
var (
	// ErrNotSigned means the PDF holds no signature.
	ErrNotSigned = errors.New("pades: PDF is not signed")
	// ErrBadSignature means a signature does not match the bytes it covers
	// or its CMS cannot be read.
	ErrBadSignature = errors.New("pades: signature does not verify")
	// ErrNotCovered means bytes were added after the last signature.
	ErrNotCovered = errors.New("pades: last signature does not cover the whole file")
)

// Inspection is what Inspect learns about a PDF.
type Inspection struct {
	// Pages is the number of pages.
	Pages int
	// SignaturePages counts the pages at the end that Sign appended to hold
	// signatures (a document without placeholders gets one).
	SignaturePages int
	// Signatures are the signed signature fields, ordered by where their
	// ByteRange ends: the last one is the newest revision signed.
	Signatures []Signature
}

// Signature is one signature of a PDF, checked against the bytes it covers.
type Signature struct {
	Field     string
	SubFilter string
	// ByteRange is the signature's /ByteRange: offset and length of the two
	// signed parts around /Contents.
	ByteRange [4]int64
	// Signer is the certificate that made the signature (the TSA's for a
	// document time-stamp); it is not checked against any trust store.
	Signer *x509.Certificate
	// Err is why the signature does not verify; nil when it does.
	Err error
}

// End is the offset just past the bytes the signature covers.
func (s Signature) End() int64 { return s.ByteRange[2] + s.ByteRange[3] }

// Inspect reads the PDF in (size bytes), counts its pages and checks every
// signature cryptographically: the CMS in the gap of its ByteRange must sign
// the SHA-256 of the covered bytes with the certificate it embeds (for a
// document time-stamp, the token must stamp that digest). Certificate trust
// is not checked: vendors sign with CAs of their own. A signature that does
// not verify is reported in its Err, so the caller sees all of them.
func Inspect(ctx context.Context, in io.ReaderAt, size int64) (*Inspection, error) {
	doc, err := openDocument(in, size)
	if err != nil {
		return nil, err
	}
	var out Inspection
	err = doc.walkPages(func(i int, p *page) (bool, error) {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		out.Pages = i
		if isSig, _ := p.dict[sigPageMarker].(bool); isSig {
			out.SignaturePages++
		} else {
			out.SignaturePages = 0
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	fields, err := doc.signatureFields()
	if err != nil {
		return nil, err
	}
	for _, f := range fields {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := Signature{Field: f.name, SubFilter: string(f.sig.name("SubFilter"))}
		var info *signedDataInfo
		s.ByteRange, info, s.Err = doc.checkSignature(ctx, f.sig)
		if info != nil {
			s.Signer = info.signer
		}
		out.Signatures = append(out.Signatures, s)
	}
	slices.SortStableFunc(out.Signatures, func(a, b Signature) int { return int(a.End() - b.End()) })
	return &out, nil
}

// Verify is Inspect for a PDF that must be signed: it has at least one
// signature, every signature verifies, and the last one covers the file to
// its end, so nothing was added or changed after it.
func Verify(ctx context.Context, in io.ReaderAt, size int64) (*Inspection, error) {
	ins, err := Inspect(ctx, in, size)
	if err != nil {
		return nil, err
	}
	if len(ins.Signatures) == 0 {
		return ins, ErrNotSigned
	}
	for _, s := range ins.Signatures {
		if s.Err != nil {
			return ins, fmt.Errorf("field %q: %w", s.Field, s.Err)
		}
	}
	if last := ins.Signatures[len(ins.Signatures)-1]; last.End() != size {
		return ins, fmt.Errorf("%w: field %q covers %d of %d bytes", ErrNotCovered, last.Field, last.End(), size)
	}
	return ins, nil
}

// sigField is a signature field with its signature dictionary.
type sigField struct {
	name string
	sig  dict
}

// signatureFields lists the signed signature fields of the AcroForm, kids
// included (a field's /FT and /T may sit on its parent).
func (d *document) signatureFields() ([]sigField, error) {
	cat, err := d.catalog()
	if err != nil {
		return nil, err
	}
	form, err := d.dict(cat["AcroForm"])
	if err != nil || form == nil {
		return nil, err
	}
	fields, err := d.array(form["Fields"])
	if err != nil {
		return nil, err
	}
	var out []sigField
	seen := map[ref]bool{}
	var walk func(o object, ft name, title string, depth int) error
	walk = func(o object, ft name, title string, depth int) error {
		if r, ok := o.(ref); ok {
			if seen[r] {
				return nil
			}
			seen[r] = true
		}
		if depth > maxDepth {
			return malformed(-1, "form fields nest too deep")
		}
		f, err := d.dict(o)
		if err != nil || f == nil {
			return err
		}
		if t := f.name("FT"); t != "" {
			ft = t
		}
		if t, ok := f["T"].(pdfStr); ok {
			title = decodeText(t)
		}
		if f["Kids"] != nil {
			kids, err := d.array(f["Kids"])
			if err != nil {
				return err
			}
			for _, k := range kids {
				if err := walk(k, ft, title, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		if ft != "Sig" || f["V"] == nil {
			return nil
		}
		sig, err := d.dict(f["V"])
		if err != nil || sig == nil {
			return err
		}
		out = append(out, sigField{name: title, sig: sig})
		return nil
	}
	for _, f := range fields {
		if err := walk(f, "", "", 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkSignature reads the CMS from the gap of the signature's ByteRange
// (the bytes /Contents occupies in the file, not the parsed string: they
// are what the signer left out of the digest) and verifies it. For a document
// time-stamp the CMS is the token's.
func (d *document) checkSignature(ctx context.Context, sig dict) ([4]int64, *signedDataInfo, error) {
	var br [4]int64
	arr, err := d.array(sig["ByteRange"])
	if err != nil {
		return br, nil, err
	}
	if len(arr) != 4 {
		return br, nil, fmt.Errorf("%w: /ByteRange has %d numbers", ErrBadSignature, len(arr))
	}
	for i, o := range arr {
		v, ok := integer(o)
		if !ok || v < 0 {
			return br, nil, fmt.Errorf("%w: /ByteRange %v", ErrBadSignature, arr)
		}
		br[i] = v
	}
	if br[0] != 0 || br[1] < 1 || br[2] <= br[1]+1 || br[2]+br[3] > d.size || br[2]-br[1] > 1<<24 {
		return br, nil, fmt.Errorf("%w: /ByteRange %v does not fit a file of %d bytes", ErrBadSignature, br, d.size)
	}
	gap := make([]byte, br[2]-br[1])
	if _, err := d.r.ReadAt(gap, br[1]); err != nil {
		return br, nil, fmt.Errorf("pades: read /Contents: %w", err)
	}
	if gap[0] != '<' || gap[len(gap)-1] != '>' {
		return br, nil, fmt.Errorf("%w: the /ByteRange gap is not a hex string", ErrBadSignature)
	}
	raw := make([]byte, hex.DecodedLen(len(gap)-2))
	if _, err := hex.Decode(raw, gap[1:len(gap)-1]); err != nil {
		return br, nil, fmt.Errorf("%w: /Contents: %v", ErrBadSignature, err)
	}
	// /Contents is padded with zeros after the DER
	s := cryptobyte.String(raw)
	var der cryptobyte.String
	if !s.ReadASN1Element(&der, cbasn1.SEQUENCE) {
		return br, nil, fmt.Errorf("%w: /Contents is not DER", ErrBadSignature)
	}
	h := sha256.New()
	for _, part := range [][2]int64{{br[0], br[1]}, {br[2], br[3]}} {
		if _, err := io.Copy(h, ctxReader{ctx, io.NewSectionReader(d.r, part[0], part[1])}); err != nil {
			return br, nil, fmt.Errorf("pades: hash signed range: %w", err)
		}
	}
	digest := h.Sum(nil)
	if sig.name("SubFilter") == "ETSI.RFC3161" {
		ti, err := checkToken(der, digest)
		if err != nil {
			return br, nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
		}
		return br, ti.info, nil
	}
	info, err := verifySignedData(der, digest)
	if err != nil {
		return br, nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return br, info, nil
}
