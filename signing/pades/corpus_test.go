package pades

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/zlib"
	"context"
	"encoding/ascii85"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test corpus is generated, never downloaded: our own minimal PDFs,
// a LibreOffice export and qpdf rewrites of it.

// genPDF describes a PDF written by makePDF.
type genPDF struct {
	version    string
	pages      [][]string // lines of text per page
	xrefStream bool
	form       bool // add an AcroForm with a filled-in text field and an empty signature field
	padding    int  // bytes of incompressible image data per page, to make big files
	// rotate is written as /Rotate on every page, or on the page tree root
	// when rotateTree is set; the text and the form fields are laid out so
	// they read upright as the page is shown, as a landscape export does.
	rotate     int
	rotateTree bool
	// size and leading of the text; zero means 12 and 16 pt
	size, leading float64
	// filters encodes the content streams: "" plain, "a85flate" [/ASCII85Decode /FlateDecode],
	// "ahx" /ASCIIHexDecode, as some producers write them
	filters string
	// needAppearances sets the form's /NeedAppearances, as LibreOffice and hyperref do
	needAppearances bool
	// inForm draws each page's text from a Form XObject, scaled and moved by its /Matrix (not
	// with padding)
	inForm bool
}

// shownRotation normalises a /Rotate value the way viewers do.
func shownRotation(r int) int { return (r%360 + 360) % 360 }

// toUserSpace maps a point of the 595×842 page as shown (origin lower
// left, y up) to default user space: the inverse of rotating the page
// clockwise by r.
func toUserSpace(r int, x, y float64) (float64, float64) {
	switch shownRotation(r) {
	case 90:
		return 595 - y, x
	case 180:
		return 595 - x, 842 - y
	case 270:
		return y, 842 - x
	}
	return x, y
}

// shownRect maps a rectangle of the page as shown to a /Rect in user space.
func shownRect(r int, x0, y0, x1, y1 float64) string {
	ax, ay := toUserSpace(r, x0, y0)
	bx, by := toUserSpace(r, x1, y1)
	return fmt.Sprintf("[%g %g %g %g]", min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))
}

// makePDF returns a small, valid PDF with Helvetica text.
func makePDF(g genPDF) []byte {
	var b bytes.Buffer
	writePDF(&b, g) // a bytes.Buffer does not fail
	return b.Bytes()
}

// countWriter tracks the offset of what was written, for the xref.
type countWriter struct {
	w *bufio.Writer
	n int
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	return c.w.Write(p)
}

func (c *countWriter) WriteString(s string) (int, error) { return c.Write([]byte(s)) }
func (c *countWriter) Len() int                          { return c.n }

// writePDF streams the PDF to w, so even a 200 MB file needs little memory.
func writePDF(w io.Writer, g genPDF) error {
	b := &countWriter{w: bufio.NewWriter(w)}
	if g.version == "" {
		g.version = "1.7"
	}
	fmt.Fprintf(b, "%%PDF-%s\n%%\xe2\xe3\xcf\xd3\n", g.version)
	offsets := map[int]int{}
	obj := func(n int, body string) {
		offsets[n] = b.Len()
		fmt.Fprintf(b, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	// 1 catalog, 2 pages, 3 font, 4 info, 5 form field; pages from 10 on
	np := len(g.pages)
	var kids []string
	for i := 0; i < np; i++ {
		kids = append(kids, fmt.Sprintf("%d 0 R", 10+3*i))
	}
	cat := "<< /Type /Catalog /Pages 2 0 R"
	if g.form {
		na := ""
		if g.needAppearances {
			na = " /NeedAppearances true"
		}
		cat += " /AcroForm << /Fields [5 0 R 6 0 R] /DA (/Helv 10 Tf 0 g) /DR << /Font << /Helv 3 0 R >> >>" + na + " >>"
	}
	obj(1, cat+" >>")
	pageRotate, treeRotate := "", ""
	if g.rotate != 0 && g.rotateTree {
		treeRotate = fmt.Sprintf(" /Rotate %d", g.rotate)
	} else if g.rotate != 0 {
		pageRotate = fmt.Sprintf(" /Rotate %d", g.rotate)
	}
	// the height of the page as shown, and the matrix from there to user space
	shownH, toUser := 842.0, ""
	if r := shownRotation(g.rotate); r != 0 {
		ax, ay := toUserSpace(r, 0, 0)
		bx, by := toUserSpace(r, 1, 0)
		cx, cy := toUserSpace(r, 0, 1)
		toUser = fmt.Sprintf("%g %g %g %g %g %g cm\n", bx-ax, by-ay, cx-ax, cy-ay, ax, ay)
		if r%180 != 0 {
			shownH = 595
		}
	}
	obj(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 595 842]%s >>", strings.Join(kids, " "), np, treeRotate))
	obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj(4, "<< /Producer (signingd test corpus) /Title (Testdocument) >>")
	if g.form {
		mk := "" // a viewer draws the text field's value turned this far
		if r := shownRotation(g.rotate); r != 0 {
			mk = fmt.Sprintf(" /MK << /R %d >>", r)
		}
		obj(5, "<< /Type /Annot /Subtype /Widget /FT /Tx /T (Naam) /V (Jan Jansen) /Rect "+
			shownRect(g.rotate, 300, shownH-142, 500, shownH-122)+" /P 10 0 R /DA (/Helv 10 Tf 0 g) /F 4"+mk+" >>")
		// an empty signature field prepared for the mayor, [300 500 520 570]
		// as shown
		obj(6, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Handtekening burgemeester) /Rect "+
			shownRect(g.rotate, 300, 500, 520, 570)+" /P 10 0 R /F 4 >>")
	}
	for i, lines := range g.pages {
		var c bytes.Buffer
		c.WriteString(toUser)
		size, leading := cmp.Or(g.size, 12), cmp.Or(g.leading, 16)
		fmt.Fprintf(&c, "BT /F1 %g Tf 72 %g Td %g TL\n", size, shownH-72, leading)
		for _, l := range lines {
			var s bytes.Buffer
			writeString(&s, pdfStr(latin1(l)))
			fmt.Fprintf(&c, "%s Tj T*\n", s.String())
		}
		c.WriteString("ET\n")
		res := "<< /Font << /F1 3 0 R >> >>"
		annots := ""
		if g.form && i == 0 {
			annots = " /Annots [5 0 R 6 0 R]"
		}
		if g.padding > 0 {
			c.WriteString("q 100 0 0 100 400 100 cm /Im1 Do Q\n")
			res = fmt.Sprintf("<< /Font << /F1 3 0 R >> /XObject << /Im1 %d 0 R >> >>", 12+3*i)
		}
		obj(10+3*i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /Resources %s /Contents %d 0 R%s%s >>", res, 11+3*i, annots, pageRotate))
		if g.inForm && g.padding == 0 {
			// the text goes into a form drawn at half size, moved up by half the page: a form's
			// matrix and the page's cm both count
			form := c.Bytes()
			obj(12+3*i, fmt.Sprintf("<< /Type /XObject /Subtype /Form /BBox [0 0 1190 1684] /Matrix [0.5 0 0 0.5 0 421] /Resources << /Font << /F1 3 0 R >> >> /Length %d >>\nstream\n%s\nendstream", len(form), form))
			c.Reset()
			c.WriteString("q 1 0 0 1 0 0 cm /Fx1 Do Q\n")
			res = fmt.Sprintf("<< /XObject << /Fx1 %d 0 R >> >>", 12+3*i)
			obj(10+3*i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /Resources %s /Contents %d 0 R%s%s >>", res, 11+3*i, annots, pageRotate))
		}
		data, filter := encodeContent(g.filters, c.Bytes())
		obj(11+3*i, fmt.Sprintf("<< /Length %d%s >>\nstream\n%s\nendstream", len(data), filter, data))
		if g.padding > 0 {
			side := 1
			for side*side*3 < g.padding {
				side++
			}
			data := make([]byte, side*side*3)
			x := uint32(i + 1)
			for k := range data {
				x ^= x << 13
				x ^= x >> 17
				x ^= x << 5
				data[k] = byte(x)
			}
			offsets[12+3*i] = b.Len()
			fmt.Fprintf(b, "%d 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length %d >>\nstream\n",
				12+3*i, side, side, len(data))
			b.Write(data)
			b.WriteString("\nendstream\nendobj\n")
		}
	}
	nums := make([]int, 0, len(offsets))
	for n := range offsets {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	size := nums[len(nums)-1] + 1
	id := "<0123456789ABCDEF0123456789ABCDEF>"
	if g.xrefStream {
		xn := size
		size++
		offsets[xn] = b.Len()
		var data []byte
		for n := 0; n < size; n++ {
			off, ok := offsets[n]
			if !ok {
				data = append(data, 0, 0, 0, 0, 0, 0xff, 0xff)
				continue
			}
			data = append(data, 1, byte(off>>24), byte(off>>16), byte(off>>8), byte(off), 0, 0)
		}
		fmt.Fprintf(b, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Info 4 0 R /ID [%s %s] /Length %d >>\nstream\n",
			xn, size, id, id, len(data))
		b.Write(data)
		fmt.Fprintf(b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", offsets[xn])
		return b.w.Flush()
	}
	xref := b.Len()
	fmt.Fprintf(b, "xref\n0 %d\n", size)
	for n := 0; n < size; n++ {
		if off, ok := offsets[n]; ok {
			fmt.Fprintf(b, "%010d 00000 n\r\n", off)
		} else {
			b.WriteString("0000000000 65535 f\r\n")
		}
	}
	fmt.Fprintf(b, "trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R /ID [%s %s] >>\nstartxref\n%d\n%%%%EOF\n", size, id, id, xref)
	return b.w.Flush()
}

func latin1(s string) []byte {
	var b []byte
	for _, r := range s {
		if r > 0xff {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return b
}

var contractText = []string{
	"Overeenkomst gemeente Utrecht",
	"",
	"Partijen komen het volgende overeen.",
	"",
	"Handtekening: {{Signer1}}",
	"",
	"",
	"",
	"",
	"Tweede handtekening: {{Signer2}}",
}

// corpusFile is one input of the acceptance tests.
type corpusFile struct {
	name string
	path string
	// placeholders tells whether {{Signer1}} and {{Signer2}} are present.
	placeholders bool
}

var (
	corpusOnce  sync.Once
	corpusFiles []corpusFile
	corpusErr   error
	corpusDir   string
)

// TestMain owns the temporary directory the corpus and NSS database live in.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pades-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	corpusDir = dir
	code := m.Run()
	if pki != nil {
		pki.crlServer.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// corpus builds the corpus once per test binary.
func corpus(t *testing.T) []corpusFile {
	t.Helper()
	corpusOnce.Do(func() { corpusFiles, corpusErr = buildCorpus(corpusDir) })
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return corpusFiles
}

func run(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out, nil
}

func buildCorpus(dir string) ([]corpusFile, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var files []corpusFile
	add := func(name string, data []byte, ph bool) error {
		p := filepath.Join(dir, name+".pdf")
		files = append(files, corpusFile{name: name, path: p, placeholders: ph})
		return os.WriteFile(p, data, 0o644)
	}
	if err := add("simple", makePDF(genPDF{pages: [][]string{{"Eenvoudig document zonder plaatshouder."}}}), false); err != nil {
		return nil, err
	}
	if err := add("placeholder", makePDF(genPDF{pages: [][]string{{"Voorblad"}, contractText}}), true); err != nil {
		return nil, err
	}
	if err := add("pdf20", makePDF(genPDF{version: "2.0", xrefStream: true, pages: [][]string{contractText}}), true); err != nil {
		return nil, err
	}
	if err := add("form", makePDF(genPDF{form: true, pages: [][]string{{"Formulier met een bestaand veld."}}}), false); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("qpdf"); err != nil {
		return nil, fmt.Errorf("qpdf is required (see .ci/apt-packages.txt): %v", err)
	}
	// already signed: the simple file with one signature of ours, made
	// with a different signer than the tests use first
	p := getPKIForCorpus()
	if p == nil {
		return nil, fmt.Errorf("test PKI: %v", pkiErr)
	}
	simple, _ := os.ReadFile(files[0].path)
	var signed bytes.Buffer
	o := p.signers["ecdsa"].options()
	o.Time = time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	if err := Sign(ctx, bytes.NewReader(simple), int64(len(simple)), &signed, o); err != nil {
		return nil, fmt.Errorf("sign corpus file: %v", err)
	}
	if err := add("signed", signed.Bytes(), false); err != nil {
		return nil, err
	}
	// other writers from poppler-utils: cairo (subset fonts with ToUnicode)
	// and pdfunite (merged page trees)
	for _, tool := range []string{"pdftocairo", "pdfunite"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is required (poppler-utils, see .ci/apt-packages.txt): %v", tool, err)
		}
	}
	ph := filepath.Join(dir, "placeholder.pdf")
	if _, err := run(ctx, dir, "pdftocairo", "-pdf", ph, "cairo.pdf"); err != nil {
		return nil, err
	}
	files = append(files, corpusFile{name: "cairo", path: filepath.Join(dir, "cairo.pdf"), placeholders: true})
	if _, err := run(ctx, dir, "pdfunite", filepath.Join(dir, "simple.pdf"), ph, "unite.pdf"); err != nil {
		return nil, err
	}
	files = append(files, corpusFile{name: "pdfunite", path: filepath.Join(dir, "unite.pdf"), placeholders: true})

	// LibreOffice export and its qpdf variants
	// required like the other tools: a skip would hide a machine that lacks it
	if _, err := exec.LookPath("soffice"); err != nil {
		return nil, fmt.Errorf("soffice is required (libreoffice-writer-nogui, see .ci/apt-packages.txt): %v", err)
	}
	txt := "Overeenkomst gemeente Utrecht\n\nOndergetekende: Zoë Çelik-Łukasiewicz\n\nHandtekening: {{Signer1}}\n\n\n\n\nTweede handtekening: {{Signer2}}\n"
	if err := os.WriteFile(filepath.Join(dir, "libreoffice.txt"), []byte(txt), 0o644); err != nil {
		return nil, err
	}
	profile := "-env:UserInstallation=file://" + filepath.Join(dir, "lo-profile")
	if _, err := run(ctx, dir, "soffice", profile, "--headless", "--convert-to", "pdf", "libreoffice.txt"); err != nil {
		return nil, err
	}
	files = append(files, corpusFile{name: "libreoffice", path: filepath.Join(dir, "libreoffice.pdf"), placeholders: true})
	for _, v := range []struct{ name, flag string }{
		{"libreoffice-objstm", "--object-streams=generate"},
		{"libreoffice-linearized", "--linearize"},
	} {
		if _, err := run(ctx, dir, "qpdf", v.flag, "libreoffice.pdf", v.name+".pdf"); err != nil {
			return nil, err
		}
		files = append(files, corpusFile{name: v.name, path: filepath.Join(dir, v.name+".pdf"), placeholders: true})
	}
	return files, nil
}

func getPKIForCorpus() *testPKI {
	pkiOnce.Do(func() { pki, pkiErr = newTestPKI() })
	return pki
}

// encodeContent writes a content stream as the filters of genPDF say.
func encodeContent(filters string, c []byte) ([]byte, string) {
	switch filters {
	case "a85flate":
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(c)
		zw.Close()
		out := make([]byte, ascii85.MaxEncodedLen(z.Len()))
		n := ascii85.Encode(out, z.Bytes())
		return append(out[:n], "~>"...), " /Filter [/ASCII85Decode /FlateDecode]"
	case "ahx":
		return append([]byte(hex.EncodeToString(c)), '>'), " /Filter /ASCIIHexDecode"
	}
	return c, ""
}
