package pades

import (
	"bytes"
	"fmt"
	"time"
)

var dutchMonths = [...]string{"januari", "februari", "maart", "april", "mei", "juni", "juli",
	"augustus", "september", "oktober", "november", "december"}

// displayDate formats t the Dutch way, with its UTC offset so the reader
// knows which clock was meant.
func displayDate(t time.Time) string {
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%d %s %d, %02d:%02d (UTC%c%02d:%02d)", t.Day(), dutchMonths[t.Month()-1],
		t.Year(), t.Hour(), t.Minute(), sign, off/3600, off%3600/60)
}

// appearance draws the visible signature: an opaque box (it covers a
// placeholder text) with the label, the signer's name and the date. w and
// h are its size as shown on a page turned clockwise by rotate degrees.
func appearance(fu *fontUse, fontRef ref, w, h float64, rotate int, o *Options, t time.Time) *stream {
	label := o.Label
	if label == "" {
		label = "Digitaal ondertekend"
	}
	signer := o.Name
	if signer == "" && len(o.Certificates) > 0 {
		signer = o.Certificates[0].Subject.CommonName
	}
	type line struct {
		text       string
		size, gray float64 // size relative to the box height
	}
	lines := []line{
		{label, h * 0.16, 0.35},
		{signer, h * 0.24, 0},
		{displayDate(t), h * 0.14, 0.35},
	}
	if o.Reason != "" {
		lines = append(lines, line{o.Reason, h * 0.13, 0.35})
	}
	pad := min(6, w*0.05)
	var b bytes.Buffer
	fmt.Fprintf(&b, "q 1 g 0 0 %s %s re f Q\n", formatReal(w), formatReal(h))
	fmt.Fprintf(&b, "q 0.16 0.33 0.6 RG 0.8 w 0.4 0.4 %s %s re S Q\n", formatReal(w-0.8), formatReal(h-0.8))
	// scale the sizes so the lines fill the height, then shrink lines that
	// are too wide
	total := 0.0
	for _, l := range lines {
		total += l.size * 1.2
	}
	k := (h - 2*pad) / total
	y := h - pad
	b.WriteString("BT\n")
	for _, l := range lines {
		size := l.size * k
		hexText, width := fu.encode(l.text)
		if width > 0 && width*size/1000 > w-2*pad {
			size = (w - 2*pad) * 1000 / width
		}
		y -= l.size * k * 1.2
		fmt.Fprintf(&b, "%s g /F1 %s Tf 1 0 0 1 %s %s Tm %s Tj\n", formatReal(l.gray), formatReal(size),
			formatReal(pad), formatReal(y+l.size*k*0.25), hexText)
	}
	b.WriteString("ET\n")
	d := dict{"Type": name("XObject"), "Subtype": name("Form"),
		"BBox":      array{int64(0), int64(0), w, h},
		"Resources": dict{"Font": dict{"F1": fontRef}}}
	if m, ok := uprightMatrix(rotate, w, h); ok {
		d["Matrix"] = m
	}
	return flateStream(d, b.Bytes())
}

// uprightMatrix returns the form /Matrix that shows a w×h appearance
// upright on a page turned clockwise by rotate: it turns the form as far
// counterclockwise and moves it back to the origin. A viewer transforms the
// /BBox by /Matrix and fits the bounds of the result into the widget's
// /Rect (ISO 32000-1, 12.5.5), so the /Rect in user space is w×h, or h×w
// for a quarter turn. ok is false for an unrotated page.
func uprightMatrix(rotate int, w, h float64) (m array, ok bool) {
	switch rotate {
	case 90:
		return array{int64(0), int64(1), int64(-1), int64(0), h, int64(0)}, true
	case 180:
		return array{int64(-1), int64(0), int64(0), int64(-1), w, h}, true
	case 270:
		return array{int64(0), int64(-1), int64(1), int64(0), int64(0), w}, true
	}
	return nil, false
}

// sigPageContent draws the heading of an appended signature page.
func sigPageContent(fu *fontUse) []byte {
	var b bytes.Buffer
	title, _ := fu.encode("Ondertekening")
	sub, _ := fu.encode("Dit document is digitaal ondertekend. De handtekeningen staan hieronder.")
	fmt.Fprintf(&b, "BT 0.1 g /F1 20 Tf 1 0 0 1 50 %s Tm %s Tj\n", formatReal(a4[3]-70), title)
	fmt.Fprintf(&b, "/F1 10 Tf 1 0 0 1 50 %s Tm %s Tj ET\n", formatReal(a4[3]-95), sub)
	fmt.Fprintf(&b, "q 0.6 G 0.5 w 50 %s m %s %s l S Q\n", formatReal(a4[3]-108), formatReal(a4[2]-50), formatReal(a4[3]-108))
	return b.Bytes()
}
