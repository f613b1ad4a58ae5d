package pades

import (
	"context"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers around the external checkers: pdfsig (poppler-utils), qpdf and
// certutil (libnss3-tools). They are CI requirements, so a missing tool
// fails the test instead of skipping it.

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found: install it (listed in .ci/apt-packages.txt)", name)
	}
}

var (
	nssOnce sync.Once
	nssDir  string
	nssErr  error
)

// nssDB returns an NSS database that trusts the test root CA.
func nssDB(t *testing.T) string {
	t.Helper()
	needTool(t, "certutil")
	p := getPKI(t)
	nssOnce.Do(func() {
		dir := filepath.Join(corpusDir, "nssdb")
		if nssErr = os.MkdirAll(dir, 0o755); nssErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, nssErr = run(ctx, dir, "certutil", "-N", "-d", "sql:"+dir, "--empty-password"); nssErr != nil {
			return
		}
		ca := filepath.Join(dir, "ca.pem")
		if nssErr = os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.Raw}), 0o644); nssErr != nil {
			return
		}
		_, nssErr = run(ctx, dir, "certutil", "-A", "-d", "sql:"+dir, "-n", "signingd-test-root", "-t", "CT,C,C", "-a", "-i", ca)
		nssDir = dir
	})
	if nssErr != nil {
		t.Fatal(nssErr)
	}
	return nssDir
}

// pdfsigResult is one "Signature #n" block of pdfsig's output.
type pdfsigResult struct {
	fields map[string]string
	total  bool
}

var pdfsigLine = regexp.MustCompile(`^\s*- ([^:]+): (.*)$`)

// pdfsig runs pdfsig with the test trust store and parses its report.
func pdfsig(t *testing.T, path string) ([]pdfsigResult, string) {
	t.Helper()
	needTool(t, "pdfsig")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "pdfsig", "-nssdir", "sql:"+nssDB(t), path).CombinedOutput()
	var res []pdfsigResult
	for _, line := range strings.Split(string(out), "\n") {
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
	return res, string(out)
}

// qpdfCheck fails the test when qpdf --check reports an error.
func qpdfCheck(t *testing.T, path string) {
	t.Helper()
	needTool(t, "qpdf")
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
