package pades

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/signingd/signingd/internal/testkit"
)

func TestLexObjects(t *testing.T) {
	tests := []struct {
		in   string
		want object
	}{
		{"42", int64(42)},
		{"-3.5", -3.5},
		{".5", 0.5},
		{"/Name#20With#2FHash", name("Name With/Hash")},
		{"(a\\(b\\)c\\n\\101\\\r\nd)", pdfStr("a(b)c\nAd")},
		{"(nested (parens) ok)", pdfStr("nested (parens) ok")},
		{"<48 65 6C6C 6F>", pdfStr("Hello")},
		{"<4>", pdfStr("@")},
		{"[1 0 R 2 (x) /N]", array{ref{1, 0}, int64(2), pdfStr("x"), name("N")}},
		{"<< /A 1 /B [true false null] /C << /D 3 0 R >> /E null >>",
			dict{"A": int64(1), "B": array{true, false, nil}, "C": dict{"D": ref{3, 0}}}},
		{"% comment\n 7", int64(7)},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := newBytesLexer([]byte(tc.in)).object(0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestLexErrors(t *testing.T) {
	for _, in := range []string{"(unterminated", "<4G>", "[1 2", "<< /A 1", "<< 1 2 >>", ">", strings.Repeat("[", 100)} {
		t.Run(in, func(t *testing.T) {
			_, err := newBytesLexer([]byte(in)).object(0)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

// TestWriteObjectRoundTrip writes objects and parses them back.
func TestWriteObjectRoundTrip(t *testing.T) {
	objs := []object{
		dict{"Type": name("Sig"), "Name": textString("Zoë Çelik-Łukasiewicz"), "Odd": name("a b#c/d"),
			"Arr": array{int64(1), 2.25, ref{7, 1}, pdfStr("(x)\\"), pdfStr{0, 1, 255}, true, nil}},
		array{},
		pdfStr(""),
	}
	for _, o := range objs {
		var b bytes.Buffer
		writeObject(&b, o)
		got, err := newBytesLexer(b.Bytes()).object(0)
		if err != nil {
			t.Fatalf("%s: %v", b.Bytes(), err)
		}
		if !reflect.DeepEqual(got, o) {
			t.Errorf("round trip of %s: got %#v, want %#v", b.Bytes(), got, o)
		}
	}
	if got := decodeText(textString("Zoë Çelik-Łukasiewicz")); got != "Zoë Çelik-Łukasiewicz" {
		t.Errorf("text string round trip: %q", got)
	}
}

// TestReadVariants opens differently written files and reads every page.
func TestReadVariants(t *testing.T) {
	simple := makePDF(genPDF{pages: [][]string{{"een"}, {"twee"}, {"drie"}}})
	dir := t.TempDir()
	src := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(src, simple, 0o644); err != nil {
		t.Fatal(err)
	}
	variants := map[string][]byte{
		"table":        simple,
		"stream":       makePDF(genPDF{xrefStream: true, pages: [][]string{{"een"}, {"twee"}, {"drie"}}}),
		"19-byte rows": bytes.ReplaceAll(simple, []byte(" n\r\n"), []byte(" n\n")),
		// rows of irregular length fall back to token parsing
		"irregular rows": bytes.ReplaceAll(simple, []byte(" 00000 n\r\n"), []byte(" 0 n\n")),
	}
	for name, flags := range map[string][]string{
		"qpdf object streams": {"--object-streams=generate"},
		"qpdf linearized":     {"--linearize"},
		"qpdf both":           {"--object-streams=generate", "--linearize"},
	} {
		testkit.NeedTool(t, "qpdf")
		dst := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".pdf")
		if _, err := run(context.Background(), dir, "qpdf", append(flags, src, dst)...); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		variants[name] = data
	}
	for name, data := range variants {
		t.Run(name, func(t *testing.T) {
			doc, err := openDocument(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			err = doc.walkPages(func(i int, p *page) (bool, error) {
				g, err := doc.pageGlyphs(p)
				var sb strings.Builder
				for _, x := range g {
					sb.WriteString(x.text)
				}
				texts = append(texts, sb.String())
				return false, err
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"een", "twee", "drie"}; !reflect.DeepEqual(texts, want) {
				t.Errorf("page texts %q, want %q", texts, want)
			}
		})
	}
}

// TestFindText checks the position found for a placeholder: Helvetica
// without /Widths is measured with its standard metrics. On a rotated
// page the text is drawn turned so it reads upright as shown, and its
// length is measured along its baseline.
func TestFindText(t *testing.T) {
	for _, rotate := range []int{0, 90, 180, 270} {
		data := makePDF(genPDF{rotate: rotate, pages: [][]string{contractText}})
		doc, err := openDocument(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := doc.pageAt(1)
		if err != nil {
			t.Fatal(err)
		}
		hit, ok, err := doc.findText(p, "{{Signer1}}")
		if err != nil || !ok {
			t.Fatalf("rotate %d: not found: %v", rotate, err)
		}
		// line 5 of text at 72 from the left and top as shown, with 16 pt
		// leading, after "Handtekening: " in 12 pt Helvetica
		helv := func(s string) float64 {
			w := 0.0
			for _, c := range s {
				w += float64(std14Widths["Helvetica"][c-32]) * 12 / 1000
			}
			return w
		}
		shownH := 842.0
		if rotate%180 != 0 {
			shownH = 595
		}
		x, y := toUserSpace(rotate, 72+helv("Handtekening: "), shownH-72-4*16)
		ox, oy := toUserSpace(rotate, 0, 0)
		ex, ey := toUserSpace(rotate, 1, 0)
		want := placeholderHit{x: x, y: y, width: helv("{{Signer1}}"), height: 12, dir: [2]float64{ex - ox, ey - oy}}
		if math.Abs(hit.x-want.x) > 0.01 || math.Abs(hit.y-want.y) > 0.01 ||
			math.Abs(hit.width-want.width) > 0.01 || math.Abs(hit.height-want.height) > 0.01 ||
			math.Abs(hit.dir[0]-want.dir[0]) > 1e-9 || math.Abs(hit.dir[1]-want.dir[1]) > 1e-9 {
			t.Errorf("rotate %d: got %+v, want %+v", rotate, hit, want)
		}
		if _, ok, _ := doc.findText(p, "{{Signer3}}"); ok {
			t.Error("found a placeholder that is not there")
		}
	}
}

func TestToUnicode(t *testing.T) {
	cmap := `/CIDInit /ProcSet findresource begin
2 beginbfchar
<0003> <0020>
<0011> <00EB>
endbfchar
2 beginbfrange
<0020> <0022> <0041>
<0030> <0031> [<0141> <015F>]
endbfrange
endcmap`
	m := map[uint32]string{}
	parseToUnicode([]byte(cmap), m)
	want := map[uint32]string{3: " ", 0x11: "ë", 0x20: "A", 0x21: "B", 0x22: "C", 0x30: "Ł", 0x31: "ş"}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %v, want %v", m, want)
	}
}

// TestSubsetFont checks the embedded font subset keeps the glyphs used
// and is much smaller than the full font.
func TestSubsetFont(t *testing.T) {
	fu, err := newFontUse()
	if err != nil {
		t.Fatal(err)
	}
	fu.encode("Zoë Çelik-Łukasiewicz")
	objs, err := fu.objects([5]ref{{1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}})
	if err != nil {
		t.Fatal(err)
	}
	ff := objs[ref{4, 0}].(*stream)
	n, _ := integer(ff.dict["Length1"])
	if n <= 0 || n > 20000 {
		t.Errorf("subset is %d bytes", n)
	}
	if len(ff.data) > 12000 {
		t.Errorf("compressed subset is %d bytes", len(ff.data))
	}
}

// hybridPDF writes a hybrid-reference file: a classic table whose trailer
// points with /XRefStm to a stream listing the page, which lives in an
// object stream.
func hybridPDF() []byte {
	var b bytes.Buffer
	off := map[int]int{}
	b.WriteString("%PDF-1.5\n")
	obj := func(n int, body string) {
		off[n] = b.Len()
		b.WriteString(itoa(n) + " 0 obj\n" + body + "\nendobj\n")
	}
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	content := "BT /F1 12 Tf 72 700 Td (hybride {{Signer1}}) Tj ET"
	obj(4, "<< /Length "+itoa(len(content))+" >>\nstream\n"+content+"\nendstream")
	page := "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"
	head := "3 0 "
	obj(5, "<< /Type /ObjStm /N 1 /First "+itoa(len(head))+" /Length "+itoa(len(head)+len(page))+" >>\nstream\n"+head+page+"\nendstream")
	row := []byte{2, 0, 5, 0} // object 3: in object stream 5, index 0
	obj(6, "<< /Type /XRef /W [1 2 1] /Index [3 1] /Size 7 /Length 4 >>\nstream\n"+string(row)+"\nendstream")
	xref := b.Len()
	b.WriteString("xref\n0 3\n0000000000 65535 f\r\n")
	for _, n := range []int{1, 2} {
		b.WriteString(pad10(off[n]) + " 00000 n\r\n")
	}
	b.WriteString("4 3\n")
	for _, n := range []int{4, 5, 6} {
		b.WriteString(pad10(off[n]) + " 00000 n\r\n")
	}
	b.WriteString("trailer\n<< /Size 7 /Root 1 0 R /XRefStm " + itoa(off[6]) + " >>\nstartxref\n" + itoa(xref) + "\n%%EOF\n")
	return b.Bytes()
}

func pad10(n int) string {
	s := itoa(n)
	return strings.Repeat("0", 10-len(s)) + s
}

func TestHybridXref(t *testing.T) {
	data := hybridPDF()
	p := getPKI(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "hybrid.pdf")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	qpdfCheck(t, in)
	o := p.signers["ecdsa"].options()
	o.Placeholder = "{{Signer1}}"
	out := filepath.Join(dir, "signed.pdf")
	signFile(t, in, out, o)
	checkSigned(t, out, 1)
	// the placeholder is found on page 1, the page only the stream lists
	txt, err := run(context.Background(), "", "pdftotext", "-f", "1", "-l", "1", out, "-")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(txt), "Ayşe Kılıç") {
		t.Errorf("the appearance is not on the hybrid file's page:\n%s", txt)
	}
}
