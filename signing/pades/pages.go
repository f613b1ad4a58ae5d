package pades

const maxPages = 1 << 20

// page is a leaf of the page tree with its inherited attributes resolved.
type page struct {
	ref       ref
	dict      dict
	resources dict
	mediaBox  [4]float64
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
	var walk func(r ref, res dict, box [4]float64, depth int) (bool, error)
	walk = func(r ref, res dict, box [4]float64, depth int) (bool, error) {
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
			res = rs
		}
		if mb, err := d.array(n["MediaBox"]); err != nil {
			return false, err
		} else if len(mb) == 4 {
			for k := range box {
				box[k], _ = number(mb[k])
			}
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
				stop, err := walk(kr, res, box, depth+1)
				if stop || err != nil {
					return stop, err
				}
			}
			return false, nil
		}
		i++
		return fn(i, &page{ref: r, dict: n, resources: res, mediaBox: box})
	}
	_, err = walk(root, nil, [4]float64{0, 0, 612, 792}, 0)
	return err
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
