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
	conf := model.NewDefaultConfiguration()
	// the test CRLs are served on loopback, which pdfcpu refuses unless told
	conf.AllowedRevocationHosts = []string{"127.0.0.1"}
	return api.ValidateSignaturesRaw(f, true, conf)
}

// checkPdfcpu asserts pdfcpu agrees with pdfsig: every signature valid,
// its chain trusted through the test root and checked against the test
// CRLs, and every CAdES signature conforming to PAdES B-B. Where pdfcpu
// cannot read a file or does not support a profile it says so, and we log
// instead of failing.
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
		if r.Reason&model.SignatureReasonUnsupported != 0 {
			t.Logf("pdfcpu: signature %d unsupported: %v", i+1, r.Problems)
			continue
		}
		if r.Status != model.SignatureStatusValid {
			t.Errorf("pdfcpu: signature %d of %s: %v (%v) %v", i+1, filepath.Base(path), r.Status, model.SignatureReasonStrings[r.Reason], r.Problems)
			for _, s := range r.Details.Signers {
				t.Logf("signer problems: %v", s.Problems)
			}
			continue
		}
		if r.Details.IsETSI_CAdES_detached() {
			for _, s := range r.Details.Signers {
				if s.PAdES != "B-B" {
					t.Errorf("pdfcpu: signature %d of %s: PAdES %q, want B-B", i+1, filepath.Base(path), s.PAdES)
				}
			}
		}
	}
}
