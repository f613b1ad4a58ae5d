package pades

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/signingd/signingd/internal/testkit"
)

// realPDFLimit leaves out the corpus's largest files: they take long and add no kind of PDF.
const realPDFLimit = 3 << 20

// TestRealPDFs signs PDFs from many producers twice each: the test files of pdfcpu, a module
// this project depends on, so every machine has them after `go mod download`. Each file is
// either refused with a typed error, or comes out with both signatures valid and trusted in
// pdfsig, no worse in `qpdf --check` than it came in, and its own pages' text unchanged.
func TestRealPDFs(t *testing.T) {
	testkit.NeedTool(t, "pdfsig", "qpdf", "pdftotext", "pdfinfo")
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/pdfcpu/pdfcpu").Output()
	if err != nil {
		t.Fatalf("locating pdfcpu's module: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "pkg", "testdata", "*.pdf"))
	if err != nil || len(files) < 20 {
		t.Fatalf("pdfcpu's test PDFs: %d files (%v)", len(files), err)
	}
	p := getPKI(t)
	var signed, refused atomic.Int32
	for _, file := range files {
		st, err := os.Stat(file)
		if err != nil || st.Size() > realPDFLimit {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			data := in
			for i, id := range []string{"ecdsa", "rsa"} {
				o := p.signers[id].options()
				o.Placeholder = "{{Signer1}}"
				var b bytes.Buffer
				err := Sign(context.Background(), bytes.NewReader(data), int64(len(data)), &b, o)
				if err != nil {
					var fe *FormatError
					if i == 0 && (errors.As(err, &fe) || errors.Is(err, ErrEncrypted) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrLocked)) {
						refused.Add(1)
						t.Logf("refused: %v", err)
						return
					}
					t.Fatalf("signature %d: %v", i+1, err)
				}
				data = b.Bytes()
			}
			signed.Add(1)
			dir := t.TempDir()
			orig, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "signed.pdf")
			if err := os.WriteFile(orig, in, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(out, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if total, valid := testkit.ValidSignatures(testkit.PDFSig(t, out, p.root)); total != 2 || valid != 2 {
				t.Errorf("pdfsig: %d signatures, %d valid and trusted, want 2", total, valid)
			}
			if exec.Command("qpdf", "--check", orig).Run() == nil {
				if b, err := exec.Command("qpdf", "--check", out).CombinedOutput(); err != nil {
					t.Errorf("qpdf --check: clean before, not after: %v\n%s", err, b)
				}
			}
			pages := pageCount(t, orig)
			last := "-l"
			if a, b := pdfText(t, orig, last, pages), pdfText(t, out, last, pages); a != b {
				t.Errorf("the text of the original %s pages changed", pages)
			}
		})
	}
	t.Cleanup(func() { t.Logf("signed %d files twice, refused %d with a typed error", signed.Load(), refused.Load()) })
}

func pageCount(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("pdfinfo", path).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "Pages:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("pdfinfo: no page count")
	return ""
}

func pdfText(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, err := exec.Command("pdftotext", append(append([]string{}, args...), path, "-")...).Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
