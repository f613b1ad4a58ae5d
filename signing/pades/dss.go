package pades

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/x509"
	"fmt"
	"io"
	"os"
)

// ValidationData is what a verifier needs to check signatures without going
// online: certificates and revocation data (PAdES B-LT).
type ValidationData struct {
	Certs []*x509.Certificate
	CRLs  [][]byte // DER CertificateList
	OCSPs [][]byte // DER OCSPResponse
}

// AddDSS appends an incremental update that adds the validation data to the
// document security store (/DSS), keeping what an earlier store holds.
// ETSI EN 319 142-1 allows this after any signature, certified or not.
func AddDSS(ctx context.Context, in io.ReaderAt, size int64, out io.Writer, vd ValidationData) error {
	if in == nil || out == nil || size < 0 {
		return fmt.Errorf("%w: input and output are required", ErrInvalidOptions)
	}
	doc, err := openDocument(in, size)
	if err != nil {
		return err
	}
	cat, err := doc.catalog()
	if err != nil {
		return err
	}
	p := &plan{next: doc.nextObjNum(), objects: map[int]object{}, gens: map[int]int{}}
	old, err := doc.dict(cat["DSS"])
	if err != nil {
		return err
	}
	dss := dict{"Type": name("DSS")}
	for k, v := range old {
		dss[k] = v
	}
	seen := map[[20]byte]bool{}
	add := func(key name, items [][]byte) error {
		arr, err := doc.array(dss[key])
		if err != nil {
			return err
		}
		arr = append(array(nil), arr...)
		for _, it := range items {
			h := sha1.Sum(it) // only to drop duplicates
			if seen[h] {
				continue
			}
			seen[h] = true
			r := p.alloc()
			p.put(r, flateStream(dict{}, it))
			arr = append(arr, r)
		}
		if len(arr) > 0 {
			dss[key] = arr
		}
		return nil
	}
	var certs [][]byte
	for _, c := range vd.Certs {
		if c != nil {
			certs = append(certs, c.Raw)
		}
	}
	if err := add("Certs", certs); err != nil {
		return err
	}
	if err := add("CRLs", vd.CRLs); err != nil {
		return err
	}
	if err := add("OCSPs", vd.OCSPs); err != nil {
		return err
	}
	dssRef := p.alloc()
	p.put(dssRef, dss)
	nc := cloneDict(cat)
	nc["DSS"] = dssRef
	root, ok := doc.trailer["Root"].(ref)
	if !ok {
		return malformed(-1, "trailer has no /Root reference")
	}
	p.put(root, nc)
	return appendUpdate(ctx, doc, out, p)
}

// appendUpdate writes the input unchanged and then p as an incremental update without a
// signature (the DSS, attachments).
func appendUpdate(ctx context.Context, doc *document, out io.Writer, p *plan) error {
	r, err := (&update{plan: p}).render(doc, 0)
	if err != nil {
		return err
	}
	if err := copyInput(ctx, out, doc); err != nil {
		return err
	}
	if _, err := out.Write(r.buf); err != nil {
		return fmt.Errorf("pades: write output: %w", err)
	}
	return nil
}

// maxDSSEntry bounds one certificate, CRL or OCSP response read back from a DSS.
const maxDSSEntry = 16 << 20

// ReadDSS returns what the document security store of the PDF holds (the latest revision's):
// certificates, CRLs and OCSP responses. A PDF without one gives empty ValidationData.
func ReadDSS(ctx context.Context, in io.ReaderAt, size int64) (ValidationData, error) {
	var vd ValidationData
	doc, err := openDocument(in, size)
	if err != nil {
		return vd, err
	}
	cat, err := doc.catalog()
	if err != nil {
		return vd, err
	}
	dss, err := doc.dict(cat["DSS"])
	if err != nil || dss == nil {
		return vd, err
	}
	read := func(key name) ([][]byte, error) {
		arr, err := doc.array(dss[key])
		if err != nil {
			return nil, err
		}
		var out [][]byte
		for _, o := range arr {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			obj, err := doc.resolve(o)
			if err != nil {
				return nil, err
			}
			s, ok := obj.(*stream)
			if !ok {
				return nil, malformed(-1, "/DSS /%s holds a %T, not a stream", key, obj)
			}
			data, err := doc.decode(s, maxDSSEntry)
			if err != nil {
				return nil, err
			}
			out = append(out, data)
		}
		return out, nil
	}
	certs, err := read("Certs")
	if err != nil {
		return vd, err
	}
	for _, der := range certs {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return vd, malformed(-1, "/DSS certificate: %v", err)
		}
		vd.Certs = append(vd.Certs, c)
	}
	if vd.CRLs, err = read("CRLs"); err != nil {
		return vd, err
	}
	vd.OCSPs, err = read("OCSPs")
	return vd, err
}

// LongTerm makes a signed PDF last beyond its certificates (PAdES B-LTA): the validation data of
// every signature and time-stamp in it (rev.Collect, with extra issuer certificates; certificates
// only when rev is nil) in the document security store, then a document time-stamp from tsa over
// it all, both incremental updates written to out. The revision between the two is spooled to a
// temporary file, as the time-stamp needs to read it again. It returns what Collect found for
// each certificate, so that the caller can say what could not be had; a revoked certificate is
// ErrRevoked.
func LongTerm(ctx context.Context, in io.ReaderAt, size int64, out io.Writer, tsa *TSA, rev *Revocation, extra ...*x509.Certificate) ([]CertStatus, error) {
	if rev == nil {
		rev = &Revocation{}
	}
	vd, status, err := rev.Collect(ctx, in, size, extra...)
	if err != nil {
		return status, err
	}
	tmp, err := os.CreateTemp("", "pades-dss-*.pdf")
	if err != nil {
		return status, fmt.Errorf("pades: temporary file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	if err := AddDSS(ctx, in, size, bw, vd); err != nil {
		return status, err
	}
	if err := bw.Flush(); err != nil {
		return status, fmt.Errorf("pades: temporary file: %w", err)
	}
	st, err := tmp.Stat()
	if err != nil {
		return status, fmt.Errorf("pades: temporary file: %w", err)
	}
	return status, Timestamp(ctx, tmp, st.Size(), out, tsa)
}
