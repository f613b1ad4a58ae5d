package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/zgw"
)

const actor = "worker"

// redenLockedByOther starts the reden of a transaction that waited longer than LockWaitMax for
// someone else's lock on a document.
const redenLockedByOther = "Document is vergrendeld door een ander"

// eventLockForced is the audit event of a lock of ours, whose id was lost, forced open.
const eventLockForced = "lock_forced"

func (wf *Workflow) zgw(rsin string) *zgw.Client {
	wf.clients.mu.Lock()
	defer wf.clients.mu.Unlock()
	if wf.clients.m == nil {
		wf.clients.m = map[string]*zgw.Client{}
	}
	c, ok := wf.clients.m[rsin]
	if !ok {
		c = zgw.NewClient(wf.cfg.Registry, rsin, zgw.ClientOptions{
			HTTPClient: wf.cfg.HTTPClient, Logger: wf.log, Now: wf.cfg.Now,
			Upload: zgw.UploadOptions{PartThreshold: wf.cfg.PartThreshold},
		})
		wf.clients.m[rsin] = c
	}
	return c
}

func (wf *Workflow) provider(name string) (signing.Provider, error) {
	p, ok := wf.cfg.Providers[name]
	if !ok {
		return nil, fmt.Errorf("jobs: provider %q is not configured: %w", name, signing.ErrPermanent)
	}
	return p, nil
}

// work loads a transaction for a step that may run only in one of states. A step that comes too
// late (a retry after the transaction moved on) gets store.ErrStale and ends quietly.
func (wf *Workflow) work(ctx context.Context, id uuid.UUID, states ...signing.State) (store.Work, error) {
	w, err := wf.store.Work(ctx, id)
	if err != nil {
		return w, err
	}
	if !slices.Contains(states, w.State) {
		return w, store.ErrStale
	}
	return w, nil
}

func docName(d store.WorkDocument) string { return signing.DocumentName(d.Document) }

func today(now time.Time) string { return now.UTC().Format(time.DateOnly) }

// fetch reads metadata and content of exactly the requested versie of every document and keeps the
// content with its SHA-256. Documents fetched by an earlier run are skipped.
func (wf *Workflow) fetch(ctx context.Context, job *river.Job[store.FetchDocumentsArgs], log *slog.Logger) error {
	id := job.Args.TransactionID
	w, err := wf.store.Work(ctx, id)
	if err != nil {
		return err
	}
	now := wf.cfg.Now().UTC()
	switch w.State {
	case signing.StateReceived:
		if err := wf.store.InTx(ctx, func(tx pgx.Tx) error {
			return wf.store.Advance(ctx, tx, id, store.Step{From: signing.StateReceived, To: signing.StateFetching,
				Event: signing.EventStateChanged, Actor: actor, Now: now})
		}); err != nil {
			return err
		}
	case signing.StateFetching:
	default:
		return store.ErrStale
	}
	c := wf.zgw(w.RSIN)
	for _, d := range w.Docs {
		if d.OriginalBlob != nil {
			continue
		}
		meta, err := c.RetrieveEIO(ctx, d.URL, d.Versie)
		if err != nil {
			return failAt(signing.StepFetch, docName(d), err)
		}
		if meta.Versie != d.Versie {
			return failAt(signing.StepFetch, docName(d), fmt.Errorf("DRC answered versie %d for %d: %w", meta.Versie, d.Versie, signing.ErrPermanent))
		}
		body, err := c.Download(ctx, d.URL, d.Versie)
		if err != nil {
			return failAt(signing.StepFetch, docName(d), err)
		}
		blob, err := wf.store.PutBlob(ctx, id, body)
		body.Close()
		if err != nil {
			return failAt(signing.StepFetch, docName(d), err)
		}
		if err := wf.store.InTx(ctx, func(tx pgx.Tx) error {
			if _, err := wf.store.Expect(ctx, tx, id, signing.StateFetching); err != nil {
				return err
			}
			if err := wf.store.SetDocumentFetched(ctx, tx, id, d.Position, blob, meta.Formaat, meta.Status, meta.Titel, meta.Bestandsnaam); err != nil {
				return err
			}
			return wf.store.Event(ctx, tx, id, signing.EventDocumentFetched, actor,
				map[string]any{"document": d.Position, "versie": d.Versie, "sha256": blob.SHA256, "size": blob.Size}, now)
		}); err != nil {
			return err
		}
		log.Info("document fetched", "document", d.Position, "versie", d.Versie, "size", blob.Size)
	}
	return wf.store.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := wf.store.Expect(ctx, tx, id, signing.StateFetching); err != nil {
			return err
		}
		if err := wf.store.Enqueue(ctx, tx, store.CreateSigningArgs{TransactionID: id}, nil); err != nil {
			return err
		}
		return complete(ctx, tx, job)
	})
}

// create starts the signing at the provider. Providers key signings by transaction id, so a
// second run finds the first signing.
func (wf *Workflow) create(ctx context.Context, job *river.Job[store.CreateSigningArgs], log *slog.Logger) error {
	id := job.Args.TransactionID
	w, err := wf.work(ctx, id, signing.StateFetching)
	if err != nil {
		return err
	}
	p, err := wf.provider(w.Provider)
	if err != nil {
		return failAt(signing.StepCreate, "", err)
	}
	req := signing.CreateRequest{TransactionID: id, Naam: w.Naam, Eigenaar: w.Eigenaar, Deadline: w.Deadline}
	for _, d := range w.Docs {
		blobID := *d.OriginalBlob
		req.Documents = append(req.Documents, signing.ProviderDocument{
			Position: d.Position, Titel: d.Titel, Bestandsnaam: d.Bestandsnaam, Formaat: d.Formaat,
			Size: d.OriginalSize, SHA256: d.OriginalSHA256,
			Open: func(ctx context.Context) (io.ReadCloser, error) {
				rc, _, err := wf.store.OpenBlob(ctx, blobID)
				return rc, err
			},
		})
	}
	for i, s := range w.Signers {
		req.Signers = append(req.Signers, signing.ProviderSigner{Position: i, Email: s.Email, Voornaam: s.Voornaam,
			Achternaam: s.Achternaam, Identificatie: s.Identificatie, Volgorde: s.Volgorde, Authenticatie: s.Authenticatie})
	}
	ref, err := p.Create(ctx, req)
	if err != nil {
		return failAt(signing.StepCreate, "", err)
	}
	// The reference is kept first, whatever happens to the transaction meanwhile, so that an
	// abort finds the signing to cancel.
	if err := wf.store.InTx(ctx, func(tx pgx.Tx) error { return wf.store.SetProviderRef(ctx, tx, id, ref) }); err != nil {
		return err
	}
	now := wf.cfg.Now().UTC()
	err = wf.store.InTx(ctx, func(tx pgx.Tx) error {
		if err := wf.store.Advance(ctx, tx, id, store.Step{From: signing.StateFetching, To: signing.StateAwaitingSignatures,
			Event: signing.EventProviderCreated, Actor: actor, Detail: map[string]any{"provider": w.Provider, "ref": ref}, Now: now,
			// The first poll runs at once: signers may act (and webhooks arrive) before this commit
			// makes the reference known.
			Next: store.CheckProgressArgs{TransactionID: id, Chain: true}}); err != nil {
			return err
		}
		return complete(ctx, tx, job)
	})
	switch {
	case err == nil:
		log.InfoContext(ctx, "signing created at provider", "provider", w.Provider, "ref", ref)
	case errors.Is(err, store.ErrStale):
		// Cancelled (or expired) while the provider created the signing: the abort may have run
		// before the reference was known, so withdraw the signing here; a second cancel is harmless.
		reden := "Ingetrokken"
		if cur, werr := wf.store.Work(ctx, id); werr == nil && cur.Reden != "" {
			reden = cur.Reden
		}
		if cerr := p.Cancel(ctx, ref, reden); cerr != nil {
			log.WarnContext(ctx, "cancel of a signing created during an abort failed", "provider", w.Provider, "ref", ref, "err", cerr)
		}
	}
	return err
}

// nextPoll schedules the next status poll: after the provider's interval, but no later than the
// deadline, so expiry is noticed on time.
func (wf *Workflow) nextPoll(p signing.Provider, deadline, now time.Time) *river.InsertOpts {
	at := now.Add(p.Info().PollInterval)
	if deadline.Before(at) {
		at = deadline.Add(time.Second)
	}
	return &river.InsertOpts{ScheduledAt: at}
}

// progress asks the provider where the signing stands and records signer progress; on completion
// it moves on to collecting, on a decline or expiry it aborts.
func (wf *Workflow) progress(ctx context.Context, job *river.Job[store.CheckProgressArgs], log *slog.Logger) error {
	id := job.Args.TransactionID
	w, err := wf.work(ctx, id, signing.StateAwaitingSignatures)
	if err != nil {
		return err
	}
	now := wf.cfg.Now().UTC()
	if !now.Before(w.Deadline) {
		log.Info("transaction expired")
		return abortFrom(ctx, wf, job, signing.RedenExpired, map[string]any{"deadline": w.Deadline}, now)
	}
	p, err := wf.provider(w.Provider)
	if err != nil {
		return failAt(signing.StepProgress, "", err)
	}
	prog, err := p.Status(ctx, w.ProviderRef)
	if err != nil {
		return failAt(signing.StepProgress, "", err)
	}
	return wf.store.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := wf.store.Expect(ctx, tx, id, signing.StateAwaitingSignatures); err != nil {
			return err
		}
		if _, err := wf.store.ApplySignerProgress(ctx, tx, id, prog.Signers, now); err != nil {
			return err
		}
		switch prog.Status {
		case signing.ProgressCompleted:
			if err := wf.store.Advance(ctx, tx, id, store.Step{From: signing.StateAwaitingSignatures, To: signing.StateCollecting,
				Event: signing.EventStateChanged, Actor: actor, Now: now, Next: store.CollectArgs{TransactionID: id}}); err != nil {
				return err
			}
			log.Info("all signers signed")
		case signing.ProgressDeclined:
			position, reason := 0, prog.Reden
			for _, sp := range prog.Signers {
				if sp.Status == signing.SignerDeclined && sp.Position >= 0 && sp.Position < len(w.Signers) {
					position = sp.Position + 1
					if sp.Reden != "" {
						reason = sp.Reden
					}
				}
			}
			if err := wf.store.Abort(ctx, tx, id, signing.RedenDeclined(position, reason), signing.EventAborting, "provider", nil, now); err != nil {
				return err
			}
			log.Info("signer declined")
		case signing.ProgressCancelled:
			if err := wf.store.Abort(ctx, tx, id, "Ingetrokken bij de ondertekenaanbieder", signing.EventAborting, "provider", nil, now); err != nil {
				return err
			}
		case signing.ProgressExpired:
			if err := wf.store.Abort(ctx, tx, id, signing.RedenExpired, signing.EventAborting, "provider", nil, now); err != nil {
				return err
			}
		default:
			if job.Args.Chain {
				if err := wf.store.Enqueue(ctx, tx, store.CheckProgressArgs{TransactionID: id, Chain: true}, wf.nextPoll(p, w.Deadline, now)); err != nil {
					return err
				}
			}
		}
		return complete(ctx, tx, job)
	})
}

// collect streams the signed PDFs (and the provider's evidence, if it has any) into the store.
func (wf *Workflow) collect(ctx context.Context, job *river.Job[store.CollectArgs], log *slog.Logger) error {
	id := job.Args.TransactionID
	w, err := wf.work(ctx, id, signing.StateCollecting)
	if err != nil {
		return err
	}
	p, err := wf.provider(w.Provider)
	if err != nil {
		return failAt(signing.StepCollect, "", err)
	}
	for _, d := range w.Docs {
		if d.SignedBlob != nil {
			continue
		}
		rc, err := p.Signed(ctx, w.ProviderRef, d.Position)
		if err != nil {
			return failAt(signing.StepCollect, docName(d), err)
		}
		blob, err := wf.store.PutBlob(ctx, id, rc)
		rc.Close()
		if err != nil {
			return failAt(signing.StepCollect, docName(d), err)
		}
		if err := wf.store.InTx(ctx, func(tx pgx.Tx) error {
			return wf.store.SetDocumentSigned(ctx, tx, id, d.Position, blob)
		}); err != nil {
			return err
		}
	}
	if ev, err := wf.store.EvidenceBlob(ctx, id); err != nil {
		return err
	} else if ev == nil {
		rc, err := p.Evidence(ctx, w.ProviderRef)
		switch {
		case errors.Is(err, signing.ErrNoEvidence):
		case err != nil:
			return failAt(signing.StepCollect, "", err)
		default:
			blob, err := wf.store.PutBlob(ctx, id, rc)
			rc.Close()
			if err != nil {
				return err
			}
			if err := wf.store.InTx(ctx, func(tx pgx.Tx) error { return wf.store.SetEvidenceBlob(ctx, tx, id, blob.ID) }); err != nil {
				return err
			}
		}
	}
	log.Info("signed documents collected")
	return wf.store.InTx(ctx, func(tx pgx.Tx) error {
		if err := wf.store.Advance(ctx, tx, id, store.Step{From: signing.StateCollecting, To: signing.StateUploading,
			Event: signing.EventStateChanged, Actor: actor, Now: wf.cfg.Now().UTC(), Next: store.UploadArgs{TransactionID: id}}); err != nil {
			return err
		}
		return complete(ctx, tx, job)
	})
}

// upload writes every signed PDF as the next version of its document, then hands over to the
// evidence step.
func (wf *Workflow) upload(ctx context.Context, job *river.Job[store.UploadArgs], log *slog.Logger) error {
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
			return failAt(signing.StepUpload, docName(d), err)
		}
	}
	return wf.store.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := wf.store.Expect(ctx, tx, id, signing.StateUploading); err != nil {
			return err
		}
		if err := wf.store.Enqueue(ctx, tx, store.EvidenceArgs{TransactionID: id}, nil); err != nil {
			return err
		}
		return complete(ctx, tx, job)
	})
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
	log.Info("signed document uploaded", "document", d.Position, "versie", res.Versie)
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
			log.Info("finished the interrupted upload in parts", "document", d.Position, "versie", done.Versie)
		}
	} else if err := c.Unlock(ctx, d.URL, d.LockID); err != nil && !zgw.IsWrongLock(err) {
		return nil, fmt.Errorf("release earlier lock: %w", err)
	} else {
		log.Info("released lock of an interrupted upload", "document", d.Position)
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
				log.Warn("unlock after cancel failed", "document", d.Position, "err", uerr)
			} else if cerr := wf.store.ClearLock(context.WithoutCancel(ctx), id, d.Position); cerr != nil {
				log.Warn("forgetting the lock intent failed", "document", d.Position, "err", cerr)
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
		log.Info("document locked, perhaps by a lock of ours whose id was lost; waiting before forcing it open",
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
	log.Warn("forced open a document locked by a lock of ours whose id was lost", "document", d.Position,
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
			log.Error("document may stay locked by a lock of ours whose id was lost", "document", d.Position, "err", err)
		} else {
			log.Warn("forced open a document locked by a lock of ours whose id was lost", "document", d.Position)
		}
	}
	return wf.store.ClearLock(ctx, id, d.Position)
}

// evidence creates the evidence document and links it to the zaak when the trigger asked for one,
// then decides the outcome: notifying, with the notification in the outbox.
func (wf *Workflow) evidence(ctx context.Context, job *river.Job[store.EvidenceArgs], log *slog.Logger) error {
	id := job.Args.TransactionID
	w, err := wf.work(ctx, id, signing.StateUploading)
	if err != nil {
		return err
	}
	now := wf.cfg.Now().UTC()
	if w.BewijsInformatieobjecttype != "" {
		c := wf.zgw(w.RSIN)
		eioURL := w.EvidenceURL
		if eioURL == "" {
			if eioURL, err = wf.createEvidence(ctx, c, w, now, log); err != nil {
				return err
			}
		}
		links, err := c.ListZaakInformatieObjecten(ctx, w.Zaak.URL, eioURL)
		if err != nil {
			return failAt(signing.StepEvidence, "", err)
		}
		if len(links) == 0 {
			if _, err := c.CreateZaakInformatieObject(ctx, zgw.ZaakInformatieObject{Informatieobject: eioURL, Zaak: w.Zaak.URL,
				Titel: "Bewijs van ondertekening"}); err != nil {
				return failAt(signing.StepEvidence, "", err)
			}
		}
		log.Info("evidence document linked to the zaak", "evidence", eioURL)
	}
	return wf.store.InTx(ctx, func(tx pgx.Tx) error {
		if err := wf.store.Advance(ctx, tx, id, store.Step{From: signing.StateUploading, To: signing.StateNotifying,
			Event: signing.EventStateChanged, Actor: actor, Now: now, Next: store.NotifyArgs{TransactionID: id},
			NextOpts: &river.InsertOpts{MaxAttempts: wf.cfg.NotifyMaxTry}}); err != nil {
			return err
		}
		if err := wf.store.WriteNotification(ctx, tx, id, signing.ActieVoltooid, message(w, signing.ActieVoltooid, "", now), now); err != nil {
			return err
		}
		return complete(ctx, tx, job)
	})
}

func message(w store.Work, actie, reden string, now time.Time) zgw.Notificatie {
	k := map[string]string{"transaction_id": w.ID.String()}
	if reden != "" {
		k["reden"] = reden
	}
	return zgw.Notificatie{Kanaal: signing.Kanaal, HoofdObject: w.Zaak.URL, Resource: "zaak", ResourceURL: w.Zaak.URL,
		Actie: actie, Aanmaakdatum: now.UTC().Truncate(time.Second), Kenmerken: k}
}

// notify delivers the outbox notification to the NRC; only once it is accepted is the transaction
// completed or aborted. A crash after the NRC accepted and before the commit sends it again
// (at-least-once).
func (wf *Workflow) notify(ctx context.Context, job *river.Job[store.NotifyArgs], log *slog.Logger) error {
	id := job.Args.TransactionID
	w, err := wf.work(ctx, id, signing.StateNotifying, signing.StateAborting)
	if err != nil {
		return err
	}
	raw, sent, err := wf.store.Notification(ctx, id)
	if err != nil {
		return err
	}
	if !sent {
		var n zgw.Notificatie
		if err := json.Unmarshal(raw, &n); err != nil {
			return fmt.Errorf("jobs: decode outbox message: %w", err)
		}
		c := wf.zgw(w.RSIN)
		if err := wf.ensureKanaal(ctx, c); err != nil {
			return err
		}
		if _, err := c.Notify(ctx, "", n); err != nil {
			return err
		}
	}
	now := wf.cfg.Now().UTC()
	to := signing.StateCompleted
	if w.State == signing.StateAborting {
		to = signing.StateAborted
	}
	err = wf.store.InTx(ctx, func(tx pgx.Tx) error {
		if err := wf.store.MarkNotified(ctx, tx, id, now); err != nil {
			return err
		}
		if err := wf.store.Advance(ctx, tx, id, store.Step{From: w.State, To: to, Event: signing.EventNotified, Actor: actor, Now: now}); err != nil {
			return err
		}
		return complete(ctx, tx, job)
	})
	if err == nil {
		log.InfoContext(ctx, "notification accepted by the NRC", "state", to)
		if !sent {
			wf.cfg.Metrics.NotificationPublished(actieFor(to))
		}
		if to == signing.StateCompleted {
			wf.cfg.Metrics.TransactionFinished("completed", "")
		} else {
			wf.cfg.Metrics.TransactionFinished("aborted", signing.AbortCause(w.Reden))
		}
	}
	return err
}

// actieFor is the notification actie that ends a transaction in state to.
func actieFor(to signing.State) string {
	if to == signing.StateCompleted {
		return signing.ActieVoltooid
	}
	return signing.ActieAfgebroken
}

// ensureKanaal makes sure the documentacties kanaal exists before the first publish to an NRC.
func (wf *Workflow) ensureKanaal(ctx context.Context, c *zgw.Client) error {
	key := c.RSIN()
	if _, ok := wf.kanalen.Load(key); ok {
		return nil
	}
	if _, err := c.EnsureKanaal(ctx, "", zgw.Kanaal{Naam: signing.Kanaal, Filters: []string{}}); err != nil {
		return fmt.Errorf("jobs: ensure kanaal %s: %w", signing.Kanaal, err)
	}
	wf.kanalen.Store(key, true)
	return nil
}

// EnsureKanalen registers the kanaal at every organisation's NRC at start; failures are logged
// and retried before the first publish.
func (wf *Workflow) EnsureKanalen(ctx context.Context, rsins []string) {
	for _, rsin := range rsins {
		if _, ok := wf.cfg.Registry.Root(rsin, "nrc"); !ok {
			continue
		}
		if err := wf.ensureKanaal(ctx, wf.zgw(rsin)); err != nil {
			wf.log.Warn("kanaal not ensured at start", "rsin", rsin, "err", err)
		}
	}
}

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
				log.Error("cancel at provider failed; giving up on it", "err", err)
			}
		}
	}
	c := wf.zgw(w.RSIN)
	if w.BewijsInformatieobjecttype != "" && w.EvidenceURL == "" && (w.EvidenceUploadURL != "" || w.EvidenceRequestedAt != nil) {
		if err := wf.abortEvidence(ctx, c, w, log); err != nil {
			if !last && !permanent(err) {
				return fmt.Errorf("release the evidence document: %w", err)
			}
			log.Error("an incomplete evidence document may be left in the DRC", "err", err)
		}
	}
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
			if !last {
				return fmt.Errorf("release lock of document %d: %w", d.Position, err)
			}
			log.Error("releasing lock failed; giving up on it", "document", d.Position, "err", err)
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
	err = wf.store.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := wf.store.Expect(ctx, tx, id, signing.StateAborting); err != nil {
			return err
		}
		if err := wf.store.WriteNotification(ctx, tx, id, signing.ActieAfgebroken, message(w, signing.ActieAfgebroken, w.Reden, now), now); err != nil {
			return err
		}
		if err := wf.store.Enqueue(ctx, tx, store.NotifyArgs{TransactionID: id}, &river.InsertOpts{MaxAttempts: wf.cfg.NotifyMaxTry}); err != nil {
			return err
		}
		return complete(ctx, tx, job)
	})
	if err == nil {
		log.Info("transaction aborted; notifying", "reden", w.Reden)
	}
	return err
}
