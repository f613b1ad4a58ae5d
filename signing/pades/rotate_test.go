package pades

import (
	"bytes"
	"context"
	"html"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/signingd/signingd/internal/testkit"
)

// TestRotatedPages signs pages shown rotated (/Rotate on the page, inherited
// from the page tree, negative or beyond 360) at a placeholder, in a
// prepared field and on a signature page, and checks with poppler that the
// signature verifies, that the appearance sits where the caller meant in the
// page as shown, and that its text reads upright there.
func TestRotatedPages(t *testing.T) {
	p := getPKI(t)
	testkit.NeedTool(t, "pdftotext")
	testkit.NeedTool(t, "pdftoppm")
	rotations := []struct {
		name   string
		rotate int
		tree   bool // on the page tree root, inherited by the page
	}{
		{"0", 0, false},
		{"90", 90, false},
		{"180", 180, false},
		{"270", 270, false},
		{"inherited-90", 90, true},
		{"minus-90", -90, false},
		{"450", 450, false},
	}
	placements := []struct {
		name string
		form bool    // sign the prepared field of a form
		page string  // page that carries the appearance
		tol  float64 // points the rendered frame may be off
	}{
		// the placeholder is measured by our extractor at half an em per
		// letter (Helvetica without /Widths), by poppler with real metrics
		{"placeholder", false, "1", 5},
		{"field", true, "1", 2.5},
		{"signature-page", false, "2", 2.5},
	}
	for _, rc := range rotations {
		for _, pc := range placements {
			t.Run(rc.name+"/"+pc.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				g := genPDF{rotate: rc.rotate, rotateTree: rc.tree, pages: [][]string{contractText}}
				if pc.form {
					g.form, g.pages = true, [][]string{{"Formulier met een bestaand veld."}}
				}
				in := filepath.Join(dir, "in.pdf")
				if err := os.WriteFile(in, makePDF(g), 0o644); err != nil {
					t.Fatal(err)
				}
				o := p.signers["rsa"].options()
				o.Time = time.Date(2026, 5, 6, 9, 15, 0, 0, time.FixedZone("CEST", 7200))
				// where the appearance must be, in the page as shown (points,
				// origin top left, as pdftotext and pdftoppm report)
				var want box
				switch pc.name {
				case "placeholder":
					o.Placeholder = "{{Signer1}}"
					// pdftotext tells where the placeholder is shown; the box
					// starts there, its top just above the text, and extends
					// 200 × 62 right and down
					ph := findWords(t, in, "1", "{{Signer1}}")
					if len(ph) != 1 || !ph[0].wide() {
						t.Fatalf("the unsigned page does not show the placeholder upright: %+v", ph)
					}
					want = box{ph[0].x0, ph[0].y0, ph[0].x0 + 200, ph[0].y0 + 62}
				case "field":
					o.FieldName = "Handtekening burgemeester"
					shownH := 842.0
					if shownRotation(rc.rotate)%180 != 0 {
						shownH = 595
					}
					want = box{300, shownH - 570, 520, shownH - 500}
				case "signature-page":
					// the first slot of the appended A4 page
					want = box{50, 130, 290, 230}
				}
				out := filepath.Join(dir, "out.pdf")
				signFile(t, in, out, o)
				if keep := os.Getenv("PADES_KEEP"); keep != "" {
					data, _ := os.ReadFile(out)
					os.WriteFile(filepath.Join(keep, "rotate-"+rc.name+"-"+pc.name+".pdf"), data, 0o644)
				}
				checkSigned(t, out, 1)

				// the rendered page: the blue frame of the appearance
				// encloses the wanted box
				frame := renderedFrame(t, out, pc.page)
				if !frame.near(want, pc.tol) {
					t.Errorf("rendered appearance frame at %v, want %v", frame, want)
				}

				// the text: every word runs left to right, the lines stack top
				// to bottom, all inside the box
				var lines [][]word
				for _, l := range [][]string{
					{"Digitaal", "ondertekend"},
					{"Zoë", "Çelik-Łukasiewicz"},
					{"6", "mei", "2026,", "09:15", "(UTC+02:00)"},
				} {
					var ws []word
					for _, s := range l {
						found := findWords(t, out, pc.page, s)
						if len(found) != 1 {
							t.Fatalf("page %s shows %q %d times, want once: %+v", pc.page, s, len(found), found)
						}
						ws = append(ws, found[0])
					}
					lines = append(lines, ws)
				}
				for i, l := range lines {
					for k, w := range l {
						if utf8.RuneCountInString(w.text) >= 6 && !w.wide() {
							t.Errorf("%q is drawn sideways: %+v", w.text, w)
						}
						if !want.contains(w, 1.5) {
							t.Errorf("%q at %+v lies outside the appearance %v", w.text, w, want)
						}
						if k > 0 && w.x0 < l[k-1].x1-0.5 {
							t.Errorf("%q does not follow %q to the right: %+v, %+v", w.text, l[k-1].text, l[k-1], w)
						}
						if i > 0 && w.y0 < lines[i-1][0].y1-0.5 {
							t.Errorf("%q is not below the line of %q: %+v, %+v", w.text, lines[i-1][0].text, lines[i-1][0], w)
						}
					}
				}
			})
		}
	}
}

// box is a rectangle of the page as shown, in points from the top left.
type box struct{ x0, y0, x1, y1 float64 }

func (b box) near(o box, tol float64) bool {
	return math.Abs(b.x0-o.x0) <= tol && math.Abs(b.y0-o.y0) <= tol && math.Abs(b.x1-o.x1) <= tol && math.Abs(b.y1-o.y1) <= tol
}

func (b box) contains(w word, tol float64) bool {
	return w.x0 >= b.x0-tol && w.y0 >= b.y0-tol && w.x1 <= b.x1+tol && w.y1 <= b.y1+tol
}

// word is one word of pdftotext -bbox-layout.
type word struct {
	box
	text string
}

// wide tells that the word runs horizontally: a word of six letters or
// more drawn sideways has a tall, narrow box.
func (w word) wide() bool { return w.x1-w.x0 > 1.5*(w.y1-w.y0) }

var bboxWord = regexp.MustCompile(`<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">([^<]*)</word>`)

// findWords returns the words equal to text that pdftotext finds on a page,
// with their boxes in the page as shown.
func findWords(t *testing.T, path, page, text string) []word {
	t.Helper()
	out, err := run(context.Background(), "", "pdftotext", "-bbox-layout", "-f", page, "-l", page, path, "-")
	if err != nil {
		t.Fatal(err)
	}
	var ws []word
	for _, m := range bboxWord.FindAllStringSubmatch(string(out), -1) {
		if html.UnescapeString(m[5]) != text {
			continue
		}
		var f [4]float64
		for i := range f {
			f[i], _ = strconv.ParseFloat(m[i+1], 64)
		}
		ws = append(ws, word{box{f[0], f[1], f[2], f[3]}, text})
	}
	return ws
}

// renderedFrame renders a page with pdftoppm at 50 dpi and returns the
// bounds of the blue appearance frame, in points of the page as shown.
// The test pages hold nothing else in colour.
func renderedFrame(t *testing.T, path, page string) box {
	t.Helper()
	const dpi = 50
	prefix := filepath.Join(t.TempDir(), "page")
	msg, err := run(context.Background(), "", "pdftoppm", "-r", strconv.Itoa(dpi), "-png", "-singlefile", "-f", page, "-l", page, path, prefix)
	if err != nil || len(bytes.TrimSpace(msg)) > 0 {
		t.Fatalf("pdftoppm: %v %s", err, msg)
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
	r := img.Bounds()
	x0, y0, x1, y1 := r.Max.X, r.Max.Y, -1, -1
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cb > cr+0x1800 && cb > cg+0x1000 {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x+1), max(y1, y+1)
			}
		}
	}
	if x1 < 0 {
		t.Fatalf("page %s of %s: no appearance frame rendered", page, filepath.Base(path))
	}
	pt := func(px int) float64 { return float64(px) * 72 / dpi }
	b := box{pt(x0), pt(y0), pt(x1), pt(y1)}
	t.Logf("frame %v in a %d×%d px render", b, r.Dx(), r.Dy())
	return b
}

// TestView checks the mapping between user space and the page as shown on
// a crop box away from the origin: it round-trips, and the crop box fills
// the page as shown exactly.
func TestView(t *testing.T) {
	for _, r := range []int64{0, 90, 180, 270, -90, 450, 45} {
		v := view{box: [4]float64{10, 20, 310, 420}, rotate: normRotate(r)}
		w, h := v.size()
		if v.rotate%180 != 0 && (w != 400 || h != 300) || v.rotate%180 == 0 && (w != 300 || h != 400) {
			t.Errorf("rotate %d: shown size %g×%g", r, w, h)
		}
		if got := v.userRect([4]float64{0, 0, w, h}); got != v.box {
			t.Errorf("rotate %d: the page as shown is %v in user space, want the crop box", r, got)
		}
		for _, p := range [][2]float64{{10, 20}, {310, 420}, {50, 400}} {
			x, y := v.shown(p[0], p[1])
			if ux, uy := v.user(x, y); ux != p[0] || uy != p[1] {
				t.Errorf("rotate %d: %v → (%g, %g) → (%g, %g)", r, p, x, y, ux, uy)
			}
		}
	}
}
