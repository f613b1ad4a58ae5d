// Package vendorkit holds what the vendor adapters (documenso, docuseal, onespan) do alike when
// they turn a signing.CreateRequest into a vendor's request: ranking volgorde, spooling documents
// for random access, and finding where a signer's signature field goes. Each adapter keeps its
// vendor's own units and field names; this package speaks points and 1-based pages.
package vendorkit

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
)

// Ranks maps each volgorde of signers to its 0-based rank among the distinct values, so equal
// volgorde share a rank (they sign in parallel) and gaps close up (1, 5, 5, 9 → 0, 1, 1, 2).
// Vendors that number order groups from zero (DocuSeal's order, OneSpan's role index) need this;
// the trigger's volgorde may start anywhere and skip.
func Ranks(signers []signing.ProviderSigner) map[int]int {
	var vs []int
	for _, s := range signers {
		vs = append(vs, s.Volgorde)
	}
	slices.Sort(vs)
	vs = slices.Compact(vs)
	out := make(map[int]int, len(vs))
	for i, v := range vs {
		out[v] = i
	}
	return out
}

// Spooled is a document copied to a temporary file, of Size bytes.
type Spooled struct {
	Doc  signing.ProviderDocument
	File *os.File
	Size int64
}

// Reader reads the spooled copy from its start; each call gives a reader of its own.
func (s Spooled) Reader() *io.SectionReader { return io.NewSectionReader(s.File, 0, s.Size) }

// Spool copies each document to a temporary file, in order. Finding placeholders and page sizes
// reads a PDF at random, and a document's Open gives a stream that can be read once; the copy is
// also what is sent afterwards. vendor prefixes the errors. On an error the files made so far are
// removed; otherwise the caller removes them with Remove.
func Spool(ctx context.Context, vendor string, docs []signing.ProviderDocument) ([]Spooled, error) {
	out := make([]Spooled, 0, len(docs))
	for _, d := range docs {
		sp, err := spool(ctx, vendor, d)
		if err != nil {
			Remove(out)
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

func spool(ctx context.Context, vendor string, d signing.ProviderDocument) (Spooled, error) {
	rc, err := d.Open(ctx)
	if err != nil {
		return Spooled{}, fmt.Errorf("%s: open document %d: %w", vendor, d.Position, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "signingd-"+vendor+"-*.pdf")
	if err != nil {
		return Spooled{}, fmt.Errorf("%s: spool document %d: %w", vendor, d.Position, err)
	}
	n, err := io.Copy(f, rc)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return Spooled{}, fmt.Errorf("%s: read document %d: %w", vendor, d.Position, err)
	}
	return Spooled{Doc: d, File: f, Size: n}, nil
}

// Remove closes and deletes the spooled files.
func Remove(docs []Spooled) {
	for _, d := range docs {
		d.File.Close()
		os.Remove(d.File.Name())
	}
}

// SlotCols is how many free slots a row at the foot of the last page holds.
const SlotCols = 3

// Box is where a signature field goes: on Page (1-based), within Rect (x0, y0, x1, y1 in points
// from the page's lower left, as shown), on a page of PageSize (width, height in points).
type Box struct {
	Page     int
	Rect     [4]float64
	PageSize [2]float64
}

// FieldBox finds where a signer's w×h point field goes in d: its top left at the first
// occurrence of placeholder (when not empty and found), else in free slot *slot at the foot of
// the last page (SlotCols to a row, rows upward from 40 points above the foot), and *slot moves
// on. Vendors that take field positions (not anchors) all place fields so; each converts the Box
// to its own units. A document that is not a readable PDF is a permanent error.
func FieldBox(ctx context.Context, vendor string, d Spooled, placeholder string, w, h float64, slot *int) (Box, error) {
	sizes, err := pades.PageSizes(ctx, d.File, d.Size)
	if err != nil || len(sizes) == 0 {
		return Box{}, fmt.Errorf("%s: document %d is not a PDF that reads: %v: %w", vendor, d.Doc.Position, err, signing.ErrPermanent)
	}
	if placeholder != "" {
		hits, err := pades.FindText(ctx, d.File, d.Size, placeholder)
		if err != nil {
			return Box{}, fmt.Errorf("%s: document %d: %w", vendor, d.Doc.Position, err)
		}
		if len(hits) > 0 {
			x, top := hits[0].Rect[0], hits[0].Rect[3]
			return Box{Page: hits[0].Page, Rect: [4]float64{x, top - h, x + w, top}, PageSize: hits[0].PageSize}, nil
		}
	}
	n := *slot
	*slot++
	x := 40 + float64(n%SlotCols)*(w+10)
	top := 40 + float64(n/SlotCols+1)*(h+10) // from the foot, rows upward
	return Box{Page: len(sizes), Rect: [4]float64{x, top - h, x + w, top}, PageSize: sizes[len(sizes)-1]}, nil
}
