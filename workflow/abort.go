package workflow

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/zgw"
)

// abort cancels the signing at the provider, releases any lock we hold and queues the
// OndertekenenAfgebroken notification.
func (wf *Workflow) abort(ctx context.Context, job *river.Job[store.AbortArgs], log *slog.Logger) error {
	id := job.Args.TransactionID
	w, err := wf.work(ctx, id, signing.StateAborting)
	if err != nil {
		return err
	}
	last := job.Attempt >= job.MaxAttempts
	if w.ProviderRef != "" {
		if p, err := wf.provider(w.Provider); err == nil {
			if err := p.Cancel(ctx, w.ProviderRef, w.Reden); err != nil {
				if !last && !permanent(err) {
					return fmt.Errorf("cancel at provider: %w", err)
				}
				log.ErrorContext(ctx, "cancel at provider failed; giving up on it", "err", err)
			}
		}
	}
	c := wf.zgw(w.RSIN)
	if w.BewijsInformatieobjecttype != "" && w.EvidenceURL == "" && (w.EvidenceUploadURL != "" || w.EvidenceRequestedAt != nil) {
		if err := wf.abortEvidence(ctx, c, w, log); err != nil {
			if !last && !permanent(err) {
				return fmt.Errorf("release the evidence document: %w", err)
			}
			log.ErrorContext(ctx, "an incomplete evidence document may be left in the DRC", "err", err)
		}
	}
	var left []string // what the DRC keeps of uploads given up, for the reden
	for _, d := range w.Docs {
		if d.LockID == "" && d.LockRequestedAt != nil {
			if err := wf.releaseLostLock(ctx, c, id, d, last, log); err != nil {
				return err
			}
			continue
		}
		if d.LockID == "" {
			continue
		}
		// An upload in parts cut short is completed rather than left locked: the DRC refuses to
		// unlock incomplete parts, and the new version exists already.
		done, err := wf.releaseEarlierLock(ctx, c, id, d, log)
		if err != nil && !zgw.IsNotFound(err) {
			if !last && !permanent(err) {
				return fmt.Errorf("release lock of document %d: %w", d.Position, err)
			}
			// Neither finished nor released: give the upload up rather than leave the document locked.
			what, aerr := wf.abandonUpload(ctx, c, id, d, log)
			if aerr != nil {
				if !last {
					return fmt.Errorf("release lock of document %d: %w", d.Position, aerr)
				}
				log.ErrorContext(ctx, "releasing lock failed; the document stays locked by a lock of ours", "document", d.Position, "err", aerr)
			} else {
				left = append(left, fmt.Sprintf("Document %s: upload mislukt; %s", docName(d), what))
			}
		}
		if done != nil {
			if err := wf.store.SetUploaded(ctx, id, d.Position, done.Versie, wf.cfg.Now().UTC()); err != nil {
				return err
			}
		}
		if err := wf.store.ClearLock(ctx, id, d.Position); err != nil {
			return err
		}
	}
	now := wf.cfg.Now().UTC()
	reden := w.Reden
	if len(left) > 0 {
		// What the abort had to leave in the DRC belongs in the reden the case system gets.
		reden = strings.Join(append([]string{reden}, left...), "; ")
	}
	err = end(ctx, wf, job, store.Step{From: signing.StateAborting, Next: NotifyArgs{TransactionID: id},
		NextOpts: &river.InsertOpts{MaxAttempts: wf.cfg.NotifyMaxTry}}, func(tx pgx.Tx) error {
		if reden != w.Reden {
			if err := wf.store.AmendReden(ctx, tx, id, reden); err != nil {
				return err
			}
		}
		return wf.store.WriteNotification(ctx, tx, id, signing.ActieAfgebroken, message(w, signing.ActieAfgebroken, reden, now), now)
	})
	if err == nil {
		log.InfoContext(ctx, "transaction aborted; notifying", "reden", reden)
	}
	return err
}
