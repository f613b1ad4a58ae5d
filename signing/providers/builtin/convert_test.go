package builtin

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
)

// makeDocx writes a minimal Word document with one paragraph per line.
func makeDocx(t *testing.T, lines ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	files := map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
		"_rels/.rels":         `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`,
	}
	var body strings.Builder
	for _, l := range lines {
		body.WriteString(`<w:p><w:r><w:t xml:space="preserve">` + l + `</w:t></w:r></w:p>`)
	}
	files["word/document.xml"] = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` + body.String() + `</w:body></w:document>`
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A .docx input is converted with LibreOffice and comes out as a signed .pdf.
func TestDocxBecomesSignedPDF(t *testing.T) {
	t.Parallel()
	testkit.NeedTool(t, "soffice")
	e := setup(t)
	docx := makeDocx(t, "Overeenkomst gemeente Testdorp", "Handtekening: {{Signer1}}")
	d := signing.ProviderDocument{Position: 0, Titel: "Overeenkomst", Bestandsnaam: "overeenkomst.docx",
		Formaat: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Size: int64(len(docx)),
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(docx)), nil }}
	ref := e.create(t, []signing.ProviderDocument{d}, signer(0, 1, "w@example.nl", "", "", "Signer1"))
	sg, err := e.st.BuiltinSigning(context.Background(), mustUUID(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	if sg.Documents[0].Bestandsnaam != "overeenkomst.pdf" {
		t.Errorf("bestandsnaam = %q, want overeenkomst.pdf", sg.Documents[0].Bestandsnaam)
	}
	b := newBrowser(t)
	link := e.link(t, "w@example.nl")
	if _, page := b.post(link, "/sign", map[string][]string{"consent": {"yes"}}); !strings.Contains(page, "ondertekend") {
		t.Fatalf("after signing: %s", page)
	}
	signed := testkit.ReadAll(t)(e.p.Signed(context.Background(), ref, 0))
	if !bytes.HasPrefix(signed, []byte("%PDF-")) {
		t.Fatal("signed output is not a PDF")
	}
	if total, valid := testkit.ValidSignatures(testkit.PDFSigBytes(t, signed, testCA)); total != 1 || valid != 1 {
		t.Fatalf("converted document: %d signatures, %d valid", total, valid)
	}
	if text := testkit.PDFToText(t, signed); !strings.Contains(text, "Overeenkomst gemeente Testdorp") || strings.Contains(text, "{{Signer1}}") && !strings.Contains(text, "Test Ondertekenaar 1") {
		t.Errorf("converted text: %q", text)
	}
}

func TestNeedsConversion(t *testing.T) {
	for _, c := range []struct{ formaat, name, want string }{
		{"application/pdf", "a.pdf", ""},
		{"application/vnd.oasis.opendocument.text", "a", ".odt"},
		{"application/msword", "a.doc", ".doc"},
		{"", "brief.RTF", ".rtf"},
		{"application/octet-stream", "x.docx", ".docx"},
	} {
		if got := needsConversion(c.formaat, c.name); got != c.want {
			t.Errorf("needsConversion(%q, %q) = %q, want %q", c.formaat, c.name, got, c.want)
		}
	}
	if pdfName("brief.docx") != "brief.pdf" || pdfName("a.PDF") != "a.PDF" || pdfName("") != "document.pdf" {
		t.Error("pdfName")
	}
}
