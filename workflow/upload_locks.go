package workflow

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/zgw"
)

// upload writes every signed PDF as the next version of its document, then hands over to the
// evidence step.
func (wf *Workflow) upload(ctx context.Context, job *river.Job[UploadArgs], log *slog.Logger) error {
	id := job.Args.TransactionID
	w, err := wf.work(ctx, id, signing.StateUploading)
	if err != nil {
		return err
	}
	c := wf.zgw(w.RSIN)
	for _, d := range w.Docs {
		if d.Status == signing.DocumentUploaded {
			continue
		}
		if err := wf.uploadDocument(ctx, c, w, d, log); err != nil {
			if dec := decide("upload", failAt(signing.StepUpload, docName(d), err), job.Attempt, job.MaxAttempts); dec.technical {
				err = wf.giveUpUpload(ctx, c, job, d.Position, err, log)
			}
			return failAt(signing.StepUpload, docName(d), err)
		}
	}
	return end(ctx, wf, job, store.Step{From: signing.StateUploading, Next: EvidenceArgs{TransactionID: id}}, nil)
}

// uploadDocument is lock → store the lock id → one PATCH → unlock. A lock left by a crashed run is
// released first; a latest version that already carries our hash means the upload happened.
func (wf *Workflow) uploadDocument(ctx context.Context, c *zgw.Client, w store.Work, d store.WorkDocument, log *slog.Logger) error {
	id := w.ID
	now := wf.cfg.Now().UTC()
	if d.LockID != "" {
		done, err := wf.releaseEarlierLock(ctx, c, id, d, log)
		if err != nil {
			return err
		}
		if done != nil {
			return wf.store.SetUploaded(ctx, id, d.Position, done.Versie, now)
		}
	}
	latest, err := c.RetrieveEIO(ctx, d.URL, 0)
	if err != nil {
		return err
	}
	ours := latest.Integriteit != nil && latest.Integriteit.Waarde == d.SignedSHA256
	if ours && len(latest.Bestandsdelen) == 0 && latest.Inhoud != "" {
		return wf.store.SetUploaded(ctx, id, d.Position, latest.Versie, now)
	}
	signed := d.Versie
	if d.VersieSigned != nil {
		signed = *d.VersieSigned
	}
	if ours {
		// Our own new version whose upload in parts was abandoned (forced open, its content
		// never assembled): not a change by someone else, and written over.
		signed = max(signed, latest.Versie)
	}
	if latest.Versie > signed && wf.cfg.Drift != signing.DriftNextVersion {
		return fmt.Errorf("versie %d signed, DRC has %d: %w", signed, latest.Versie, errDrift)
	}
	lock, err := wf.acquireLock(ctx, c, id, d, log)
	if err != nil {
		return err
	}
	fields := zgw.EIOFields{
		Bestandsnaam:  signing.PDFFileName(d.Bestandsnaam, latest.Bestandsnaam),
		Formaat:       "application/pdf",
		Integriteit:   &zgw.Integriteit{Algoritme: "sha_256", Waarde: d.SignedSHA256, Datum: today(now)},
		Ondertekening: &zgw.Ondertekening{Soort: "digitaal", Datum: today(now)},
	}
	switch latest.Status {
	case "", "in_bewerking", "ter_vaststelling":
		fields.Status = "definitief" // ondertekening is not allowed in these states
	}
	rc, size, err := wf.store.OpenBlob(ctx, *d.SignedBlob)
	if err != nil {
		return err
	}
	res, perr := c.UpdateEIO(ctx, d.URL, lock, fields, &zgw.Content{Reader: rc, Size: size})
	rc.Close()
	if perr != nil {
		if latest, err := c.RetrieveEIO(ctx, d.URL, 0); err == nil && pendingUploadOfOurs(latest, d) {
			// Parts are missing: the retry sends them with the stored lock (releaseEarlierLock). An
			// unlock now is refused, or, forced, abandons the parts and leaves an empty version.
			return perr
		}
	}
	uerr := c.Unlock(ctx, d.URL, lock)
	if perr != nil {
		if uerr == nil {
			_ = wf.store.ClearLock(ctx, id, d.Position)
		}
		return perr
	}
	if uerr != nil {
		return fmt.Errorf("unlock: %w", uerr) // the stored lock id lets the retry release it
	}
	log.InfoContext(ctx, "signed document uploaded", "document", d.Position, "versie", res.Versie)
	return wf.store.SetUploaded(ctx, id, d.Position, res.Versie, now)
}

// releaseEarlierLock deals with the stored lock of an interrupted upload. When that upload's PATCH
// started bestandsdelen (the latest version carries our hash and shows pending parts), the lock is
// what completes them: the parts the DRC lacks are sent and the unlock assembles the signed PDF,
// and the finished version is returned. An unlock alone would be refused for incomplete parts and
// leave the document locked. Otherwise the lock is released. Either way the stored lock is cleared.
func (wf *Workflow) releaseEarlierLock(ctx context.Context, c *zgw.Client, id uuid.UUID, d store.WorkDocument, log *slog.Logger) (*zgw.EnkelvoudigInformatieObject, error) {
	latest, err := c.RetrieveEIO(ctx, d.URL, 0)
	if err != nil {
		return nil, fmt.Errorf("check earlier lock: %w", err)
	}
	var done *zgw.EnkelvoudigInformatieObject
	if len(latest.Bestandsdelen) > 0 && latest.Integriteit != nil && latest.Integriteit.Waarde == d.SignedSHA256 && d.SignedBlob != nil {
		rc, size, err := wf.store.OpenBlob(ctx, *d.SignedBlob)
		if err != nil {
			return nil, err
		}
		done, err = c.FinishUpload(ctx, latest, d.LockID, &zgw.Content{Reader: rc, Size: size})
		rc.Close()
		if err != nil && !zgw.IsWrongLock(err) { // a wrong lock: ours is gone, nothing to release
			return nil, fmt.Errorf("finish the interrupted upload: %w", err)
		}
		if done != nil {
			log.InfoContext(ctx, "finished the interrupted upload in parts", "document", d.Position, "versie", done.Versie)
		}
	} else if err := c.Unlock(ctx, d.URL, d.LockID); err != nil && !zgw.IsWrongLock(err) {
		return nil, fmt.Errorf("release earlier lock: %w", err)
	} else {
		log.InfoContext(ctx, "released lock of an interrupted upload", "document", d.Position)
	}
	if err := wf.store.ClearLock(ctx, id, d.Position); err != nil {
		return nil, err
	}
	return done, nil
}

// acquireLock asks the DRC for a lock on the document and stores its id. The request is announced
// in the database first (the lock intent): if the answer is lost to a crash or a timeout, the next
// run knows that the document may be locked by a lock of ours whose id it does not have.
func (wf *Workflow) acquireLock(ctx context.Context, c *zgw.Client, id uuid.UUID, d store.WorkDocument, log *slog.Logger) (string, error) {
	now := wf.cfg.Now().UTC()
	if err := wf.store.SetLockIntent(ctx, id, d.Position, now); err != nil {
		return "", err
	}
	lock, err := c.Lock(ctx, d.URL)
	switch {
	case err == nil:
		if err := wf.store.SetLock(ctx, id, d.Position, lock); err != nil {
			// Cancelled meanwhile: the abort did not know this lock, so release it here. The
			// intent stays until the unlock is known to have worked.
			if uerr := c.Unlock(context.WithoutCancel(ctx), d.URL, lock); uerr != nil {
				log.WarnContext(ctx, "unlock after cancel failed", "document", d.Position, "err", uerr)
			} else if cerr := wf.store.ClearLock(context.WithoutCancel(ctx), id, d.Position); cerr != nil {
				log.WarnContext(ctx, "forgetting the lock intent failed", "document", d.Position, "err", cerr)
			}
			return "", err
		}
		return lock, nil
	case zgw.IsLocked(err) && d.LockRequestedAt != nil:
		// An earlier request's answer was lost: the lock may be ours.
		return wf.lostLock(ctx, c, id, d, *d.LockRequestedAt, log)
	case zgw.IsLocked(err):
		// This request was refused, so no lock of ours exists: someone else holds it.
		if err := wf.store.ClearLock(ctx, id, d.Position); err != nil {
			return "", err
		}
		since, err := wf.store.WaitForLock(ctx, id, d.Position, now)
		if err != nil {
			return "", err
		}
		if waited := now.Sub(since); waited >= wf.cfg.LockWaitMax {
			return "", &abortError{reden: redenLockedByOther + ": " + docName(d),
				err: fmt.Errorf("document locked by someone else for %s", waited.Round(time.Second))}
		}
		return "", errLocked
	case ctx.Err() == nil && zgw.IsPermanent(err):
		// A definite refusal grants nothing.
		if cerr := wf.store.ClearLock(ctx, id, d.Position); cerr != nil {
			return "", cerr
		}
		return "", err
	default:
		return "", err // a timeout or a server error: the lock may have been granted, the intent stays
	}
}

// lostLock handles a document that is locked while an earlier lock request of ours has no known
// answer. Such a lock can only be released by force (scope documenten.geforceerd-unlock). It
// waits ForceUnlockAfter from the request, in case the lock is someone else's and goes away; then
// it forces the unlock and locks again, or aborts when the DRC does not allow the forced unlock.
func (wf *Workflow) lostLock(ctx context.Context, c *zgw.Client, id uuid.UUID, d store.WorkDocument, requested time.Time, log *slog.Logger) (string, error) {
	now := wf.cfg.Now().UTC()
	if age := now.Sub(requested); age < wf.cfg.ForceUnlockAfter {
		log.InfoContext(ctx, "document locked, perhaps by a lock of ours whose id was lost; waiting before forcing it open",
			"document", d.Position, "force_in", (wf.cfg.ForceUnlockAfter - age).Round(time.Second).String())
		return "", errLocked
	}
	err := c.ForceUnlock(ctx, d.URL)
	switch {
	case err == nil, zgw.IsWrongLock(err): // released, or no longer locked at all
	case zgw.IsPermanent(err):
		return "", &abortError{reden: signing.RedenTechnical(signing.StepUpload, docName(d)) +
			": het document bleef vergrendeld door een onderbroken upload en geforceerd ontgrendelen is niet toegestaan" +
			" (scope documenten.geforceerd-unlock ontbreekt)", err: fmt.Errorf("force unlock: %w", err)}
	default:
		return "", fmt.Errorf("force unlock: %w", err)
	}
	if err := wf.store.InTx(ctx, func(tx pgx.Tx) error {
		return wf.store.Event(ctx, tx, id, eventLockForced, actor,
			map[string]any{"document": d.Position, "lock_requested_at": requested}, now)
	}); err != nil {
		return "", err
	}
	if err := wf.store.ClearLock(ctx, id, d.Position); err != nil {
		return "", err
	}
	log.WarnContext(ctx, "forced open a document locked by a lock of ours whose id was lost", "document", d.Position,
		"lock_requested_at", requested)
	d.LockRequestedAt = nil
	return wf.acquireLock(ctx, c, id, d, log)
}

// releaseLostLock is the abort's part for a document whose lock request had no known answer: if
// the document is locked, the lock is most likely ours with its id lost, and it is forced open
// (this needs documenten.geforceerd-unlock; without it the lock stays and is logged).
func (wf *Workflow) releaseLostLock(ctx context.Context, c *zgw.Client, id uuid.UUID, d store.WorkDocument, last bool, log *slog.Logger) error {
	eio, err := c.RetrieveEIO(ctx, d.URL, 0)
	switch {
	case err != nil && !last && !zgw.IsPermanent(err):
		return fmt.Errorf("check lock of document %d: %w", d.Position, err)
	case err == nil && eio.Locked:
		if err := c.ForceUnlock(ctx, d.URL); err != nil && !zgw.IsWrongLock(err) {
			if !last && !zgw.IsPermanent(err) {
				return fmt.Errorf("force unlock of document %d: %w", d.Position, err)
			}
			log.ErrorContext(ctx, "document may stay locked by a lock of ours whose id was lost", "document", d.Position, "err", err)
		} else {
			log.WarnContext(ctx, "forced open a document locked by a lock of ours whose id was lost", "document", d.Position)
		}
	}
	return wf.store.ClearLock(ctx, id, d.Position)
}
