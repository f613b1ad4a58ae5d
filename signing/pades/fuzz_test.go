package pades

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzReadPDF feeds arbitrary bytes through everything that reads a PDF:
// cross-reference chain, object streams, page tree, text extraction and
// the preparation of an update. It must return errors, never panic or hang.
func FuzzReadPDF(f *testing.F) {
	f.Add(makePDF(genPDF{pages: [][]string{contractText}}))
	f.Add(makePDF(genPDF{version: "2.0", xrefStream: true, form: true, pages: [][]string{{"a"}, contractText}}))
	f.Add([]byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\nstartxref\n9\n%%EOF"))
	f.Add([]byte("%PDF-1.5\n1 0 obj<</Type/XRef/W[1 2 1]/Size 3/Index[0 3]/Filter/FlateDecode/DecodeParms<</Predictor 12/Columns 4>>/Length 0>>stream\n\nendstream endobj\nstartxref\n9\n%%EOF"))
	// qpdf rewrites give seeds with object streams, xref streams with
	// predictors, linearization and encryption with an empty user password
	src := filepath.Join(corpusDir, "fuzz-seed.pdf")
	if err := os.WriteFile(src, makePDF(genPDF{form: true, pages: [][]string{{"a"}, contractText}}), 0o644); err == nil {
		for i, flags := range [][]string{{"--object-streams=generate"}, {"--linearize"}, {"--object-streams=generate", "--compress-streams=y", "--linearize"},
			{"--allow-weak-crypto", "--encrypt", "", "e", "40", "--"}, {"--encrypt", "", "e", "128", "--use-aes=y", "--"},
			{"--object-streams=generate", "--encrypt", "", "e", "256", "--"}} {
			dst := filepath.Join(corpusDir, fmt.Sprintf("fuzz-seed-%d.pdf", i))
			if _, err := run(context.Background(), corpusDir, "qpdf", append(flags, src, dst)...); err == nil {
				if data, err := os.ReadFile(dst); err == nil {
					f.Add(data)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := openDocument(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		typed := func(err error) bool {
			for _, k := range []error{ErrMalformed, ErrUnsupported, ErrLocked, ErrInvalidOptions} {
				if errors.Is(err, k) {
					return true
				}
			}
			return false
		}
		// placement reads pages, contents, fonts and annotations
		o := Options{Placeholder: "{{Signer1}}"}
		fu, err := newFontUse()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := place(context.Background(), doc, &o, newStamp(fu, &o, time.Unix(0, 0)), 0); err != nil && !typed(err) {
			t.Fatalf("untyped error: %v", err)
		}
		// an invisible signature skips the (input-independent, slow) font
		// work, so the fuzzer spends its time in the reader
		o.Invisible = true
		u, err := prepare(context.Background(), doc, &o)
		if err != nil {
			if !typed(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if _, err := u.render(doc, 64); err != nil {
			t.Fatalf("render: %v", err)
		}
	})
}
