package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
)

// nextPoll schedules the next status poll: after the provider's interval, but no later than the
// deadline, so expiry is noticed on time.
func nextPoll(interval time.Duration, deadline, now time.Time) *river.InsertOpts {
	at := now.Add(interval)
	if deadline.Before(at) {
		at = deadline.Add(time.Second)
	}
	return &river.InsertOpts{ScheduledAt: at}
}

// progress asks the provider where the signing stands and records signer progress; on completion
// it moves on to collecting, on a decline or expiry it aborts.
func (wf *Workflow) progress(ctx context.Context, job *river.Job[CheckProgressArgs], log *slog.Logger) error {
	id := job.Args.TransactionID
	w, err := wf.work(ctx, id, signing.StateAwaitingSignatures)
	if err != nil {
		return err
	}
	now := wf.cfg.Now().UTC()
	if !now.Before(w.Deadline) {
		log.InfoContext(ctx, "transaction expired")
		return abortFrom(ctx, wf, job, signing.RedenExpired, map[string]any{"deadline": w.Deadline}, now)
	}
	p, err := wf.provider(w.Provider)
	if err != nil {
		return failAt(signing.StepProgress, "", err)
	}
	if err := wf.throttle(w.Provider, p.Info()); err != nil {
		return err
	}
	prog, err := p.Status(ctx, w.ProviderRef)
	if err != nil {
		return failAt(signing.StepProgress, "", err)
	}
	return end(ctx, wf, job, store.Step{From: signing.StateAwaitingSignatures}, func(tx pgx.Tx) error {
		if _, err := wf.store.ApplySignerProgress(ctx, tx, id, prog.Signers, now); err != nil {
			return err
		}
		switch prog.Status {
		case signing.ProgressCompleted:
			if err := wf.store.Advance(ctx, tx, id, store.Step{From: signing.StateAwaitingSignatures, To: signing.StateCollecting,
				Event: signing.EventStateChanged, Actor: actor, Now: now, Next: CollectArgs{TransactionID: id}}); err != nil {
				return err
			}
			log.InfoContext(ctx, "all signers signed")
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
			log.InfoContext(ctx, "signer declined")
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
				return wf.store.Enqueue(ctx, tx, CheckProgressArgs{TransactionID: id, Chain: true}, nextPoll(p.Info().PollInterval, w.Deadline, now))
			}
		}
		return nil
	})
}

// collectDocument fetches one signed PDF, checks it against the document that was sent
// (checkSigned) and stores it as the document's signed version.
func (wf *Workflow) collectDocument(ctx context.Context, p signing.Provider, w store.Work, d store.WorkDocument, log *slog.Logger) error {
	rc, err := p.Signed(ctx, w.ProviderRef, d.Position)
	if err != nil {
		return err
	}
	f, size, err := spool(rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("read the signed PDF: %w", err)
	}
	defer discard(f)
	if err := wf.checkSigned(ctx, p.Info(), d, f, size, log); err != nil {
		return err
	}
	if tsa := wf.cfg.TSAs[w.RSIN]; tsa != nil && p.Info().SignsDigitally && !p.Info().LongTerm {
		lta, n, err := wf.longTerm(ctx, f, size, tsa, log)
		if err != nil {
			return err
		}
		defer discard(lta)
		f, size = lta, n
	}
	blob, err := wf.store.PutBlob(ctx, w.ID, io.NewSectionReader(f, 0, size))
	if err != nil {
		return err
	}
	return wf.store.InTx(ctx, func(tx pgx.Tx) error {
		return wf.store.SetDocumentSigned(ctx, tx, w.ID, d.Position, blob)
	})
}

// collect streams the signed PDFs and the provider's evidence into the store.
func (wf *Workflow) collect(ctx context.Context, job *river.Job[CollectArgs], log *slog.Logger) error {
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
		if err := wf.collectDocument(ctx, p, w, d, log); err != nil {
			return failAt(signing.StepCollect, docName(d), err)
		}
	}
	if err := wf.collectEvidence(ctx, p, w); err != nil {
		return failAt(signing.StepCollect, "", err)
	}
	log.InfoContext(ctx, "signed documents collected")
	return end(ctx, wf, job, store.Step{From: signing.StateCollecting, To: signing.StateUploading,
		Event: signing.EventStateChanged, Actor: actor, Now: wf.cfg.Now().UTC(), Next: UploadArgs{TransactionID: id}}, nil)
}

// collectEvidence stores what the provider recorded of the signing, once, beside the signed
// documents: vendors' links expire, and the evidence report written later needs it.
func (wf *Workflow) collectEvidence(ctx context.Context, p signing.Provider, w store.Work) error {
	if b, err := wf.store.ProviderEvidence(ctx, w.ID); err != nil || b != nil {
		return err
	}
	ev, err := p.Evidence(ctx, w.ProviderRef)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	for _, f := range ev.Files {
		if len(f.Content) > signing.MaxEvidenceFile {
			return fmt.Errorf("%w: evidence file %q is %d bytes, more than %d", signing.ErrPermanent, f.Name, len(f.Content), signing.MaxEvidenceFile)
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	blob, err := wf.store.PutBlob(ctx, w.ID, bytes.NewReader(b))
	if err != nil {
		return err
	}
	return wf.store.InTx(ctx, func(tx pgx.Tx) error { return wf.store.SetProviderEvidence(ctx, tx, w.ID, blob.ID) })
}

// providerEvidence reads back what collectEvidence stored; empty for a transaction collected
// before it existed.
func (wf *Workflow) providerEvidence(ctx context.Context, id uuid.UUID) (signing.Evidence, error) {
	var ev signing.Evidence
	b, err := wf.store.ProviderEvidence(ctx, id)
	if err != nil || b == nil {
		return ev, err
	}
	rc, _, err := wf.store.OpenBlob(ctx, *b)
	if err != nil {
		return ev, err
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(&ev); err != nil {
		return ev, fmt.Errorf("workflow: provider evidence of %s: %w", id, err)
	}
	return ev, nil
}
