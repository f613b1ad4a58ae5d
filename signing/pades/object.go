package pades

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"unicode/utf16"
)

// PDF object model. A nil object is the PDF null.
type (
	object  = any
	name    string   // /Name, stored without the slash and with #xx decoded
	pdfStr  []byte   // (literal) or <hex> string, decoded
	keyword string   // a bare word: operator, obj, endobj, R, ...
	array   []object // [ ... ]
	dict    map[name]object
	ref     struct{ num, gen int }
	// stream is a stream object as found in the file: its dictionary and where
	// its raw data starts. data is set only for streams we create or decode.
	// In an encrypted document, crypt says how its data is encrypted, with the
	// key of object num, gen.
	stream struct {
		dict     dict
		off      int64
		data     []byte
		crypt    cryptMethod
		num, gen int
	}
)

func (d dict) name(k name) name {
	n, _ := d[k].(name)
	return n
}

// integer reads an integer value (PDF writers sometimes emit 12.0 for ints).
func integer(o object) (int64, bool) {
	switch v := o.(type) {
	case int64:
		return v, true
	case float64:
		if v == float64(int64(v)) {
			return int64(v), true
		}
	}
	return 0, false
}

func number(o object) (float64, bool) {
	switch v := o.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// textString encodes s as a PDF text string: literal when plain ASCII,
// otherwise UTF-16BE with a byte order mark, so every name survives.
func textString(s string) pdfStr {
	ascii := true
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		return pdfStr(s)
	}
	b := []byte{0xfe, 0xff}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

// decodeText turns a PDF text string into Go text (UTF-16BE with BOM, UTF-8
// with BOM, or PDFDocEncoding approximated as Latin-1).
func decodeText(b []byte) string {
	switch {
	case len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff:
		u := make([]uint16, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	case len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf:
		return string(b[3:])
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// writeObject serialises o in PDF syntax. Dictionary keys are sorted so the
// output is deterministic.
func writeObject(w *bytes.Buffer, o object) {
	switch v := o.(type) {
	case nil:
		w.WriteString("null")
	case bool:
		w.WriteString(strconv.FormatBool(v))
	case int64:
		w.WriteString(strconv.FormatInt(v, 10))
	case int:
		w.WriteString(strconv.Itoa(v))
	case float64:
		w.WriteString(formatReal(v))
	case name:
		writeName(w, v)
	case pdfStr:
		writeString(w, v)
	case keyword:
		w.WriteString(string(v))
	case ref:
		fmt.Fprintf(w, "%d %d R", v.num, v.gen)
	case array:
		w.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				w.WriteByte(' ')
			}
			writeObject(w, e)
		}
		w.WriteByte(']')
	case dict:
		w.WriteString("<<")
		keys := make([]name, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			writeName(w, k)
			w.WriteByte(' ')
			writeObject(w, v[k])
		}
		w.WriteString(">>")
	case *stream:
		v.dict["Length"] = int64(len(v.data))
		writeObject(w, v.dict)
		w.WriteString("\nstream\n")
		w.Write(v.data)
		w.WriteString("\nendstream")
	default:
		// Unknown Go values never come from the parser; writing null keeps
		// the output syntactically valid instead of panicking.
		w.WriteString("null")
	}
}

func formatReal(f float64) string {
	s := strconv.FormatFloat(f, 'f', 4, 64)
	s = trimZeros(s)
	if s == "-0" {
		return "0"
	}
	return s
}

func trimZeros(s string) string {
	if !bytes.ContainsRune([]byte(s), '.') {
		return s
	}
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

func writeName(w *bytes.Buffer, n name) {
	w.WriteByte('/')
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c < 0x21 || c > 0x7e || c == '#' || isDelim(c) {
			fmt.Fprintf(w, "#%02X", c)
			continue
		}
		w.WriteByte(c)
	}
}

// writeString writes a literal string when it is printable ASCII, else hex.
func writeString(w *bytes.Buffer, s pdfStr) {
	printable := true
	for _, c := range s {
		if c < 0x20 || c > 0x7e {
			printable = false
			break
		}
	}
	if !printable {
		fmt.Fprintf(w, "<%X>", []byte(s))
		return
	}
	w.WriteByte('(')
	for _, c := range s {
		if c == '(' || c == ')' || c == '\\' {
			w.WriteByte('\\')
		}
		w.WriteByte(c)
	}
	w.WriteByte(')')
}

// writeIndirect writes "num gen obj ... endobj".
func writeIndirect(w io.Writer, r ref, o object) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d %d obj\n", r.num, r.gen)
	writeObject(&b, o)
	b.WriteString("\nendobj\n")
	_, err := w.Write(b.Bytes())
	return err
}
