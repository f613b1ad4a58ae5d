// Package testkit is what the tests of several packages share: the external tools CI installs
// (.ci/apt-packages.txt: Chromium, poppler, NSS), a log buffer many goroutines may write to, and a
// reader for downloads. Only tests import it.
package testkit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// NeedTool fails the test when a tool is missing: CI installs them all, so a missing tool is a
// broken machine, not a reason to skip.
func NeedTool(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			t.Fatalf("%s not found: install it (listed in .ci/apt-packages.txt; make tools)", name)
		}
	}
}

// Chromium starts a headless Chromium with a fresh profile and a phone-sized window, with the
// extra options given, and returns a browser context that ends with the test (at the latest after
// timeout).
func Chromium(t testing.TB, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("chromium not found: install it (listed in .ci/apt-packages.txt; make tools)")
	}
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(412, 915), // a phone
	}, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancelT)
	return ctx
}

// Artifacts returns the test's directory for screenshots and the like, under $ARTIFACTS_DIR or the
// temp dir, and logs where it is.
func Artifacts(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "signingd-artifacts")
	}
	dir = filepath.Join(dir, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

var (
	nssMu   sync.Mutex
	nssDirs = map[[32]byte]string{}
)

// nssDB returns an NSS database (made once per process) that trusts root.
func nssDB(t testing.TB, root *x509.Certificate) string {
	t.Helper()
	NeedTool(t, "certutil")
	key := sha256.Sum256(root.Raw)
	nssMu.Lock()
	defer nssMu.Unlock()
	if dir, ok := nssDirs[key]; ok {
		return dir
	}
	dir, err := os.MkdirTemp("", "signingd-test-nss-")
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-N", "-d", "sql:" + dir, "--empty-password"},
		{"-A", "-n", "signingd-test-root", "-t", "CT,C,C", "-i", ca, "-d", "sql:" + dir}} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v %s", args, err, out)
		}
	}
	nssDirs[key] = dir
	return dir
}

// PDFSig runs poppler's pdfsig on the PDF file at path, trusting root, and returns its report.
func PDFSig(t testing.TB, path string, root *x509.Certificate) string {
	t.Helper()
	NeedTool(t, "pdfsig")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "pdfsig", "-nssdir", "sql:"+nssDB(t, root), path).CombinedOutput()
	return string(out)
}

// PDFSigBytes is PDFSig on a PDF in memory.
func PDFSigBytes(t testing.TB, pdf []byte, root *x509.Certificate) string {
	t.Helper()
	return PDFSig(t, writeTemp(t, pdf), root)
}

// ValidSignatures counts the signatures in a pdfsig report, and those that are valid with a
// trusted certificate.
func ValidSignatures(report string) (total, valid int) {
	total = strings.Count(report, "Signature #")
	valid = min(strings.Count(report, "Signature Validation: Signature is Valid."),
		strings.Count(report, "Certificate Validation: Certificate is Trusted."))
	return total, valid
}

// PDFToText returns the text of a PDF as poppler's pdftotext -layout sees it.
func PDFToText(t testing.TB, pdf []byte) string {
	t.Helper()
	NeedTool(t, "pdftotext")
	out, err := exec.Command("pdftotext", "-layout", writeTemp(t, pdf), "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// Pages returns the page count of a PDF as poppler's pdfinfo reads it.
func Pages(t testing.TB, pdf []byte) int {
	t.Helper()
	NeedTool(t, "pdfinfo")
	out, err := exec.Command("pdfinfo", writeTemp(t, pdf)).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "Pages:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("pdfinfo pages %q", v)
			}
			return n
		}
	}
	t.Fatalf("pdfinfo printed no page count:\n%s", out)
	return 0
}

func writeTemp(t testing.TB, pdf []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// SyncBuffer collects output that many goroutines write while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ReadAll returns a function that reads a whole download, for use as read(c.Download(...)).
func ReadAll(t testing.TB) func(io.ReadCloser, error) []byte {
	return func(rc io.ReadCloser, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(fmt.Errorf("read: %w", err))
		}
		return b
	}
}
