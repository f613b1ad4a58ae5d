package pades

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/testkit"
)

// makePDFA converts a small text with a placeholder to PDF/A-2b with LibreOffice, as a
// municipality's document archive holds them.
func makePDFA(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	txt := "Besluit omgevingsvergunning\n\nDe burgemeester van Testdorp\n\nHandtekening: {{Signer1}}\n"
	if err := os.WriteFile(filepath.Join(dir, "besluit.txt"), []byte(txt), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	profile := "-env:UserInstallation=file://" + filepath.Join(dir, "lo-profile")
	if out, err := run(ctx, dir, "soffice", profile, "--headless", "--convert-to",
		`pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}`, "besluit.txt"); err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	pdf, err := os.ReadFile(filepath.Join(dir, "besluit.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

var pdfaidPart = regexp.MustCompile(`pdfaid:part(?:>|=")2`)

// catalogOf returns the document and its catalog.
func catalogOf(t *testing.T, pdf []byte) (*document, dict) {
	t.Helper()
	doc, err := openDocument(bytes.NewReader(pdf), int64(len(pdf)))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := doc.catalog()
	if err != nil {
		t.Fatal(err)
	}
	return doc, cat
}

// pdfaParts is what PDF/A asks of the catalog: its output intents and the XMP metadata that
// claims conformance.
func pdfaParts(t *testing.T, pdf []byte) (intents array, xmp []byte) {
	t.Helper()
	doc, cat := catalogOf(t, pdf)
	intents, err := doc.array(cat["OutputIntents"])
	if err != nil || len(intents) == 0 {
		t.Fatalf("no /OutputIntents: %v", err)
	}
	obj, err := doc.resolve(cat["Metadata"])
	s, ok := obj.(*stream)
	if err != nil || !ok {
		t.Fatalf("no /Metadata stream: %v", err)
	}
	if xmp, err = doc.decode(s, 1<<20); err != nil {
		t.Fatal(err)
	}
	return intents, xmp
}

// TestPDFAStaysPDFA signs a PDF/A-2b document with a visible stamp, then makes it B-LTA (DSS,
// document time-stamp): the catalog keeps its output intents and PDF/A metadata, nothing in the
// file uses transparency (no /CA or /ca below 1, no soft mask, no blend mode other than Normal,
// no transparency group), every font is embedded (the stamp's too, no standard-14 reference),
// every widget prints and has only a normal appearance, and qpdf finds no fault. veraPDF, the
// reference PDF/A validator, is not installed here; these are the rules a stamp could break.
func TestPDFAStaysPDFA(t *testing.T) {
	testkit.NeedTool(t, "soffice")
	in := makePDFA(t)
	intents, xmp := pdfaParts(t, in)
	if !pdfaidPart.Match(xmp) {
		t.Fatalf("LibreOffice made no PDF/A-2 (XMP without pdfaid:part 2):\n%s", xmp)
	}
	// the stamp draws its frame in DeviceRGB, which PDF/A allows under an RGB output intent (as
	// LibreOffice's sRGB); a CMYK-only PDF/A would need the stamp in DeviceGray or CMYK
	doc, _ := catalogOf(t, in)
	oi, _ := doc.dict(intents[0])
	if prof, _ := doc.resolve(oi["DestOutputProfile"]); prof == nil {
		t.Fatal("output intent without a profile")
	} else if n, _ := integer(prof.(*stream).dict["N"]); n != 3 {
		t.Fatalf("output intent with %d colour components, want RGB", n)
	}
	p := getPKI(t)
	_, srv := newTestTSA(t)
	tsa := &TSA{URL: srv.URL}
	o := p.signers["ecdsa"].options()
	o.TSA = tsa
	o.Placeholder = "{{Signer1}}"
	placed := false
	o.Placed = func(at Placement) { placed = at.Missed == "" }
	ctx := context.Background()
	var signed, withDSS, lta bytes.Buffer
	if err := Sign(ctx, bytes.NewReader(in), int64(len(in)), &signed, o); err != nil {
		t.Fatal(err)
	}
	if !placed {
		t.Error("the stamp did not go to the placeholder")
	}
	vd := ValidationData{Certs: p.signers["ecdsa"].chain}
	if err := AddDSS(ctx, bytes.NewReader(signed.Bytes()), int64(signed.Len()), &withDSS, vd); err != nil {
		t.Fatal(err)
	}
	if err := Timestamp(ctx, bytes.NewReader(withDSS.Bytes()), int64(withDSS.Len()), &lta, tsa); err != nil {
		t.Fatal(err)
	}
	for _, out := range []struct {
		name string
		pdf  []byte
	}{{"signed", signed.Bytes()}, {"lta", lta.Bytes()}} {
		t.Run(out.name, func(t *testing.T) {
			gotIntents, gotXMP := pdfaParts(t, out.pdf)
			if !reflect.DeepEqual(gotIntents, intents) || !bytes.Equal(gotXMP, xmp) {
				t.Error("the catalog's /OutputIntents or /Metadata changed")
			}
			checkPDFARules(t, out.pdf)
			path := filepath.Join(t.TempDir(), out.name+".pdf")
			if err := os.WriteFile(path, out.pdf, 0o644); err != nil {
				t.Fatal(err)
			}
			qpdfCheck(t, path)
			res, raw := pdfsig(t, path)
			if len(res) == 0 || res[0].fields["Signature Validation"] != "Signature is Valid." {
				t.Errorf("pdfsig:\n%s", raw)
			}
		})
	}
}

// checkPDFARules walks every object of the file for what PDF/A-2 forbids or requires of what a
// stamp adds: transparency, fonts that are not embedded, widgets that do not print.
func checkPDFARules(t *testing.T, pdf []byte) {
	t.Helper()
	doc, _ := catalogOf(t, pdf)
	stampFonts := 0
	for num := 1; num < doc.nextObjNum(); num++ {
		obj, err := doc.object(num)
		if err != nil {
			t.Fatalf("object %d: %v", num, err)
		}
		d, ok := obj.(dict)
		if s, isStream := obj.(*stream); isStream {
			d, ok = s.dict, true
		}
		if !ok {
			continue
		}
		for _, k := range []name{"CA", "ca"} {
			if v, has := d[k]; has {
				if f, isNum := number(v); !isNum || f < 1 {
					t.Errorf("object %d: /%s %v (transparency)", num, k, v)
				}
			}
		}
		if sm, has := d["SMask"]; has && sm != name("None") {
			t.Errorf("object %d: /SMask (transparency)", num)
		}
		if bm, has := d["BM"]; has && bm != name("Normal") && bm != name("Compatible") {
			t.Errorf("object %d: /BM %v (blend mode)", num, bm)
		}
		if g, _ := doc.dict(d["Group"]); g != nil && g.name("S") == "Transparency" {
			t.Errorf("object %d: a transparency group", num)
		}
		switch {
		case d.name("Type") == "Font":
			if strings.HasSuffix(string(d.name("BaseFont")), "GoRegular") {
				stampFonts++
			}
			checkEmbedded(t, doc, num, d)
		case d.name("Subtype") == "Widget":
			f, _ := integer(d["F"])
			if f&4 == 0 || f&(1|2|32|256) != 0 {
				t.Errorf("widget %d: /F %d: PDF/A wants it printed, never hidden", num, f)
			}
			if ap, _ := doc.dict(d["AP"]); ap != nil && (len(ap) != 1 || ap["N"] == nil) {
				t.Errorf("widget %d: /AP %v: PDF/A allows the normal appearance only", num, ap)
			}
		}
	}
	if stampFonts == 0 {
		t.Error("no stamp font found")
	}
}

// checkEmbedded fails unless the font's program is in the file (Type3 fonts are their own).
func checkEmbedded(t *testing.T, doc *document, num int, font dict) {
	t.Helper()
	switch font.name("Subtype") {
	case "Type3":
		return
	case "Type0":
		kids, err := doc.array(font["DescendantFonts"])
		if err != nil || len(kids) != 1 {
			t.Errorf("font %d: /DescendantFonts %v", num, kids)
			return
		}
		kid, err := doc.dict(kids[0])
		if err != nil || kid == nil {
			t.Errorf("font %d: descendant: %v", num, err)
			return
		}
		font = kid
	}
	fd, err := doc.dict(font["FontDescriptor"])
	if err != nil || fd == nil {
		t.Errorf("font %d (%s): no font descriptor, so not embedded (a standard-14 reference?)", num, font.name("BaseFont"))
		return
	}
	if fd["FontFile"] == nil && fd["FontFile2"] == nil && fd["FontFile3"] == nil {
		t.Errorf("font %d (%s): not embedded", num, font.name("BaseFont"))
	}
}
