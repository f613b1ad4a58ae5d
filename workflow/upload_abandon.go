package workflow

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/zgw"
)

// eventUploadAbandoned is the audit event of an upload in parts given up, with what the DRC kept.
const eventUploadAbandoned = "upload_abandoned"

// giveUpUpload runs when the upload of document pos failed for good (err, on the step's last
// attempt or permanently). If that upload went in parts and left a lock of ours, the lock is
// released (abandonUpload) and the abort's reden says what the DRC kept; otherwise it returns
// err, and the abort releases whatever lock is stored as it always does.
func (wf *Workflow) giveUpUpload(ctx context.Context, c *zgw.Client, job *river.Job[UploadArgs], pos int, err error, log *slog.Logger) error {
	w, werr := wf.store.Work(ctx, job.Args.TransactionID)
	if werr != nil {
		return err
	}
	i := slices.IndexFunc(w.Docs, func(d store.WorkDocument) bool { return d.Position == pos })
	if i < 0 || w.Docs[i].LockID == "" {
		return err
	}
	d := w.Docs[i]
	latest, rerr := c.RetrieveEIO(ctx, d.URL, 0)
	if rerr != nil || !pendingUploadOfOurs(latest, d) {
		return err
	}
	left, aerr := wf.abandonUpload(ctx, c, w.ID, d, log)
	if aerr != nil {
		log.WarnContext(ctx, "releasing the lock of the failed upload in parts failed; the abort tries again", "document", d.Position, "err", aerr)
		return err
	}
	return &abortError{reden: fmt.Sprintf("Document %s: upload in delen mislukt; %s", docName(d), left), err: err}
}

// pendingUploadOfOurs reports whether the latest version is our signed PDF whose parts the DRC
// has not all received.
func pendingUploadOfOurs(latest *zgw.EnkelvoudigInformatieObject, d store.WorkDocument) bool {
	return len(latest.Bestandsdelen) > 0 && latest.Integriteit != nil && latest.Integriteit.Waarde == d.SignedSHA256
}

// abandonUpload releases the stored lock of document d whose upload cannot be finished, so the
// document is not left locked for a person to force open, and returns what the DRC kept, in Dutch.
//
// The DRC cannot delete a version: the PATCH that started the parts made the new version already.
// Releasing the lock is when the DRC checks the parts, and it refuses an unlock with parts missing
// (Documenten API: "De provider valideert op dat moment dat alle bestandsdelen correct opgestuurd
// werden"). A forced unlock (scope documenten.geforceerd-unlock) abandons the parts instead, as
// Open Zaak does and zgw/sim follows: the new version stays, without content. So the stored lock
// is tried first, for a DRC that drops incomplete parts itself, and then the unlock is forced.
// Without the scope the document stays locked, and the reden says so.
func (wf *Workflow) abandonUpload(ctx context.Context, c *zgw.Client, id uuid.UUID, d store.WorkDocument, log *slog.Logger) (string, error) {
	forced, locked := false, false
	err := c.Unlock(ctx, d.URL, d.LockID)
	switch {
	case err == nil, zgw.IsWrongLock(err): // released, or our lock is gone already
	case zgw.IsPermanent(err):
		ferr := c.ForceUnlock(ctx, d.URL)
		switch {
		case ferr == nil, zgw.IsWrongLock(ferr):
			forced = true
		case zgw.IsPermanent(ferr):
			// Trying again changes nothing: the stored lock is forgotten, and the reden and the
			// log say the document stays locked.
			locked = true
			log.ErrorContext(ctx, "the document stays locked by our failed upload in parts: the DRC refuses the unlock and a forced one",
				"document", d.Position, "err", err, "force_err", ferr)
		default:
			return "", fmt.Errorf("force unlock: %w", ferr)
		}
	default:
		return "", fmt.Errorf("unlock: %w", err)
	}
	var left string
	versie := 0
	latest, err := c.RetrieveEIO(ctx, d.URL, 0)
	switch {
	case locked:
		left = "het document blijft vergrendeld met een nieuwe versie zonder inhoud; geforceerd ontgrendelen is niet toegestaan" +
			" (scope documenten.geforceerd-unlock ontbreekt)"
	case err != nil:
		left = "vergrendeling opgeheven, een nieuwe versie zonder inhoud kan blijven bestaan"
	case latest.Integriteit == nil || latest.Integriteit.Waarde != d.SignedSHA256:
		left = "vergrendeling opgeheven, geen nieuwe versie gemaakt"
	case latest.Inhoud != "" && len(latest.Bestandsdelen) == 0:
		versie = latest.Versie
		left = fmt.Sprintf("vergrendeling opgeheven, nieuwe versie %d met de ondertekende inhoud", versie)
	default:
		versie = latest.Versie
		left = fmt.Sprintf("vergrendeling opgeheven, nieuwe versie %d zonder inhoud blijft bestaan", versie)
	}
	if forced {
		left = strings.Replace(left, "vergrendeling opgeheven", "vergrendeling geforceerd opgeheven", 1)
	}
	now := wf.cfg.Now().UTC()
	if err := wf.store.InTx(ctx, func(tx pgx.Tx) error {
		return wf.store.Event(ctx, tx, id, eventUploadAbandoned, actor,
			map[string]any{"document": d.Position, "versie": versie, "forced": forced, "locked": locked}, now)
	}); err != nil {
		return "", err
	}
	if err := wf.store.ClearLock(ctx, id, d.Position); err != nil {
		return "", err
	}
	log.WarnContext(ctx, "gave up the upload in parts", "document", d.Position, "versie", versie, "forced", forced, "locked", locked)
	return left, nil
}
