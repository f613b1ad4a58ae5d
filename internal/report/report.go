// Package report writes the PDF reports signingd makes itself, such as the evidence report of a
// signing: text top to bottom on A4 pages, headings and lines, wrapped at the margin, in an
// embedded font that covers every European script (Go fonts), so names like "Łódź" stay whole.
// Every provider's evidence is written with it; signing the result is the caller's (pades).
package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/signintech/gopdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// Text styles: a title, a section heading, body text, emphasised body text and small print.
type Style int

// The styles a report uses.
const (
	Body Style = iota
	Strong
	Small
	Heading
	Title
)

var styles = map[Style]struct {
	size float64
	bold bool
}{
	Title: {18, true}, Heading: {13, true}, Body: {10, false}, Strong: {10, true}, Small: {8.5, false},
}

// Info is the document information of a report.
type Info struct {
	Title   string
	Author  string
	Created time.Time
}

const (
	pageW   = 595.28 // A4 in points
	pageH   = 841.89
	marginX = 50.0
	marginY = 50.0
	leading = 1.4 // line height as a multiple of the font size
)

// Report is a report being laid out. Its methods record the first error and then do nothing;
// WriteTo returns it, so that callers write the content straight down.
type Report struct {
	pdf *gopdf.GoPdf
	y   float64
	err error
}

// New starts a report with its first page.
func New(info Info) *Report {
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	pdf.SetInfo(gopdf.PdfInfo{Title: info.Title, Author: info.Author, Creator: "signingd", CreationDate: info.Created})
	r := &Report{pdf: pdf, y: marginY}
	if err := pdf.AddTTFFontData("regular", goregular.TTF); err != nil {
		r.err = fmt.Errorf("report: font: %w", err)
	} else if err := pdf.AddTTFFontData("bold", gobold.TTF); err != nil {
		r.err = fmt.Errorf("report: font: %w", err)
	}
	pdf.AddPage()
	return r
}

// Line writes s in style st, wrapped at spaces to the page width (a word longer than the line is
// cut where it must be), starting a new page when the page is full. Newlines in s start new lines.
func (r *Report) Line(st Style, s string) {
	if r.err != nil {
		return
	}
	f := styles[st]
	font := "regular"
	if f.bold {
		font = "bold"
	}
	if err := r.pdf.SetFont(font, "", f.size); err != nil {
		r.err = fmt.Errorf("report: font: %w", err)
		return
	}
	for _, para := range strings.Split(clean(s), "\n") {
		lines, err := r.pdf.SplitTextWithWordWrap(para, pageW-2*marginX)
		if err != nil || len(lines) == 0 {
			lines = []string{para} // an empty line, or a lone character wider than the page
		}
		for _, l := range lines {
			if r.y+f.size*leading > pageH-marginY {
				r.pdf.AddPage()
				r.y = marginY
			}
			r.pdf.SetXY(marginX, r.y)
			if err := r.pdf.Cell(nil, strings.TrimRight(l, " ")); err != nil {
				r.err = fmt.Errorf("report: text: %w", err)
				return
			}
			r.y += f.size * leading
		}
	}
}

// Gap leaves h points of room before the next line.
func (r *Report) Gap(h float64) { r.y += h }

// WriteTo writes the PDF to w, or returns the first error met while laying it out.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.pdf.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("report: write: %w", err)
	}
	return n, nil
}

// Bytes returns the PDF, for reports small enough to hold in memory.
func (r *Report) Bytes() ([]byte, error) {
	var b bytes.Buffer
	if _, err := r.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// clean replaces what the font cannot show: invalid UTF-8 and control characters other than
// newlines (a tab becomes a space).
func clean(s string) string {
	return strings.Map(func(c rune) rune {
		switch {
		case c == '\n':
			return c
		case c == '\t':
			return ' '
		case c < 32 || c == 0x7f:
			return -1
		}
		return c
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// Plain returns a document of body-text lines: the demo's documents and the tests' are made with it.
func Plain(lines ...string) ([]byte, error) {
	r := New(Info{})
	for _, l := range lines {
		r.Line(Body, l)
	}
	return r.Bytes()
}
