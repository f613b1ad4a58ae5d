package pades

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The appearance uses Go Regular (BSD licence, covers WGL4 and so every Latin
// name) embedded as a CIDFontType2 subset with Identity-H encoding and a
// ToUnicode map, so text is crisp at any zoom and extractable.
var (
	goFontOnce sync.Once
	goFont     *sfnt.Font
	goFontErr  error
)

func loadGoFont() (*sfnt.Font, error) {
	goFontOnce.Do(func() { goFont, goFontErr = sfnt.Parse(goregular.TTF) })
	return goFont, goFontErr
}

// fontUse collects the glyphs a piece of text needs.
type fontUse struct {
	f      *sfnt.Font
	buf    sfnt.Buffer
	upem   float64
	glyphs map[uint16]rune
	widths map[uint16]float64 // in 1/1000 em
}

func newFontUse() (*fontUse, error) {
	f, err := loadGoFont()
	if err != nil {
		return nil, err
	}
	return &fontUse{f: f, upem: float64(f.UnitsPerEm()), glyphs: map[uint16]rune{}, widths: map[uint16]float64{}}, nil
}

// encode returns the text as a hex string of 2-byte glyph ids and its width
// in 1/1000 em, recording the glyphs used.
func (u *fontUse) encode(s string) (string, float64) {
	var hex bytes.Buffer
	total := 0.0
	for _, r := range s {
		gid, err := u.f.GlyphIndex(&u.buf, r)
		if err != nil || gid == 0 {
			gid, _ = u.f.GlyphIndex(&u.buf, '?')
			r = '?'
		}
		g := uint16(gid)
		if _, ok := u.widths[g]; !ok {
			adv, err := u.f.GlyphAdvance(&u.buf, gid, fixed.Int26_6(u.f.UnitsPerEm())<<6, font.HintingNone)
			w := 0.0
			if err == nil {
				w = float64(adv>>6) * 1000 / u.upem
			}
			u.widths[g] = w
			u.glyphs[g] = r
		}
		total += u.widths[g]
		fmt.Fprintf(&hex, "%04X", g)
	}
	return "<" + hex.String() + ">", total
}

// width returns the width of s in 1/1000 em without recording its glyphs:
// for trying layouts that may not be drawn.
func (u *fontUse) width(s string) float64 {
	total := 0.0
	for _, r := range s {
		gid, err := u.f.GlyphIndex(&u.buf, r)
		if err != nil || gid == 0 {
			gid, _ = u.f.GlyphIndex(&u.buf, '?')
		}
		if w, ok := u.widths[uint16(gid)]; ok {
			total += w
			continue
		}
		adv, err := u.f.GlyphAdvance(&u.buf, gid, fixed.Int26_6(u.f.UnitsPerEm())<<6, font.HintingNone)
		if err == nil {
			total += float64(adv>>6) * 1000 / u.upem
		}
	}
	return total
}

// objects returns the font objects: Type0 at refs[0], then CIDFont, font
// descriptor, font file and ToUnicode at refs[1..4].
func (u *fontUse) objects(refs [5]ref) (map[ref]object, error) {
	gids := make([]uint16, 0, len(u.glyphs))
	for g := range u.glyphs {
		gids = append(gids, g)
	}
	slices.Sort(gids)
	sub, err := subsetTrueType(goregular.TTF, gids)
	if err != nil {
		return nil, err
	}
	const base = "SGNDAA+GoRegular"
	var w array
	for _, g := range gids {
		w = append(w, int64(g), array{int64(u.widths[g] + 0.5)})
	}
	var cmap bytes.Buffer
	cmap.WriteString("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n" +
		"1 begincodespacerange <0000> <FFFF> endcodespacerange\n")
	for i := 0; i < len(gids); i += 100 {
		chunk := gids[i:min(i+100, len(gids))]
		fmt.Fprintf(&cmap, "%d beginbfchar\n", len(chunk))
		for _, g := range chunk {
			fmt.Fprintf(&cmap, "<%04X> <", g)
			r := u.glyphs[g]
			if r > 0xffff {
				r -= 0x10000
				fmt.Fprintf(&cmap, "%04X%04X", 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			} else {
				fmt.Fprintf(&cmap, "%04X", r)
			}
			cmap.WriteString(">\n")
		}
		cmap.WriteString("endbfchar\n")
	}
	cmap.WriteString("endcmap CMapName currentdict /CMap defineresource pop end end\n")

	return map[ref]object{
		refs[0]: dict{"Type": name("Font"), "Subtype": name("Type0"), "BaseFont": name(base),
			"Encoding": name("Identity-H"), "DescendantFonts": array{refs[1]}, "ToUnicode": refs[4]},
		refs[1]: dict{"Type": name("Font"), "Subtype": name("CIDFontType2"), "BaseFont": name(base),
			"CIDSystemInfo":  dict{"Registry": pdfStr("Adobe"), "Ordering": pdfStr("Identity"), "Supplement": int64(0)},
			"FontDescriptor": refs[2], "CIDToGIDMap": name("Identity"), "DW": int64(1000), "W": w},
		refs[2]: dict{"Type": name("FontDescriptor"), "FontName": name(base), "Flags": int64(32),
			"FontBBox": array{int64(-100), int64(-250), int64(1100), int64(950)}, "ItalicAngle": int64(0),
			"Ascent": int64(905), "Descent": int64(-212), "CapHeight": int64(700), "StemV": int64(80),
			"FontFile2": refs[3]},
		refs[3]: flateStream(dict{"Length1": int64(len(sub))}, sub),
		refs[4]: flateStream(dict{}, cmap.Bytes()),
	}, nil
}

// subsetTrueType keeps the outlines of the given glyphs (plus .notdef and
// composite components) and empties all others, so glyph ids stay valid
// while the embedded file shrinks from ~130 KB to a few KB.
func subsetTrueType(ttf []byte, keep []uint16) ([]byte, error) {
	bad := fmt.Errorf("pades: font subset: malformed font")
	if len(ttf) < 12 {
		return nil, bad
	}
	numTables := int(binary.BigEndian.Uint16(ttf[4:]))
	tables := map[string][]byte{}
	for i := 0; i < numTables; i++ {
		rec := 12 + 16*i
		if rec+16 > len(ttf) {
			return nil, bad
		}
		tag := string(ttf[rec : rec+4])
		off := int(binary.BigEndian.Uint32(ttf[rec+8:]))
		n := int(binary.BigEndian.Uint32(ttf[rec+12:]))
		if off < 0 || n < 0 || off+n > len(ttf) {
			return nil, bad
		}
		tables[tag] = ttf[off : off+n]
	}
	head, maxp, loca, glyf := tables["head"], tables["maxp"], tables["loca"], tables["glyf"]
	if len(head) < 54 || len(maxp) < 6 || loca == nil || glyf == nil {
		return nil, bad
	}
	numGlyphs := int(binary.BigEndian.Uint16(maxp[4:]))
	long := binary.BigEndian.Uint16(head[50:]) == 1
	offsets := make([]int, numGlyphs+1)
	for i := range offsets {
		if long {
			if 4*i+4 > len(loca) {
				return nil, bad
			}
			offsets[i] = int(binary.BigEndian.Uint32(loca[4*i:]))
		} else {
			if 2*i+2 > len(loca) {
				return nil, bad
			}
			offsets[i] = 2 * int(binary.BigEndian.Uint16(loca[2*i:]))
		}
	}
	glyph := func(g int) []byte {
		if g < 0 || g >= numGlyphs || offsets[g] > offsets[g+1] || offsets[g+1] > len(glyf) {
			return nil
		}
		return glyf[offsets[g]:offsets[g+1]]
	}
	kept := map[int]bool{0: true}
	queue := []int{0}
	for _, g := range keep {
		if !kept[int(g)] {
			kept[int(g)] = true
			queue = append(queue, int(g))
		}
	}
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		data := glyph(g)
		if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
			continue
		}
		// composite glyph: walk its components
		p := 10
		for p+4 <= len(data) {
			flags := binary.BigEndian.Uint16(data[p:])
			comp := int(binary.BigEndian.Uint16(data[p+2:]))
			if !kept[comp] {
				kept[comp] = true
				queue = append(queue, comp)
			}
			p += 4
			if flags&0x0001 != 0 {
				p += 4
			} else {
				p += 2
			}
			switch {
			case flags&0x0008 != 0:
				p += 2
			case flags&0x0040 != 0:
				p += 4
			case flags&0x0080 != 0:
				p += 8
			}
			if flags&0x0020 == 0 {
				break
			}
		}
	}
	var newGlyf bytes.Buffer
	newLoca := make([]byte, 4*(numGlyphs+1))
	for g := 0; g < numGlyphs; g++ {
		binary.BigEndian.PutUint32(newLoca[4*g:], uint32(newGlyf.Len()))
		if kept[g] {
			newGlyf.Write(glyph(g))
			for newGlyf.Len()%4 != 0 {
				newGlyf.WriteByte(0)
			}
		}
	}
	binary.BigEndian.PutUint32(newLoca[4*numGlyphs:], uint32(newGlyf.Len()))
	newHead := slices.Clone(head)
	binary.BigEndian.PutUint16(newHead[50:], 1) // long loca
	binary.BigEndian.PutUint32(newHead[8:], 0)  // checkSumAdjustment, set below
	out := map[string][]byte{"head": newHead, "loca": newLoca, "glyf": newGlyf.Bytes()}
	for _, t := range []string{"hhea", "hmtx", "maxp", "cvt ", "fpgm", "prep"} {
		if tables[t] != nil {
			out[t] = tables[t]
		}
	}
	return writeSFNT(out), nil
}

func tableChecksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}

func writeSFNT(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	n := len(tags)
	es := 0
	for 1<<(es+1) <= n {
		es++
	}
	var b bytes.Buffer
	hdr := make([]byte, 12+16*n)
	binary.BigEndian.PutUint32(hdr, 0x00010000)
	binary.BigEndian.PutUint16(hdr[4:], uint16(n))
	binary.BigEndian.PutUint16(hdr[6:], uint16(16<<es))
	binary.BigEndian.PutUint16(hdr[8:], uint16(es))
	binary.BigEndian.PutUint16(hdr[10:], uint16(16*n-16<<es))
	off := len(hdr)
	var body bytes.Buffer
	headOff := 0
	for i, t := range tags {
		data := tables[t]
		rec := hdr[12+16*i:]
		copy(rec, t)
		binary.BigEndian.PutUint32(rec[4:], tableChecksum(data))
		binary.BigEndian.PutUint32(rec[8:], uint32(off+body.Len()))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(data)))
		if t == "head" {
			headOff = off + body.Len()
		}
		body.Write(data)
		for body.Len()%4 != 0 {
			body.WriteByte(0)
		}
	}
	b.Write(hdr)
	b.Write(body.Bytes())
	out := b.Bytes()
	binary.BigEndian.PutUint32(out[headOff+8:], 0xB1B0AFBA-tableChecksum(out))
	return out
}
