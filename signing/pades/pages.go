package pades

const maxPages = 1 << 20

// page is a leaf of the page tree with its inherited attributes resolved.
type page struct {
	ref       ref
	dict      dict
	resources dict
	mediaBox  [4]float64
	cropBox   [4]float64 // the region shown, inside the media box
	rotate    int        // clockwise as shown: 0, 90, 180 or 270
}

// inherited holds the page attributes a page tree node passes to its kids.
type inherited struct {
	resources dict
	mediaBox  [4]float64
	cropBox   *[4]float64 // nil: the media box
	rotate    int
}

func (d *document) catalog() (dict, error) {
	c, err := d.dict(d.trailer["Root"])
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, malformed(-1, "catalog missing")
	}
	return c, nil
}

// walkPages calls fn for every page in document order until fn returns true.
func (d *document) walkPages(fn func(i int, p *page) (bool, error)) error {
	cat, err := d.catalog()
	if err != nil {
		return err
	}
	root, ok := cat["Pages"].(ref)
	if !ok {
		return malformed(-1, "catalog has no /Pages reference")
	}
	seen := map[int]bool{}
	i := 0
	var walk func(r ref, in inherited, depth int) (bool, error)
	walk = func(r ref, in inherited, depth int) (bool, error) {
		if seen[r.num] || depth > maxDepth || len(seen) > maxPages {
			return false, malformed(-1, "page tree loops")
		}
		seen[r.num] = true
		n, err := d.dict(r)
		if err != nil {
			return false, err
		}
		if n == nil {
			return false, nil // a dangling kid: skip as viewers do
		}
		if rs, err := d.dict(n["Resources"]); err != nil {
			return false, err
		} else if rs != nil {
			in.resources = rs
		}
		if mb, ok, err := d.rect(n["MediaBox"]); err != nil {
			return false, err
		} else if ok {
			in.mediaBox = mb
		}
		if cb, ok, err := d.rect(n["CropBox"]); err != nil {
			return false, err
		} else if ok {
			in.cropBox = &cb
		}
		if rot, err := d.resolve(n["Rotate"]); err != nil {
			return false, err
		} else if v, ok := integer(rot); ok {
			in.rotate = normRotate(v)
		}
		if n.name("Type") == "Pages" || n["Kids"] != nil && n.name("Type") != "Page" {
			kids, err := d.array(n["Kids"])
			if err != nil {
				return false, err
			}
			for _, k := range kids {
				kr, ok := k.(ref)
				if !ok {
					continue
				}
				stop, err := walk(kr, in, depth+1)
				if stop || err != nil {
					return stop, err
				}
			}
			return false, nil
		}
		i++
		pg := &page{ref: r, dict: n, resources: in.resources, mediaBox: in.mediaBox, cropBox: in.mediaBox, rotate: in.rotate}
		if cb := in.cropBox; cb != nil {
			// the shown region is the crop box clipped to the media box
			c := [4]float64{max(cb[0], pg.mediaBox[0]), max(cb[1], pg.mediaBox[1]), min(cb[2], pg.mediaBox[2]), min(cb[3], pg.mediaBox[3])}
			if c[0] < c[2] && c[1] < c[3] {
				pg.cropBox = c
			}
		}
		return fn(i, pg)
	}
	_, err = walk(root, inherited{mediaBox: [4]float64{0, 0, 612, 792}}, 0)
	return err
}

// rect reads a rectangle, normalised to [llx lly urx ury].
func (d *document) rect(o object) ([4]float64, bool, error) {
	var r [4]float64
	a, err := d.array(o)
	if err != nil || len(a) != 4 {
		return r, false, err
	}
	for i := range r {
		v, err := d.resolve(a[i])
		if err != nil {
			return r, false, err
		}
		var ok bool
		if r[i], ok = number(v); !ok {
			return r, false, nil
		}
	}
	if r[0] > r[2] {
		r[0], r[2] = r[2], r[0]
	}
	if r[1] > r[3] {
		r[1], r[3] = r[3], r[1]
	}
	return r, true, nil
}

// normRotate turns a /Rotate value into 0, 90, 180 or 270 as viewers do:
// taken modulo 360 (-90 is 270, 450 is 90), and 0 when it is not a multiple
// of 90, which ISO 32000 does not allow.
func normRotate(v int64) int {
	r := int((v%360 + 360) % 360)
	if r%90 != 0 {
		return 0
	}
	return r
}

// A page's view maps between its default user space and the page as a
// viewer shows it: the crop box turned clockwise by /Rotate, with its
// origin at the lower left of what is shown and y up.
type view struct {
	box    [4]float64 // the crop box in user space
	rotate int
}

func (p *page) view() view { return view{box: p.cropBox, rotate: p.rotate} }

// size returns the width and height of the page as shown.
func (v view) size() (w, h float64) {
	w, h = v.box[2]-v.box[0], v.box[3]-v.box[1]
	if v.rotate%180 != 0 {
		w, h = h, w
	}
	return w, h
}

// shown maps a point of user space to the page as shown.
func (v view) shown(x, y float64) (float64, float64) {
	b := v.box
	switch v.rotate {
	case 90:
		return y - b[1], b[2] - x
	case 180:
		return b[2] - x, b[3] - y
	case 270:
		return b[3] - y, x - b[0]
	}
	return x - b[0], y - b[1]
}

// user maps a point of the page as shown to user space.
func (v view) user(x, y float64) (float64, float64) {
	b := v.box
	switch v.rotate {
	case 90:
		return b[2] - y, b[1] + x
	case 180:
		return b[2] - x, b[3] - y
	case 270:
		return b[0] + y, b[3] - x
	}
	return b[0] + x, b[1] + y
}

// userRect maps a rectangle of the page as shown to user space.
func (v view) userRect(r [4]float64) [4]float64 {
	ax, ay := v.user(r[0], r[1])
	bx, by := v.user(r[2], r[3])
	return [4]float64{min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)}
}

// pageAt returns page n (1-based) and the number of pages seen; n <= 0 or
// beyond the end returns the last page.
func (d *document) pageAt(n int) (*page, int, error) {
	var last *page
	count := 0
	err := d.walkPages(func(i int, p *page) (bool, error) {
		last, count = p, i
		return i == n, nil
	})
	if err != nil {
		return nil, 0, err
	}
	if last == nil {
		return nil, 0, malformed(-1, "document has no pages")
	}
	return last, count, nil
}
