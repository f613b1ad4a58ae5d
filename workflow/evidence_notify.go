package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/zgw"
)

// evidence creates the evidence document and links it to the zaak when the trigger asked for one,
// then decides the outcome: notifying, with the notification in the outbox.
func (wf *Workflow) evidence(ctx context.Context, job *river.Job[EvidenceArgs], log *slog.Logger) error {
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
		log.InfoContext(ctx, "evidence document linked to the zaak", "evidence", eioURL)
	}
	return end(ctx, wf, job, store.Step{From: signing.StateUploading, To: signing.StateNotifying,
		Event: signing.EventStateChanged, Actor: actor, Now: now, Next: NotifyArgs{TransactionID: id},
		NextOpts: &river.InsertOpts{MaxAttempts: wf.cfg.NotifyMaxTry}}, func(tx pgx.Tx) error {
		return wf.store.WriteNotification(ctx, tx, id, signing.ActieVoltooid, message(w, signing.ActieVoltooid, "", now), now)
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
func (wf *Workflow) notify(ctx context.Context, job *river.Job[NotifyArgs], log *slog.Logger) error {
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
			return fmt.Errorf("workflow: decode outbox message: %w", err)
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
	err = end(ctx, wf, job, store.Step{From: w.State, To: to, Event: signing.EventNotified, Actor: actor, Now: now},
		func(tx pgx.Tx) error { return wf.store.MarkNotified(ctx, tx, id, now) })
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
		return fmt.Errorf("workflow: ensure kanaal %s: %w", signing.Kanaal, err)
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
			wf.log.WarnContext(ctx, "kanaal not ensured at start", "rsin", rsin, "err", err)
		}
	}
}
