package pades

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/testkit"
)

// signFile signs src into dst and returns the output bytes.
func signFile(t *testing.T, src, dst string, o Options) []byte {
	t.Helper()
	in, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, o); err != nil {
		t.Fatalf("Sign(%s): %v", filepath.Base(src), err)
	}
	if !bytes.HasPrefix(out.Bytes(), in) {
		t.Fatalf("Sign(%s) changed bytes before the update", filepath.Base(src))
	}
	if err := os.WriteFile(dst, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// checkSigned runs pdfsig and qpdf on a signed file: want signatures, all
// valid and trusted, the last one covering the whole document.
func checkSigned(t *testing.T, path string, want int) {
	t.Helper()
	res, raw := pdfsig(t, path)
	if len(res) != want {
		t.Fatalf("%s: pdfsig found %d signatures, want %d:\n%s", filepath.Base(path), len(res), want, raw)
	}
	for i, r := range res {
		if got := r.fields["Signature Validation"]; got != "Signature is Valid." {
			t.Errorf("%s: signature #%d: %q\n%s", filepath.Base(path), i+1, got, raw)
		}
		if got := r.fields["Certificate Validation"]; got != "Certificate is Trusted." {
			t.Errorf("%s: signature #%d certificate: %q\n%s", filepath.Base(path), i+1, got, raw)
		}
		if got := r.fields["Signature Type"]; got != "ETSI.CAdES.detached" {
			t.Errorf("%s: signature #%d type %q", filepath.Base(path), i+1, got)
		}
	}
	if !res[len(res)-1].total {
		t.Errorf("%s: last signature does not cover the total document\n%s", filepath.Base(path), raw)
	}
	qpdfCheck(t, path)
}

// TestSignCorpus signs every corpus file twice, by two different signers,
// and has pdfsig and qpdf check both stages.
func TestSignCorpus(t *testing.T) {
	files := corpus(t)
	p := getPKI(t)
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			already := 0
			if f.name == "signed" {
				already = 1
			}
			first := p.signers["rsa"].options()
			second := p.signers["pss"].options()
			if f.placeholders {
				first.Placeholder, second.Placeholder = "{{Signer1}}", "{{Signer2}}"
			}
			one := filepath.Join(dir, "one.pdf")
			signFile(t, f.path, one, first)
			checkSigned(t, one, already+1)
			two := filepath.Join(dir, "two.pdf")
			signFile(t, one, two, second)
			checkSigned(t, two, already+2)
			checkPdfcpu(t, two, already+2)
		})
	}
}

func TestSignKeyTypes(t *testing.T) {
	files := corpus(t)
	p := getPKI(t)
	for _, id := range []string{"rsa", "pss", "ecdsa"} {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			o := p.signers[id].options()
			o.Time = time.Date(2026, 3, 4, 12, 30, 0, 0, time.FixedZone("CET", 3600))
			out := filepath.Join(t.TempDir(), "out.pdf")
			data := signFile(t, files[0].path, out, o)
			checkSigned(t, out, 1)
			if !bytes.Contains(data, []byte("/M (D:20260304123000+01'00')")) {
				t.Error("signature dictionary lacks /M with the signing time")
			}
			for _, want := range []string{"/Filter /Adobe.PPKLite", "/SubFilter /ETSI.CAdES.detached", "/Reason (Akkoord)", "/Location (Utrecht)", "/Name <FEFF"} {
				if !bytes.Contains(data, []byte(want)) {
					t.Errorf("signature dictionary lacks %s", want)
				}
			}
		})
	}
}

// TestAppearanceText signs at placeholders and on an appended signature
// page and checks with pdftotext that the name is drawn on the right page,
// with every accented letter intact.
func TestAppearanceText(t *testing.T) {
	files := corpus(t)
	p := getPKI(t)
	testkit.NeedTool(t, "pdftotext")
	byName := map[string]corpusFile{}
	for _, f := range files {
		byName[f.name] = f
	}
	tests := []struct {
		file        string
		placeholder string
		page        int // page expected to carry the appearance
	}{
		{"placeholder", "{{Signer1}}", 2},
		{"libreoffice", "{{Signer1}}", 1},
		{"libreoffice-objstm", "{{Signer2}}", 1},
		{"cairo", "{{Signer2}}", 2},
		{"pdfunite", "{{Signer1}}", 3},
		{"simple", "", 2},                // appended signature page
		{"placeholder", "{{Nobody}}", 3}, // not found: signature page
	}
	for _, tc := range tests {
		f, ok := byName[tc.file]
		if !ok {
			t.Fatalf("%s not in the corpus", tc.file)
		}
		t.Run(tc.file+tc.placeholder, func(t *testing.T) {
			t.Parallel()
			o := p.signers["rsa"].options()
			o.Placeholder = tc.placeholder
			o.Time = time.Date(2026, 5, 6, 9, 15, 0, 0, time.FixedZone("CEST", 7200))
			out := filepath.Join(t.TempDir(), "out.pdf")
			signFile(t, f.path, out, o)
			if keep := os.Getenv("PADES_KEEP"); keep != "" {
				data, _ := os.ReadFile(out)
				os.WriteFile(filepath.Join(keep, tc.file+strings.Trim(tc.placeholder, "{}")+".pdf"), data, 0o644)
			}
			// the stamp's own words, read from its appearance stream: the page's
			// reading order mixes them with the placeholder they cover, in a way
			// that depends on the fonts of the machine
			txt := stampText(t, out, tc.page)
			// poppler must render the page without complaining about the font
			img := filepath.Join(t.TempDir(), "page")
			msg, err := run(context.Background(), "", "pdftoppm", "-r", "50", "-gray", "-f", itoa(tc.page), "-l", itoa(tc.page), out, img)
			if err != nil || len(bytes.TrimSpace(msg)) > 0 {
				t.Errorf("pdftoppm: %v %s", err, msg)
			}
			for _, want := range []string{"Digitaal ondertekend", "Zoë Çelik-Łukasiewicz", "6 mei 2026, 09:15"} {
				if !strings.Contains(txt, want) {
					t.Errorf("stamp on page %d lacks %q:\n%s", tc.page, want, txt)
				}
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// stampText returns the text drawn by the appearance of the newest signature
// widget on page pageNum (1-based) of the PDF at path, a line per baseline.
// It fails the test when that page has no signature widget with an appearance.
func stampText(t *testing.T, path string, pageNum int) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var last *stampInfo
	for _, s := range stamps(t, data) {
		if s.page == pageNum {
			last = &s
		}
	}
	if last == nil {
		t.Fatalf("page %d has no signature widget with an appearance", pageNum)
	}
	return last.text
}

// stampInfo is a signature widget with an appearance: its page (1-based),
// its /Rect, the signer's /Name in its signature, and the text its
// appearance draws, a line per baseline.
type stampInfo struct {
	page int
	rect [4]float64
	name string
	text string
}

// stamps returns the signature widgets with an appearance of a PDF, page by
// page in /Annots order.
func stamps(t *testing.T, data []byte) []stampInfo {
	t.Helper()
	doc, err := openDocument(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var found []stampInfo
	err = doc.walkPages(func(i int, p *page) (bool, error) {
		annots, err := doc.array(p.dict["Annots"])
		if err != nil {
			return true, err
		}
		for _, a := range annots {
			w, err := doc.dict(a)
			if err != nil || w == nil || w.name("FT") != "Sig" {
				continue
			}
			apd, err := doc.dict(w["AP"])
			if err != nil || apd == nil {
				continue
			}
			o, err := doc.resolve(apd["N"])
			if err != nil {
				return true, err
			}
			s, ok := o.(*stream)
			if !ok {
				continue
			}
			res, err := doc.dict(s.dict["Resources"])
			if err != nil {
				return true, err
			}
			glyphs, err := doc.pageGlyphs(&page{dict: dict{"Contents": apd["N"]}, resources: res})
			if err != nil {
				return true, err
			}
			var b strings.Builder
			for i, g := range glyphs {
				if i > 0 && math.Abs(g.y-glyphs[i-1].y) > 0.5 {
					b.WriteByte('\n')
				}
				b.WriteString(g.text)
			}
			st := stampInfo{page: i, text: b.String()}
			st.rect, _, _ = doc.rect(w["Rect"])
			if sig, _ := doc.dict(w["V"]); sig != nil {
				n, _ := sig["Name"].(pdfStr)
				st.name = decodeText(n)
			}
			found = append(found, st)
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestInvisible signs without appearance: no page is added and the widget
// has an empty rectangle.
func TestInvisible(t *testing.T) {
	files := corpus(t)
	p := getPKI(t)
	o := p.signers["ecdsa"].options()
	o.Invisible = true
	dir := t.TempDir()
	one := filepath.Join(dir, "one.pdf")
	data := signFile(t, files[0].path, one, o)
	checkSigned(t, one, 1)
	if !bytes.Contains(data, []byte("/Rect [0 0 0 0]")) {
		t.Error("invisible signature has a visible rectangle")
	}
	doc, err := openDocument(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, n, _ := doc.pageAt(-1); n != 1 {
		t.Errorf("invisible signature changed the page count to %d", n)
	}
}

// TestExistingField signs into a prepared empty signature field, keeps the
// other fields, and then adds a second signature in a new field.
func TestExistingField(t *testing.T) {
	files := corpus(t)
	p := getPKI(t)
	var form corpusFile
	for _, f := range files {
		if f.name == "form" {
			form = f
		}
	}
	dir := t.TempDir()
	o := p.signers["rsa"].options()
	o.FieldName = "Handtekening burgemeester"
	one := filepath.Join(dir, "one.pdf")
	signFile(t, form.path, one, o)
	checkSigned(t, one, 1)
	res, raw := pdfsig(t, one)
	if got := res[0].fields["Signature Field Name"]; got != o.FieldName {
		t.Errorf("field name %q:\n%s", got, raw)
	}
	// the appearance is drawn in the field's rectangle [300 500 520 570]
	txt, err := run(context.Background(), "", "pdftotext", "-f", "1", "-l", "1", "-x", "300", "-y", "272", "-W", "220", "-H", "70", one, "-")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(txt), "Zoë Çelik-Łukasiewicz") {
		t.Errorf("field rectangle shows %q", txt)
	}
	two := filepath.Join(dir, "two.pdf")
	o2 := p.signers["ecdsa"].options()
	data := signFile(t, one, two, o2)
	checkSigned(t, two, 2)
	doc, err := openDocument(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := doc.catalog()
	af, _ := doc.dict(cat["AcroForm"])
	if fields, _ := doc.array(af["Fields"]); len(fields) != 3 {
		t.Errorf("AcroForm has %d fields, want the text field, the mayor's and one new", len(fields))
	}
	o2.FieldName = "Naam"
	if err := Sign(context.Background(), bytes.NewReader(data), int64(len(data)), io.Discard, o2); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("signing into a text field: %v", err)
	}
}

// TestSignaturePageSlots signs eleven times without placeholder: the first
// signature appends a signature page, the next nine fill its slots, and the
// eleventh needs a second signature page.
func TestSignaturePageSlots(t *testing.T) {
	p := getPKI(t)
	data := makePDF(genPDF{pages: [][]string{{"Een pagina."}}})
	ids := []string{"rsa", "pss", "ecdsa"}
	for i := 0; i < 11; i++ {
		o := p.signers[ids[i%3]].options()
		var out bytes.Buffer
		if err := Sign(context.Background(), bytes.NewReader(data), int64(len(data)), &out, o); err != nil {
			t.Fatalf("signature %d: %v", i+1, err)
		}
		data = out.Bytes()
	}
	doc, err := openDocument(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, n, _ := doc.pageAt(-1); n != 3 {
		t.Errorf("%d pages, want the original and two signature pages", n)
	}
	for page, want := range map[int]int{2: 10, 3: 1} {
		pg, _, _ := doc.pageAt(page)
		if n, _ := countSigWidgets(doc, pg.dict); n != want {
			t.Errorf("page %d has %d signatures, want %d", page, n, want)
		}
	}
	path := filepath.Join(t.TempDir(), "eleven.pdf")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// pdfsig 22.12 (NSS) says "Unknown issue with Certificate" for every
	// other repeated use of a certificate within one file, though the
	// signatures verify and pdfcpu trusts the chain; so here pdfsig checks
	// the signatures and only the first use of each certificate.
	res, raw := pdfsig(t, path)
	if len(res) != 11 || !res[10].total {
		t.Fatalf("pdfsig:\n%s", raw)
	}
	for i, r := range res {
		if r.fields["Signature Validation"] != "Signature is Valid." || i < 3 && r.fields["Certificate Validation"] != "Certificate is Trusted." {
			t.Errorf("signature #%d: %v", i+1, r.fields)
		}
	}
	qpdfCheck(t, path)
	checkPdfcpu(t, path, 11)
}

// TestXrefKindPreserved checks the update's cross-reference section is of
// the same kind as the file's last one, and that /Prev links them.
func TestXrefKindPreserved(t *testing.T) {
	p := getPKI(t)
	for _, stm := range []bool{false, true} {
		in := makePDF(genPDF{xrefStream: stm, pages: [][]string{{"x"}}})
		var out bytes.Buffer
		if err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, p.signers["ecdsa"].options()); err != nil {
			t.Fatal(err)
		}
		orig, _ := openDocument(bytes.NewReader(in), int64(len(in)))
		doc, err := openDocument(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if doc.xrefIsStm != stm {
			t.Errorf("original xref stream %v, update xref stream %v", stm, doc.xrefIsStm)
		}
		if prev, _ := integer(doc.trailer["Prev"]); prev != orig.startxref {
			t.Errorf("/Prev %d, want %d", prev, orig.startxref)
		}
		id, _ := doc.trailer["ID"].(array)
		oid, _ := orig.trailer["ID"].(array)
		if len(id) != 2 || len(oid) != 2 || !reflect.DeepEqual(id[0], oid[0]) {
			t.Errorf("/ID %v does not keep the original %v", id, oid)
		}
	}
}
