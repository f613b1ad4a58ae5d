package pades

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestSignErrors checks that what cannot be signed fails with the right
// typed error, never a panic.
func TestSignErrors(t *testing.T) {
	files := corpus(t)
	p := getPKI(t)
	simple, err := os.ReadFile(files[0].path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	encPath := filepath.Join(dir, "enc.pdf")
	if _, err := run(context.Background(), dir, "qpdf", "--encrypt", "geheim", "eigenaar", "256", "--", files[0].path, encPath); err != nil {
		t.Fatal(err)
	}
	encrypted, _ := os.ReadFile(encPath)

	// certified with P=1: no further changes allowed
	certify := func(level int, src []byte) []byte {
		o := p.signers["rsa"].options()
		o.Certify, o.Invisible = level, true
		var out bytes.Buffer
		if err := Sign(context.Background(), bytes.NewReader(src), int64(len(src)), &out, o); err != nil {
			t.Fatalf("certify P=%d: %v", level, err)
		}
		return out.Bytes()
	}
	locked := certify(1, simple)
	certified2 := certify(2, simple)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	tests := []struct {
		name string
		data []byte
		opts func(*Options)
		want error
	}{
		{"empty", nil, nil, ErrNotPDF},
		{"text", []byte("Dit is geen PDF maar een briefje.\n"), nil, ErrNotPDF},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), nil, ErrNotPDF},
		{"truncated", simple[:len(simple)/2], nil, ErrMalformed},
		{"no startxref", bytes.ReplaceAll(simple, []byte("startxref"), []byte("startxxxx")), nil, ErrMalformed},
		{"bad xref offset", bytes.Replace(simple, []byte("startxref\n"), []byte("startxref\n1"), 1), nil, ErrMalformed},
		{"encrypted with a user password", encrypted, nil, ErrEncrypted},
		{"certified P=1", locked, nil, ErrLocked},
		{"certified P=2, no room for a signature page", certified2, nil, ErrLocked},
		{"certified P=2, no room at the placeholder", certify(2, makePDF(genPDF{size: 10, leading: 8, pages: [][]string{{
			"Een regel boven de handtekening.", "{{Signer1}} en meer tekst", "Een regel onder de handtekening."}}})),
			func(o *Options) { o.Placeholder = "{{Signer1}}" }, ErrLocked},
		{"second certification", certified2, func(o *Options) { o.Certify = 2; o.Invisible = true }, ErrInvalidOptions},
		{"no signer", simple, func(o *Options) { o.Signer = nil }, ErrInvalidOptions},
		{"key does not match certificate", simple, func(o *Options) { o.Signer = otherKey }, ErrInvalidOptions},
		{"PSS with ECDSA", simple, func(o *Options) {
			o.Signer = p.signers["ecdsa"].key
			o.Certificates = p.signers["ecdsa"].chain
			o.PSS = true
		}, ErrInvalidOptions},
		{"bad certify level", simple, func(o *Options) { o.Certify = 4 }, ErrInvalidOptions},
		{"nil certificate in chain", simple, func(o *Options) { o.Certificates = append(o.Certificates[:1:1], nil) }, ErrInvalidOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := p.signers["rsa"].options()
			if tc.opts != nil {
				tc.opts(&o)
			}
			err := Sign(context.Background(), bytes.NewReader(tc.data), int64(len(tc.data)), io.Discard, o)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestCertification checks that a P=2 certification still allows a later
// approval signature placed at a placeholder (no page added).
func TestCertification(t *testing.T) {
	files := corpus(t)
	p := getPKI(t)
	var ph corpusFile
	for _, f := range files {
		if f.name == "placeholder" {
			ph = f
		}
	}
	dir := t.TempDir()
	o := p.signers["rsa"].options()
	o.Certify, o.Placeholder = 2, "{{Signer1}}"
	one := filepath.Join(dir, "one.pdf")
	signFile(t, ph.path, one, o)
	checkSigned(t, one, 1)
	o = p.signers["ecdsa"].options()
	o.Placeholder = "{{Signer2}}"
	two := filepath.Join(dir, "two.pdf")
	signFile(t, one, two, o)
	checkSigned(t, two, 2)
}

func TestSignCancelled(t *testing.T) {
	p := getPKI(t)
	pdf := makePDF(genPDF{pages: [][]string{{"x"}}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Sign(ctx, bytes.NewReader(pdf), int64(len(pdf)), io.Discard, p.signers["ecdsa"].options())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}
