package workflow

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/signingd/signingd/signing/pades"
)

// longTerm makes a vendor's signed PDF last beyond its certificates (PAdES B-LTA), as the built-in
// signer does with its own: the validation data of every signature in it (certificates, and OCSP
// responses or CRLs as Config.Revocation allows) in the document security store, then a document
// time-stamp from the organisation's TSA over it all. The vendor's signatures stay untouched: both
// are incremental updates. A TSA or a revocation source that does not answer is an error the step
// retries, then a technical failure that aborts: never silently less than was configured. The
// caller discards the returned file.
func (wf *Workflow) longTerm(ctx context.Context, signed io.ReaderAt, size int64, tsa *pades.TSA, log *slog.Logger) (*os.File, int64, error) {
	var status []pades.CertStatus
	out, err := spoolWith(func(w io.Writer) (err error) {
		status, err = pades.LongTerm(ctx, signed, size, w, tsa, wf.cfg.Revocation)
		return err
	})
	for _, s := range status {
		if s.Missing() {
			log.WarnContext(ctx, "no revocation data for a certificate of the signed document", "certificate", s.Subject, "serial", s.Serial, "why", s.Note)
		}
	}
	if errors.Is(err, pades.ErrRevoked) {
		return nil, 0, &abortError{reden: "Een certificaat van de ondertekening is ingetrokken", err: err}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("long-term validation data and document time-stamp: %w", err)
	}
	st, err := out.Stat()
	if err != nil {
		discard(out)
		return nil, 0, err
	}
	return out, st.Size(), nil
}

// spoolWith writes into a temporary file through write.
func spoolWith(write func(w io.Writer) error) (*os.File, error) {
	f, err := os.CreateTemp("", "signingd-lta-*.pdf")
	if err != nil {
		return nil, fmt.Errorf("workflow: temporary file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		discard(f)
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		discard(f)
		return nil, err
	}
	return f, nil
}
