package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
)

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
		log.InfoContext(ctx, "document fetched", "document", d.Position, "versie", d.Versie, "size", blob.Size)
	}
	return end(ctx, wf, job, store.Step{From: signing.StateFetching, Next: CreateSigningArgs{TransactionID: id}}, nil)
}

// create starts the signing at the provider. Providers key signings by transaction id, so a
// second run finds the first signing.
func (wf *Workflow) create(ctx context.Context, job *river.Job[CreateSigningArgs], log *slog.Logger) error {
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
	err = end(ctx, wf, job, store.Step{From: signing.StateFetching, To: signing.StateAwaitingSignatures,
		Event: signing.EventProviderCreated, Actor: actor, Detail: map[string]any{"provider": w.Provider, "ref": ref}, Now: now,
		// The first poll runs at once: signers may act (and webhooks arrive) before this commit
		// makes the reference known.
		Next: CheckProgressArgs{TransactionID: id, Chain: true}}, nil)
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
