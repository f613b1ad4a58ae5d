package pades

import (
	"bytes"
	"context"
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// TestLongTerm builds B-T, then B-LT (DSS with certificates, CRLs and an
// OCSP response) and finally B-LTA (a document time-stamp), checking every
// stage with pdfsig and qpdf, and the DSS with our own reader.
func TestLongTerm(t *testing.T) {
	files := corpus(t)
	p := getPKI(t)
	ts, srv := newTestTSA(t)
	tsa := &TSA{URL: srv.URL}
	dir := t.TempDir()

	o := p.signers["rsa"].options()
	o.TSA = tsa
	bt := filepath.Join(dir, "bt.pdf")
	signFile(t, files[0].path, bt, o)
	checkSigned(t, bt, 1)

	now := time.Now()
	crlInter, err := x509.CreateRevocationList(nil, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}, p.inter, p.interKey)
	if err != nil {
		t.Fatal(err)
	}
	crlRoot, err := x509.CreateRevocationList(nil, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}, p.root, p.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf := p.signers["rsa"].chain[0]
	ocspResp, err := ocsp.CreateResponse(p.inter, p.inter, ocsp.Response{Status: ocsp.Good,
		SerialNumber: leaf.SerialNumber, ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}, p.interKey)
	if err != nil {
		t.Fatal(err)
	}
	vd := ValidationData{Certs: append(p.signers["rsa"].chain, p.tsa.chain[0]), CRLs: [][]byte{crlInter, crlRoot}, OCSPs: [][]byte{ocspResp}}
	lt := filepath.Join(dir, "lt.pdf")
	in, _ := os.ReadFile(bt)
	var out bytes.Buffer
	if err := AddDSS(context.Background(), bytes.NewReader(in), int64(len(in)), &out, vd); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out.Bytes(), in) {
		t.Fatal("AddDSS changed earlier bytes")
	}
	os.WriteFile(lt, out.Bytes(), 0o644)
	res, raw := pdfsig(t, lt)
	if len(res) != 1 || res[0].fields["Signature Validation"] != "Signature is Valid." {
		t.Fatalf("after DSS:\n%s", raw)
	}
	qpdfCheck(t, lt)
	doc, err := openDocument(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := doc.catalog()
	dss, _ := doc.dict(cat["DSS"])
	for key, want := range map[name]int{"Certs": 4, "CRLs": 2, "OCSPs": 1} {
		if a, _ := doc.array(dss[key]); len(a) != want {
			t.Errorf("DSS /%s has %d entries, want %d", key, len(a), want)
		}
	}

	in = out.Bytes()
	out = bytes.Buffer{}
	if err := Timestamp(context.Background(), bytes.NewReader(in), int64(len(in)), &out, tsa); err != nil {
		t.Fatal(err)
	}
	lta := filepath.Join(dir, "lta.pdf")
	os.WriteFile(lta, out.Bytes(), 0o644)
	res, raw = pdfsig(t, lta)
	if len(res) != 2 {
		t.Fatalf("after document timestamp:\n%s", raw)
	}
	if res[0].fields["Signature Validation"] != "Signature is Valid." {
		t.Errorf("signature after document timestamp:\n%s", raw)
	}
	// pdfsig (poppler 22.12) cannot validate ETSI.RFC3161 document
	// time-stamps ("Unimplemented Feature"); it must still see that the
	// time-stamp covers the whole file. The token itself is checked by our
	// test TSA and by pdfcpu below.
	if !res[1].total {
		t.Errorf("document timestamp does not cover the document:\n%s", raw)
	}
	qpdfCheck(t, lta)
	sigs := signaturesIn(t, out.Bytes())
	last := sigs[len(sigs)-1]
	if _, err := ts.verify(last.cms, last.digest); err != nil {
		t.Errorf("document timestamp: %v", err)
	}
	checkPdfcpu(t, lta, 2)
}
