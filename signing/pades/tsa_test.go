package pades

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// testTSA is the TSA server with the test root, so that it can verify its own tokens.
type testTSA struct {
	*TSAServer
	roots *x509.CertPool
}

var testPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}

func newTestTSA(t *testing.T) (*testTSA, *httptest.Server) {
	p := getPKI(t)
	roots := x509.NewCertPool()
	roots.AddCert(p.root)
	ts := &testTSA{TSAServer: &TSAServer{Key: p.tsa.key, Chain: p.tsa.chain, Policy: testPolicy}, roots: roots}
	srv := httptest.NewServer(ts)
	t.Cleanup(srv.Close)
	return ts, srv
}

// verify checks a token the way a relying party would: CMS signature,
// message imprint, and a certificate chain to the test root with the
// time-stamping key purpose.
func (ts *testTSA) verify(token, digest []byte) (time.Time, error) {
	info, err := checkToken(token, digest)
	if err != nil {
		return time.Time{}, err
	}
	inter := x509.NewCertPool()
	for _, c := range info.info.certs[1:] {
		inter.AddCert(c)
	}
	if _, err := info.info.signer.Verify(x509.VerifyOptions{Roots: ts.roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		return time.Time{}, fmt.Errorf("TSA certificate: %w", err)
	}
	if !bytes.Equal(info.info.signer.Raw, ts.Chain[0].Raw) {
		return time.Time{}, errors.New("token not signed by this TSA")
	}
	return info.genTime, nil
}

// embeddedSig is one signature found in a signed file.
type embeddedSig struct {
	byteRange [4]int64
	cms       []byte
	digest    []byte // SHA-256 of the byte ranges
}

var byteRangeRE = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// signaturesIn extracts every signature of a PDF by its /ByteRange.
func signaturesIn(t *testing.T, data []byte) []embeddedSig {
	t.Helper()
	var out []embeddedSig
	for _, m := range byteRangeRE.FindAllSubmatch(data, -1) {
		var br [4]int64
		for i := range br {
			br[i], _ = strconv.ParseInt(string(m[i+1]), 10, 64)
		}
		if br[1] <= 0 || br[2] > int64(len(data)) || br[2]+br[3] != int64(len(data)) && br[2]+br[3] > int64(len(data)) {
			t.Fatalf("bad ByteRange %v", br)
		}
		hexData := bytes.Trim(data[br[1]:br[2]], "<>")
		raw := make([]byte, hex.DecodedLen(len(hexData)))
		if _, err := hex.Decode(raw, hexData); err != nil {
			t.Fatalf("Contents: %v", err)
		}
		s := cryptobyte.String(raw)
		var el cryptobyte.String
		if !s.ReadASN1Element(&el, cbasn1.SEQUENCE) {
			t.Fatal("Contents is not DER")
		}
		h := sha256.New()
		h.Write(data[br[0] : br[0]+br[1]])
		h.Write(data[br[2] : br[2]+br[3]])
		out = append(out, embeddedSig{byteRange: br, cms: el, digest: h.Sum(nil)})
	}
	return out
}

func TestTimestampBT(t *testing.T) {
	files := corpus(t)
	p := getPKI(t)
	ts, srv := newTestTSA(t)
	o := p.signers["ecdsa"].options()
	o.TSA = &TSA{URL: srv.URL, Roots: ts.roots}
	out := filepath.Join(t.TempDir(), "bt.pdf")
	data := signFile(t, files[0].path, out, o)
	checkSigned(t, out, 1)

	sigs := signaturesIn(t, data)
	if len(sigs) != 1 {
		t.Fatalf("found %d signatures", len(sigs))
	}
	info, err := verifySignedData(sigs[0].cms, sigs[0].digest)
	if err != nil {
		t.Fatal(err)
	}
	token := info.unsigned[oidTimeStampToken.String()]
	if token == nil {
		t.Fatal("no signature-time-stamp attribute")
	}
	imprint := sha256.Sum256(info.signature)
	when, err := ts.verify(token, imprint[:])
	if err != nil {
		t.Fatalf("test TSA rejects its token: %v", err)
	}
	if time.Since(when) > time.Minute {
		t.Errorf("timestamp time %v", when)
	}
	// pdfsig 22.12 accepts the signature with its time-stamp (valid and
	// trusted, checked above) but does not report time-stamps; pdfcpu
	// checks the token and would flag an invalid one.
	checkPdfcpu(t, out, 1)
	res, err := pdfcpuValidate(t, out)
	if err != nil || len(res) != 1 || len(res[0].Details.Signers) != 1 {
		t.Fatalf("pdfcpu: %v %v", err, res)
	}
	s := res[0].Details.Signers[0]
	if !s.HasTimestamp || !s.Timestamp.Equal(when) {
		t.Errorf("pdfcpu sees time-stamp %v at %v, want %v", s.HasTimestamp, s.Timestamp, when)
	}
	for _, p := range append(s.Problems, res[0].Problems...) {
		// pdfcpu 0.15 parses embedded time-stamps but never authenticates
		// them, and says so; any other remark would be a parse error
		if strings.Contains(p, "not fully authenticated") {
			continue
		}
		if strings.Contains(strings.ToLower(p), "timestamp") {
			t.Errorf("pdfcpu: %s", p)
		}
	}
}

func TestTimestampErrors(t *testing.T) {
	p := getPKI(t)
	pdf := makePDF(genPDF{pages: [][]string{{"x"}}})
	tests := []struct {
		name  string
		setup func(*testTSA) string
	}{
		{"refused", func(ts *testTSA) string { ts.status = 2; return "" }},
		{"nonce", func(ts *testTSA) string { ts.badNonce = true; return "" }},
		{"http", func(*testTSA) string { return "/missing" }},
		{"unreachable", func(*testTSA) string { return "http://127.0.0.1:1" }},
		{"untrusted", func(*testTSA) string { return "untrusted" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, srv := newTestTSA(t)
			url := srv.URL
			var roots *x509.CertPool
			if u := tc.setup(ts); u == "untrusted" {
				roots = x509.NewCertPool() // trusts nothing
			} else if u != "" {
				if u[0] == '/' {
					url = "http://" + srv.Listener.Addr().String() + "/nope"
					ts.status = 0
					srv.Config.Handler = http.NotFoundHandler()
				} else {
					url = u
				}
			}
			o := p.signers["ecdsa"].options()
			o.TSA = &TSA{URL: url, Roots: roots}
			err := Sign(context.Background(), bytes.NewReader(pdf), int64(len(pdf)), io.Discard, o)
			if !errors.Is(err, ErrTimestamp) {
				t.Fatalf("got %v, want ErrTimestamp", err)
			}
		})
	}
}

// TestCMSContent checks the CAdES baseline attributes of our CMS: content
// type, message digest, signing-certificate-v2, no signing time, and the
// whole chain embedded.
func TestCMSContent(t *testing.T) {
	p := getPKI(t)
	pdf := makePDF(genPDF{pages: [][]string{{"x"}}})
	for _, id := range []string{"rsa", "pss", "ecdsa"} {
		t.Run(id, func(t *testing.T) {
			var out bytes.Buffer
			if err := Sign(context.Background(), bytes.NewReader(pdf), int64(len(pdf)), &out, p.signers[id].options()); err != nil {
				t.Fatal(err)
			}
			sigs := signaturesIn(t, out.Bytes())
			info, err := verifySignedData(sigs[0].cms, sigs[0].digest)
			if err != nil {
				t.Fatal(err)
			}
			if len(info.certs) != 3 || info.content != nil || !info.contentType.Equal(oidData) {
				t.Errorf("certs %d, content %v, type %v", len(info.certs), info.content != nil, info.contentType)
			}
			signingTime, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5})
			if bytes.Contains(sigs[0].cms, signingTime) {
				t.Error("CMS has a signing-time attribute")
			}
			scv2, _ := asn1.Marshal(oidSigningCertV2)
			if !bytes.Contains(sigs[0].cms, scv2) {
				t.Error("CMS lacks signing-certificate-v2")
			}
		})
	}
}
