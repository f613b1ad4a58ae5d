package pades

import (
	"context"
	"io"
)

// Hit is where a text was found: on Page (1-based), within Rect (x0, y0, x1, y1 in points, from
// the lower left of the page as a viewer shows it, after its /Rotate, descenders to ascent), on a
// page of PageSize (width, height as shown). A vendor that places signature fields itself (in
// percent of the page, say) converts from these.
type Hit struct {
	Page     int
	Rect     [4]float64
	PageSize [2]float64
}

// FindText returns where text is drawn in the PDF: the first occurrence on each page that has it,
// in page order; none when no page does. A page whose content does not read has no hits.
func FindText(ctx context.Context, r io.ReaderAt, size int64, text string) ([]Hit, error) {
	doc, err := openDocument(r, size)
	if err != nil {
		return nil, err
	}
	var hits []Hit
	err = doc.walkPages(func(i int, p *page) (bool, error) {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		if text == "" {
			return false, nil
		}
		glyphs, err := doc.pageGlyphs(p)
		if err != nil {
			return false, nil
		}
		h, _, ok := matchText(glyphs, text)
		if !ok {
			return false, nil
		}
		v := p.view()
		w, ht := v.size()
		hits = append(hits, Hit{Page: i, Rect: shownBounds(h, v, 0.95), PageSize: [2]float64{w, ht}})
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return hits, nil
}

// PageSizes returns the size (width, height in points, as shown) of every page, in order.
func PageSizes(ctx context.Context, r io.ReaderAt, size int64) ([][2]float64, error) {
	doc, err := openDocument(r, size)
	if err != nil {
		return nil, err
	}
	var out [][2]float64
	err = doc.walkPages(func(_ int, p *page) (bool, error) {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		w, h := p.view().size()
		out = append(out, [2]float64{w, h})
		return false, nil
	})
	return out, err
}
