package pades

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
)

// A stamp at a placeholder takes the room that is free there: it must not
// hide the words around the placeholder nor an earlier stamp, so that every
// signer's name stays readable on the page the municipality archives.
//
// All of it is worked out in the page as shown (see view), so a turned page
// gets its stamp upright below the placeholder as the reader sees it.

// Glyph extents as a fraction of the font size, as Latin text is inked:
// ascenders reach 0.72 em (Helvetica) to 0.77 em (Go), descenders 0.21 em
// below the baseline.
const (
	inkAscent  = 0.78
	inkDescent = 0.22
	clearance  = 0.2  // points kept free between a stamp and what it must not cover
	eps        = 1e-3 // points two computations of one edge may differ
)

// inkBox returns the bounds of a drawn glyph in the page as shown: its
// advance along the baseline, from descender to ascender.
func inkBox(g glyphPos, v view) [4]float64 {
	adv := g.adv
	if adv <= 0 {
		adv = g.size * 0.5
	}
	r := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, a := range []float64{0, adv} {
		for _, u := range []float64{-inkDescent * g.size, inkAscent * g.size} {
			x, y := v.shown(g.x+a*g.dir[0]+u*g.up[0], g.y+a*g.dir[1]+u*g.up[1])
			r = [4]float64{min(r[0], x), min(r[1], y), max(r[2], x), max(r[3], y)}
		}
	}
	return r
}

// obstacles returns what a stamp on page pg must not cover, as shown: every
// glyph that draws something, except the placeholder's own (own, a range of
// indices), and the rectangles of the page's form fields, signatures and
// free-text notes.
func (d *document) obstacles(pg *page, glyphs []glyphPos, own [2]int) [][4]float64 {
	v := pg.view()
	var obs [][4]float64
	for i, g := range glyphs {
		if i >= own[0] && i <= own[1] || strings.TrimSpace(g.text) == "" || !(g.size > 0) {
			continue
		}
		obs = append(obs, inkBox(g, v))
	}
	annots, err := d.array(pg.dict["Annots"])
	if err != nil {
		return obs // an unreadable /Annots has nothing we could avoid
	}
	for _, a := range annots {
		ad, err := d.dict(a)
		if err != nil || ad == nil {
			continue
		}
		if st := ad.name("Subtype"); ad.name("FT") != "Sig" && st != "Widget" && st != "FreeText" {
			continue
		}
		r, ok, err := d.rect(ad["Rect"])
		if err != nil || !ok || r[2] <= r[0] || r[3] <= r[1] {
			continue // an invisible signature takes no room
		}
		ax, ay := v.shown(r[0], r[1])
		bx, by := v.shown(r[2], r[3])
		obs = append(obs, [4]float64{min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)})
	}
	return obs
}

// fitStamp chooses the stamp's box at a placeholder whose text fills ph (as
// shown, descenders included): its left edge at the placeholder's left, its
// top just above the text (lowered as far as floor, the top of its letters,
// when something is just above), covering the placeholder, at least as wide
// as it and at most placeW (or the page's right edge), at least minStampH
// and at most placeH high, clear of every obstacle. ok is false when no box
// has room.
//
// It first keeps the box above the next line of text below, wherever that
// line is: in a block of "Naam: {{SignerN}}" lines the room right of the
// next line's label belongs to the next signer. Only when that leaves too
// little room does the box reach down beside shorter lines.
func fitStamp(ph [4]float64, floor float64, obs [][4]float64, pageW, pageH float64, s *stamp) (box [4]float64, ok bool) {
	left, top := ph[0], min(ph[3], pageH)
	// only what is beside or below the placeholder, within a stamp's
	// height, can be in the way: a dense page has thousands of glyphs
	obs = slices.DeleteFunc(slices.Clone(obs), func(o [4]float64) bool {
		return o[1] >= top || o[3] <= top-placeH
	})
	// an earlier stamp or a line just above the placeholder, over it or
	// beside it: start below it, down to the top of the placeholder's
	// letters (floor)
	for _, o := range obs {
		if o[0] < left+placeW && o[2] > left+eps && o[1] < top-eps && o[1] >= floor-eps {
			top = max(floor, o[1]-clearance)
		}
	}
	rows := make([][4]float64, len(obs))
	for i, o := range obs {
		rows[i] = o
		if o[3] <= ph[1]+eps { // below the placeholder: take the whole row
			rows[i][0], rows[i][2] = math.Inf(-1), math.Inf(1)
		}
	}
	if box, ok := largestName(left, top, ph, rows, pageW, s); ok {
		return box, true
	}
	return largestName(left, top, ph, obs, pageW, s)
}

// largestName tries the boxes at (left, top) that grow down to the next
// obstacle, each as wide as the obstacles allow, and returns the one where
// the signer's name is drawn largest, then the highest.
func largestName(left, top float64, ph [4]float64, obs [][4]float64, pageW float64, s *stamp) (box [4]float64, ok bool) {
	minW := ph[2] - ph[0]
	minH := max(minStampH, top-ph[1])
	maxW := max(minW, min(max(placeW, minW), pageW-left))
	heights := []float64{min(placeH, top)}
	for _, o := range obs {
		if h := top - o[3] - clearance; o[3] <= top && h >= minH {
			heights = append(heights, h)
		}
	}
	// a line of glyphs gives one height
	slices.Sort(heights)
	heights = slices.CompactFunc(heights, func(a, b float64) bool { return b-a < 0.01 })
	best := -1.0
	for _, h := range heights {
		if h < minH || h > placeH || h > top {
			continue
		}
		w, free := maxW, true
		for _, o := range obs {
			// in the box's rows and not wholly left of it
			if o[1] >= top-eps || o[3] <= top-h+eps || o[2] <= left+eps {
				continue
			}
			if o[0] < left+minW-eps {
				free = false
				break
			}
			w = min(w, max(minW, o[0]-left-clearance))
		}
		if !free {
			continue
		}
		f, fits := s.fit(w, h)
		if !fits {
			continue
		}
		if size := f.nameSize(); size > best || size == best && h > box[3]-box[1] {
			// lines shrunk to a narrow box leave room below them: give it
			// back when the name stays as large without it
			if t := max(minH, f.used); t < h-1 {
				if g, fits := s.fit(w, t); fits && g.nameSize() >= size-1e-6 {
					h = t
				}
			}
			best, box = size, [4]float64{left, top - h, left + w, top}
		}
	}
	return box, best > 0
}

// coverText replaces a placeholder whose stamp went to the signature page.
const coverText = "zie ondertekeningspagina"

// cover is a placeholder without room for its stamp: rect in user space,
// w×h its size as shown.
type cover struct {
	page *page
	rect [4]float64
	w, h float64
}

// addCover puts a free-text note over the placeholder, an opaque box that
// says where the signature is. Viewers draw it from its appearance stream
// (poppler, pdf.js), which is drawn upright like the stamp's.
func addCover(doc *document, p *plan, c *cover, fu *fontUse, fontRef ref) error {
	hexText, width := fu.encode(coverText)
	size := c.h * 0.7
	if width > 0 {
		size = min(size, (c.w-1)*1000/width)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "q 1 g 0 0 %s %s re f Q\n", formatReal(c.w), formatReal(c.h))
	fmt.Fprintf(&b, "BT 0.2 g /F1 %s Tf 1 0 0 1 0.5 %s Tm %s Tj ET\n", formatReal(size),
		formatReal((c.h-size*inkAscent)/2), hexText)
	d := dict{"Type": name("XObject"), "Subtype": name("Form"),
		"BBox":      array{int64(0), int64(0), c.w, c.h},
		"Resources": dict{"Font": dict{"F1": fontRef}}}
	if m, ok := uprightMatrix(c.page.rotate, c.w, c.h); ok {
		d["Matrix"] = m
	}
	apRef, noteRef := p.alloc(), p.alloc()
	p.put(apRef, flateStream(d, b.Bytes()))
	p.put(noteRef, dict{"Type": name("Annot"), "Subtype": name("FreeText"),
		"Rect":     array{c.rect[0], c.rect[1], c.rect[2], c.rect[3]},
		"Contents": textString(coverText), "DA": pdfStr("/Helv " + formatReal(size) + " Tf 0.2 g"),
		"F": int64(4 | 128), // print, locked
		"P": c.page.ref, "AP": dict{"N": apRef}})
	return addAnnot(doc, p, c.page, noteRef)
}
