package pades

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/testkit"
)

// Helpers around the external checkers: pdfsig (poppler-utils), qpdf and
// certutil (libnss3-tools). They are CI requirements, so a missing tool
// fails the test instead of skipping it.

// pdfsigResult is one "Signature #n" block of pdfsig's output.
type pdfsigResult struct {
	fields map[string]string
	total  bool
}

var pdfsigLine = regexp.MustCompile(`^\s*- ([^:]+): (.*)$`)

// pdfsig runs pdfsig with the test trust store and parses its report.
func pdfsig(t *testing.T, path string) ([]pdfsigResult, string) {
	t.Helper()
	out := testkit.PDFSig(t, path, getPKI(t).root)
	var res []pdfsigResult
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "Signature #") {
			res = append(res, pdfsigResult{fields: map[string]string{}})
			continue
		}
		if len(res) == 0 {
			continue
		}
		cur := &res[len(res)-1]
		if strings.Contains(line, "The signature form field is not signed.") {
			res = res[:len(res)-1] // an empty field, not a signature
			continue
		}
		if strings.TrimSpace(line) == "- Total document signed" {
			cur.total = true
			continue
		}
		if m := pdfsigLine.FindStringSubmatch(line); m != nil {
			cur.fields[m[1]] = strings.TrimSpace(m[2])
		}
	}
	return res, out
}

// qpdfCheck fails the test when qpdf --check reports an error.
func qpdfCheck(t *testing.T, path string) {
	t.Helper()
	testkit.NeedTool(t, "qpdf")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "qpdf", "--check", path).CombinedOutput()
	// exit status 2 means errors, 3 warnings; we accept neither
	if err != nil {
		t.Errorf("qpdf --check %s: %v\n%s", filepath.Base(path), err, out)
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		l := strings.ToLower(line)
		if strings.Contains(l, "no syntax or stream encoding errors") || strings.Contains(l, "errors that qpdf cannot detect") {
			continue
		}
		if strings.Contains(l, "error") || strings.Contains(l, "warning") {
			t.Errorf("qpdf --check %s: %s", filepath.Base(path), line)
		}
	}
}
