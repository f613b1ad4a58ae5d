package pades

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/testkit"
)

// TestAttach embeds two files, one with a non-Latin name, certifies the result, and checks that
// poppler lists and extracts both unchanged, the certification is valid and qpdf is clean; a
// document certified without changes allowed is refused.
func TestAttach(t *testing.T) {
	testkit.NeedTool(t, "pdfdetach")
	src, err := os.ReadFile(corpus(t)[0].path)
	if err != nil {
		t.Fatal(err)
	}
	files := []File{
		{Name: "audit-log.pdf", MediaType: "application/pdf", Description: "Auditlog van de aanbieder", Content: []byte("%PDF-1.4 not really\n"), Modified: time.Now()},
		{Name: "bewijs-Łódź.txt", MediaType: "text/plain", Description: "Samenvatting — Zoë", Content: bytes.Repeat([]byte("regel\n"), 5000)},
	}
	var out bytes.Buffer
	if err := Attach(context.Background(), bytes.NewReader(src), int64(len(src)), &out, files); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out.Bytes(), src) {
		t.Fatal("Attach changed earlier bytes")
	}
	dir := t.TempDir()
	attached := filepath.Join(dir, "attached.pdf")
	os.WriteFile(attached, out.Bytes(), 0o644)
	o := getPKI(t).signers["rsa"].options()
	o.Invisible, o.Certify = true, 1
	certified := filepath.Join(dir, "certified.pdf")
	signed := signFile(t, attached, certified, o)
	checkSigned(t, certified, 1)
	qpdfCheck(t, certified)

	list, err := exec.Command("pdfdetach", "-list", "-enc", "UTF-8", certified).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfdetach -list: %v\n%s", err, list)
	}
	for _, f := range files {
		if !strings.Contains(string(list), f.Name) {
			t.Errorf("pdfdetach does not list %q:\n%s", f.Name, list)
		}
	}
	for i, f := range files {
		save := filepath.Join(dir, "saved")
		if out, err := exec.Command("pdfdetach", "-save", strconv.Itoa(i+1), "-o", save, certified).CombinedOutput(); err != nil {
			t.Fatalf("pdfdetach -save %d: %v\n%s", i+1, err, out)
		}
		got, _ := os.ReadFile(save)
		if !bytes.Equal(got, f.Content) {
			t.Errorf("file %d extracted as %d bytes, want %d", i+1, len(got), len(f.Content))
		}
	}

	err = Attach(context.Background(), bytes.NewReader(signed), int64(len(signed)), &bytes.Buffer{}, files[:1])
	if !errors.Is(err, ErrLocked) {
		t.Errorf("Attach to a certified (P=1) document: %v, want ErrLocked", err)
	}
}
