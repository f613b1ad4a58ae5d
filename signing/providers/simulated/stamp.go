package simulated

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	objRe       = regexp.MustCompile(`(?s)(\d+) 0 obj\s*(<<.*?>>)\s*(?:stream|endobj)`)
	pageTypeRe  = regexp.MustCompile(`/Type\s*/Page[^s]`)
	contentsRef = regexp.MustCompile(`/Contents\s+(\d+ \d+ R)`)
	contentsArr = regexp.MustCompile(`/Contents\s*\[([^\]]*)\]`)
	resRef      = regexp.MustCompile(`/Resources\s+(\d+) 0 R`)
	fontRef     = regexp.MustCompile(`/Font\s+(\d+) 0 R`)
	rootRe      = regexp.MustCompile(`/Root\s+(\d+ \d+ R)`)
	sizeRe      = regexp.MustCompile(`/Size\s+(\d+)`)
	startxrefRe = regexp.MustCompile(`startxref\s+(\d+)`)
)

// Stamp appends an incremental update to pdf that draws a visible text stamp at the bottom of
// every page. The original bytes stay untouched, as with a real signature. It understands PDFs
// whose page objects are not in object streams; others get only a trailing comment.
func Stamp(pdf []byte, text string) []byte {
	out, err := stamp(pdf, text)
	if err != nil {
		return append(append(bytes.Clone(pdf), "\n%"...), []byte(strings.ReplaceAll(text, "\n", " ")+"\n")...)
	}
	return out
}

func stamp(pdf []byte, text string) ([]byte, error) {
	objs := map[int]string{}
	var order []int
	for _, m := range objRe.FindAllSubmatch(pdf, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		if _, seen := objs[n]; !seen {
			order = append(order, n)
		}
		objs[n] = string(m[2]) // later definitions (updates) win
	}
	roots := rootRe.FindAllSubmatch(pdf, -1)
	sizes := sizeRe.FindAllSubmatch(pdf, -1)
	xrefs := startxrefRe.FindAllSubmatch(pdf, -1)
	if len(roots) == 0 || len(sizes) == 0 || len(xrefs) == 0 {
		return nil, fmt.Errorf("no trailer")
	}
	size, _ := strconv.Atoi(string(sizes[len(sizes)-1][1]))
	for _, n := range order {
		if n >= size {
			size = n + 1
		}
	}
	fontN, streamN := size, size+1
	changed := map[int]string{}
	addFont := func(dict string) string {
		if i := strings.Index(dict, "/Font"); i >= 0 {
			rest := dict[i+len("/Font"):]
			if j := strings.Index(rest, "<<"); j >= 0 && strings.TrimSpace(rest[:j]) == "" {
				k := i + len("/Font") + j + 2
				return dict[:k] + fmt.Sprintf(" /SDStamp %d 0 R ", fontN) + dict[k:]
			}
		}
		return "<< /Font << /SDStamp " + strconv.Itoa(fontN) + " 0 R >> " + strings.TrimPrefix(dict, "<<")
	}
	pages := 0
	for _, n := range order {
		d := objs[n]
		if !pageTypeRe.MatchString(d + " ") {
			continue
		}
		pages++
		switch {
		case contentsRef.MatchString(d):
			d = contentsRef.ReplaceAllString(d, fmt.Sprintf("/Contents [$1 %d 0 R]", streamN))
		case contentsArr.MatchString(d):
			d = contentsArr.ReplaceAllString(d, fmt.Sprintf("/Contents [$1 %d 0 R]", streamN))
		default:
			d = "<< /Contents " + strconv.Itoa(streamN) + " 0 R " + strings.TrimPrefix(d, "<<")
		}
		if m := resRef.FindStringSubmatch(d); m != nil {
			rn, _ := strconv.Atoi(m[1])
			rd, ok := objs[rn]
			if !ok {
				return nil, fmt.Errorf("resources %d not found", rn)
			}
			if fm := fontRef.FindStringSubmatch(rd); fm != nil {
				fn, _ := strconv.Atoi(fm[1])
				fd, ok := objs[fn]
				if !ok {
					return nil, fmt.Errorf("fonts %d not found", fn)
				}
				changed[fn] = "<< /SDStamp " + strconv.Itoa(fontN) + " 0 R " + strings.TrimPrefix(fd, "<<")
			} else {
				changed[rn] = addFont(rd)
			}
		} else if i := strings.Index(d, "/Resources"); i >= 0 {
			rest := d[i+len("/Resources"):]
			j := strings.Index(rest, "<<")
			if j < 0 || strings.TrimSpace(rest[:j]) != "" {
				return nil, fmt.Errorf("odd resources")
			}
			start := i + len("/Resources") + j
			end := matchDict(d, start)
			if end < 0 {
				return nil, fmt.Errorf("unbalanced resources")
			}
			sub := d[start:end]
			if fm := fontRef.FindStringSubmatch(sub); fm != nil {
				fn, _ := strconv.Atoi(fm[1])
				fd, ok := objs[fn]
				if !ok {
					return nil, fmt.Errorf("fonts %d not found", fn)
				}
				changed[fn] = "<< /SDStamp " + strconv.Itoa(fontN) + " 0 R " + strings.TrimPrefix(fd, "<<")
			} else {
				d = d[:start] + addFont(sub) + d[end:]
			}
		} else {
			d = "<< /Resources << /Font << /SDStamp " + strconv.Itoa(fontN) + " 0 R >> >> " + strings.TrimPrefix(d, "<<")
		}
		changed[n] = d
	}
	if pages == 0 {
		return nil, fmt.Errorf("no pages")
	}

	var content bytes.Buffer
	content.WriteString("q 0 0.5 0 rg 0 0.5 0 RG 1 w 20 12 555 22 re S BT /SDStamp 9 Tf 26 19 Td (")
	content.WriteString(escape(text))
	content.WriteString(") Tj ET Q")

	var b bytes.Buffer
	b.Write(pdf)
	if !bytes.HasSuffix(pdf, []byte("\n")) {
		b.WriteByte('\n')
	}
	offsets := map[int]int{}
	offsets[fontN] = b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>\nendobj\n", fontN)
	offsets[streamN] = b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", streamN, content.Len(), content.String())
	var nums []int
	for n, d := range changed {
		offsets[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, d)
		nums = append(nums, n)
	}
	nums = append(nums, fontN, streamN)
	xref := b.Len()
	b.WriteString("xref\n")
	for _, n := range sortInts(nums) {
		fmt.Fprintf(&b, "%d 1\n%010d 00000 n \n", n, offsets[n])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %s /Prev %s >>\nstartxref\n%d\n%%%%EOF\n",
		streamN+1, roots[len(roots)-1][1], xrefs[len(xrefs)-1][1], xref)
	return b.Bytes(), nil
}

// matchDict returns the index just past the dictionary that starts at s[start] ("<<").
func matchDict(s string, start int) int {
	depth := 0
	for i := start; i < len(s)-1; i++ {
		switch {
		case s[i] == '<' && s[i+1] == '<':
			depth++
			i++
		case s[i] == '>' && s[i+1] == '>':
			depth--
			i++
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

func sortInts(a []int) []int {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
	return a
}

func escape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`, "\n", " ", "\r", " ")
	var b strings.Builder
	for _, c := range r.Replace(s) {
		if c < 128 {
			b.WriteRune(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}
