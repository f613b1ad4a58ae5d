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
// pdfsig, no worse in `qpdf --check` than it came in, and its own pages' text unchanged. A file
// that is signed is then encrypted by qpdf as a municipality's "protected" PDF is, with an empty
// user password and permissions that forbid changes (AES-256 and AES-128 by turns), and must be
// signed the same way, keeping its encryption.
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
	protections := [][]string{
		{"--encrypt", "", "eigenaar", "256", "--modify=none", "--print=none", "--extract=n", "--"},
		{"--encrypt", "", "eigenaar", "128", "--use-aes=y", "--modify=none", "--annotate=n", "--form=n", "--"},
	}
	var signed, refused, encrypted atomic.Int32
	for i, file := range files {
		st, err := os.Stat(file)
		if err != nil || st.Size() > realPDFLimit {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if !signRealPDF(t, file, filepath.Join(dir, "signed.pdf")) {
				refused.Add(1)
				return
			}
			signed.Add(1)
			// qpdf rewrites the file as it encrypts it: a file it cannot rewrite cleanly is
			// not a protected PDF of ours to test
			if exec.Command("qpdf", "--check", file).Run() != nil {
				return
			}
			enc := filepath.Join(dir, "protected.pdf")
			if _, err := run(context.Background(), dir, "qpdf", append(append([]string{}, protections[i%2]...), file, enc)...); err != nil {
				t.Logf("qpdf could not encrypt it: %v", err)
				return
			}
			if !signRealPDF(t, enc, filepath.Join(dir, "protected-signed.pdf")) {
				t.Fatal("signed in the clear, refused encrypted")
			}
			if a, b := showEncryption(t, enc), showEncryption(t, filepath.Join(dir, "protected-signed.pdf")); a != b {
				t.Errorf("qpdf --show-encryption changed:\nbefore\n%s\nafter\n%s", a, b)
			}
			encrypted.Add(1)
		})
	}
	t.Cleanup(func() {
		t.Logf("signed %d files twice, refused %d with a typed error; signed %d of them encrypted", signed.Load(), refused.Load(), encrypted.Load())
	})
}

// signRealPDF signs the file twice into out and checks the result; false when the first
// signature is refused with a typed error.
func signRealPDF(t *testing.T, file, out string) bool {
	t.Helper()
	p := getPKI(t)
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
				t.Logf("refused: %v", err)
				return false
			}
			t.Fatalf("signature %d: %v", i+1, err)
		}
		data = b.Bytes()
	}
	if err := os.WriteFile(out, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if total, valid := testkit.ValidSignatures(testkit.PDFSig(t, out, p.root)); total != 2 || valid != 2 {
		t.Errorf("pdfsig: %d signatures, %d valid and trusted, want 2", total, valid)
	}
	if exec.Command("qpdf", "--check", file).Run() == nil {
		if b, err := exec.Command("qpdf", "--check", out).CombinedOutput(); err != nil {
			t.Errorf("qpdf --check: clean before, not after: %v\n%s", err, b)
		}
	}
	pages := pageCount(t, file)
	last := "-l"
	if a, b := pdfText(t, file, last, pages), pdfText(t, out, last, pages); a != b {
		t.Errorf("the text of the original %s pages changed", pages)
	}
	return true
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
