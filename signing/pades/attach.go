package pades

import (
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"slices"
	"time"
)

// File is a document to embed in a PDF, such as a vendor's audit log in an evidence report.
type File struct {
	Name        string // the file name a reader shows, e.g. "audit-log.pdf"
	MediaType   string // e.g. application/pdf
	Description string
	Content     []byte
	Modified    time.Time
}

// Attach appends an incremental update that embeds files in the document: each as an embedded
// file stream with its size and MD5 checksum, a file specification naming it (/UF in Unicode),
// listed in the catalog's /EmbeddedFiles name tree and in its /AF array as a supplement (PDF
// 2.0, PDF/A-3), so that readers list them as attachments. A document certified with no
// changes allowed is refused (ErrLocked); attach before certifying.
func Attach(ctx context.Context, in io.ReaderAt, size int64, out io.Writer, files []File) error {
	if in == nil || out == nil || size < 0 {
		return fmt.Errorf("%w: input and output are required", ErrInvalidOptions)
	}
	for i, f := range files {
		if f.Name == "" {
			return fmt.Errorf("%w: file %d has no name", ErrInvalidOptions, i)
		}
	}
	doc, err := openDocument(in, size)
	if err != nil {
		return err
	}
	cat, err := doc.catalog()
	if err != nil {
		return err
	}
	if mdp, err := docMDP(doc, cat); err != nil {
		return err
	} else if mdp == 1 {
		return fmt.Errorf("%w: certification signature permits no changes (DocMDP P=1)", ErrLocked)
	}
	names, err := doc.dict(cat["Names"])
	if err != nil {
		return err
	}
	names = cloneDict(names)
	if names == nil {
		names = dict{}
	}
	tree, err := doc.dict(names["EmbeddedFiles"])
	if err != nil {
		return err
	}
	if tree["Kids"] != nil {
		return fmt.Errorf("%w: an /EmbeddedFiles name tree with /Kids", ErrUnsupported)
	}
	leaves, err := doc.array(tree["Names"])
	if err != nil {
		return err
	}
	af, err := doc.array(cat["AF"])
	if err != nil {
		return err
	}
	type entry struct {
		key pdfStr
		val object
	}
	var entries []entry
	for i := 0; i+1 < len(leaves); i += 2 {
		if k, ok := leaves[i].(pdfStr); ok {
			entries = append(entries, entry{k, leaves[i+1]})
		}
	}
	p := &plan{next: doc.nextObjNum(), objects: map[int]object{}, gens: map[int]int{}}
	af = append(array(nil), af...)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		sum := md5.Sum(f.Content) // the checksum PDF defines for embedded files
		params := dict{"Size": int64(len(f.Content)), "CheckSum": pdfStr(sum[:])}
		if !f.Modified.IsZero() {
			params["ModDate"] = pdfStr(pdfDate(f.Modified))
		}
		sd := dict{"Type": name("EmbeddedFile"), "Params": params}
		if f.MediaType != "" {
			sd["Subtype"] = name(f.MediaType)
		}
		efRef := p.alloc()
		p.put(efRef, flateStream(sd, f.Content))
		spec := dict{"Type": name("Filespec"), "F": pdfStr(asciiName(f.Name)), "UF": textString(f.Name),
			"EF": dict{"F": efRef, "UF": efRef}, "AFRelationship": name("Supplement")}
		if f.Description != "" {
			spec["Desc"] = textString(f.Description)
		}
		specRef := p.alloc()
		p.put(specRef, spec)
		entries = append(entries, entry{textString(f.Name), specRef})
		af = append(af, specRef)
	}
	// Name tree keys are sorted as bytes.
	slices.SortStableFunc(entries, func(a, b entry) int { return slices.Compare(a.key, b.key) })
	leaves = leaves[:0:0]
	for _, e := range entries {
		leaves = append(leaves, e.key, e.val)
	}
	treeRef := p.alloc()
	p.put(treeRef, dict{"Names": leaves})
	names["EmbeddedFiles"] = treeRef
	nc := cloneDict(cat)
	nc["AF"] = af
	if nr, ok := cat["Names"].(ref); ok {
		p.put(nr, names)
	} else {
		nc["Names"] = names
	}
	root, ok := doc.trailer["Root"].(ref)
	if !ok {
		return malformed(-1, "trailer has no /Root reference")
	}
	p.put(root, nc)
	return appendUpdate(ctx, doc, out, p)
}

// asciiName is name as a portable file name (/F): its ASCII letters, others replaced by "_".
func asciiName(s string) string {
	b := []byte(s)[:0:0]
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			r = '_'
		}
		b = append(b, byte(r))
	}
	return string(b)
}
