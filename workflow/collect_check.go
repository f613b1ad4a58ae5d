package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/store"
)

// spool copies r into a temporary file, for the checks that need to read it at random (the PDF
// reader) before it is stored. The caller removes the file with discard.
func spool(r io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp("", "signingd-collect-*.pdf")
	if err != nil {
		return nil, 0, fmt.Errorf("workflow: temporary file: %w", err)
	}
	n, err := io.Copy(f, r)
	if err != nil {
		discard(f)
		return nil, 0, err
	}
	return f, n, nil
}

func discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// checkSigned is the check of a provider's signed PDF before it is stored as the signed version and
// uploaded, marked ondertekening digitaal: it must be a PDF that reads, with the pages of the
// document that was sent and no others, and, from a provider that signs digitally, signatures that
// verify over the original, the last one covering the whole file. A failure aborts the transaction
// with a reden naming the document; retrying would fetch the same output.
//
// The page rule: the signed PDF has the original's pages, plus at most signature pages appended
// after them (signing/pades adds one for a signer without a placeholder). A municipality expects
// the signed document to be the document it sent, with the signatures as the only addition; a
// page more that is not a signature page, or a page less, is another document.
func (wf *Workflow) checkSigned(ctx context.Context, info signing.ProviderInfo, d store.WorkDocument, f *os.File, size int64, log *slog.Logger) error {
	fail := func(what string, err error) error {
		return &abortError{reden: fmt.Sprintf("Document %s: de ondertekende versie van de leverancier %s", docName(d), what), err: err}
	}
	origPages, err := wf.originalPages(ctx, d)
	if err != nil {
		return err
	}
	inspect := pades.Inspect
	if info.SignsDigitally {
		inspect = pades.Verify
	}
	ins, verr := inspect(ctx, f, size)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if ins == nil {
		return fail("is geen geldige PDF", fmt.Errorf("read the signed PDF: %w", verr))
	}
	if origPages > 0 && (ins.Pages < origPages || ins.Pages-origPages > ins.SignaturePages) {
		return fail(fmt.Sprintf("heeft %d pagina's, het origineel %d", ins.Pages, origPages),
			fmt.Errorf("%d pages, %d of them signature pages at the end; the original has %d", ins.Pages, ins.SignaturePages, origPages))
	}
	switch {
	case errors.Is(verr, pades.ErrNotSigned):
		return fail("is niet digitaal ondertekend", verr)
	case errors.Is(verr, pades.ErrNotCovered):
		return fail("is na de laatste handtekening nog gewijzigd", verr)
	case verr != nil:
		return fail("heeft een handtekening die niet klopt", verr)
	}
	if info.SignsDigitally && origPages > 0 {
		// Signing appends to the PDF; the original must be there unchanged before the signatures.
		h := sha256.New()
		if size < d.OriginalSize {
			return fail("bevat het origineel niet ongewijzigd", fmt.Errorf("%d bytes, the original has %d", size, d.OriginalSize))
		}
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, d.OriginalSize)); err != nil {
			return fmt.Errorf("hash the signed PDF: %w", err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != d.OriginalSHA256 {
			return fail("bevat het origineel niet ongewijzigd", fmt.Errorf("its first %d bytes hash to %s, the original to %s", d.OriginalSize, got, d.OriginalSHA256))
		}
	}
	log.InfoContext(ctx, "signed document checked", "document", d.Position, "pages", ins.Pages,
		"signature_pages", ins.SignaturePages, "signatures", len(ins.Signatures))
	return nil
}

// originalPages counts the pages of the document as it was sent; 0 when it is not a PDF that
// our reader reads (the provider converted it to PDF), so the page and prefix checks do not apply.
func (wf *Workflow) originalPages(ctx context.Context, d store.WorkDocument) (int, error) {
	if d.OriginalBlob == nil {
		return 0, nil
	}
	rc, _, err := wf.store.OpenBlob(ctx, *d.OriginalBlob)
	if err != nil {
		return 0, err
	}
	f, size, err := spool(rc)
	rc.Close()
	if err != nil {
		return 0, fmt.Errorf("read the original: %w", err)
	}
	defer discard(f)
	ins, err := pades.Inspect(ctx, f, size)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, nil
	}
	return ins.Pages, nil
}
