package workflow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signingd/signingd/internal/text"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/zgw"
)

// The evidence document, crash-safe.
//
// Its content is fixed before anything goes in parts to the DRC: the report generated on the first
// run and stored as the transaction's evidence blob, so that every
// run sends the same bytes. A generated report small enough to go inline is not stored: one request
// makes that document complete, so there is nothing to resume. The creation is announced in the
// database first (the evidence intent). Content below the part threshold (Config.PartThreshold, 16
// MiB) goes inline: the document is complete the moment it exists. Larger content goes as
// bestandsdelen: the DRC answers the create with the document locked, its parts and the lock; URL
// and lock are recorded at once (the evidence upload), before any part is sent; then the parts go
// up and the unlock makes the DRC assemble the content. Only a document the DRC shows unlocked with
// its content becomes the transaction's evidence (evidence_url), is linked to the zaak and lets the
// transaction complete. A failed part leaves the document locked, and the next run resumes: it
// sends the parts the DRC does not report voltooid, with the recorded lock, and unlocks.
//
// A run that finds the intent but no recorded upload (a crash or a lost answer between the create and
// recording it) looks the document up by its identificatie and goes by what the DRC shows:
//   - unlocked with its content: it is the evidence;
//   - locked with pending parts: the lock is shown with the parts (the OAS makes it a required field
//     of every bestandsdeel; Open Zaak and OneGround fill it in), so the upload is resumed with it;
//   - locked without a lock to read: a lock of ours whose id was lost, treated as the upload treats
//     one: after FORCE_UNLOCK_AFTER from the intent it is forced open (scope
//     documenten.geforceerd-unlock), without that scope the transaction aborts with a Dutch reden;
//   - unlocked without content (an upload abandoned by a forced unlock): deleted (scope
//     documenten.verwijderen; without it the transaction aborts) and created again.
//
// An abort finishes or forces open and then deletes an evidence document whose upload never completed,
// so that nothing locked or incomplete stays behind.

// eventEvidenceDiscarded is the audit event of an incomplete evidence document deleted from the DRC.
const eventEvidenceDiscarded = "evidence_discarded"

// errEvidenceTaken means the DRC refused a create because the identificatie exists: a document of an
// earlier run that a lookup has not shown yet.
var errEvidenceTaken = errors.New("workflow: the evidence identificatie is taken")

// evidenceIdentificatie is the identificatie of a transaction's evidence document: unique with the
// bronorganisatie, within the DRC's 40 characters, and how a retry finds the document again.
func evidenceIdentificatie(id uuid.UUID) string {
	return "sd-" + strings.ReplaceAll(id.String(), "-", "")
}

// evidenceUpload is what a run knows of the evidence document it may have created.
type evidenceUpload struct {
	url, lock string     // a chunked upload under way, as recorded
	requested *time.Time // the intent: the document may exist
}

// createEvidence makes sure the transaction's evidence document exists in the DRC, complete, and
// returns its URL (recorded as the evidence). See the comment at the top of this file.
func (wf *Workflow) createEvidence(ctx context.Context, c *zgw.Client, w store.Work, now time.Time, log *slog.Logger) (string, error) {
	zaak, err := c.RetrieveZaak(ctx, w.Zaak.URL)
	if err != nil {
		return "", failAt(signing.StepEvidence, "", err)
	}
	ev, err := wf.evidenceContent(ctx, w, now)
	if err != nil {
		return "", err
	}
	ident := evidenceIdentificatie(w.ID)
	up := evidenceUpload{url: w.EvidenceUploadURL, lock: w.EvidenceUploadLock, requested: w.EvidenceRequestedAt}
	for range 3 {
		if up.url != "" || up.requested != nil {
			u, err := wf.recoverEvidence(ctx, c, w.ID, &up, zaak.Bronorganisatie, ident, ev, log)
			if err != nil || u != "" {
				return u, err
			}
		}
		u, err := wf.newEvidence(ctx, c, w, &up, zaak.Bronorganisatie, ident, ev, now, log)
		if !errors.Is(err, errEvidenceTaken) {
			return u, err
		}
		log.InfoContext(ctx, "evidence identificatie taken by a document of an earlier run; looking it up again", "identificatie", ident)
	}
	return "", failAt(signing.StepEvidence, "", fmt.Errorf("evidence document %s: the DRC refuses its identificatie but does not list it", ident))
}

// newEvidence creates the evidence document. Inline content makes it complete at once; for a
// chunked upload the DRC's answer (URL and lock) is recorded before the parts are sent.
func (wf *Workflow) newEvidence(ctx context.Context, c *zgw.Client, w store.Work, up *evidenceUpload, bron, ident string, ev evidenceSource, now time.Time, log *slog.Logger) (string, error) {
	id := w.ID
	if err := wf.store.SetEvidenceIntent(ctx, id, now); err != nil {
		return "", err
	}
	if up.requested == nil {
		up.requested = &now
	}
	rc, size, err := wf.openEvidence(ctx, ev)
	if err != nil {
		return "", err
	}
	auteur := w.Eigenaar
	if auteur == "" {
		auteur = wf.cfg.ServiceName
	}
	no := false
	eio, err := c.StartCreateEIO(ctx, "", zgw.EIOFields{
		Identificatie: ident, Bronorganisatie: bron, Creatiedatum: today(now),
		Titel: text.Truncate("Bewijs van ondertekening - "+w.Naam, 200), Auteur: text.Truncate(auteur, 200), Taal: "dut",
		Formaat: "application/pdf", Bestandsnaam: "bewijs-ondertekening-" + id.String() + ".pdf",
		IndicatieGebruiksrecht: &no, Status: "definitief", Informatieobjecttype: w.BewijsInformatieobjecttype,
		Beschrijving: "Bewijs van ondertekening voor transactie " + id.String(),
		Integriteit:  &zgw.Integriteit{Algoritme: "sha_256", Waarde: ev.SHA256, Datum: today(now)},
	}, &zgw.Content{Reader: rc, Size: size})
	rc.Close()
	switch {
	case zgw.IsIdentificatieTaken(err):
		return "", errEvidenceTaken
	case err != nil:
		return "", failAt(signing.StepEvidence, "", err)
	case eio.Lock == "":
		return eio.URL, wf.store.SetEvidenceURL(ctx, id, eio.URL, now)
	}
	if err := wf.store.SetEvidenceUpload(ctx, id, eio.URL, eio.Lock); err != nil {
		if errors.Is(err, store.ErrStale) {
			// Aborted meanwhile; the abort may have looked before this document existed. Leave
			// nothing locked or incomplete behind.
			if derr := wf.dropEvidence(context.WithoutCancel(ctx), c, id, eio, eio.Lock, ev.stored(), log); derr != nil {
				log.ErrorContext(ctx, "an incomplete evidence document may be left in the DRC", "evidence", eio.URL, "err", derr)
			}
		}
		return "", err
	}
	up.url, up.lock = eio.URL, eio.Lock
	log.InfoContext(ctx, "evidence document created; uploading its parts", "evidence", eio.URL, "parts", len(eio.Bestandsdelen))
	return wf.finishEvidence(ctx, c, id, eio, eio.Lock, ev, log)
}

// recoverEvidence looks at the evidence document an earlier run may have made and brings it to an
// end: its URL once it is complete (recorded as the evidence), or "" when there is none (any longer)
// and it is to be created.
func (wf *Workflow) recoverEvidence(ctx context.Context, c *zgw.Client, id uuid.UUID, up *evidenceUpload, bron, ident string, ev evidenceSource, log *slog.Logger) (string, error) {
	for range 4 {
		eio, err := lookupEvidence(ctx, c, up.url, bron, ident)
		if err != nil {
			return "", failAt(signing.StepEvidence, "", err)
		}
		if eio == nil { // never created, or gone
			if err := wf.store.ClearEvidenceUpload(ctx, id); err != nil {
				return "", err
			}
			*up = evidenceUpload{}
			return "", nil
		}
		switch {
		case evidenceComplete(eio):
			log.InfoContext(ctx, "found the complete evidence document of an earlier run", "evidence", eio.URL)
			return eio.URL, wf.store.SetEvidenceURL(ctx, id, eio.URL, wf.cfg.Now().UTC())
		case eio.Locked:
			lock := eio.PartsLock()
			if lock == "" && eio.URL == up.url {
				lock = up.lock
			}
			if lock == "" || partsTotal(eio) != ev.Size || ev.stored() == nil {
				// The lock is lost, or the parts are not for this content (content held in memory
				// may differ from an earlier run's in its bytes): only force opens it.
				if err := wf.forceOpenEvidence(ctx, c, id, eio, up.requested, log); err != nil {
					return "", err
				}
				continue
			}
			if eio.URL != up.url || lock != up.lock {
				if err := wf.store.SetEvidenceUpload(ctx, id, eio.URL, lock); err != nil {
					return "", err
				}
				up.url, up.lock = eio.URL, lock
			}
			log.InfoContext(ctx, "resuming the upload of the evidence document", "evidence", eio.URL, "parts", len(eio.Bestandsdelen),
				"done", countDone(eio))
			u, err := wf.finishEvidence(ctx, c, id, eio, lock, ev, log)
			if zgw.IsWrongLock(err) {
				up.lock = "" // no longer the document's lock: look again
				continue
			}
			return u, err
		default: // unlocked without its content: the upload was abandoned
			if err := wf.discardEvidence(ctx, c, id, eio, log); err != nil {
				return "", err
			}
			*up = evidenceUpload{}
			return "", nil
		}
	}
	return "", failAt(signing.StepEvidence, "", fmt.Errorf("evidence document %s keeps changing under us", ident))
}

// lookupEvidence returns the evidence document: the recorded one, else the one with our
// identificatie (a complete one first, should the DRC hold several); nil when there is none.
func lookupEvidence(ctx context.Context, c *zgw.Client, recorded, bron, ident string) (*zgw.EnkelvoudigInformatieObject, error) {
	if recorded != "" {
		eio, err := c.RetrieveEIO(ctx, recorded, 0)
		if zgw.IsNotFound(err) {
			return nil, nil
		}
		return eio, err
	}
	found, err := c.FindEIOs(ctx, "", bron, ident)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	for i := range found {
		if evidenceComplete(&found[i]) {
			return &found[i], nil
		}
	}
	return &found[0], nil
}

// finishEvidence uploads the parts the DRC does not have yet and unlocks; the document, then
// complete, is recorded as the evidence.
func (wf *Workflow) finishEvidence(ctx context.Context, c *zgw.Client, id uuid.UUID, eio *zgw.EnkelvoudigInformatieObject, lock string, ev evidenceSource, log *slog.Logger) (string, error) {
	rc, size, err := wf.openEvidence(ctx, ev)
	if err != nil {
		return "", err
	}
	final, err := c.FinishUpload(ctx, eio, lock, &zgw.Content{Reader: rc, Size: size})
	rc.Close()
	if err != nil {
		return "", failAt(signing.StepEvidence, "", err)
	}
	if final.Locked || !evidenceComplete(final) {
		return "", failAt(signing.StepEvidence, "", fmt.Errorf("the DRC shows evidence document %s incomplete after its upload", final.URL))
	}
	log.InfoContext(ctx, "evidence document uploaded", "evidence", final.URL)
	return final.URL, wf.store.SetEvidenceURL(ctx, id, final.URL, wf.cfg.Now().UTC())
}

// forceOpenEvidence releases the lock of an evidence document whose lock id was lost, like lostLock
// does for a signed document: not before ForceUnlockAfter from the intent, and only with the scope
// documenten.geforceerd-unlock; without it the transaction aborts.
func (wf *Workflow) forceOpenEvidence(ctx context.Context, c *zgw.Client, id uuid.UUID, eio *zgw.EnkelvoudigInformatieObject, requested *time.Time, log *slog.Logger) error {
	now := wf.cfg.Now().UTC()
	since := now
	if requested != nil {
		since = *requested
	}
	if age := now.Sub(since); age < wf.cfg.ForceUnlockAfter {
		log.InfoContext(ctx, "evidence document locked by a lock of ours whose id was lost; waiting before forcing it open",
			"evidence", eio.URL, "force_in", (wf.cfg.ForceUnlockAfter - age).Round(time.Second).String())
		return errLocked
	}
	err := c.ForceUnlock(ctx, eio.URL)
	switch {
	case err == nil, zgw.IsWrongLock(err): // released, or no longer locked at all
	case zgw.IsPermanent(err):
		return &abortError{reden: signing.RedenTechnical(signing.StepEvidence, "") +
			": het bewijsdocument bleef vergrendeld door een onderbroken upload en geforceerd ontgrendelen is niet toegestaan" +
			" (scope documenten.geforceerd-unlock ontbreekt)", err: fmt.Errorf("force unlock evidence document: %w", err)}
	default:
		return failAt(signing.StepEvidence, "", fmt.Errorf("force unlock: %w", err))
	}
	if err := wf.store.InTx(ctx, func(tx pgx.Tx) error {
		return wf.store.Event(ctx, tx, id, eventLockForced, actor, map[string]any{"evidence": eio.URL, "lock_requested_at": since}, now)
	}); err != nil {
		return err
	}
	log.WarnContext(ctx, "forced open the evidence document locked by a lock of ours whose id was lost", "evidence", eio.URL)
	return nil
}

// discardEvidence deletes an evidence document whose upload was abandoned (unlocked, without its
// content), so that it can be created again under the same identificatie. Deleting needs the scope
// documenten.verwijderen; without it, or when the DRC refuses for another reason (a relation to a
// zaak), the transaction aborts rather than link an incomplete document.
func (wf *Workflow) discardEvidence(ctx context.Context, c *zgw.Client, id uuid.UUID, eio *zgw.EnkelvoudigInformatieObject, log *slog.Logger) error {
	err := c.DeleteEIO(ctx, eio.URL)
	switch {
	case err == nil, zgw.IsNotFound(err):
	case zgw.IsLocked(err):
		return errLocked // locked again meanwhile: look again later
	case zgw.IsPermanent(err):
		reden := signing.RedenTechnical(signing.StepEvidence, "") + ": een onvolledig bewijsdocument van een onderbroken upload kon niet worden verwijderd"
		if zgw.StatusCode(err) == 403 {
			reden += " (scope documenten.verwijderen ontbreekt)"
		}
		return &abortError{reden: reden, err: fmt.Errorf("delete incomplete evidence document: %w", err)}
	default:
		return failAt(signing.StepEvidence, "", fmt.Errorf("delete incomplete evidence document: %w", err))
	}
	now := wf.cfg.Now().UTC()
	if err := wf.store.InTx(ctx, func(tx pgx.Tx) error {
		return wf.store.Event(ctx, tx, id, eventEvidenceDiscarded, actor, map[string]any{"url": eio.URL}, now)
	}); err != nil {
		return err
	}
	log.WarnContext(ctx, "deleted the incomplete evidence document of an interrupted upload; creating it again", "evidence", eio.URL)
	return wf.store.ClearEvidenceUpload(ctx, id)
}

// abortEvidence is the abort's part for an evidence document whose upload never completed: it is
// finished (with our lock) or forced open, then deleted. A complete evidence document is left alone.
func (wf *Workflow) abortEvidence(ctx context.Context, c *zgw.Client, w store.Work, log *slog.Logger) error {
	bron := ""
	if w.EvidenceUploadURL == "" {
		zaak, err := c.RetrieveZaak(ctx, w.Zaak.URL)
		if err != nil {
			return fmt.Errorf("read zaak: %w", err)
		}
		bron = zaak.Bronorganisatie
	}
	eio, err := lookupEvidence(ctx, c, w.EvidenceUploadURL, bron, evidenceIdentificatie(w.ID))
	if err != nil {
		return err
	}
	if eio == nil || evidenceComplete(eio) {
		return nil
	}
	ev, err := wf.store.EvidenceContent(ctx, w.ID)
	if err != nil {
		return err
	}
	lock := eio.PartsLock()
	if lock == "" && eio.URL == w.EvidenceUploadURL {
		lock = w.EvidenceUploadLock
	}
	return wf.dropEvidence(ctx, c, w.ID, eio, lock, ev, log)
}

// dropEvidence removes an evidence document that is not to be used: a locked one is first completed
// with lock (which needs no extra scope) or, lacking lock or content, forced open; then it is deleted.
func (wf *Workflow) dropEvidence(ctx context.Context, c *zgw.Client, id uuid.UUID, eio *zgw.EnkelvoudigInformatieObject, lock string, ev *store.Blob, log *slog.Logger) error {
	if eio.Locked {
		finished := false
		if lock != "" && ev != nil && len(eio.Bestandsdelen) > 0 && partsTotal(eio) == ev.Size {
			rc, size, err := wf.store.OpenBlob(ctx, ev.ID)
			if err != nil {
				return err
			}
			_, err = c.FinishUpload(ctx, eio, lock, &zgw.Content{Reader: rc, Size: size})
			rc.Close()
			if err != nil && !zgw.IsWrongLock(err) {
				return fmt.Errorf("finish upload before deleting: %w", err)
			}
			finished = err == nil
		}
		if !finished {
			if err := c.ForceUnlock(ctx, eio.URL); err != nil && !zgw.IsWrongLock(err) {
				return fmt.Errorf("force unlock: %w", err)
			}
		}
	}
	if err := c.DeleteEIO(ctx, eio.URL); err != nil && !zgw.IsNotFound(err) {
		return fmt.Errorf("delete: %w", err)
	}
	now := wf.cfg.Now().UTC()
	if err := wf.store.InTx(ctx, func(tx pgx.Tx) error {
		return wf.store.Event(ctx, tx, id, eventEvidenceDiscarded, actor, map[string]any{"url": eio.URL}, now)
	}); err != nil {
		return err
	}
	log.WarnContext(ctx, "deleted the evidence document of an aborted transaction whose upload never completed", "evidence", eio.URL)
	return wf.store.ClearEvidenceUpload(ctx, id)
}

// evidenceComplete reports whether the DRC holds the evidence document's content: no chunked upload
// pending and a download URL. (An upload abandoned by a forced unlock leaves neither parts nor
// content, and in Open Zaak no bestandsomvang either; evidence is never empty.)
func evidenceComplete(eio *zgw.EnkelvoudigInformatieObject) bool {
	return len(eio.Bestandsdelen) == 0 && eio.Inhoud != ""
}

func partsTotal(eio *zgw.EnkelvoudigInformatieObject) int64 {
	var n int64
	for _, p := range eio.Bestandsdelen {
		n += p.Omvang
	}
	return n
}

func countDone(eio *zgw.EnkelvoudigInformatieObject) int {
	n := 0
	for _, p := range eio.Bestandsdelen {
		if p.Voltooid {
			n++
		}
	}
	return n
}

// evidenceSource is the content of the evidence document: a stored blob, or a generated report
// small enough to go inline, held in memory (data, with Blob.ID unset). Inline content makes the
// document complete in one request, so no run ever resumes it and a retry may send a report
// generated anew; only content that goes in parts must be the same bytes on every run.
type evidenceSource struct {
	store.Blob
	data []byte
}

// openEvidence returns the content to send.
func (wf *Workflow) openEvidence(ctx context.Context, ev evidenceSource) (io.ReadCloser, int64, error) {
	if ev.data != nil {
		return io.NopCloser(bytes.NewReader(ev.data)), int64(len(ev.data)), nil
	}
	return wf.store.OpenBlob(ctx, ev.ID)
}

// stored is the stored blob, nil for content held in memory.
func (ev evidenceSource) stored() *store.Blob {
	if ev.data != nil {
		return nil
	}
	return &ev.Blob
}

// evidenceContent returns the content of the evidence document: the report generated on the first
// run — stored when it goes in parts, so that every run, a resumed
// upload above all, sends the same bytes.
func (wf *Workflow) evidenceContent(ctx context.Context, w store.Work, now time.Time) (evidenceSource, error) {
	if b, err := wf.store.EvidenceContent(ctx, w.ID); err != nil || b != nil {
		if b == nil {
			return evidenceSource{}, err
		}
		return evidenceSource{Blob: *b}, err
	}
	pe, err := wf.providerEvidence(ctx, w.ID)
	if err != nil {
		return evidenceSource{}, err
	}
	report, err := evidenceReport(ctx, reportInput{w: w, org: wf.cfg.OrganisationNames[w.RSIN], provider: pe,
		now: now, loc: wf.cfg.Location, sealed: wf.cfg.Sealer != nil})
	if err != nil {
		return evidenceSource{}, err
	}
	if wf.cfg.Sealer != nil {
		if report, err = wf.cfg.Sealer.seal(ctx, report, now.In(wf.cfg.Location)); err != nil {
			return evidenceSource{}, err
		}
	}
	threshold := wf.cfg.PartThreshold
	if threshold <= 0 {
		threshold = zgw.DefaultPartThreshold
	}
	if int64(len(report)) < threshold {
		sum := sha256.Sum256(report)
		return evidenceSource{Blob: store.Blob{Size: int64(len(report)), SHA256: hex.EncodeToString(sum[:])}, data: report}, nil
	}
	blob, err := wf.store.PutBlob(ctx, w.ID, bytes.NewReader(report))
	if err != nil {
		return evidenceSource{}, err
	}
	if err := wf.store.KeepEvidenceBlob(ctx, w.ID, blob.ID); err != nil {
		return evidenceSource{}, err
	}
	b, err := wf.store.EvidenceContent(ctx, w.ID)
	if err != nil {
		return evidenceSource{}, err
	}
	if b == nil {
		return evidenceSource{}, fmt.Errorf("workflow: evidence content of %s not stored", w.ID)
	}
	return evidenceSource{Blob: *b}, nil
}
