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

// The legible minimum of a stamp: no line smaller than minFont, and room
// for two lines of it (name and date) set solid with a thin padding. 6 pt
// is the smallest print still read without effort, as in the fine print of
// a form; two such lines fit the 14 pt line pitch of a document set in
// 10 pt, so placeholders on adjacent lines each get a stamp.
const (
	minFont        = 6.0
	minPad         = 0.7 // room for a 0.5 pt frame
	compactLeading = 1.0 // Go Regular's ink spans 0.98 em: solid lines do not touch
	minStampH      = 2*compactLeading*minFont + 2*minPad
)

// stampLine is one line of a stamp: its text, its size relative to the
// other lines and its grey.
type stampLine struct {
	text      string
	rel, gray float64
}

// stamp is what a visible signature says, in the ways it can be laid out,
// richest first.
type stamp struct {
	fu      *fontUse
	layouts []stampLayout
}

// stampLayout is a set of lines and their line height (a multiple of the
// font size); name is the index of the line with the signer's name.
type stampLayout struct {
	lines   []stampLine
	leading float64
	name    int
}

func newStamp(fu *fontUse, o *Options, t time.Time) *stamp {
	label := o.Label
	if label == "" {
		label = "Digitaal ondertekend"
	}
	signer := o.Name
	if signer == "" && len(o.Certificates) > 0 {
		signer = o.Certificates[0].Subject.CommonName
	}
	date := displayDate(t)
	full := []stampLine{{label, 0.16, 0.35}, {signer, 0.24, 0}, {date, 0.14, 0.35}}
	s := &stamp{fu: fu}
	if o.Reason != "" {
		s.layouts = append(s.layouts, stampLayout{append(full[:3:3], stampLine{o.Reason, 0.13, 0.35}), 1.2, 1})
	}
	s.layouts = append(s.layouts,
		stampLayout{full, 1.2, 1},
		// a low box: fewer lines, the label joined to the name
		stampLayout{[]stampLine{{label + " door " + signer, 1, 0}, {date, 1, 0.35}}, compactLeading, 0},
		stampLayout{[]stampLine{{signer, 1, 0}, {date, 1, 0.35}}, compactLeading, 0},
		// a narrow box: the name alone
		stampLayout{[]stampLine{{signer, 1, 0}}, compactLeading, 0})
	return s
}

// fitted is a layout set in a w×h box: each line's font size and baseline.
type fitted struct {
	stampLayout
	size, base []float64
	pad, padY  float64
	used       float64 // the height the lines and padding take
}

func (f fitted) nameSize() float64 { return f.size[f.name] }

// fit sets the richest layout that keeps every line at minFont or larger
// in a w×h box. When none does, it returns the name alone, as large as it
// goes, and ok false: a prepared field is signed whatever its size.
func (s *stamp) fit(w, h float64) (f fitted, ok bool) {
	if h < minStampH-1e-9 {
		f, _ = s.set(s.layouts[len(s.layouts)-1], w, h)
		return f, false
	}
	for _, l := range s.layouts {
		if f, ok = s.set(l, w, h); ok {
			return f, true
		}
	}
	return f, false
}

// set scales the lines of l to fill the height of the box, shrinks those
// too wide for it, and tells whether all stay legible.
func (s *stamp) set(l stampLayout, w, h float64) (fitted, bool) {
	padY := min(6, max(minPad, minPad+(h-minStampH)/4))
	padX := min(6, max(minPad, w*0.05))
	total := 0.0
	for _, ln := range l.lines {
		total += ln.rel * l.leading
	}
	k := (h - 2*padY) / total
	f := fitted{stampLayout: l, pad: padX, padY: padY}
	ok := k > 0
	y := h - padY
	for _, ln := range l.lines {
		size := ln.rel * k
		if width := s.fu.width(ln.text); width > 0 && width*size/1000 > w-2*padX {
			size = (w - 2*padX) * 1000 / width
		}
		// a line shrunk to the width takes less height: the rest stays
		// together at the top
		y -= size * l.leading
		f.size = append(f.size, size)
		f.base = append(f.base, y+size*((l.leading-1)/2+inkDescent))
		ok = ok && size >= minFont-1e-9
	}
	f.used = h - y + padY
	return f, ok
}

// appearance draws the visible signature: an opaque box (it covers a
// placeholder text) with the lines of the layout that fits it. w and h are
// its size as shown on a page turned clockwise by rotate degrees.
func appearance(s *stamp, fontRef ref, w, h float64, rotate int) *stream {
	f, _ := s.fit(w, h)
	var b bytes.Buffer
	fmt.Fprintf(&b, "q 1 g 0 0 %s %s re f Q\n", formatReal(w), formatReal(h))
	lw := min(0.8, f.pad-0.2, f.padY-0.2) // a thinner frame for a small stamp
	fmt.Fprintf(&b, "q 0.16 0.33 0.6 RG %s w %s %s %s %s re S Q\n", formatReal(lw), formatReal(lw/2), formatReal(lw/2),
		formatReal(w-lw), formatReal(h-lw))
	b.WriteString("BT\n")
	for i, l := range f.lines {
		hexText, _ := s.fu.encode(l.text)
		fmt.Fprintf(&b, "%s g /F1 %s Tf 1 0 0 1 %s %s Tm %s Tj\n", formatReal(l.gray), formatReal(f.size[i]),
			formatReal(f.pad), formatReal(f.base[i]), hexText)
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
