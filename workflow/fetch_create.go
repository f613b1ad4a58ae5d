package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/zgw"
)

// fetch checks the ZGW data (checks.go) and reads the content of exactly the requested versie of
// every document, keeping it with its SHA-256. Documents fetched by an earlier run are skipped.
// Nothing has gone to the provider yet: a failed check aborts before anyone is invited.
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
	p, err := wf.provider(w.Provider)
	if err != nil {
		return failAt(signing.StepFetch, "", err)
	}
	// Before anyone is asked to sign: the zaak and the evidence type, then every document as it
	// is fetched. What passed is recorded (an event, a stored document), so that a retry after a
	// failed call does not ask the ZGW APIs again.
	if !slices.ContainsFunc(w.Events, func(e signing.Event) bool { return e.Type == signing.EventZaakChecked }) {
		if err := wf.checkZaak(ctx, c, w, log); err != nil {
			return err
		}
		if err := wf.store.InTx(ctx, func(tx pgx.Tx) error {
			if _, err := wf.store.Expect(ctx, tx, id, signing.StateFetching); err != nil {
				return err
			}
			return wf.store.Event(ctx, tx, id, signing.EventZaakChecked, actor, nil, now)
		}); err != nil {
			return err
		}
	}
	for _, d := range w.Docs {
		if d.OriginalBlob != nil {
			continue
		}
		latest, err := wf.checkDocument(ctx, c, w, d)
		if err != nil {
			return err
		}
		if err := wf.fetchDocument(ctx, c, w, d, latest, p.Info(), log); err != nil {
			return err
		}
	}
	return end(ctx, wf, job, store.Step{From: signing.StateFetching, Next: CreateSigningArgs{TransactionID: id}}, nil)
}

// fetchDocument stores the content of the requested versie of d (the latest, as checkDocument
// found), after checking it against the DRC's metadata and the provider's formats.
func (wf *Workflow) fetchDocument(ctx context.Context, c *zgw.Client, w store.Work, d store.WorkDocument, meta *zgw.EnkelvoudigInformatieObject, info signing.ProviderInfo, log *slog.Logger) error {
	id, name := w.ID, docName(d)
	body, err := c.Download(ctx, d.URL, d.Versie)
	if err != nil {
		return failAt(signing.StepFetch, name, err)
	}
	cc := newContentCheck(body, meta.Integriteit)
	blob, err := wf.store.PutBlob(ctx, id, cc)
	body.Close()
	if err != nil {
		return failAt(signing.StepFetch, name, err)
	}
	if why := cc.verify(meta); why != "" {
		return checkFailed(checkContent, fmt.Sprintf("Document %s: %s", name, why))
	}
	if !cc.isPDF() && !slices.Contains(info.Converts, mediaType(meta.Formaat)) {
		return checkFailed(checkFormat, fmt.Sprintf("Document %s is geen PDF (formaat %q) en de ondertekenaanbieder zet het niet om", name, meta.Formaat))
	}
	if cc.isPDF() {
		if err := wf.checkOpens(ctx, blob.ID, name); err != nil {
			return err
		}
	}
	now := wf.cfg.Now().UTC()
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
	return nil
}

// mediaType is formaat without parameters, in lower case.
func mediaType(formaat string) string {
	t, _, _ := strings.Cut(formaat, ";")
	return strings.ToLower(strings.TrimSpace(t))
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
	req := signing.CreateRequest{TransactionID: id, Naam: w.Naam, Eigenaar: w.Eigenaar, Deadline: w.Deadline,
		Organisation: signing.Organisation{RSIN: w.RSIN, Name: wf.cfg.OrganisationNames[w.RSIN]}}
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
