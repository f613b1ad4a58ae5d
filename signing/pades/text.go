package pades

import (
	"math"
	"strings"
	"unicode/utf16"
)

// Finding a placeholder needs a small text extractor: it follows the text
// and graphics state of a page's content stream far enough to know which
// characters are drawn where.

type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m × n (apply m, then n).
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// pdfFont is what the extractor needs of a font: how to split a string into
// codes, the Unicode text of a code and its width.
type pdfFont struct {
	twoByte bool
	toUni   map[uint32]string
	widths  map[uint32]float64 // 1/1000 text space units
	dw      float64
}

func (f *pdfFont) width(code uint32) float64 {
	if w, ok := f.widths[code]; ok {
		return w
	}
	return f.dw
}

func (f *pdfFont) text(code uint32) string {
	if s, ok := f.toUni[code]; ok {
		return s
	}
	if !f.twoByte {
		return string(rune(code)) // WinAnsi is Latin-1 for what matters here
	}
	return "\uFFFD"
}

// stdWidths fills in the standard metrics of the font base names, as viewers do for the standard
// 14 fonts (and their usual aliases) when a PDF gives no /Widths.
func (f *pdfFont) stdWidths(base string) {
	if i := strings.IndexByte(base, '+'); i == 6 {
		base = base[i+1:] // a subset prefix
	}
	b := strings.ToLower(strings.NewReplacer(",", "-", " ", "").Replace(base))
	bold := strings.Contains(b, "bold")
	italic := strings.Contains(b, "italic") || strings.Contains(b, "oblique")
	var family string
	switch {
	case strings.HasPrefix(b, "courier"):
		for c := uint32(32); c <= 126; c++ {
			f.widths[c] = 600
		}
		return
	case strings.HasPrefix(b, "helvetica"), strings.HasPrefix(b, "arial"):
		family = "Helvetica"
		if bold {
			family += "-Bold"
		}
	case strings.HasPrefix(b, "times"):
		family = "Times-Roman"
		switch {
		case bold && italic:
			family = "Times-BoldItalic"
		case bold:
			family = "Times-Bold"
		case italic:
			family = "Times-Italic"
		}
	default:
		return
	}
	for k, w := range std14Widths[family] {
		f.widths[uint32(32+k)] = float64(w)
	}
}

func (d *document) loadFont(o object) (*pdfFont, error) {
	fd, err := d.dict(o)
	if err != nil || fd == nil {
		return &pdfFont{dw: 500}, err
	}
	f := &pdfFont{widths: map[uint32]float64{}, toUni: map[uint32]string{}, dw: 500}
	if fd.name("Subtype") == "Type0" {
		f.twoByte, f.dw = true, 1000
		desc, err := d.array(fd["DescendantFonts"])
		if err != nil {
			return nil, err
		}
		if len(desc) > 0 {
			cid, err := d.dict(desc[0])
			if err != nil {
				return nil, err
			}
			if dw, ok := number(cid["DW"]); ok {
				f.dw = dw
			}
			w, err := d.array(cid["W"])
			if err != nil {
				return nil, err
			}
			for i := 0; i < len(w) && len(f.widths) < 1<<16; {
				first, ok := integer(w[i])
				if !ok || i+1 >= len(w) {
					break
				}
				if ws, ok := w[i+1].(array); ok {
					for k, x := range ws {
						v, _ := number(x)
						f.widths[uint32(first)+uint32(k)] = v
					}
					i += 2
					continue
				}
				last, ok := integer(w[i+1])
				if !ok || i+2 >= len(w) || last-first > 1<<16 {
					break
				}
				v, _ := number(w[i+2])
				for c := first; c <= last; c++ {
					f.widths[uint32(c)] = v
				}
				i += 3
			}
		}
	} else {
		first, _ := integer(fd["FirstChar"])
		ws, err := d.array(fd["Widths"])
		if err != nil {
			return nil, err
		}
		for k, x := range ws {
			v, _ := number(x)
			f.widths[uint32(first)+uint32(k)] = v
		}
		if len(ws) == 0 {
			// a standard font may come without widths: viewers use its standard metrics
			f.stdWidths(string(fd.name("BaseFont")))
		}
		if fd.name("Subtype") == "Type3" {
			// a Type 3 font's widths are in its glyph space, which its /FontMatrix maps to text
			// space (not the 1/1000 of other fonts)
			scale := 0.001
			if m, err := d.array(fd["FontMatrix"]); err == nil && len(m) == 6 {
				if a, ok := number(m[0]); ok && a != 0 {
					scale = a
				}
			}
			for c, w := range f.widths {
				f.widths[c] = w * scale * 1000
			}
			f.dw *= scale * 1000
		}
	}
	if tu, err := d.resolve(fd["ToUnicode"]); err == nil {
		if s, ok := tu.(*stream); ok {
			if data, err := d.decode(s, maxDecoded); err == nil {
				parseToUnicode(data, f.toUni)
			}
		}
	}
	return f, nil
}

func codeOf(b []byte) uint32 {
	var c uint32
	for _, x := range b {
		c = c<<8 | uint32(x)
	}
	return c
}

func utf16Text(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return string(utf16.Decode(u))
}

// parseToUnicode reads bfchar and bfrange entries of a ToUnicode CMap.
func parseToUnicode(data []byte, m map[uint32]string) {
	l := newBytesLexer(data)
	var ops []object
	for len(m) < 1<<17 {
		t, err := l.next()
		if err != nil || t.k == tEOF {
			return
		}
		if t.k == tKeyword {
			switch t.v.(keyword) {
			case "endbfchar":
				for i := 0; i+1 < len(ops); i += 2 {
					src, ok1 := ops[i].(pdfStr)
					dst, ok2 := ops[i+1].(pdfStr)
					if ok1 && ok2 {
						m[codeOf(src)] = utf16Text(dst)
					}
				}
			case "endbfrange":
				for i := 0; i+2 < len(ops); i += 3 {
					lo, ok1 := ops[i].(pdfStr)
					hi, ok2 := ops[i+1].(pdfStr)
					if !ok1 || !ok2 {
						continue
					}
					a, b := codeOf(lo), codeOf(hi)
					if b < a || b-a > 1<<16 {
						continue
					}
					switch dst := ops[i+2].(type) {
					case pdfStr:
						base := []byte(dst)
						for c := a; c <= b; c++ {
							cur := append([]byte(nil), base...)
							if n := len(cur); n >= 2 {
								v := uint32(cur[n-2])<<8 | uint32(cur[n-1]) + (c - a)
								cur[n-2], cur[n-1] = byte(v>>8), byte(v)
							}
							m[c] = utf16Text(cur)
						}
					case array:
						for k, e := range dst {
							if s, ok := e.(pdfStr); ok && a+uint32(k) <= b {
								m[a+uint32(k)] = utf16Text(s)
							}
						}
					}
				}
			}
			ops = ops[:0]
			continue
		}
		o, err := l.objectFrom(t, 0)
		if err != nil {
			return
		}
		if len(ops) < 1<<16 {
			ops = append(ops, o)
		}
	}
}

// glyphPos is one drawn character in user space.
type glyphPos struct {
	text       string
	x, y, size float64
	adv        float64    // advance in user space
	dir, up    [2]float64 // unit vectors along the baseline and up the glyph
}

// unit returns (x, y) scaled to length 1, or (1, 0) for a null vector.
func unit(x, y float64) [2]float64 {
	n := math.Hypot(x, y)
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return [2]float64{1, 0}
	}
	return [2]float64{x / n, y / n}
}

// pageGlyphs runs the content of a page and returns the characters drawn.
func (d *document) pageGlyphs(p *page) ([]glyphPos, error) {
	var content []byte
	c, err := d.resolve(p.dict["Contents"])
	if err != nil {
		return nil, err
	}
	var parts []object
	switch v := c.(type) {
	case *stream:
		parts = []object{v}
	case array:
		parts = v
	}
	for _, part := range parts {
		o, err := d.resolve(part)
		if err != nil {
			return nil, err
		}
		s, ok := o.(*stream)
		if !ok {
			continue
		}
		data, err := d.decode(s, maxDecoded)
		if err != nil {
			return nil, err
		}
		if len(content)+len(data) > maxDecoded {
			return nil, unsupported("page content too large")
		}
		content = append(append(content, data...), '\n')
	}
	var out []glyphPos
	if err := d.runGlyphs(content, p.resources, identity, 0, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// maxFormDepth bounds Form XObjects drawn inside Form XObjects (a loop is a malformed file).
const maxFormDepth = 8

// runGlyphs runs a content stream with its resources, starting from ctm0, and adds the characters
// it draws to out, those of the Form XObjects it draws (Do) included: some producers put every
// page's text in one.
func (d *document) runGlyphs(content []byte, res dict, ctm0 matrix, depth int, out *[]glyphPos) error {
	fontDict, err := d.dict(res["Font"])
	if err != nil {
		return err
	}
	fonts := map[name]*pdfFont{}
	var (
		ctm                           = ctm0
		stack                         []matrix
		tm, tlm                       = identity, identity
		font                          = &pdfFont{dw: 500}
		fs, cs, ws, th, leading, rise = 0.0, 0.0, 0.0, 1.0, 0.0, 0.0
		ops                           []object
		maxGlyphs                     = 1 << 20
	)
	show := func(s pdfStr) {
		step := 1
		if font.twoByte {
			step = 2
		}
		for i := 0; i+step <= len(s) && len(*out) < maxGlyphs; i += step {
			code := codeOf(s[i : i+step])
			w := font.width(code) / 1000
			trm := matrix{fs * th, 0, 0, fs, 0, rise}.mul(tm).mul(ctm)
			tx := (w*fs + cs) * th
			if step == 1 && code == 32 {
				tx += ws * th
			}
			scale := math.Hypot(trm[2], trm[3])
			m := tm.mul(ctm)
			*out = append(*out, glyphPos{text: font.text(code), x: trm[4], y: trm[5], size: scale,
				adv: tx * math.Hypot(m[0], m[1]), dir: unit(m[0], m[1]), up: unit(trm[2], trm[3])})
			tm = matrix{1, 0, 0, 1, tx, 0}.mul(tm)
		}
	}
	num := func(i int) float64 {
		if i < 0 || i >= len(ops) {
			return 0
		}
		v, _ := number(ops[i])
		return v
	}
	last6 := func() (matrix, bool) {
		if len(ops) < 6 {
			return matrix{}, false
		}
		var m matrix
		for k := range m {
			m[k] = num(len(ops) - 6 + k)
		}
		return m, true
	}
	l := newBytesLexer(content)
	for {
		t, err := l.next()
		if err != nil {
			break // a broken tail: keep what was found so far
		}
		if t.k == tEOF {
			break
		}
		if t.k != tKeyword {
			o, err := l.objectFrom(t, 0)
			if err != nil {
				break
			}
			if len(ops) < 1<<12 {
				ops = append(ops, o)
			}
			continue
		}
		op := t.v.(keyword)
		switch op {
		case "true", "false", "null":
			ops = append(ops, nil)
			continue
		case "q":
			if len(stack) < 1<<10 {
				stack = append(stack, ctm)
			}
		case "Q":
			if n := len(stack); n > 0 {
				ctm, stack = stack[n-1], stack[:n-1]
			}
		case "cm":
			if m, ok := last6(); ok {
				ctm = m.mul(ctm)
			}
		case "BT":
			tm, tlm = identity, identity
		case "Tf":
			if len(ops) >= 2 {
				fs = num(len(ops) - 1)
				if fn, ok := ops[len(ops)-2].(name); ok {
					f, ok := fonts[fn]
					if !ok {
						var err error
						if fontDict != nil {
							f, err = d.loadFont(fontDict[fn])
						}
						if err != nil || f == nil {
							f = &pdfFont{dw: 500}
						}
						fonts[fn] = f
					}
					font = f
				}
			}
		case "Tc":
			cs = num(len(ops) - 1)
		case "Tw":
			ws = num(len(ops) - 1)
		case "Tz":
			th = num(len(ops)-1) / 100
		case "TL":
			leading = num(len(ops) - 1)
		case "Ts":
			rise = num(len(ops) - 1)
		case "Td", "TD":
			tx, ty := num(len(ops)-2), num(len(ops)-1)
			if op == "TD" {
				leading = -ty
			}
			tlm = matrix{1, 0, 0, 1, tx, ty}.mul(tlm)
			tm = tlm
		case "Tm":
			if m, ok := last6(); ok {
				tm, tlm = m, m
			}
		case "T*":
			tlm = matrix{1, 0, 0, 1, 0, -leading}.mul(tlm)
			tm = tlm
		case "Tj", "'", "\"":
			if op != "Tj" {
				tlm = matrix{1, 0, 0, 1, 0, -leading}.mul(tlm)
				tm = tlm
			}
			if op == "\"" && len(ops) >= 3 {
				ws, cs = num(len(ops)-3), num(len(ops)-2)
			}
			if len(ops) > 0 {
				if s, ok := ops[len(ops)-1].(pdfStr); ok {
					show(s)
				}
			}
		case "TJ":
			if len(ops) > 0 {
				if a, ok := ops[len(ops)-1].(array); ok {
					for _, e := range a {
						switch v := e.(type) {
						case pdfStr:
							show(v)
						default:
							if n, ok := number(v); ok {
								tm = matrix{1, 0, 0, 1, -n / 1000 * fs * th, 0}.mul(tm)
							}
						}
					}
				}
			}
		case "BI":
			skipInlineImage(l)
		case "Do":
			if len(ops) > 0 && depth < maxFormDepth {
				if xn, ok := ops[len(ops)-1].(name); ok {
					d.formGlyphs(res, xn, ctm, depth, out)
				}
			}
		}
		ops = ops[:0]
	}
	return nil
}

// formGlyphs adds the characters of the Form XObject xn of res, drawn at ctm. A form that cannot
// be read just draws nothing here.
func (d *document) formGlyphs(res dict, xn name, ctm matrix, depth int, out *[]glyphPos) {
	xobjects, err := d.dict(res["XObject"])
	if err != nil || xobjects == nil {
		return
	}
	o, err := d.resolve(xobjects[xn])
	if err != nil {
		return
	}
	s, ok := o.(*stream)
	if !ok || s.dict["Subtype"] != name("Form") {
		return
	}
	data, err := d.decode(s, maxDecoded)
	if err != nil {
		return
	}
	m := identity
	if a, err := d.array(s.dict["Matrix"]); err == nil && len(a) == 6 {
		for k := range m {
			m[k], _ = number(a[k])
		}
	}
	formRes := res // a form without resources uses its page's
	if r, err := d.dict(s.dict["Resources"]); err == nil && r != nil {
		formRes = r
	}
	_ = d.runGlyphs(data, formRes, m.mul(ctm), depth+1, out)
}

// skipInlineImage moves past "ID <binary> EI".
func skipInlineImage(l *lexer) {
	for {
		t, err := l.next()
		if err != nil || t.k == tEOF {
			return
		}
		if t.k == tKeyword && t.v == keyword("ID") {
			break
		}
	}
	var prev [3]byte
	for {
		c, ok := l.s.readByte()
		if !ok {
			return
		}
		prev[0], prev[1], prev[2] = prev[1], prev[2], c
		if isWhite(prev[0]) && prev[1] == 'E' && prev[2] == 'I' {
			if n, ok := l.s.peek(); !ok || isWhite(n) || isDelim(n) {
				return
			}
		}
	}
}

// placeholderHit is where a placeholder text was found on a page.
type placeholderHit struct {
	x, y    float64 // baseline start in user space
	width   float64 // along dir
	height  float64 // font size in user space, along up
	dir, up [2]float64
}

// corners returns the corners of the text's box in user space, its height
// taken as k font sizes.
func (h placeholderHit) corners(k float64) [4][2]float64 {
	wx, wy := h.dir[0]*h.width, h.dir[1]*h.width
	ux, uy := h.up[0]*h.height*k, h.up[1]*h.height*k
	return [4][2]float64{{h.x, h.y}, {h.x + wx, h.y + wy}, {h.x + ux, h.y + uy}, {h.x + wx + ux, h.y + wy + uy}}
}

// findText returns the position of the first occurrence of text on page p.
func (d *document) findText(p *page, text string) (placeholderHit, bool, error) {
	glyphs, err := d.pageGlyphs(p)
	if err != nil {
		return placeholderHit{}, false, err
	}
	hit, _, ok := matchText(glyphs, text)
	return hit, ok, nil
}

// matchText finds the first occurrence of text among the drawn glyphs. own
// is the range of glyphs (first and last index) that draw it: a stamp may
// cover those and nothing else.
func matchText(glyphs []glyphPos, text string) (hit placeholderHit, own [2]int, ok bool) {
	var sb strings.Builder
	var owner []int // rune index -> glyph index
	for i, g := range glyphs {
		for range g.text {
			owner = append(owner, i)
		}
		sb.WriteString(g.text)
	}
	runes := []rune(sb.String())
	target := []rune(text)
	for i := 0; len(target) > 0 && i+len(target) <= len(runes); i++ {
		if string(runes[i:i+len(target)]) != text {
			continue
		}
		own = [2]int{owner[i], owner[i+len(target)-1]}
		first, last := glyphs[own[0]], glyphs[own[1]]
		// the run's length along its baseline, whichever way it points
		ex, ey := last.x+last.adv*last.dir[0]-first.x, last.y+last.adv*last.dir[1]-first.y
		w := ex*first.dir[0] + ey*first.dir[1]
		if w <= 0 {
			w = float64(len(target)) * first.size * 0.5
		}
		return placeholderHit{x: first.x, y: first.y, width: w, height: first.size, dir: first.dir, up: first.up}, own, true
	}
	return placeholderHit{}, own, false
}
