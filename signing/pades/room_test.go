package pades

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/internal/testkit"
)

// TestStampsFit signs documents whose placeholders sit close to each other
// and to other text, one signer after the other, and checks that every
// stamp stays readable: no two stamps overlap, no stamp hides a word of the
// page but its own placeholder, each shows its own signer's name, and a
// placeholder without room points to the signature page instead.
func TestStampsFit(t *testing.T) {
	p := getPKI(t)
	testkit.NeedTool(t, "pdftotext")
	plain := func(lines ...string) []byte {
		data, err := report.Plain(lines...)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	// lines closer than the 14 pt of report.Plain: gap is added to it
	tight := func(gap float64, lines ...string) []byte {
		r := report.New(report.Info{})
		for i, l := range lines {
			if i > 0 {
				r.Gap(gap)
			}
			r.Line(report.Body, l)
		}
		data, err := r.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	filler := func(n int) []string {
		var ls []string
		for i := range n {
			ls = append(ls, fmt.Sprintf("Regel %d van de overwegingen bij dit besluit, die de hele breedte vult.", i+1))
		}
		return ls
	}
	tests := []struct {
		name    string
		pdf     []byte
		signers int
		noRoom  []int // signers (1-based) whose placeholder has no room
	}{
		// the demo's document (cmd/signingd/dev.go), where the issue was seen
		{"demo", plain("Besluit omgevingsvergunning", "Zaak ZAAK-2026-000123, Stationsplein 1, Utrecht", "",
			"Handtekening teamleider: {{Signer1}}", "", "Handtekening wethouder: {{Signer2}}"), 2, nil},
		{"two adjacent", plain("Besluit omgevingsvergunning", "",
			"Handtekening teamleider: {{Signer1}}", "Handtekening wethouder: {{Signer2}}",
			"Dit besluit is genomen op 6 mei 2026 en treedt direct in werking."), 2, nil},
		{"four adjacent", plain("Besluit omgevingsvergunning", "",
			"{{Signer1}}", "{{Signer2}}", "{{Signer3}}", "{{Signer4}}",
			"Dit besluit is genomen op 6 mei 2026 en treedt direct in werking."), 4, nil},
		{"four adjacent after labels", plain(append([]string{"Besluit omgevingsvergunning", ""},
			"Aanvrager: {{Signer1}}", "Teamleider vergunningen: {{Signer2}}", "Wethouder: {{Signer3}}", "Secretaris: {{Signer4}}")...), 4, nil},
		// genPDF fills the page to 18 pt above its edge; its Helvetica has
		// no /Widths, so the placeholders start their lines
		{"page bottom", makePDF(genPDF{pages: [][]string{append(filler(46), "{{Signer1}}", "{{Signer2}}")}}), 2, nil},
		{"mid-line", plain("Ik, {{Signer1}} verklaar dat ik akkoord ga met dit besluit en de voorwaarden.",
			"", "", "", "", "", "Ondertekend te Utrecht."), 1, nil},
		// an 8 pt line pitch leaves no room; the next placeholder has
		{"no room", tight(-6, append(filler(3),
			"Handtekening: {{Signer1}} en hier gaat de tekst nog even verder.",
			"Nog een regel onder de handtekening, even lang als de andere regels.",
			"", "", "", "Handtekening: {{Signer2}}")...), 2, []int{1}},
		// the same on pages shown turned a quarter: the stamps stack down the
		// page as the reader sees it
		{"two adjacent, turned page", makePDF(genPDF{rotate: 90, size: 10, leading: 14, pages: [][]string{{
			"Besluit", "", "{{Signer1}}", "{{Signer2}}", "Dit besluit treedt direct in werking."}}}), 2, nil},
		{"no room, turned page", makePDF(genPDF{rotate: 270, size: 10, leading: 8, pages: [][]string{append(filler(3),
			"{{Signer1}} en hier gaat de tekst nog even verder.", "Nog een regel onder de handtekening.")}}), 1, []int{1}},
	}
	ids := []string{"ecdsa", "pss", "rsa", "ecdsa2"}
	names := []string{"Ayşe Kılıç", "Søren Brønnum", "Zoë Çelik-Łukasiewicz", "Anouk de Vries"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			orig, err := openDocument(bytes.NewReader(tc.pdf), int64(len(tc.pdf)))
			if err != nil {
				t.Fatal(err)
			}
			_, pages, err := orig.pageAt(-1)
			if err != nil {
				t.Fatal(err)
			}
			data := tc.pdf
			for i := range tc.signers {
				o := p.signers[ids[i]].options()
				o.Name = names[i]
				o.Placeholder = fmt.Sprintf("{{Signer%d}}", i+1)
				o.Time = time.Date(2026, 5, 6, 9, 15, 0, 0, time.FixedZone("CEST", 7200))
				var at Placement
				o.Placed = func(p Placement) { at = p }
				var out bytes.Buffer
				if err := Sign(context.Background(), bytes.NewReader(data), int64(len(data)), &out, o); err != nil {
					t.Fatalf("signer %d: %v", i+1, err)
				}
				data = out.Bytes()
				// where it went is said, never silent
				if slices.Contains(tc.noRoom, i+1) {
					if at.AtPlaceholder || at.Missed != "no room" || !at.SignaturePage {
						t.Errorf("signer %d (no room): placed %+v", i+1, at)
					}
				} else if !at.AtPlaceholder || at.Missed != "" {
					t.Errorf("signer %d: placed %+v, want at the placeholder", i+1, at)
				}
			}
			path := filepath.Join(t.TempDir(), "signed.pdf")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if keep := os.Getenv("PADES_KEEP"); keep != "" {
				os.WriteFile(filepath.Join(keep, "stamps-"+strings.ReplaceAll(tc.name, " ", "-")+".pdf"), data, 0o644)
			}

			// every signature valid and trusted, the file clean
			sigs := testkit.PDFSigBytes(t, data, p.root)
			if total, valid := testkit.ValidSignatures(sigs); total != tc.signers || valid != tc.signers {
				t.Errorf("pdfsig: %d signatures, %d valid, want %d:\n%s", total, valid, tc.signers, sigs)
			}
			qpdfCheck(t, path)

			got := stamps(t, data)
			if len(got) != tc.signers {
				t.Fatalf("%d stamps, want %d: %+v", len(got), tc.signers, got)
			}
			for i, a := range got {
				for _, b := range got[i+1:] {
					if a.page == b.page && overlap(a.rect, b.rect) {
						t.Errorf("the stamps of %s %v and %s %v overlap", a.name, a.rect, b.name, b.rect)
					}
				}
			}
			for _, s := range got {
				n := slices.Index(names, s.name)
				if n < 0 || n >= tc.signers {
					t.Errorf("stamp of an unknown signer %q", s.name)
					continue
				}
				// the stamp shows its signer's name, and no other
				for k, other := range names[:tc.signers] {
					if has := strings.Contains(s.text, other); has != (k == n) {
						t.Errorf("stamp of %s on page %d: contains %q is %v:\n%s", s.name, s.page, other, has, s.text)
					}
				}
				if want := slices.Contains(tc.noRoom, n+1); want != (s.page > pages) {
					t.Errorf("stamp of %s on page %d (the document has %d pages), want on the signature page %v", s.name, s.page, pages, want)
				}
				if s.page > pages {
					continue
				}
				// nothing of the original page but its placeholder under it
				pg, _, err := orig.pageAt(s.page)
				if err != nil {
					t.Fatal(err)
				}
				glyphs, err := orig.pageGlyphs(pg)
				if err != nil {
					t.Fatal(err)
				}
				_, own, ok := matchText(glyphs, fmt.Sprintf("{{Signer%d}}", n+1))
				if !ok {
					t.Fatalf("placeholder of %s not on page %d", s.name, s.page)
				}
				for k, g := range glyphs {
					if k >= own[0] && k <= own[1] || strings.TrimSpace(g.text) == "" {
						continue
					}
					// the glyph's ink: its advance, from below the baseline to
					// the ascender, whichever way the text runs in user space
					ink := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
					for _, c := range [][2]float64{{0, -0.2}, {0, 0.7}, {g.adv, -0.2}, {g.adv, 0.7}} {
						x := g.x + c[0]*g.dir[0] + c[1]*g.size*g.up[0]
						y := g.y + c[0]*g.dir[1] + c[1]*g.size*g.up[1]
						ink = [4]float64{min(ink[0], x), min(ink[1], y), max(ink[2], x), max(ink[3], y)}
					}
					if overlap(s.rect, ink) {
						t.Errorf("stamp of %s %v covers %q at %v", s.name, s.rect, g.text, ink)
					}
				}
			}
			// where there was no room, the placeholder says where to look
			if len(tc.noRoom) > 0 {
				txt, err := run(context.Background(), "", "pdftotext", "-f", "1", "-l", itoa(pages), path, "-")
				if err != nil {
					t.Fatal(err)
				}
				if c := strings.Count(string(txt), coverText); c != len(tc.noRoom) {
					t.Errorf("the original pages say %q %d times, want %d:\n%s", coverText, c, len(tc.noRoom), txt)
				}
			}
		})
	}
}

// overlap tells whether two rectangles share more than an edge.
func overlap(a, b [4]float64) bool {
	const eps = 0.01
	return a[0] < b[2]-eps && b[0] < a[2]-eps && a[1] < b[3]-eps && b[1] < a[3]-eps
}

// TestLegibleMinimum checks the smallest stamp: two lines of 6 pt fit in
// minStampH, and nothing smaller is accepted; the name is always drawn.
// TestPlacementNotFound: a placeholder that is not in the document is said, with the signature
// on the signature page.
func TestPlacementNotFound(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	o := p.signers["ecdsa"].options()
	o.Placeholder = "{{Nobody}}"
	var at Placement
	o.Placed = func(p Placement) { at = p }
	signBytes(t, makePDF(genPDF{pages: [][]string{{"Besluit", "Handtekening: {{Signer1}}"}}}), o)
	if at != (Placement{Missed: "not found", SignaturePage: true}) {
		t.Errorf("placed %+v, want not found, on the signature page", at)
	}
}

func TestLegibleMinimum(t *testing.T) {
	fu, err := newFontUse()
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Name: "Zoë Çelik-Łukasiewicz", Reason: "Akkoord"}
	s := newStamp(fu, &o, time.Date(2026, 5, 6, 9, 15, 0, 0, time.UTC))
	for _, tc := range []struct {
		w, h   float64
		ok     bool
		lines  int
		source string
	}{
		{placeW, placeH, true, 4, "the full stamp"},
		{placeW, minStampH, true, 2, "name and date"},
		{placeW, minStampH - 0.5, false, 1, "too low"},
		{placeW, 40, true, 3, "three lines"},
		{80, placeH, true, 1, "narrow: the name alone"},
		{30, placeH, false, 1, "too narrow"},
	} {
		f, ok := s.fit(tc.w, tc.h)
		if ok != tc.ok || len(f.lines) != tc.lines {
			t.Errorf("%s (%g×%g): ok %v with %d lines, want %v with %d", tc.source, tc.w, tc.h, ok, len(f.lines), tc.ok, tc.lines)
		}
		if !strings.Contains(f.lines[f.name].text, o.Name) {
			t.Errorf("%s: the name line is %q", tc.source, f.lines[f.name].text)
		}
		for i, size := range f.size {
			if ok && size < minFont-1e-9 {
				t.Errorf("%s: line %d at %g pt", tc.source, i, size)
			}
		}
	}
}

// TestPlaceholderInEncodedContent: a placeholder in a content stream encoded with a filter chain
// ([/ASCII85Decode /FlateDecode], as some producers write) or ASCIIHex is found.
func TestPlaceholderInEncodedContent(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	for _, f := range []string{"a85flate", "ahx"} {
		o := p.signers["ecdsa"].options()
		o.Placeholder = "{{Signer1}}"
		var at Placement
		o.Placed = func(p Placement) { at = p }
		in := makePDF(genPDF{filters: f, pages: [][]string{{"Besluit", "{{Signer1}}", "", "", "Einde"}}})
		out := signBytes(t, in, o)
		if !at.AtPlaceholder {
			t.Errorf("%s: placed %+v, want at the placeholder", f, at)
		}
		path := filepath.Join(t.TempDir(), "signed.pdf")
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		if total, valid := testkit.ValidSignatures(testkit.PDFSigBytes(t, out, p.root)); total != 1 || valid != 1 {
			t.Errorf("%s: %d signatures, %d valid", f, total, valid)
		}
	}
}

// TestPlaceholderInFormXObject: a placeholder drawn by a Form XObject (scaled and moved by its
// matrix) is found where it is shown, and the stamp covers it.
func TestPlaceholderInFormXObject(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	o := p.signers["ecdsa"].options()
	o.Placeholder = "{{Signer1}}"
	var at Placement
	o.Placed = func(p Placement) { at = p }
	in := makePDF(genPDF{inForm: true, pages: [][]string{{"Besluit", "{{Signer1}}", "", "", "", "Einde"}}})
	glyphs := firstPageGlyphs(t, in)
	hit, _, ok := matchText(glyphs, "{{Signer1}}")
	// the form draws at half size with its origin moved up 421 pt: text set at x 72 in 12 pt
	// shows at x 36 in 6 pt
	if !ok || math.Abs(hit.height-6) > 0.01 || math.Abs(hit.x-36) > 0.01 {
		t.Fatalf("placeholder found %v at %+v, want at x 36 with 6 pt letters (the form's matrix applied)", ok, hit)
	}
	out := signBytes(t, in, o)
	if !at.AtPlaceholder {
		t.Errorf("placed %+v, want at the placeholder", at)
	}
	if total, valid := testkit.ValidSignatures(testkit.PDFSigBytes(t, out, p.root)); total != 1 || valid != 1 {
		t.Errorf("%d signatures, %d valid", total, valid)
	}
}

// TestOldVersionRaised: a PDF 1.2 document's catalog says 1.7 once it holds a signature (its
// /SigFlags and CAdES signature are 1.7 features); a 1.7 document's catalog is left alone.
func TestOldVersionRaised(t *testing.T) {
	t.Parallel()
	p := getPKI(t)
	for _, tc := range []struct{ version, want string }{{"1.2", "1.7"}, {"1.7", ""}} {
		in := makePDF(genPDF{version: tc.version, pages: [][]string{{"Besluit"}}})
		out := signBytes(t, in, p.signers["ecdsa"].options())
		doc, err := openDocument(bytes.NewReader(out), int64(len(out)))
		if err != nil {
			t.Fatal(err)
		}
		cat, err := doc.catalog()
		if err != nil {
			t.Fatal(err)
		}
		if got := nameString(cat["Version"]); got != tc.want {
			t.Errorf("PDF %s: catalog /Version %q, want %q", tc.version, got, tc.want)
		}
	}
}

// TestStandardFontWithoutWidths: text in a standard font without /Widths (Helvetica, as many
// generators write it) is measured with the standard metrics: the placeholder is found where
// poppler draws it, not offset by the rest of its line.
func TestStandardFontWithoutWidths(t *testing.T) {
	t.Parallel()
	matchesPoppler(t, makePDF(genPDF{pages: [][]string{{"Besluit", "Handtekening van de wethouder: {{Signer1}}"}}}), "{{Signer1}}")
}

// TestNeedAppearances: a form that asks viewers to draw its fields anew (/NeedAppearances true)
// still shows the signature in poppler, and its text field keeps its value.
func TestNeedAppearances(t *testing.T) {
	t.Parallel()
	testkit.NeedTool(t, "pdftoppm")
	p := getPKI(t)
	in := makePDF(genPDF{form: true, needAppearances: true, pages: [][]string{{"Aanvraag", "", "", "", "", "", "", "", "Einde"}}})
	o := p.signers["ecdsa"].options()
	o.Name = "Anouk de Vries"
	out := signBytes(t, in, o)
	doc, err := openDocument(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := doc.catalog()
	if err != nil {
		t.Fatal(err)
	}
	if form, _ := doc.dict(cat["AcroForm"]); form == nil || form["NeedAppearances"] == true {
		t.Errorf("AcroForm after signing: %v", form)
	}
	st := stamps(t, out)
	if len(st) != 1 {
		t.Fatalf("stamps %+v", st)
	}
	// poppler's rendering of the stamp's box is not blank
	dir := t.TempDir()
	path := filepath.Join(dir, "signed.pdf")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	img := renderPage(t, path, st[0].page)
	r, h := st[0].rect, float64(img.Bounds().Dy())
	if dark := darkPixels(img, int(r[0]+2), int(h-r[3]+2), int(r[2]-2), int(h-r[1]-2)); dark < 50 {
		t.Errorf("poppler draws the signature's box %v blank (%d dark pixels)", r, dark)
	}
	// and the text field's value ("Jan Jansen", without an appearance of its own) still shows
	dark := darkPixels(renderPage(t, path, 1), 300, 122, 500, 142)
	if dark < 20 {
		t.Errorf("the text field's value is not drawn (%d dark pixels)", dark)
	}
}

// type3PDF is a one-page PDF whose text is in a Type 3 font with a /FontMatrix of 0.01 (glyphs
// 100 units to the em, each 60 units wide) and a ToUnicode map, as some report generators write.
func type3PDF(line string) []byte {
	var b bytes.Buffer
	var offs []int
	obj := func(body string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	b.WriteString("%PDF-1.7\n")
	widths := strings.TrimSpace(strings.Repeat("60 ", 95))
	var cmap strings.Builder
	cmap.WriteString("/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /T3 def\n1 begincodespacerange <00> <FF> endcodespacerange\n")
	cmap.WriteString("1 beginbfrange <20> <7E> <0020> endbfrange\nendcmap CMapName currentdict /CMap defineresource pop end end\n")
	content := fmt.Sprintf("BT /T3 12 Tf 72 700 Td (%s) Tj ET\n", line)
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>")
	obj("<< /Type /Page /Parent 2 0 R /Resources << /Font << /T3 5 0 R >> >> /Contents 4 0 R >>")
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	obj("<< /Type /Font /Subtype /Type3 /FontBBox [0 0 60 100] /FontMatrix [0.01 0 0 0.01 0 0] /CharProcs << /g 7 0 R >> " +
		"/Encoding << /Type /Encoding /Differences [32 " + strings.TrimSpace(strings.Repeat("/g ", 95)) + "] >> /FirstChar 32 /LastChar 126 /Widths [" + widths + "] /ToUnicode 6 0 R /Resources << >> >>")
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", cmap.Len(), cmap.String()))
	glyph := "60 0 0 0 50 70 d1 0 0 50 70 re f\n"
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(glyph), glyph))
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// TestType3Font: text in a Type 3 font is measured through its /FontMatrix: the placeholder is
// found where poppler draws it.
func TestType3Font(t *testing.T) {
	t.Parallel()
	matchesPoppler(t, type3PDF("Handtekening: {{Signer1}}"), "{{Signer1}}")
}

// matchesPoppler checks that the placeholder text of a one-page PDF is found where poppler draws
// it (pdftotext -bbox), within half a point.
func matchesPoppler(t *testing.T, in []byte, placeholder string) {
	t.Helper()
	testkit.NeedTool(t, "pdftotext")
	glyphs := firstPageGlyphs(t, in)
	hit, _, ok := matchText(glyphs, placeholder)
	if !ok {
		t.Fatal("placeholder not found")
	}
	path := filepath.Join(t.TempDir(), "in.pdf")
	if err := os.WriteFile(path, in, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-bbox", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<word xMin="([0-9.]+)"[^>]*>` + regexp.QuoteMeta(placeholder) + `</word>`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("poppler does not show the placeholder:\n%s", out)
	}
	want, _ := strconv.ParseFloat(string(m[1]), 64)
	if math.Abs(hit.x-want) > 0.5 {
		t.Errorf("placeholder found at x %.2f, poppler draws it at %.2f", hit.x, want)
	}
}

// firstPageGlyphs returns the characters drawn on the first page of a PDF.
func firstPageGlyphs(t *testing.T, in []byte) []glyphPos {
	t.Helper()
	doc, err := openDocument(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	pg, _, err := doc.pageAt(1)
	if err != nil {
		t.Fatal(err)
	}
	glyphs, err := doc.pageGlyphs(pg)
	if err != nil {
		t.Fatal(err)
	}
	return glyphs
}

// renderPage renders a page of the PDF at path with poppler at 72 dpi (a pixel a point).
func renderPage(t *testing.T, path string, page int) image.Image {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "page")
	n := strconv.Itoa(page)
	if b, err := exec.Command("pdftoppm", "-png", "-r", "72", "-f", n, "-l", n, "-singlefile", path, prefix).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	f, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// darkPixels counts the pixels darker than mid-grey in the rectangle from (x0, y0) to (x1, y1),
// y down from the top.
func darkPixels(img image.Image, x0, y0, x1, y1 int) int {
	dark := 0
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			if c := color.GrayModel.Convert(img.At(x, y)).(color.Gray); c.Y < 128 {
				dark++
			}
		}
	}
	return dark
}
