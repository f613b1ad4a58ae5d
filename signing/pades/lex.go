package pades

import (
	"io"
	"strconv"
)

// Limits that keep hostile input from exhausting memory or the stack.
const (
	maxDepth      = 64       // nesting of arrays and dictionaries
	maxStringLen  = 16 << 20 // bytes in one string token
	maxCollection = 1 << 20  // elements in one array or dictionary
)

// errEOF is a FormatError so that a truncated file always reports ErrMalformed.
var errEOF error = &FormatError{Kind: ErrMalformed, Offset: -1, Msg: "unexpected end of data"}

// src is a small buffered reader over an io.ReaderAt (or a byte slice)
// that knows its absolute position, so the parser can report where stream
// data starts.
type src struct {
	ra    io.ReaderAt
	mem   []byte // when set, the data itself: no copying
	limit int64  // end of readable data
	off   int64  // offset of buf[0]
	buf   []byte
	i, n  int
}

func newSrc(ra io.ReaderAt, off, limit int64) *src {
	return &src{ra: ra, off: off, limit: limit}
}

func (s *src) pos() int64 { return s.off + int64(s.i) }

func (s *src) fill() bool {
	if s.i < s.n {
		return true
	}
	s.off += int64(s.n)
	s.i, s.n = 0, 0
	if s.off >= s.limit || s.off < 0 {
		return false
	}
	if s.mem != nil {
		s.buf = s.mem[s.off:s.limit]
		s.n = len(s.buf)
		return true
	}
	// most objects are small: start with a small buffer, grow for long reads
	switch {
	case s.buf == nil:
		s.buf = make([]byte, 512)
	case len(s.buf) < 8192:
		s.buf = make([]byte, 8192)
	}
	want := int64(len(s.buf))
	if rem := s.limit - s.off; rem < want {
		want = rem
	}
	n, err := s.ra.ReadAt(s.buf[:want], s.off)
	if n <= 0 && err != nil {
		return false
	}
	s.n = n
	return n > 0
}

func (s *src) readByte() (byte, bool) {
	if !s.fill() {
		return 0, false
	}
	c := s.buf[s.i]
	s.i++
	return c, true
}

func (s *src) peek() (byte, bool) {
	if !s.fill() {
		return 0, false
	}
	return s.buf[s.i], true
}

// seek moves to an absolute offset, reusing the buffer when possible.
func (s *src) seek(off int64) {
	if off >= s.off && off < s.off+int64(s.n) {
		s.i = int(off - s.off)
		return
	}
	s.off, s.i, s.n = off, 0, 0
}

func isWhite(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// token kinds; values are stored in tok.v.
type tokKind int

const (
	tEOF tokKind = iota
	tInt
	tReal
	tName
	tString
	tKeyword
	tArrOpen
	tArrClose
	tDictOpen
	tDictClose
)

type tok struct {
	k   tokKind
	v   object
	pos int64
}

// lexer tokenises PDF syntax and parses objects with the two-token lookahead
// needed to recognise indirect references ("12 0 R").
type lexer struct {
	s    *src
	back []tok
}

func newLexer(ra io.ReaderAt, off, limit int64) *lexer {
	return &lexer{s: newSrc(ra, off, limit)}
}

func newBytesLexer(b []byte) *lexer {
	return &lexer{s: &src{mem: b, limit: int64(len(b))}}
}

func (l *lexer) unread(t tok) { l.back = append(l.back, t) }

func (l *lexer) skipSpace() {
	for {
		c, ok := l.s.peek()
		if !ok {
			return
		}
		if isWhite(c) {
			l.s.i++
			continue
		}
		if c == '%' {
			for {
				c, ok := l.s.readByte()
				if !ok || c == '\n' || c == '\r' {
					break
				}
			}
			continue
		}
		return
	}
}

func (l *lexer) next() (tok, error) {
	if n := len(l.back); n > 0 {
		t := l.back[n-1]
		l.back = l.back[:n-1]
		return t, nil
	}
	l.skipSpace()
	pos := l.s.pos()
	c, ok := l.s.readByte()
	if !ok {
		return tok{k: tEOF, pos: pos}, nil
	}
	switch c {
	case '[':
		return tok{k: tArrOpen, pos: pos}, nil
	case ']':
		return tok{k: tArrClose, pos: pos}, nil
	case '{', '}':
		return tok{k: tKeyword, v: keyword(c), pos: pos}, nil
	case '<':
		if n, ok := l.s.peek(); ok && n == '<' {
			l.s.i++
			return tok{k: tDictOpen, pos: pos}, nil
		}
		b, err := l.hexString()
		return tok{k: tString, v: b, pos: pos}, err
	case '>':
		if n, ok := l.s.peek(); ok && n == '>' {
			l.s.i++
			return tok{k: tDictClose, pos: pos}, nil
		}
		return tok{}, malformed(pos, "stray '>'")
	case '(':
		b, err := l.literalString()
		return tok{k: tString, v: b, pos: pos}, err
	case '/':
		return tok{k: tName, v: l.name(), pos: pos}, nil
	case ')':
		return tok{}, malformed(pos, "stray ')'")
	}
	// number or keyword: read a regular-character run
	word := []byte{c}
	for {
		c, ok := l.s.peek()
		if !ok || isWhite(c) || isDelim(c) {
			break
		}
		l.s.i++
		if len(word) < 256 {
			word = append(word, c)
		}
	}
	if t, ok := parseNumber(word); ok {
		t.pos = pos
		return t, nil
	}
	return tok{k: tKeyword, v: keyword(word), pos: pos}, nil
}

func parseNumber(w []byte) (tok, bool) {
	c := w[0]
	if !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
		return tok{}, false
	}
	s := string(w)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return tok{k: tInt, v: i}, true
	}
	for _, c := range w[1:] {
		if !(c >= '0' && c <= '9' || c == '.') {
			return tok{}, false
		}
	}
	if s == "-" || s == "+" || s == "." || s == "-." {
		return tok{k: tReal, v: 0.0}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// an integer too large for int64, or junk like "1.2.3": keep it
		// a number so the parse goes on, as viewers do
		return tok{k: tReal, v: 0.0}, true
	}
	return tok{k: tReal, v: f}, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (l *lexer) name() name {
	var b []byte
	for {
		c, ok := l.s.peek()
		if !ok || isWhite(c) || isDelim(c) {
			break
		}
		l.s.i++
		if c == '#' {
			h, ok1 := l.s.peek()
			if hv, ok2 := unhex(h); ok1 && ok2 {
				l.s.i++
				lo, ok3 := l.s.peek()
				if lv, ok4 := unhex(lo); ok3 && ok4 {
					l.s.i++
					c = hv<<4 | lv
				}
			}
		}
		if len(b) < 1024 {
			b = append(b, c)
		}
	}
	return name(b)
}

func (l *lexer) hexString() (pdfStr, error) {
	start := l.s.pos()
	var b []byte
	var hi byte
	half := false
	for {
		c, ok := l.s.readByte()
		if !ok {
			return nil, malformed(start, "unterminated hex string")
		}
		if c == '>' {
			break
		}
		v, ok := unhex(c)
		if !ok {
			if isWhite(c) {
				continue
			}
			return nil, malformed(l.s.pos()-1, "bad hex digit")
		}
		if half {
			b = append(b, hi<<4|v)
			if len(b) > maxStringLen {
				return nil, malformed(start, "string too long")
			}
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		b = append(b, hi<<4)
	}
	return pdfStr(b), nil
}

func (l *lexer) literalString() (pdfStr, error) {
	start := l.s.pos()
	b := []byte{}
	depth := 1
	for {
		c, ok := l.s.readByte()
		if !ok {
			return nil, malformed(start, "unterminated string")
		}
		if len(b) > maxStringLen {
			return nil, malformed(start, "string too long")
		}
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return pdfStr(b), nil
			}
		case '\r':
			// end-of-line in a string means \n
			if n, ok := l.s.peek(); ok && n == '\n' {
				l.s.i++
			}
			c = '\n'
		case '\\':
			e, ok := l.s.readByte()
			if !ok {
				return nil, malformed(start, "unterminated string")
			}
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if n, ok := l.s.peek(); ok && n == '\n' {
					l.s.i++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := e - '0'
					for k := 0; k < 2; k++ {
						n, ok := l.s.peek()
						if !ok || n < '0' || n > '7' {
							break
						}
						l.s.i++
						v = v<<3 | (n - '0')
					}
					c = v
				} else {
					c = e
				}
			}
		}
		b = append(b, c)
	}
}

// object parses one object. Indirect references are recognised; a stream
// keyword after a dictionary is left for the caller.
func (l *lexer) object(depth int) (object, error) {
	t, err := l.next()
	if err != nil {
		return nil, err
	}
	return l.objectFrom(t, depth)
}

func (l *lexer) objectFrom(t tok, depth int) (object, error) {
	if depth > maxDepth {
		return nil, malformed(t.pos, "objects nested too deeply")
	}
	switch t.k {
	case tEOF:
		return nil, errEOF
	case tInt:
		// maybe "num gen R"
		t2, err := l.next()
		if err != nil {
			return nil, err
		}
		if t2.k == tInt {
			t3, err := l.next()
			if err != nil {
				return nil, err
			}
			if t3.k == tKeyword && t3.v == keyword("R") {
				n, g := t.v.(int64), t2.v.(int64)
				if n < 0 || n > 1<<31 || g < 0 || g > 1<<31 {
					return nil, malformed(t.pos, "bad reference")
				}
				return ref{int(n), int(g)}, nil
			}
			l.unread(t3)
		}
		l.unread(t2)
		return t.v, nil
	case tReal, tName, tString:
		return t.v, nil
	case tKeyword:
		switch t.v.(keyword) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		return t.v, nil
	case tArrOpen:
		a := array{}
		for {
			t, err := l.next()
			if err != nil {
				return nil, err
			}
			if t.k == tArrClose {
				return a, nil
			}
			if t.k == tEOF {
				return nil, malformed(t.pos, "unterminated array")
			}
			o, err := l.objectFrom(t, depth+1)
			if err != nil {
				return nil, err
			}
			if len(a) >= maxCollection {
				return nil, malformed(t.pos, "array too large")
			}
			a = append(a, o)
		}
	case tDictOpen:
		d := dict{}
		for {
			t, err := l.next()
			if err != nil {
				return nil, err
			}
			if t.k == tDictClose {
				return d, nil
			}
			if t.k != tName {
				if t.k == tEOF {
					return nil, malformed(t.pos, "unterminated dictionary")
				}
				return nil, malformed(t.pos, "dictionary key is not a name")
			}
			v, err := l.object(depth + 1)
			if err != nil {
				return nil, err
			}
			if len(d) >= maxCollection {
				return nil, malformed(t.pos, "dictionary too large")
			}
			if v != nil { // a null value means the key is absent
				d[t.v.(name)] = v
			}
		}
	}
	return nil, malformed(t.pos, "unexpected token")
}
