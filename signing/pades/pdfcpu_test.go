package pades

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

var pdfcpuOnce sync.Once

// pdfcpuValidate runs pdfcpu's signature validation with the test root as
// its only trusted certificate. pdfcpu keeps the trust store in package
// state, so it is set up once and calls are serialised.
var pdfcpuMu sync.Mutex

func pdfcpuValidate(t *testing.T, path string) ([]*model.SignatureValidationResult, error) {
	t.Helper()
	p := getPKI(t)
	pdfcpuOnce.Do(func() {
		api.DisableConfigDir()
		dir := filepath.Join(corpusDir, "pdfcpu-certs")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "root.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.Raw}), 0o644)
		model.TrustedCertDir = dir
	})
	pdfcpuMu.Lock()
	defer pdfcpuMu.Unlock()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return api.ValidateSignaturesRaw(f, true, model.NewDefaultConfiguration())
}

// checkPdfcpu asserts pdfcpu agrees with pdfsig: every signature intact,
// trusted through the test root, the document unmodified since. Where pdfcpu cannot read the file or
// does not support a profile it says so, and we log instead of failing.
func checkPdfcpu(t *testing.T, path string, want int) {
	t.Helper()
	res, err := pdfcpuValidate(t, path)
	if err != nil {
		t.Logf("pdfcpu does not support %s: %v", filepath.Base(path), err)
		return
	}
	if len(res) != want {
		t.Errorf("pdfcpu found %d signatures, want %d", len(res), want)
	}
	for i, r := range res {
		t.Logf("pdfcpu: %s signature %d: %v %v %v", filepath.Base(path), i+1, r.Status, model.SignatureReasonStrings[r.Reason], r.Details.SubFilter)
		if r.Reason&model.SignatureReasonUnsupported != 0 {
			t.Logf("pdfcpu: signature %d unsupported: %v", i+1, r.Problems)
			continue
		}
		// our test certificates carry no CRL or OCSP pointers, so pdfcpu
		// rightly cannot establish revocation status; anything else counts
		revocationOnly := r.Status == model.SignatureStatusUnknown && r.Reason == model.SignatureReasonCertRevocationUnknown
		if r.Status != model.SignatureStatusValid && !revocationOnly {
			t.Errorf("pdfcpu: signature %d of %s: %v (%v) %v", i+1, filepath.Base(path), r.Status, model.SignatureReasonStrings[r.Reason], r.Problems)
		}
	}
}
