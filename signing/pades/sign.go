package pades

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options configure one signature.
//
// Placement follows the page as a viewer shows it, after its /Rotate
// (inherited from the page tree, taken modulo 360 as viewers do), and the
// appearance always reads upright there: its form XObject carries a
// /Matrix that turns it against the page rotation (ISO 32000-1, 12.5.5).
// At a placeholder the box starts where the placeholder text starts as
// shown, its top just above the text, and extends right and down as shown
// as far as the room there allows (at most 200 × 62 pt): it covers no other
// text and no other signature, and its lines shrink to fit it. Where not
// even a legible minimum fits (see minStampH), the signature goes to the
// signature page and a note over the placeholder says so.
// A prepared field keeps its /Rect, which is in the page's unrotated user
// space as ISO 32000 defines it; the appearance fills it upright. A
// signature page is appended unrotated; one that has since been turned is
// not filled further, and the next signature starts a new one.
type Options struct {
	// Signer holds the private key; it may live in an HSM or a cloud KMS.
	// RSA and ECDSA keys are supported.
	Signer crypto.Signer
	// Certificates is the signer certificate followed by its chain; all of
	// them are embedded in the CMS.
	Certificates []*x509.Certificate
	// PSS selects RSASSA-PSS instead of PKCS #1 v1.5 for RSA keys.
	PSS bool

	// Name, Reason, Location and ContactInfo go into the signature
	// dictionary; Name also appears in the visible appearance.
	Name, Reason, Location, ContactInfo string
	// Time is the claimed signing time (/M). Zero means now.
	Time time.Time

	// Placed, when set, is told where the visible signature went: a
	// placeholder that was not found, or had no room, is then not silent.
	Placed func(Placement)

	// Placeholder is text (e.g. "{{Signer1}}") whose position on a page
	// receives the visible signature. When it is empty, not found or has
	// no room for a stamp, the signature goes into the next free slot of a
	// signature page appended to the document.
	Placeholder string
	// Page restricts the placeholder search, or places an invisible
	// signature, on this 1-based page. Zero means any page (first page for
	// invisible signatures).
	Page int
	// Invisible creates a signature without appearance.
	Invisible bool
	// Label is the first line of the appearance; default "Digitaal ondertekend".
	Label string
	// FieldName names the signature field; default "Handtekening<n>".
	// When the document has an empty signature field of that name, the
	// signature goes into it, at the field's position.
	FieldName string

	// TSA, when set, adds a signature time-stamp (PAdES B-T).
	TSA *TSA
	// Certify makes this a certification signature with DocMDP permission
	// P (1: no changes, 2: form filling and signing, 3: also annotations).
	// Zero makes an approval signature.
	Certify int

	docTimestamp bool // set by Timestamp
}

// Signature page geometry (A4), in points.
const (
	sigPageMarker = "SigningdSignaturePage"
	slotCols      = 2
	slotRows      = 5
	slotW, slotH  = 240.0, 100.0
	slotGapX      = 15.0
	slotGapY      = 12.0
	slotTop       = 130.0 // below the page heading
	placeW        = 200.0 // box drawn at a placeholder
	placeH        = 62.0
)

var a4 = [4]float64{0, 0, 595.28, 841.89}

// plan is the set of objects one incremental update writes.
type plan struct {
	next    int
	objects map[int]object // new or changed objects, by number
	gens    map[int]int
}

func (p *plan) alloc() ref {
	r := ref{p.next, 0}
	p.next++
	return r
}

func (p *plan) put(r ref, o object) {
	p.objects[r.num] = o
	p.gens[r.num] = r.gen
}

// Sign reads the PDF in (size bytes) and writes it to out followed by one
// incremental update holding a new PAdES signature. The input is read
// twice and never held in memory.
func Sign(ctx context.Context, in io.ReaderAt, size int64, out io.Writer, opts Options) error {
	if err := opts.check(); err != nil {
		return err
	}
	return appendSignature(ctx, in, size, out, &opts, estimateCMS(&opts),
		func(ctx context.Context, digest []byte) ([]byte, error) {
			p := cmsParams{contentType: oidData, digest: digest, certs: opts.Certificates, signer: opts.Signer, pss: opts.PSS}
			if opts.TSA != nil {
				p.unsigned = func(sig []byte) ([][]byte, error) {
					a, err := opts.TSA.timestampAttribute(ctx, sig)
					if err != nil {
						return nil, err
					}
					return [][]byte{a}, nil
				}
			}
			return buildSignedData(p)
		})
}

// Timestamp appends a document time-stamp (PAdES B-LTA): an invisible
// signature field whose /Contents is an RFC 3161 token over the whole file,
// so signatures and validation data stay provable after certificates expire.
func Timestamp(ctx context.Context, in io.ReaderAt, size int64, out io.Writer, tsa *TSA) error {
	if tsa == nil || tsa.URL == "" {
		return fmt.Errorf("%w: a TSA is required", ErrInvalidOptions)
	}
	opts := Options{Invisible: true, docTimestamp: true}
	return appendSignature(ctx, in, size, out, &opts, 8192, tsa.token)
}

// contentsFunc produces the /Contents value for the digest of the byte ranges.
type contentsFunc func(ctx context.Context, digest []byte) ([]byte, error)

// appendSignature lays out the update with a placeholder of reserve bytes,
// hashes the byte ranges, and fills in what makeContents returns. When the
// result does not fit, it lays out again once with the exact size.
func appendSignature(ctx context.Context, in io.ReaderAt, size int64, out io.Writer, opts *Options, reserve int, makeContents contentsFunc) error {
	if in == nil || out == nil || size < 0 {
		return fmt.Errorf("%w: input and output are required", ErrInvalidOptions)
	}
	doc, err := openDocument(in, size)
	if err != nil {
		return err
	}
	u, err := prepare(ctx, doc, opts)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		upd, err := u.render(doc, reserve)
		if err != nil {
			return err
		}
		digest, err := upd.digest(ctx, doc)
		if err != nil {
			return err
		}
		contents, err := makeContents(ctx, digest)
		if err != nil {
			return err
		}
		if len(contents) > reserve {
			if attempt > 0 {
				return fmt.Errorf("pades: signature grew from %d to %d bytes between attempts", reserve, len(contents))
			}
			reserve = len(contents) + 1024
			continue
		}
		return upd.write(ctx, doc, out, contents)
	}
}

func (o *Options) check() error {
	if o.Signer == nil || len(o.Certificates) == 0 {
		return fmt.Errorf("%w: Signer and Certificates are required", ErrInvalidOptions)
	}
	for i, c := range o.Certificates {
		if c == nil || len(c.Raw) == 0 {
			return fmt.Errorf("%w: certificate %d is empty", ErrInvalidOptions, i)
		}
	}
	if o.Certify < 0 || o.Certify > 3 {
		return fmt.Errorf("%w: Certify must be 0..3", ErrInvalidOptions)
	}
	if o.Page < 0 {
		return fmt.Errorf("%w: negative page", ErrInvalidOptions)
	}
	if _, ok := o.Signer.Public().(*rsa.PublicKey); o.PSS && !ok {
		return fmt.Errorf("%w: PSS requires an RSA key", ErrInvalidOptions)
	}
	return checkKey(o.Signer, o.Certificates[0], o.PSS)
}

// estimateCMS guesses the DER size of the CMS, generously: an undersized
// placeholder costs a second pass over the file.
func estimateCMS(o *Options) int {
	n := 2048
	for _, c := range o.Certificates {
		n += len(c.Raw)
	}
	if k, ok := o.Signer.Public().(*rsa.PublicKey); ok {
		n += k.Size()
	} else {
		n += 160
	}
	if o.TSA != nil {
		n += 8192
	}
	return n
}

// update is a prepared incremental update; render lays it out.
type update struct {
	plan    *plan
	sigRef  ref
	sigDict dict // without ByteRange and Contents
}

// prepare reads what the update must change and builds its objects.
func prepare(ctx context.Context, doc *document, o *Options) (*update, error) {
	cat, err := doc.catalog()
	if err != nil {
		return nil, err
	}
	p := &plan{next: doc.nextObjNum(), objects: map[int]object{}, gens: map[int]int{}}
	rootRef := doc.trailer["Root"].(ref)

	// DocMDP: an earlier certification signature may forbid changes.
	mdp, err := docMDP(doc, cat)
	if err != nil {
		return nil, err
	}
	if mdp == 1 && !o.docTimestamp {
		return nil, fmt.Errorf("%w: certification signature permits no changes (DocMDP P=1)", ErrLocked)
	}

	// AcroForm and its fields
	catChanged := false
	newCat := cloneDict(cat)
	var form dict
	formRef, formIsRef := cat["AcroForm"].(ref)
	if form, err = doc.dict(cat["AcroForm"]); err != nil {
		return nil, err
	}
	if form == nil {
		form, formIsRef = dict{}, false
	} else {
		form = cloneDict(form)
	}
	fieldsRef, fieldsIsRef := form["Fields"].(ref)
	fields, err := doc.array(form["Fields"])
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	empty := map[string]emptyField{} // unsigned signature fields
	signed := 0
	for _, f := range fields {
		fd, err := doc.dict(f)
		if err != nil {
			return nil, err
		}
		if fd == nil {
			continue
		}
		t, _ := fd["T"].(pdfStr)
		names[decodeText(t)] = true
		if fd.name("FT") != "Sig" {
			continue
		}
		if fd["V"] != nil {
			signed++
			continue
		}
		// a merged field and widget we can sign in place
		if r, ok := f.(ref); ok && fd["Kids"] == nil {
			empty[decodeText(t)] = emptyField{ref: r, dict: fd}
		}
	}
	if o.Certify > 0 && (signed > 0 || mdp > 0) {
		return nil, fmt.Errorf("%w: a certification signature must be the first signature", ErrInvalidOptions)
	}
	field := o.FieldName
	if field == "" {
		prefix := "Handtekening"
		if o.docTimestamp {
			prefix = "Tijdstempel"
		}
		for i := signed + 1; ; i++ {
			if field = prefix + strconv.Itoa(i); !names[field] {
				break
			}
		}
	}
	existing, useExisting := empty[field]
	if names[field] && !useExisting {
		return nil, fmt.Errorf("%w: field %q already exists and is not an empty signature field", ErrInvalidOptions, field)
	}

	now := o.Time
	if now.IsZero() {
		now = time.Now()
	}
	now = now.Truncate(time.Second)
	var st *stamp
	if !o.Invisible {
		fu, err := newFontUse()
		if err != nil {
			return nil, err
		}
		st = newStamp(fu, o, now)
	}

	var pl placement
	invisible := o.Invisible
	if useExisting {
		// sign the prepared field where it is, upright on its page
		pl.rect, _, err = doc.rect(existing.dict["Rect"])
		if err != nil {
			return nil, err
		}
		if pl.page, err = doc.widgetPage(existing.ref, existing.dict["P"]); err != nil {
			return nil, err
		}
		invisible = invisible || pl.rect[2]-pl.rect[0] < 1 || pl.rect[3]-pl.rect[1] < 1
	} else if pl, err = place(ctx, doc, o, st, mdp); err != nil {
		return nil, err
	}
	if o.Placed != nil && !o.Invisible {
		at := Placement{Field: useExisting, SignaturePage: !useExisting && (pl.newPage || pl.cover != nil || pl.slot)}
		at.AtPlaceholder = !useExisting && !at.SignaturePage && o.Placeholder != ""
		if o.Placeholder != "" && !at.AtPlaceholder && !useExisting {
			at.Missed = "not found"
			if pl.cover != nil {
				at.Missed = "no room"
			}
		}
		o.Placed(at)
	}
	pg, rect, newPage := pl.page, pl.rect, pl.newPage

	sigRef := p.alloc()

	var widgetRef ref
	var widget dict
	if useExisting {
		widgetRef, widget = existing.ref, cloneDict(existing.dict)
		widget["V"] = sigRef
		f, _ := integer(widget["F"])
		widget["F"] = f | 4 // print
	} else {
		widgetRef = p.alloc()
		widget = dict{"Type": name("Annot"), "Subtype": name("Widget"), "FT": name("Sig"),
			"T": textString(field), "V": sigRef, "F": int64(132), // print, locked
			"Rect": array{rect[0], rect[1], rect[2], rect[3]}}
		if invisible {
			widget["Rect"] = array{int64(0), int64(0), int64(0), int64(0)}
		}
	}
	var fontRef ref
	if !invisible {
		var frefs [5]ref
		for i := range frefs {
			frefs[i] = p.alloc()
		}
		fontRef = frefs[0]
		apRef := p.alloc()
		widget["AP"] = dict{"N": apRef}
		// the appearance is drawn as shown: a page turned a quarter
		// shows the rectangle's width as its height
		rotate := 0
		if pg != nil {
			rotate = pg.rotate
		}
		w, h := rect[2]-rect[0], rect[3]-rect[1]
		if rotate%180 != 0 {
			w, h = h, w
		}
		p.put(apRef, appearance(st, fontRef, w, h, rotate))
		if pl.cover != nil {
			if err := addCover(doc, p, pl.cover, st.fu, fontRef); err != nil {
				return nil, err
			}
		}
		var pageRef ref
		if newPage {
			pageRef = p.alloc()
			contentRef := p.alloc()
			p.put(contentRef, flateStream(dict{}, sigPageContent(st.fu)))
			p.put(pageRef, dict{"Type": name("Page"), "Parent": cat["Pages"],
				// box and rotation set here, not inherited from the page tree
				"MediaBox": array{a4[0], a4[1], a4[2], a4[3]}, "CropBox": array{a4[0], a4[1], a4[2], a4[3]},
				"Contents": contentRef, "Rotate": int64(0),
				"Resources": dict{"Font": dict{"F1": fontRef}}, "Annots": array{widgetRef},
				name(sigPageMarker): true})
			if err := addPage(doc, p, cat, pageRef); err != nil {
				return nil, err
			}
		}
		// the font is encoded last so it holds every glyph used above
		objs, err := st.fu.objects(frefs)
		if err != nil {
			return nil, err
		}
		for r, ob := range objs {
			p.put(r, ob)
		}
		if newPage {
			widget["P"] = pageRef
		}
	}
	if !newPage && !useExisting {
		widget["P"] = pg.ref
		if err := addAnnot(doc, p, pg, widgetRef); err != nil {
			return nil, err
		}
	}
	p.put(widgetRef, widget)

	// fields: append the widget, keeping the existing ones
	if !useExisting {
		newFields := append(slices.Clone(fields), widgetRef)
		if fieldsIsRef {
			p.put(fieldsRef, newFields)
		} else {
			form["Fields"] = newFields
		}
	}
	sf, _ := integer(form["SigFlags"])
	form["SigFlags"] = sf | 3 // signatures exist, append only
	// /NeedAppearances makes viewers (poppler) draw every field anew, the signature's widget as an
	// empty box. The signature has its appearance; the other fields keep theirs, and viewers draw a
	// field that has none from its value, as they do without the flag.
	if v, _ := form["NeedAppearances"].(bool); v {
		delete(form, "NeedAppearances")
	}
	if formIsRef {
		p.put(formRef, form)
	} else {
		newCat["AcroForm"] = form
		catChanged = true
	}

	sig := sigDictionary(o, now)
	if o.Certify > 0 {
		sig["Reference"] = array{dict{"Type": name("SigRef"), "TransformMethod": name("DocMDP"),
			"TransformParams": dict{"Type": name("TransformParams"), "P": int64(o.Certify), "V": name("1.2")}}}
		perms, _ := doc.dict(cat["Perms"])
		perms = cloneDict(perms)
		if perms == nil {
			perms = dict{}
		}
		perms["DocMDP"] = sigRef
		newCat["Perms"] = perms
		catChanged = true
	}
	// A signature dictionary with ETSI.CAdES.detached and /SigFlags are PDF 1.7 features (ISO
	// 32000-1): an older document says so in its catalog, which the update may raise (since 1.4).
	if below17(doc.version) && below17(nameString(cat["Version"])) {
		newCat["Version"] = name("1.7")
		catChanged = true
	}
	if catChanged {
		p.put(rootRef, newCat)
	}
	return &update{plan: p, sigRef: sigRef, sigDict: sig}, nil
}

// emptyField is an unsigned signature field prepared in the document.
type emptyField struct {
	ref  ref
	dict dict
}

// widgetPage returns the page that shows widget w: the one its /P names,
// or the one whose /Annots lists it; nil when there is none.
func (d *document) widgetPage(w ref, p object) (*page, error) {
	pr, hasP := p.(ref)
	var found *page
	err := d.walkPages(func(_ int, pg *page) (bool, error) {
		if hasP && pg.ref == pr {
			found = pg
			return true, nil
		}
		annots, err := d.array(pg.dict["Annots"])
		if err != nil {
			return false, nil // an unreadable /Annots just does not list it
		}
		for _, a := range annots {
			if r, ok := a.(ref); ok && r == w {
				found = pg
				return true, nil
			}
		}
		return false, nil
	})
	return found, err
}

// placement is where the widget goes: on an existing page, or on a new
// signature page (page nil) at rect. cover is set when a placeholder had
// no room for the stamp: a note over it says where the signature went.
// Placement says where a signature went.
type Placement struct {
	AtPlaceholder bool   // at the Placeholder's text
	Missed        string // why not, when a Placeholder was given: "not found" or "no room"
	SignaturePage bool   // in a slot of the signature page
	Field         bool   // in a prepared signature field
}

type placement struct {
	page    *page
	rect    [4]float64
	newPage bool
	slot    bool // in a slot of an existing signature page
	cover   *cover
}

// below17 reports whether a PDF version ("1.2", "1.6", "" for none) is older than 1.7.
func below17(v string) bool {
	if v == "" {
		return true
	}
	major, minor, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	return major == "1" && len(minor) == 1 && minor[0] < '7'
}

func nameString(o object) string {
	if n, ok := o.(name); ok {
		return string(n)
	}
	return ""
}

// place finds the widget position: the free room at the placeholder text if
// present, else the next free slot of the signature page, appending one
// when needed.
func place(ctx context.Context, doc *document, o *Options, st *stamp, mdp int) (placement, error) {
	if o.Invisible {
		pg, _, err := doc.pageAt(max(o.Page, 1))
		return placement{page: pg}, err
	}
	var pl placement
	if o.Placeholder != "" {
		err := doc.walkPages(func(i int, cand *page) (bool, error) {
			if err := ctx.Err(); err != nil {
				return true, err // searching a long document can take a while
			}
			if o.Page > 0 && i != o.Page {
				return false, nil
			}
			glyphs, err := doc.pageGlyphs(cand)
			if err != nil {
				return false, nil // an unreadable page just has no placeholder
			}
			hit, own, ok := matchText(glyphs, o.Placeholder)
			if !ok {
				return false, nil
			}
			v := cand.view()
			ph := shownBounds(hit, v, 0.95)
			pw, phH := v.size()
			floor := shownBounds(hit, v, inkAscent)[3] + clearance
			if r, ok := fitStamp(ph, floor, doc.obstacles(cand, glyphs, own), pw, phH, st); ok {
				pl = placement{page: cand, rect: v.userRect(r)}
			} else {
				pl.cover = &cover{page: cand, rect: v.userRect(ph), w: ph[2] - ph[0], h: ph[3] - ph[1]}
			}
			return true, nil
		})
		if err != nil || pl.page != nil {
			return pl, err
		}
	}
	last, _, err := doc.pageAt(-1)
	if err != nil {
		return pl, err
	}
	slot := 0
	// a signature page turned since it was added no longer fits its slots
	if isSigPage, _ := last.dict[sigPageMarker].(bool); isSigPage && last.rotate == 0 {
		used, err := countSigWidgets(doc, last.dict)
		if err != nil {
			return pl, err
		}
		if used < slotCols*slotRows {
			pl.page, slot, pl.slot = last, used, true
		}
	}
	if pl.page == nil {
		if mdp > 0 {
			if pl.cover != nil {
				return pl, fmt.Errorf("%w: no room for the signature at %q, and a certified document takes no signature page", ErrLocked, o.Placeholder)
			}
			return pl, fmt.Errorf("%w: cannot add a signature page to a certified document", ErrLocked)
		}
		pl.newPage = true
	}
	col, row := slot%slotCols, slot/slotCols
	x := 50 + float64(col)*(slotW+slotGapX)
	top := a4[3] - slotTop - float64(row)*(slotH+slotGapY)
	pl.rect = [4]float64{x, top - slotH, x + slotW, top}
	return pl, nil
}

// sigDictionary returns the signature dictionary without /ByteRange and
// /Contents, which render adds.
func sigDictionary(o *Options, now time.Time) dict {
	if o.docTimestamp {
		// the time is in the token; /M and signer details do not apply
		return dict{"Type": name("DocTimeStamp"), "Filter": name("Adobe.PPKLite"), "SubFilter": name("ETSI.RFC3161")}
	}
	sig := dict{"Type": name("Sig"), "Filter": name("Adobe.PPKLite"),
		"SubFilter": name("ETSI.CAdES.detached"), "M": pdfStr(pdfDate(now))}
	signerName := o.Name
	if signerName == "" && len(o.Certificates) > 0 && o.Certificates[0] != nil {
		signerName = o.Certificates[0].Subject.CommonName
	}
	for k, v := range map[name]string{"Name": signerName, "Reason": o.Reason, "Location": o.Location, "ContactInfo": o.ContactInfo} {
		if v != "" {
			sig[k] = textString(v)
		}
	}
	return sig
}

// docMDP returns the DocMDP permission of an earlier certification
// signature, or 0 when there is none.
func docMDP(doc *document, cat dict) (int, error) {
	perms, err := doc.dict(cat["Perms"])
	if err != nil || perms == nil {
		return 0, err
	}
	sig, err := doc.dict(perms["DocMDP"])
	if err != nil || sig == nil {
		return 0, err
	}
	refs, err := doc.array(sig["Reference"])
	if err != nil {
		return 0, err
	}
	for _, r := range refs {
		rd, err := doc.dict(r)
		if err != nil {
			return 0, err
		}
		if rd == nil || rd.name("TransformMethod") != "DocMDP" {
			continue
		}
		tp, err := doc.dict(rd["TransformParams"])
		if err != nil {
			return 0, err
		}
		if p, ok := integer(tp["P"]); ok && p >= 1 && p <= 3 {
			return int(p), nil
		}
		return 2, nil // the default
	}
	return 2, nil
}

func cloneDict(d dict) dict {
	if d == nil {
		return nil
	}
	c := make(dict, len(d))
	for k, v := range d {
		c[k] = v
	}
	return c
}

func countSigWidgets(doc *document, pd dict) (int, error) {
	annots, err := doc.array(pd["Annots"])
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range annots {
		ad, err := doc.dict(a)
		if err != nil {
			return 0, err
		}
		if ad != nil && ad.name("FT") == "Sig" {
			n++
		}
	}
	return n, nil
}

// addAnnot appends the widget to the page's /Annots, rewriting the array
// object when it is indirect and the page otherwise.
func addAnnot(doc *document, p *plan, pg *page, widget ref) error {
	annots, err := doc.array(pg.dict["Annots"])
	if err != nil {
		return err
	}
	na := append(slices.Clone(annots), widget)
	if ar, ok := pg.dict["Annots"].(ref); ok {
		if o, err := doc.object(ar.num); err == nil {
			if _, isArr := o.(array); isArr {
				p.put(ar, na)
				return nil
			}
		}
	}
	pd := cloneDict(pg.dict)
	pd["Annots"] = na
	p.put(pg.ref, pd)
	return nil
}

// addPage appends pageRef to the root of the page tree.
func addPage(doc *document, p *plan, cat dict, pageRef ref) error {
	rr, ok := cat["Pages"].(ref)
	if !ok {
		return malformed(-1, "catalog has no /Pages reference")
	}
	root, err := doc.dict(rr)
	if err != nil {
		return err
	}
	if root == nil {
		return malformed(-1, "page tree root missing")
	}
	kids, err := doc.array(root["Kids"])
	if err != nil {
		return err
	}
	nr := cloneDict(root)
	count, _ := integer(root["Count"])
	nr["Kids"] = append(slices.Clone(kids), pageRef)
	nr["Count"] = count + 1
	p.put(rr, nr)
	return nil
}

// shownBounds returns the bounds of a placeholder's text in the page as
// shown, from its descenders to ascent font sizes above the baseline.
func shownBounds(h placeholderHit, v view, ascent float64) [4]float64 {
	// lower the baseline to the descenders and take the height from there
	h.x -= h.up[0] * h.height * inkDescent
	h.y -= h.up[1] * h.height * inkDescent
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range h.corners(ascent + inkDescent) {
		x, y := v.shown(c[0], c[1])
		x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
	}
	return [4]float64{x0, y0, x1, y1}
}

func pdfDate(t time.Time) string {
	s := t.Format("D:20060102150405")
	_, off := t.Zone()
	if off == 0 {
		return s + "Z"
	}
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s%c%02d'%02d'", s, sign, off/3600, off%3600/60)
}

func flateStream(d dict, data []byte) *stream {
	var b bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&b, zlib.BestCompression) // valid level: no error
	zw.Write(data)
	zw.Close()
	d["Filter"] = name("FlateDecode")
	return &stream{dict: d, data: b.Bytes()}
}

// rendered is a laid-out update: its bytes with the /Contents hex digits
// still zero, and the positions to hash around.
type rendered struct {
	buf          []byte
	cStart, cEnd int // the <...> of /Contents, in buf
	byteRange    [4]int64
}

// render writes the update objects, the signature dictionary with
// placeholders, and a cross-reference section like the file's last one.
func (u *update) render(doc *document, reserve int) (*rendered, error) {
	var b bytes.Buffer
	var last [1]byte
	if doc.size > 0 {
		if _, err := doc.r.ReadAt(last[:], doc.size-1); err != nil {
			return nil, fmt.Errorf("pades: read input: %w", err)
		}
		if last[0] != '\n' && last[0] != '\r' {
			b.WriteByte('\n')
		}
	}
	p := u.plan
	nums := make([]int, 0, len(p.objects)+2)
	for n := range p.objects {
		nums = append(nums, n)
	}
	if u.sigRef.num != 0 {
		nums = append(nums, u.sigRef.num)
	}
	slices.Sort(nums)
	offsets := map[int]int64{}
	r := &rendered{}
	for _, n := range nums {
		offsets[n] = doc.size + int64(b.Len())
		if n == u.sigRef.num {
			fmt.Fprintf(&b, "%d 0 obj\n", n)
			sd := cloneDict(u.sigDict)
			if doc.sec != nil {
				// its strings are encrypted, the /Contents below is not (ISO 32000-1 7.6.1)
				sd = doc.sec.encryptObject(n, 0, sd).(dict)
			}
			b.WriteString("<<")
			for _, k := range sortedKeys(sd) {
				writeName(&b, k)
				b.WriteByte(' ')
				writeObject(&b, sd[k])
			}
			b.WriteString("/ByteRange ")
			brPos := b.Len()
			b.WriteString("[0 0000000000 0000000000 0000000000]")
			b.WriteString("                ") // room for larger offsets
			b.WriteString("/Contents ")
			r.cStart = b.Len()
			b.WriteByte('<')
			b.Write(bytes.Repeat([]byte("0"), 2*reserve))
			b.WriteByte('>')
			r.cEnd = b.Len()
			b.WriteString(">>\nendobj\n")
			r.byteRange[3] = int64(brPos) // remember, fixed below
			continue
		}
		o := p.objects[n]
		if doc.sec != nil {
			o = doc.sec.encryptObject(n, p.gens[n], o)
		}
		if err := writeIndirect(&b, ref{n, p.gens[n]}, o); err != nil {
			return nil, err
		}
	}
	if err := u.writeXref(doc, &b, nums, offsets); err != nil {
		return nil, err
	}
	r.buf = b.Bytes()
	if u.sigRef.num == 0 {
		return r, nil // no signature: nothing to patch
	}
	brPos := int(r.byteRange[3])
	r.byteRange = [4]int64{0, doc.size + int64(r.cStart), doc.size + int64(r.cEnd), int64(len(r.buf) - r.cEnd)}
	br := fmt.Sprintf("[%d %d %d %d]", r.byteRange[0], r.byteRange[1], r.byteRange[2], r.byteRange[3])
	room := r.cStart - len("/Contents ") - brPos
	if len(br) > room {
		return nil, errors.New("pades: byte range does not fit")
	}
	copy(r.buf[brPos:], br+string(bytes.Repeat([]byte(" "), room-len(br))))
	return r, nil
}

func sortedKeys(d dict) []name {
	keys := make([]name, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writeXref appends a cross-reference table or stream and the trailer.
func (u *update) writeXref(doc *document, b *bytes.Buffer, nums []int, offsets map[int]int64) error {
	size := u.plan.next
	tr := dict{"Root": doc.trailer["Root"], "Prev": doc.startxref}
	if info, ok := doc.trailer["Info"]; ok {
		tr["Info"] = info
	}
	if enc, ok := doc.trailer["Encrypt"]; ok {
		// the same security handler: same key, same permissions (the first /ID is part of the key)
		tr["Encrypt"] = enc
	}
	if id := newID(doc); id != nil {
		tr["ID"] = id
	}
	if doc.xrefIsStm {
		xnum := size
		size++
		nums = append(nums, xnum)
		xoff := doc.size + int64(b.Len())
		offsets[xnum] = xoff
		width := 4
		if xoff >= 1<<32 {
			width = 8
		}
		var data []byte
		var index array
		for i, n := range nums {
			if i == 0 || n != nums[i-1]+1 {
				index = append(index, int64(n), int64(0))
			}
			index[len(index)-1] = index[len(index)-1].(int64) + 1
			data = append(data, 1)
			for k := width - 1; k >= 0; k-- {
				data = append(data, byte(offsets[n]>>(8*k)))
			}
			g := u.plan.gens[n]
			data = append(data, byte(g>>8), byte(g))
		}
		tr["Type"] = name("XRef")
		tr["Size"] = int64(size)
		tr["W"] = array{int64(1), int64(width), int64(2)}
		tr["Index"] = index
		if err := writeIndirect(b, ref{xnum, 0}, &stream{dict: tr, data: data}); err != nil {
			return err
		}
		fmt.Fprintf(b, "startxref\n%d\n%%%%EOF\n", xoff)
		return nil
	}
	xoff := doc.size + int64(b.Len())
	b.WriteString("xref\n")
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		fmt.Fprintf(b, "%d %d\n", nums[i], j-i+1)
		for k := i; k <= j; k++ {
			fmt.Fprintf(b, "%010d %05d n\r\n", offsets[nums[k]], u.plan.gens[nums[k]])
		}
		i = j + 1
	}
	tr["Size"] = int64(size)
	b.WriteString("trailer\n")
	writeObject(b, tr)
	fmt.Fprintf(b, "\nstartxref\n%d\n%%%%EOF\n", xoff)
	return nil
}

// newID keeps the document's permanent identifier and sets a fresh second
// one, as an update should. An encrypted document without one gets none:
// its key was derived from an empty first identifier, which a new one would
// change.
func newID(doc *document) array {
	var fresh [16]byte
	rand.Read(fresh[:])
	if id, ok := doc.trailer["ID"].(array); ok && len(id) >= 1 {
		if first, ok := id[0].(pdfStr); ok {
			return array{first, pdfStr(fresh[:])}
		}
	}
	if doc.sec != nil {
		return nil
	}
	return array{pdfStr(fresh[:]), pdfStr(fresh[:])}
}

// ctxReader checks for cancellation between reads of a long copy.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// digest hashes the byte ranges: the input and the update around /Contents.
func (r *rendered) digest(ctx context.Context, doc *document) ([]byte, error) {
	h := sha256.New()
	if err := copyInput(ctx, h, doc); err != nil {
		return nil, err
	}
	h.Write(r.buf[:r.cStart])
	h.Write(r.buf[r.cEnd:])
	return h.Sum(nil), nil
}

func copyInput(ctx context.Context, w io.Writer, doc *document) error {
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(w, ctxReader{ctx, io.NewSectionReader(doc.r, 0, doc.size)}, buf); err != nil {
		return fmt.Errorf("pades: copy input: %w", err)
	}
	return nil
}

// write emits the original bytes and the update with the CMS in place.
func (r *rendered) write(ctx context.Context, doc *document, out io.Writer, cms []byte) error {
	hex.Encode(r.buf[r.cStart+1:], cms)
	if err := copyInput(ctx, out, doc); err != nil {
		return err
	}
	if _, err := out.Write(r.buf); err != nil {
		return fmt.Errorf("pades: write output: %w", err)
	}
	return nil
}
