package e2e

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
)

// withTSA gives the test organisation a TSA: the vendor's signed PDFs then leave B-LTA.
func withTSA(t *testing.T) (*pades.TSAServer, func(*jobsConfig)) {
	t.Helper()
	ts, _, err := pades.NewDemoTSA("e2e TSA")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ts)
	t.Cleanup(srv.Close)
	return ts, func(c *jobsConfig) {
		c.TSAs = map[string]*pades.TSA{}
		for rsin := range c.OrganisationNames {
			c.TSAs[rsin] = &pades.TSA{URL: srv.URL}
		}
		c.MaxAttempts = 3
	}
}

// TestVendorOutputLongTerm: with a TSA configured for the organisation, the vendor's signed PDF is
// uploaded with the validation data of its signatures in the document security store and a
// document time-stamp over it all (PAdES B-LTA): the vendor's signatures still verify and are
// trusted, the time-stamp covers the whole file.
func TestVendorOutputLongTerm(t *testing.T) {
	t.Parallel()
	_, tsa := withTSA(t)
	e := newEnv(t, envOptions{autoSign: true, jobs: tsa})
	sc := e.scenario(1, 1, 2)
	id := e.start(sc)
	tx := e.wait(id, 60*time.Second)
	if tx.State != signing.StateCompleted {
		t.Fatalf("state %s reden %q", tx.State, tx.Reden)
	}
	content, err := e.zgw.Content(sc.docs[0], *tx.Documents[0].VersieUploaded)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := pades.Verify(context.Background(), bytes.NewReader(content), int64(len(content)))
	if err != nil {
		t.Fatalf("the uploaded document does not verify: %v", err)
	}
	if n := len(ins.Signatures); n != 3 || ins.Signatures[2].SubFilter != "ETSI.RFC3161" || ins.Signatures[2].End() != int64(len(content)) {
		t.Fatalf("signatures %+v, want the two signers' and a document time-stamp covering the whole file", ins.Signatures)
	}
	vd, err := pades.ReadDSS(context.Background(), bytes.NewReader(content), int64(len(content)))
	if err != nil {
		t.Fatal(err)
	}
	signer := ins.Signatures[0].Signer
	found := false
	for _, c := range vd.Certs {
		found = found || c.Equal(signer)
	}
	if !found {
		t.Errorf("the document security store (%d certificates) lacks the vendor's signing certificate", len(vd.Certs))
	}
	report := testkit.PDFSigBytes(t, content, e.vendor.Root())
	if total, valid := testkit.ValidSignatures(report); total != 3 || valid < 2 {
		t.Errorf("pdfsig: %d signatures, %d valid and trusted; want the two signers' valid and a time-stamp:\n%s", total, valid, report)
	}
}

// TestVendorOutputTSADown: a TSA that does not answer is retried, then the transaction aborts
// with a reden naming the step; the document is never uploaded without the time-stamp the
// organisation asked for.
func TestVendorOutputTSADown(t *testing.T) {
	t.Parallel()
	ts, tsa := withTSA(t)
	ts.Down.Store(true)
	e := newEnv(t, envOptions{autoSign: true, jobs: tsa})
	sc := e.scenario(1, 1)
	id := e.start(sc)
	tx := e.wait(id, 60*time.Second)
	if tx.State != signing.StateAborted || !strings.Contains(tx.Reden, signing.StepCollect) {
		t.Fatalf("state %s reden %q, want aborted while collecting", tx.State, tx.Reden)
	}
	if vs, err := e.zgw.Versions(sc.docs[0]); err != nil || len(vs) != 1 {
		t.Errorf("document versions %d (%v), want only the original", len(vs), err)
	}
}
