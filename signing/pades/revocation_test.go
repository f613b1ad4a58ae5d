package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"math/big"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/signingd/signingd/internal/testkit"
)

// demoLTV is a demo CA with its OCSP responder on loopback, a signer and a TSA it issued (both
// naming the responder), and the TSA on loopback.
type demoLTV struct {
	ocsp     *OCSPServer
	ocspHTTP *httptest.Server
	key      crypto.Signer
	chain    []*x509.Certificate
	tsa      *TSA
	tsaChain []*x509.Certificate
}

func newDemoLTV(t *testing.T) *demoLTV {
	t.Helper()
	srv, err := NewDemoOCSP("Testdorp demo CA")
	if err != nil {
		t.Fatal(err)
	}
	d := &demoLTV{ocsp: srv, ocspHTTP: httptest.NewServer(srv)}
	t.Cleanup(d.ocspHTTP.Close)
	if d.key, d.chain, err = srv.Certificate("Gemeente Testdorp ondertekening", d.ocspHTTP.URL+"/ocsp"); err != nil {
		t.Fatal(err)
	}
	ts, err := srv.TSA("Testdorp TSA", d.ocspHTTP.URL+"/ocsp")
	if err != nil {
		t.Fatal(err)
	}
	tsaHTTP := httptest.NewServer(ts)
	t.Cleanup(tsaHTTP.Close)
	d.tsa, d.tsaChain = &TSA{URL: tsaHTTP.URL}, ts.Chain
	return d
}

// signBT signs a small PDF with the demo signer and a signature time-stamp (PAdES B-T).
func (d *demoLTV) signBT(t *testing.T) []byte {
	t.Helper()
	pdf := makePDF(genPDF{pages: [][]string{{"Besluit", "Handtekening:"}}})
	var out bytes.Buffer
	o := Options{Signer: d.key, Certificates: d.chain, Name: "Gemeente Testdorp", Reason: "Akkoord", TSA: d.tsa}
	if err := Sign(context.Background(), bytes.NewReader(pdf), int64(len(pdf)), &out, o); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func (d *demoLTV) host() string {
	u, _ := url.Parse(d.ocspHTTP.URL)
	return u.Host
}

// TestLTAWithOCSP makes a B-LTA document with the demo TSA and the demo OCSP responder: the DSS
// holds an OCSP response, good, for the signer's certificate and one for the TSA's; pdfsig sees
// the signature (valid, trusted) and the document time-stamp over the whole file; qpdf finds no
// fault.
func TestLTAWithOCSP(t *testing.T) {
	d := newDemoLTV(t)
	bt := d.signBT(t)
	rev := &Revocation{FetchOCSP: true, Hosts: []string{d.host()}}
	vd, status, err := rev.Collect(context.Background(), bytes.NewReader(bt), int64(len(bt)))
	if err != nil {
		t.Fatal(err)
	}
	if d.ocsp.Requests() != 2 {
		t.Errorf("%d OCSP requests, want 2 (signer and TSA)", d.ocsp.Requests())
	}
	if len(vd.OCSPs) != 2 || len(vd.CRLs) != 0 || len(vd.Certs) != 3 {
		t.Errorf("validation data: %d OCSP, %d CRL, %d certificates; want 2, 0, 3 (signer, CA, TSA)", len(vd.OCSPs), len(vd.CRLs), len(vd.Certs))
	}
	for _, s := range status {
		if s.Missing() {
			t.Errorf("%s: no revocation data: %s", s.Subject, s.Note)
		}
	}
	var withDSS, lta bytes.Buffer
	if err := AddDSS(context.Background(), bytes.NewReader(bt), int64(len(bt)), &withDSS, vd); err != nil {
		t.Fatal(err)
	}
	if err := Timestamp(context.Background(), bytes.NewReader(withDSS.Bytes()), int64(withDSS.Len()), &lta, d.tsa); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lta.pdf")
	if err := os.WriteFile(path, lta.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	// the DSS, read back with our own reader
	dss, err := ReadDSS(context.Background(), bytes.NewReader(lta.Bytes()), int64(lta.Len()))
	if err != nil {
		t.Fatal(err)
	}
	leaf, tsaCert := d.chain[0], d.tsaChain[0]
	found := map[string]bool{}
	for _, der := range dss.OCSPs {
		for who, cert := range map[string]*x509.Certificate{"signer": leaf, "tsa": tsaCert} {
			resp, err := ocsp.ParseResponseForCert(der, cert, d.ocsp.CA)
			if err != nil {
				continue
			}
			if resp.Status != ocsp.Good || resp.NextUpdate.Before(time.Now()) {
				t.Errorf("%s: OCSP status %d, next update %v", who, resp.Status, resp.NextUpdate)
			}
			found[who] = true
		}
	}
	if !found["signer"] || !found["tsa"] {
		t.Errorf("DSS OCSP responses for %v, want the signer's and the TSA's", found)
	}
	if len(dss.Certs) != 3 || len(dss.CRLs) != 0 {
		t.Errorf("DSS holds %d certificates and %d CRLs, want 3 and 0", len(dss.Certs), len(dss.CRLs))
	}

	// the signature's time-stamp token (B-T), which pdfsig 22.12 does not report
	sigs := signaturesIn(t, lta.Bytes())
	if len(sigs) != 2 {
		t.Fatalf("%d signatures, want the signature and the document time-stamp", len(sigs))
	}
	info, err := verifySignedData(sigs[0].cms, sigs[0].digest)
	if err != nil {
		t.Fatal(err)
	}
	if tok := info.unsigned[oidTimeStampToken.String()]; tok == nil {
		t.Error("the signature has no signature time-stamp")
	} else if ts, err := verifySignedData(tok, nil); err != nil || !bytes.Equal(ts.signer.Raw, tsaCert.Raw) {
		t.Errorf("signature time-stamp: %v", err)
	}
	if _, err := checkToken(sigs[1].cms, sigs[1].digest); err != nil {
		t.Errorf("document time-stamp: %v", err)
	}

	// pdfsig trusts the demo CA, and may ask the responder itself (the certificates name it)
	before := d.ocsp.Requests()
	rep := testkit.PDFSig(t, path, d.ocsp.CA)
	t.Logf("pdfsig sent %d OCSP requests", d.ocsp.Requests()-before)
	blocks := strings.Split(rep, "Signature #")
	if len(blocks) != 3 {
		t.Fatalf("pdfsig:\n%s", rep)
	}
	for _, want := range []string{"Signature Type: ETSI.CAdES.detached", "Signature Validation: Signature is Valid.",
		"Certificate Validation: Certificate is Trusted.", "Signer Certificate Common Name: Gemeente Testdorp ondertekening"} {
		if !strings.Contains(blocks[1], want) {
			t.Errorf("pdfsig signature #1 lacks %q:\n%s", want, rep)
		}
	}
	// pdfsig 22.12 cannot validate a document time-stamp ("Signature Type: unknown"); it shows
	// the TSA that made it and that it covers the whole file
	for _, want := range []string{"Signer Certificate Common Name: Testdorp TSA", "Total document signed"} {
		if !strings.Contains(blocks[2], want) {
			t.Errorf("pdfsig signature #2 lacks %q:\n%s", want, rep)
		}
	}
	qpdfCheck(t, path)
}

// TestRevokedSigner: a revoked signing certificate fails Collect with ErrRevoked, whether the
// OCSP responder or a given CRL says so; nothing revoked is embedded.
func TestRevokedSigner(t *testing.T) {
	d := newDemoLTV(t)
	bt := d.signBT(t)
	d.ocsp.Revoke(d.chain[0].SerialNumber)
	rev := &Revocation{FetchOCSP: true, Hosts: []string{d.host()}}
	vd, _, err := rev.Collect(context.Background(), bytes.NewReader(bt), int64(len(bt)))
	if !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), "revoked") || !strings.Contains(err.Error(), "Gemeente Testdorp ondertekening") {
		t.Fatalf("got %v, want ErrRevoked naming the certificate", err)
	}
	if len(vd.OCSPs) != 0 {
		t.Errorf("%d OCSP responses collected for a revoked signer", len(vd.OCSPs))
	}

	now := time.Now()
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(2), ThisUpdate: now.Add(-time.Minute),
		NextUpdate: now.Add(time.Hour), RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: d.chain[0].SerialNumber,
			RevocationTime: now.Add(-time.Minute)}}}, d.ocsp.CA, d.ocsp.Key)
	if err != nil {
		t.Fatal(err)
	}
	offline := &Revocation{Given: func() (ValidationData, error) { return ValidationData{CRLs: [][]byte{crl}}, nil }}
	if _, _, err := offline.Collect(context.Background(), bytes.NewReader(bt), int64(len(bt))); !errors.Is(err, ErrRevoked) {
		t.Fatalf("given CRL: got %v, want ErrRevoked", err)
	}
}

// TestRevocationUnconfiguredHost: a responder whose host is not allowed gets no request; the
// certificate is reported without revocation data, saying why.
func TestRevocationUnconfiguredHost(t *testing.T) {
	d := newDemoLTV(t)
	bt := d.signBT(t)
	rev := &Revocation{FetchOCSP: true, FetchCRL: true, Hosts: []string{"ocsp.example.nl", "127.0.0.1:1"}}
	vd, status, err := rev.Collect(context.Background(), bytes.NewReader(bt), int64(len(bt)))
	if err != nil {
		t.Fatal(err)
	}
	if n := d.ocsp.Requests(); n != 0 {
		t.Errorf("the responder on a host not allowed got %d requests", n)
	}
	if len(vd.OCSPs) != 0 || len(vd.Certs) != 3 {
		t.Errorf("%d OCSP responses, %d certificates", len(vd.OCSPs), len(vd.Certs))
	}
	missing := 0
	for _, s := range status {
		if s.Missing() {
			missing++
			if !strings.Contains(s.Note, d.ocspHTTP.URL) || !strings.Contains(s.Note, "not among the allowed hosts") {
				t.Errorf("%s: note %q", s.Subject, s.Note)
			}
		}
	}
	if missing != 2 {
		t.Errorf("%d certificates without revocation data, want 2: %+v", missing, status)
	}
}

// TestRevocationSources: a responder that is down fails with ErrRevocation (retry later); given
// OCSP responses and CRLs are used as they are; CRLs are fetched from distribution points.
func TestRevocationSources(t *testing.T) {
	d := newDemoLTV(t)
	bt := d.signBT(t)
	ctx := context.Background()
	d.ocsp.Down.Store(true)
	rev := &Revocation{FetchOCSP: true, Hosts: []string{d.host()}}
	if _, _, err := rev.Collect(ctx, bytes.NewReader(bt), int64(len(bt))); !errors.Is(err, ErrRevocation) || !strings.Contains(err.Error(), "503") {
		t.Errorf("responder down: got %v, want ErrRevocation with the HTTP status", err)
	}
	d.ocsp.Down.Store(false)

	// given: an OCSP response for the signer, an out-of-date one is refused
	now := time.Now()
	good, err := ocsp.CreateResponse(d.ocsp.CA, d.ocsp.CA, ocsp.Response{Status: ocsp.Good, SerialNumber: d.chain[0].SerialNumber,
		ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}, d.ocsp.Key)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := ocsp.CreateResponse(d.ocsp.CA, d.ocsp.CA, ocsp.Response{Status: ocsp.Good, SerialNumber: d.tsaChain[0].SerialNumber,
		ThisUpdate: now.Add(-48 * time.Hour), NextUpdate: now.Add(-time.Hour)}, d.ocsp.Key)
	if err != nil {
		t.Fatal(err)
	}
	offline := &Revocation{Given: func() (ValidationData, error) { return ValidationData{OCSPs: [][]byte{good}}, nil }}
	vd, status, err := offline.Collect(ctx, bytes.NewReader(bt), int64(len(bt)))
	if err != nil || len(vd.OCSPs) != 1 || !bytes.Equal(vd.OCSPs[0], good) || d.ocsp.Requests() != 1 {
		t.Errorf("given OCSP: %v, %d responses, %d requests", err, len(vd.OCSPs), d.ocsp.Requests())
	}
	if status[0].Source != "given ocsp" {
		t.Errorf("signer: source %q", status[0].Source)
	}
	offline.Given = func() (ValidationData, error) { return ValidationData{OCSPs: [][]byte{good, stale}}, nil }
	if _, _, err := offline.Collect(ctx, bytes.NewReader(bt), int64(len(bt))); !errors.Is(err, ErrRevocation) || !strings.Contains(err.Error(), "out of date") {
		t.Errorf("stale given OCSP: got %v", err)
	}

	// fetched CRLs: the test PKI's certificates name a CRL server and no responder
	p := getPKI(t)
	pdf := makePDF(genPDF{pages: [][]string{{"x"}}})
	var signed bytes.Buffer
	if err := Sign(ctx, bytes.NewReader(pdf), int64(len(pdf)), &signed, p.signers["ecdsa"].options()); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(p.crlServer.URL)
	crls := &Revocation{FetchOCSP: true, FetchCRL: true, Hosts: []string{u.Host}}
	vd, status, err = crls.Collect(ctx, bytes.NewReader(signed.Bytes()), int64(signed.Len()))
	if err != nil || len(vd.CRLs) != 2 || len(vd.OCSPs) != 0 {
		t.Fatalf("CRLs: %v, %d CRLs, %d OCSP", err, len(vd.CRLs), len(vd.OCSPs))
	}
	if status[0].Source != "crl" || status[1].Source != "crl" || status[2].Source != "root" {
		t.Errorf("sources %+v", status)
	}
}

func TestHostAllowed(t *testing.T) {
	hosts := []string{"ocsp.example.nl", "crl.example.nl:8080", "[::1]:9000", "127.0.0.1"}
	for u, want := range map[string]bool{
		"http://ocsp.example.nl/":        true,
		"http://OCSP.example.nl:81/x":    true,
		"https://crl.example.nl:8080/a":  true,
		"http://crl.example.nl/a":        false,
		"http://[::1]:9000/":             true,
		"http://[::1]:9001/":             false,
		"http://127.0.0.1:4567/ocsp":     true,
		"http://evil.example.nl/":        false,
		"ldap://ocsp.example.nl/":        false,
		"http://u@ocsp.example.nl/":      false,
		"http://ocsp.example.nl.evil.nl": false,
	} {
		if got := HostAllowed(hosts, u); got != want {
			t.Errorf("HostAllowed(%s) = %v", u, got)
		}
	}
}

// TestRevocationUncheckableSignature: a signature that does not verify (here: a byte changed in
// what it covers) leaves its certificates out and is reported, without failing the document.
func TestRevocationUncheckableSignature(t *testing.T) {
	d := newDemoLTV(t)
	bt := d.signBT(t)
	i := bytes.Index(bt, []byte("Besluit"))
	if i < 0 {
		i = bytes.Index(bt, []byte("/Type"))
	}
	bt[i] ^= 0x20
	vd, status, err := (&Revocation{}).Collect(context.Background(), bytes.NewReader(bt), int64(len(bt)))
	if err != nil {
		t.Fatal(err)
	}
	if len(vd.Certs) != 0 || len(status) != 1 || !status[0].Missing() || !strings.Contains(status[0].Note, "could not be checked") {
		t.Errorf("certificates %d, status %+v", len(vd.Certs), status)
	}
}
