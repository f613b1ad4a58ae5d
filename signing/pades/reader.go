package pades

import (
	"bytes"
	"compress/zlib"
	"encoding/ascii85"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Limits on what the reader will decode into memory.
const (
	maxXrefSections = 4096     // /Prev chain length
	maxObjStmSize   = 32 << 20 // decoded object stream
	maxDecoded      = 32 << 20 // any other decoded stream we look into
	maxRefDepth     = 32       // chained references
	maxCached       = 4096     // parsed objects kept for reuse
)

// xrefEntry locates one object: at a byte offset (inStm false) or as the
// idx-th object of object stream stm.
type xrefEntry struct {
	off  int64
	stm  int
	idx  int
	gen  int
	free bool
	inSt bool
}

// document is a read-only view of a PDF: its cross-reference data and the
// few objects we fetch, never the whole file.
type document struct {
	r         io.ReaderAt
	size      int64
	version   string
	ranges    []xrefRange // newest first; looked up on demand
	maxNum    int         // one past the highest object number listed
	trailer   dict        // the newest trailer
	startxref int64       // offset of the newest cross-reference section
	xrefIsStm bool        // whether the newest section is a stream
	cache     map[int]object
	sec       *security // set when the document is encrypted
	stmCache  struct {
		num  int
		data []byte
		offs []int64 // object number, offset pairs
	}
}

// openDocument reads the header, the cross-reference chain and the trailer.
func openDocument(r io.ReaderAt, size int64) (*document, error) {
	d := &document{r: r, size: size, cache: map[int]object{}}
	head := make([]byte, min(size, 1024))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("pades: read header: %w", err)
	}
	i := bytes.Index(head, []byte("%PDF-"))
	if i < 0 {
		return nil, &FormatError{Kind: ErrNotPDF, Offset: 0, Msg: "no %PDF- header"}
	}
	v := head[i+5:]
	if j := bytes.IndexAny(v, "\r\n \t%"); j >= 0 {
		v = v[:j]
	}
	d.version = string(v)
	if err := d.readXref(); err != nil {
		return nil, err
	}
	if _, ok := d.trailer["Encrypt"]; ok {
		// everything read from here on is decrypted: the cross-reference data never is
		sec, err := d.openSecurity()
		if err != nil {
			return nil, err
		}
		d.sec = sec
	}
	if _, ok := d.trailer["Root"].(ref); !ok {
		return nil, malformed(-1, "trailer has no /Root reference")
	}
	return d, nil
}

// findStartxref reads the offset after the last "startxref" keyword.
func (d *document) findStartxref() (int64, error) {
	n := min(d.size, 4096)
	tail := make([]byte, n)
	if _, err := d.r.ReadAt(tail, d.size-n); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("pades: read trailer: %w", err)
	}
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return 0, malformed(d.size, "no startxref")
	}
	l := newBytesLexer(tail[i+len("startxref"):])
	t, err := l.next()
	if err != nil || t.k != tInt {
		return 0, malformed(d.size-n+int64(i), "startxref without offset")
	}
	off := t.v.(int64)
	if off <= 0 || off >= d.size {
		return 0, malformed(d.size-n+int64(i), "startxref offset %d out of range", off)
	}
	return off, nil
}

func (d *document) readXref() error {
	off, err := d.findStartxref()
	if err != nil {
		return err
	}
	d.startxref = off
	seen := map[int64]bool{}
	for k := 0; off > 0; k++ {
		if seen[off] || k > maxXrefSections {
			return malformed(off, "cross-reference chain loops")
		}
		seen[off] = true
		trailer, isStm, err := d.readSection(off)
		if err != nil {
			return err
		}
		if k == 0 {
			d.trailer, d.xrefIsStm = trailer, isStm
		}
		// hybrid files: the table's XRefStm stream comes before /Prev
		if xs, ok := integer(trailer["XRefStm"]); ok && !isStm && xs > 0 && xs < d.size && !seen[xs] {
			seen[xs] = true
			if _, _, err := d.readSection(xs); err != nil {
				return err
			}
		}
		prev, ok := integer(trailer["Prev"])
		if !ok {
			break
		}
		if prev <= 0 || prev >= d.size {
			return malformed(off, "bad /Prev %d", prev)
		}
		off = prev
	}
	return nil
}

// readSection reads one cross-reference section (table or stream) at off and
// adds the entries not already known (newer sections win).
func (d *document) readSection(off int64) (dict, bool, error) {
	l := newLexer(d.r, off, d.size)
	t, err := l.next()
	if err != nil {
		return nil, false, err
	}
	if t.k == tKeyword && t.v == keyword("xref") {
		tr, err := d.readTable(l)
		return tr, false, err
	}
	l.unread(t)
	num, o, err := d.parseIndirect(l, off)
	if err != nil {
		return nil, false, err
	}
	s, ok := o.(*stream)
	if !ok || s.dict.name("Type") != "XRef" {
		return nil, false, malformed(off, "object %d is not a cross-reference stream", num)
	}
	if err := d.readXrefStream(s, off); err != nil {
		return nil, false, err
	}
	return s.dict, true, nil
}

func (d *document) readTable(l *lexer) (dict, error) {
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		if t.k == tKeyword && t.v == keyword("trailer") {
			o, err := l.object(0)
			if err != nil {
				return nil, err
			}
			tr, ok := o.(dict)
			if !ok {
				return nil, malformed(t.pos, "trailer is not a dictionary")
			}
			return tr, nil
		}
		t2, err := l.next()
		if err != nil {
			return nil, err
		}
		if t.k != tInt || t2.k != tInt {
			return nil, malformed(t.pos, "bad cross-reference subsection header")
		}
		first, count := t.v.(int64), t2.v.(int64)
		if first < 0 || count < 0 || first+count > 1<<31 || count*19 > d.size {
			return nil, malformed(t.pos, "bad cross-reference subsection %d %d", first, count)
		}
		if count == 0 {
			continue
		}
		l.skipSpace()
		rowStart := l.s.pos()
		r := xrefRange{first: int(first), count: int(count), off: rowStart}
		if r.rowLen = d.tableRowLen(rowStart, int(count)); r.rowLen == 0 {
			// irregular rows: parse this subsection token by token
			if r.m, err = parseTableRows(l, int(first), int(count)); err != nil {
				return nil, err
			}
		} else {
			l.s.seek(rowStart + count*int64(r.rowLen))
		}
		if err := d.addRange(r); err != nil {
			return nil, err
		}
	}
}

// maxRanges bounds the number of cross-reference subsections we keep.
const maxRanges = 1 << 18

func (d *document) addRange(r xrefRange) error {
	if len(d.ranges) >= maxRanges {
		return malformed(-1, "too many cross-reference subsections")
	}
	d.ranges = append(d.ranges, r)
	d.maxNum = max(d.maxNum, r.first+r.count)
	return nil
}

// tableRowLen returns the length of the fixed-size rows of a table
// subsection (20 per the standard; 19 from some writers), or 0 when the
// first and last rows do not both parse at that length.
func (d *document) tableRowLen(start int64, count int) int {
	var b [22]byte
	n, _ := d.r.ReadAt(b[:], start)
	if n < 19 {
		return 0
	}
	if _, _, _, ok := parseRow(b[:n]); !ok {
		return 0
	}
	eol := 0
	for i := 18; i < n && i < 20 && (b[i] == ' ' || b[i] == '\r' || b[i] == '\n'); i++ {
		eol++
	}
	if eol == 0 {
		return 0
	}
	rowLen := 18 + eol
	n, _ = d.r.ReadAt(b[:18], start+int64(count-1)*int64(rowLen))
	if _, _, _, ok := parseRow(b[:n]); !ok {
		return 0
	}
	return rowLen
}

// parseRow parses "oooooooooo ggggg n" at the start of b.
func parseRow(b []byte) (off int64, gen int, typ byte, ok bool) {
	if len(b) < 18 || b[10] != ' ' || b[16] != ' ' || (b[17] != 'n' && b[17] != 'f') {
		return 0, 0, 0, false
	}
	for _, c := range b[:10] {
		if c < '0' || c > '9' {
			return 0, 0, 0, false
		}
		off = off*10 + int64(c-'0')
	}
	for _, c := range b[11:16] {
		if c < '0' || c > '9' {
			return 0, 0, 0, false
		}
		gen = gen*10 + int(c-'0')
	}
	return off, gen, b[17], true
}

// parseTableRows reads count rows as tokens, for tables whose rows are not
// of fixed length.
func parseTableRows(l *lexer, first, count int) (map[int]xrefEntry, error) {
	m := map[int]xrefEntry{}
	for i := 0; i < count; i++ {
		a, err1 := l.next()
		b, err2 := l.next()
		c, err3 := l.next()
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, err
		}
		if a.k != tInt || b.k != tInt || c.k != tKeyword {
			return nil, malformed(a.pos, "bad cross-reference entry")
		}
		switch c.v.(keyword) {
		case "n":
			m[first+i] = xrefEntry{off: a.v.(int64), gen: int(b.v.(int64))}
		case "f":
			m[first+i] = xrefEntry{free: true}
		default:
			return nil, malformed(c.pos, "bad cross-reference entry type")
		}
	}
	return m, nil
}

func (d *document) readXrefStream(s *stream, off int64) error {
	data, err := d.decode(s, maxObjStmSize)
	if err != nil {
		return err
	}
	w, ok := s.dict["W"].(array)
	if !ok || len(w) != 3 {
		return malformed(off, "cross-reference stream without /W")
	}
	var ws [3]int
	for i, o := range w {
		n, ok := integer(o)
		if !ok || n < 0 || n > 8 {
			return malformed(off, "bad /W")
		}
		ws[i] = int(n)
	}
	rowLen := ws[0] + ws[1] + ws[2]
	if rowLen == 0 {
		return malformed(off, "bad /W")
	}
	size, _ := integer(s.dict["Size"])
	index := array{int64(0), size}
	if ix, ok := s.dict["Index"].(array); ok {
		index = ix
	}
	p := 0
	for i := 0; i+1 < len(index); i += 2 {
		first, ok1 := integer(index[i])
		count, ok2 := integer(index[i+1])
		if !ok1 || !ok2 || first < 0 || count < 0 || first+count > 1<<31 {
			return malformed(off, "bad /Index")
		}
		if err := d.addRange(xrefRange{first: int(first), count: int(count), data: data, w: ws, pos: p}); err != nil {
			return err
		}
		p += int(count) * rowLen
		if p > len(data) {
			break // truncated stream: keep what we have, as viewers do
		}
	}
	return nil
}

// xrefRange is one subsection of cross-reference data. Entries are decoded
// when looked up, so memory does not grow with the number of objects.
type xrefRange struct {
	first, count int
	// table rows of fixed length rowLen at file offset off
	off    int64
	rowLen int
	// or stream rows in decoded data, starting at pos
	data []byte
	w    [3]int
	pos  int
	// or irregular table rows, parsed eagerly
	m map[int]xrefEntry
}

// lookup finds the newest cross-reference entry for num.
func (d *document) lookup(num int) (xrefEntry, bool) {
	for _, r := range d.ranges {
		if num < r.first || num >= r.first+r.count {
			continue
		}
		i := num - r.first
		switch {
		case r.m != nil:
			e, ok := r.m[num]
			if ok {
				return e, true
			}
		case r.data != nil:
			rowLen := r.w[0] + r.w[1] + r.w[2]
			p := r.pos + i*rowLen
			if p+rowLen > len(r.data) {
				continue
			}
			row := r.data[p : p+rowLen]
			typ := beInt(row[:r.w[0]], 1)
			f2 := beInt(row[r.w[0]:r.w[0]+r.w[1]], 0)
			f3 := beInt(row[r.w[0]+r.w[1]:], 0)
			switch typ {
			case 0:
				return xrefEntry{free: true}, true
			case 1:
				return xrefEntry{off: f2, gen: int(f3)}, true
			case 2:
				if f2 < 0 || f2 > 1<<31 || f3 < 0 || f3 > 1<<31 {
					return xrefEntry{}, false
				}
				return xrefEntry{inSt: true, stm: int(f2), idx: int(f3)}, true
			}
			// unknown types are null objects (ISO 32000-1, 7.5.8.3)
			return xrefEntry{free: true}, true
		default:
			var b [18]byte
			n, _ := d.r.ReadAt(b[:], r.off+int64(i)*int64(r.rowLen))
			off, gen, typ, ok := parseRow(b[:n])
			if !ok {
				continue
			}
			if typ == 'f' {
				return xrefEntry{free: true}, true
			}
			return xrefEntry{off: off, gen: gen}, true
		}
	}
	return xrefEntry{}, false
}

// beInt reads a big-endian field of an xref stream row; empty fields take
// their default.
func beInt(b []byte, def int64) int64 {
	if len(b) == 0 {
		return def
	}
	var v int64
	for _, c := range b {
		v = v<<8 | int64(c)
	}
	return v
}

// parseIndirect parses "num gen obj <object> [stream]" at the lexer position.
func (d *document) parseIndirect(l *lexer, off int64) (int, object, error) {
	a, err1 := l.next()
	b, err2 := l.next()
	c, err3 := l.next()
	if err := errors.Join(err1, err2, err3); err != nil {
		return 0, nil, err
	}
	if a.k != tInt || b.k != tInt || c.k != tKeyword || c.v != keyword("obj") {
		return 0, nil, malformed(off, "no object header")
	}
	num := a.v.(int64)
	if num < 0 || num > 1<<31 {
		return 0, nil, malformed(off, "bad object number")
	}
	o, err := l.object(0)
	if err != nil {
		if errors.Is(err, errEOF) {
			return 0, nil, malformed(off, "truncated object")
		}
		return 0, nil, err
	}
	dct, ok := o.(dict)
	if !ok {
		return int(num), o, nil
	}
	t, err := l.next()
	if err != nil {
		return 0, nil, err
	}
	if t.k != tKeyword || t.v != keyword("stream") {
		return int(num), o, nil
	}
	// the keyword is followed by CRLF or LF (tolerate a lone CR)
	c1, _ := l.s.readByte()
	if c1 == '\r' {
		if c2, ok := l.s.peek(); ok && c2 == '\n' {
			l.s.i++
		}
	} else if c1 != '\n' {
		l.s.seek(l.s.pos() - 1)
	}
	return int(num), &stream{dict: dct, off: l.s.pos()}, nil
}

// object returns the object with the given number, resolving through the
// cross-reference data. Objects are cached; streams keep only their offset.
func (d *document) object(num int) (object, error) {
	if o, ok := d.cache[num]; ok {
		return o, nil
	}
	e, ok := d.lookup(num)
	if !ok || e.free {
		return nil, nil // missing objects are null
	}
	var o object
	var err error
	if e.inSt {
		o, err = d.objectInStream(num, e)
	} else {
		if e.off <= 0 || e.off >= d.size {
			return nil, malformed(e.off, "object %d offset out of range", num)
		}
		var got int
		got, o, err = d.parseIndirect(newLexer(d.r, e.off, d.size), e.off)
		if err == nil && got != num {
			err = malformed(e.off, "found object %d where %d was expected", got, num)
		}
		if err == nil && d.sec != nil {
			// objects in an object stream are not encrypted one by one: the stream is
			o = d.sec.decryptObject(num, e.gen, o)
		}
	}
	if err != nil {
		return nil, err
	}
	if len(d.cache) >= maxCached {
		for k := range d.cache { // evict an arbitrary entry
			delete(d.cache, k)
			break
		}
	}
	d.cache[num] = o
	return o, nil
}

func (d *document) objectInStream(num int, e xrefEntry) (object, error) {
	if d.stmCache.data == nil || d.stmCache.num != e.stm {
		se, ok := d.lookup(e.stm)
		if !ok || se.inSt || se.free {
			return nil, malformed(-1, "object stream %d missing", e.stm)
		}
		o, err := d.object(e.stm)
		if err != nil {
			return nil, err
		}
		s, ok := o.(*stream)
		if !ok {
			return nil, malformed(se.off, "object %d is not an object stream", e.stm)
		}
		data, err := d.decode(s, maxObjStmSize)
		if err != nil {
			return nil, err
		}
		n, _ := integer(s.dict["N"])
		first, _ := integer(s.dict["First"])
		if n < 0 || n > int64(len(data)) || first < 0 || first > int64(len(data)) {
			return nil, malformed(se.off, "bad object stream header")
		}
		l := newBytesLexer(data[:first])
		offs := make([]int64, 0, 2*n)
		for i := int64(0); i < 2*n; i++ {
			t, err := l.next()
			if err != nil || t.k != tInt {
				return nil, malformed(se.off, "bad object stream index")
			}
			offs = append(offs, t.v.(int64))
		}
		d.stmCache.num, d.stmCache.offs = e.stm, offs
		d.stmCache.data = data[first:]
	}
	offs, data := d.stmCache.offs, d.stmCache.data
	i := e.idx
	if i < 0 || 2*i+1 >= len(offs) || offs[2*i] != int64(num) {
		// index does not match: look the number up instead
		i = -1
		for k := 0; k+1 < len(offs); k += 2 {
			if offs[k] == int64(num) {
				i = k / 2
				break
			}
		}
		if i < 0 {
			return nil, nil
		}
	}
	off := offs[2*i+1]
	if off < 0 || off > int64(len(data)) {
		return nil, malformed(-1, "bad offset of object %d in object stream", num)
	}
	o, err := newBytesLexer(data[off:]).object(0)
	if err != nil {
		return nil, malformed(-1, "object %d in object stream: %v", num, err)
	}
	return o, nil
}

// resolve follows references until a direct object.
func (d *document) resolve(o object) (object, error) {
	for k := 0; k < maxRefDepth; k++ {
		r, ok := o.(ref)
		if !ok {
			return o, nil
		}
		var err error
		if o, err = d.object(r.num); err != nil {
			return nil, err
		}
	}
	return nil, malformed(-1, "reference chain too long")
}

func (d *document) dict(o object) (dict, error) {
	o, err := d.resolve(o)
	if err != nil {
		return nil, err
	}
	switch v := o.(type) {
	case dict:
		return v, nil
	case *stream:
		return v.dict, nil
	}
	return nil, nil
}

func (d *document) array(o object) (array, error) {
	o, err := d.resolve(o)
	if err != nil {
		return nil, err
	}
	a, _ := o.(array)
	return a, nil
}

// streamLength returns the raw length of s, checking it against the
// "endstream" keyword and searching for the keyword when /Length is wrong.
func (d *document) streamLength(s *stream) (int64, error) {
	lo, err := d.resolve(s.dict["Length"])
	if err != nil {
		return 0, err
	}
	if n, ok := integer(lo); ok && n >= 0 && s.off+n <= d.size {
		l := newLexer(d.r, s.off+n, d.size)
		if t, _ := l.next(); t.k == tKeyword && t.v == keyword("endstream") {
			return n, nil
		}
	}
	// scan for endstream
	const chunk = 32 << 10
	buf := make([]byte, chunk+16)
	for p := s.off; p < d.size; p += chunk {
		n, _ := d.r.ReadAt(buf[:min(int64(len(buf)), d.size-p)], p)
		if i := bytes.Index(buf[:n], []byte("endstream")); i >= 0 {
			end := p + int64(i)
			// drop the end-of-line before the keyword
			if end > s.off {
				var c [2]byte
				if _, err := d.r.ReadAt(c[:], end-2); err == nil {
					if c[1] == '\n' || c[1] == '\r' {
						end--
						if c[0] == '\r' && c[1] == '\n' && end > s.off {
							end--
						}
					}
				}
			}
			return end - s.off, nil
		}
	}
	return 0, malformed(s.off, "stream without endstream")
}

// decode returns the decoded data of s, refusing more than limit bytes.
func (d *document) decode(s *stream, limit int64) ([]byte, error) {
	if s.data != nil {
		return s.data, nil
	}
	n, err := d.streamLength(s)
	if err != nil {
		return nil, err
	}
	filters, err := d.resolve(s.dict["Filter"])
	if err != nil {
		return nil, err
	}
	parms, err := d.resolve(s.dict["DecodeParms"])
	if err != nil {
		return nil, err
	}
	var fl []name
	var pl []object
	switch f := filters.(type) {
	case nil:
	case name:
		fl, pl = []name{f}, []object{parms}
	case array:
		pa, _ := parms.(array)
		for i, e := range f {
			nm, ok := e.(name)
			if !ok {
				return nil, malformed(s.off, "bad /Filter")
			}
			fl = append(fl, nm)
			if i < len(pa) {
				pl = append(pl, pa[i])
			} else {
				pl = append(pl, nil)
			}
		}
	default:
		return nil, malformed(s.off, "bad /Filter")
	}
	if len(fl) == 0 && n > limit {
		return nil, unsupported("stream of %d bytes too large to inspect", n)
	}
	var r io.Reader = io.NewSectionReader(d.r, s.off, n)
	if d.sec != nil && s.crypt != cryptNone {
		// decrypted before any filter (ISO 32000-1 7.6.2)
		r = d.sec.decryptReader(s.num, s.gen, s.crypt, r, n)
	}
	for i, f := range fl {
		switch f {
		case "Crypt":
			// the crypt filter is the first one and decided s.crypt above
			if i != 0 {
				return nil, malformed(s.off, "/Crypt is not the first filter")
			}
		case "FlateDecode", "Fl":
			zr, err := getZlib(r)
			if err != nil {
				return nil, malformed(s.off, "flate: %v", err)
			}
			defer zlibPool.Put(zr)
			r = zr
			if p, _ := d.dict(pl[i]); p != nil {
				if pred, _ := integer(p["Predictor"]); pred >= 10 {
					cols, ok := integer(p["Columns"])
					if !ok {
						cols = 1
					}
					colors, ok := integer(p["Colors"])
					if !ok {
						colors = 1
					}
					bpc, ok := integer(p["BitsPerComponent"])
					if !ok {
						bpc = 8
					}
					if cols <= 0 || cols > 1<<20 || colors <= 0 || colors > 32 || bpc <= 0 || bpc > 16 {
						return nil, malformed(s.off, "bad predictor parameters")
					}
					r = &pngReader{r: r, bpp: int(max(1, (colors*bpc+7)/8)), row: make([]byte, 1+(cols*colors*bpc+7)/8)}
				} else if pred == 2 {
					return nil, unsupported("TIFF predictor")
				}
			}
		case "ASCII85Decode", "A85", "ASCIIHexDecode", "AHx":
			// text encodings of binary data, in filter chains such as [/ASCII85Decode /FlateDecode]
			raw, err := io.ReadAll(io.LimitReader(r, 2*limit+16))
			if err != nil {
				return nil, malformed(s.off, "%s: %v", f, err)
			}
			var dec []byte
			if f == "ASCII85Decode" || f == "A85" {
				dec, err = ascii85Decode(raw)
			} else {
				dec, err = asciiHexDecode(raw)
			}
			if err != nil {
				return nil, malformed(s.off, "%s: %v", f, err)
			}
			r = bytes.NewReader(dec)
		default:
			return nil, unsupported("filter %s", f)
		}
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(data)) > limit {
		return nil, unsupported("decoded stream larger than %d bytes", limit)
	}
	if err != nil && len(data) == 0 {
		return nil, malformed(s.off, "decode stream: %v", err)
	}
	// a truncated flate stream still yields what was decoded, as in viewers
	return data, nil
}

// zlibPool reuses decompressors (about 40 KB each): a page walk decodes
// many small streams.
var zlibPool sync.Pool

func getZlib(r io.Reader) (io.ReadCloser, error) {
	if zr, ok := zlibPool.Get().(io.ReadCloser); ok {
		if err := zr.(zlib.Resetter).Reset(r, nil); err != nil {
			zlibPool.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return zlib.NewReader(r)
}

// pngReader undoes PNG row predictors (Predictor >= 10), used by
// cross-reference streams.
type pngReader struct {
	r    io.Reader
	bpp  int
	row  []byte // filter byte + current row
	prev []byte
	out  []byte
}

func (p *pngReader) Read(b []byte) (int, error) {
	for len(p.out) == 0 {
		if _, err := io.ReadFull(p.r, p.row); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			return 0, err
		}
		cur := p.row[1:]
		if p.prev == nil {
			p.prev = make([]byte, len(cur))
		}
		for i := range cur {
			var a, c byte
			if i >= p.bpp {
				a, c = cur[i-p.bpp], p.prev[i-p.bpp]
			}
			up := p.prev[i]
			switch p.row[0] {
			case 1:
				cur[i] += a
			case 2:
				cur[i] += up
			case 3:
				cur[i] += byte((int(a) + int(up)) / 2)
			case 4:
				cur[i] += paeth(a, up, c)
			}
		}
		copy(p.prev, cur)
		p.out = append(p.out[:0], cur...)
	}
	n := copy(b, p.out)
	p.out = p.out[n:]
	return n, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// maxObjNum is the highest object number in use, for numbering new objects.
func (d *document) nextObjNum() int {
	n, _ := integer(d.trailer["Size"])
	next := int(n)
	return max(next, d.maxNum)
}

// ascii85Decode decodes PDF's ASCII85 (whitespace ignored, an optional "<~", up to "~>").
func ascii85Decode(raw []byte) ([]byte, error) {
	raw = bytes.TrimPrefix(bytes.TrimSpace(raw), []byte("<~"))
	if i := bytes.Index(raw, []byte("~>")); i >= 0 {
		raw = raw[:i]
	}
	dst := make([]byte, 4*len(raw)/5+8)
	n, _, err := ascii85.Decode(dst, raw, true)
	if err != nil {
		return nil, err
	}
	return dst[:n], nil
}

// asciiHexDecode decodes PDF's ASCIIHex (whitespace ignored, up to ">", an odd last digit
// followed by 0).
func asciiHexDecode(raw []byte) ([]byte, error) {
	if i := bytes.IndexByte(raw, '>'); i >= 0 {
		raw = raw[:i]
	}
	digits := make([]byte, 0, len(raw)+1)
	for _, c := range raw {
		if !isWhite(c) {
			digits = append(digits, c)
		}
	}
	if len(digits)%2 == 1 {
		digits = append(digits, '0')
	}
	out := make([]byte, len(digits)/2)
	if _, err := hex.Decode(out, digits); err != nil {
		return nil, err
	}
	return out, nil
}
