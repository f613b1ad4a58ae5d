package report_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/report"
)

// pdftotext returns the text of the PDF, after qpdf found its structure sound.
func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestReportUnicodeAndWrapping(t *testing.T) {
	t.Parallel()
	r := report.New(report.Info{Title: "Bewijsstuk Łódź", Author: "signingd", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	r.Line(report.Title, "Bewijsstuk van de ondertekening")
	r.Line(report.Body, "Plaats: Łódź Ærø Ğ — Zoë Çelik-Łukasiewicz")
	long := strings.Repeat("gebeurtenis ", 40) + "einde"
	r.Line(report.Body, long)
	r.Line(report.Body, "tab\there, bell\a gone, bad \xff byte")
	pdf, err := r.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	text := pdftotext(t, pdf)
	for _, want := range []string{"Łódź Ærø Ğ", "Zoë Çelik-Łukasiewicz", "tab here, bell gone, bad \uFFFD byte"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	// The long line is wrapped, not cut off at the page edge: every word is there, over several
	// lines, none of which is wider than the page allows.
	if got := strings.Count(text, "gebeurtenis"); got != 40 || !strings.Contains(text, "einde") {
		t.Errorf("long line: %d of 40 words, einde present %v:\n%s", got, strings.Contains(text, "einde"), text)
	}
	wrapped := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "gebeurtenis") {
			wrapped++
			if n := len([]rune(strings.TrimSpace(l))); n > 110 {
				t.Errorf("line of %d characters: %q", n, l)
			}
		}
	}
	if wrapped < 3 {
		t.Errorf("long line on %d lines, want it wrapped over at least 3:\n%s", wrapped, text)
	}
}

func TestReportPages(t *testing.T) {
	t.Parallel()
	r := report.New(report.Info{Title: "lang"})
	for i := range 200 {
		r.Line(report.Body, "regel "+strings.Repeat("x", i%7))
	}
	r.Line(report.Body, "laatste regel")
	pdf, err := r.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	text := pdftotext(t, pdf)
	if pages := strings.Count(text, "\f"); pages < 3 {
		t.Errorf("200 lines on %d pages, want at least 3", pages)
	}
	if !strings.Contains(text, "laatste regel") || strings.Count(text, "regel") != 201 {
		t.Errorf("lines lost across pages:\n%s", text)
	}
}
