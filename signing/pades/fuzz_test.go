package pades

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReadPDF feeds arbitrary bytes through everything that reads a PDF:
// cross-reference chain, object streams, page tree, text extraction and
// the preparation of an update. It must return errors, never panic or hang.
func FuzzReadPDF(f *testing.F) {
	f.Add(makePDF(genPDF{pages: [][]string{contractText}}))
	f.Add(makePDF(genPDF{version: "2.0", xrefStream: true, form: true, pages: [][]string{{"a"}, contractText}}))
	f.Add([]byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\nstartxref\n9\n%%EOF"))
	f.Add([]byte("%PDF-1.5\n1 0 obj<</Type/XRef/W[1 2 1]/Size 3/Index[0 3]/Filter/FlateDecode/DecodeParms<</Predictor 12/Columns 4>>/Length 0>>stream\n\nendstream endobj\nstartxref\n9\n%%EOF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := openDocument(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		_ = doc.walkPages(func(i int, p *page) (bool, error) {
			_, _, _ = doc.findText(p, "{{Signer1}}")
			return i > 20, nil
		})
		o := Options{Placeholder: "{{Signer1}}", Name: "Zoë"}
		u, err := prepare(doc, &o)
		if err != nil {
			return
		}
		if _, err := u.render(doc, 64); err != nil {
			t.Fatalf("render: %v", err)
		}
	})
}
