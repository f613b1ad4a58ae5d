package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/zgw"
	"github.com/signingd/signingd/zgw/sim"
)

// forcedUnlockAuth makes the simulator check tokens like Open Zaak and registers signingd's client
// with scopes; signingd signs its ZGW JWT with the same secret.
func forcedUnlockAuth(o *envOptions, scopes ...string) {
	o.sim.Tokens = sim.TokensOpenZaak
	o.sim.Clients = map[string]sim.Client{"signingd-e2e": {Secret: "e2e-zgw-secret", Scopes: scopes}}
	o.zgwAuth = &config.ServiceAuth{Mode: zgw.AuthZGWJWT, ClientID: "signingd-e2e", Secret: config.NewSecret("e2e-zgw-secret"),
		UserID: "signingd", UserRepresentation: "signingd"}
}

// loseLock puts the transaction in the state a crash between the lock request and storing the lock
// id leaves behind: the document locked by a lock nobody knows, and our lock intent recorded.
func (e *env) loseLock(id, doc string) {
	e.t.Helper()
	if _, err := e.zgw.LockDocument(doc); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.Pool().Exec(context.Background(), `UPDATE documents SET lock_requested_at = now() WHERE transaction_id = $1`, mustUUID(id)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) eventTypes(id string) []string {
	e.t.Helper()
	w, err := e.st.Work(context.Background(), mustUUID(id))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range w.Events {
		out = append(out, ev.Type)
	}
	return out
}

// TestWorkflowLostLockForced: a lock of ours whose id was lost is forced open after
// FORCE_UNLOCK_AFTER when signingd has documenten.geforceerd-unlock; the upload then completes.
func TestWorkflowLostLockForced(t *testing.T) {
	t.Parallel()
	o := envOptions{jobs: func(c *jobsConfig) { c.ForceUnlockAfter = time.Second }}
	forcedUnlockAuth(&o, append(slices.Clone(sim.DefaultScopes), "documenten.geforceerd-unlock")...)
	e := newEnv(t, o)
	sc := e.scenario(1, 1)
	id := e.start(sc)
	e.signingID(id)
	e.loseLock(id, sc.docs[0])
	start := time.Now()
	e.vendorCall(id, 0, "sign", nil)
	tx := e.wait(id, 30*time.Second)
	if tx.State != signing.StateCompleted || tx.Documents[0].VersieUploaded == nil || *tx.Documents[0].VersieUploaded != 2 {
		t.Fatalf("state %s reden %q, document %+v", tx.State, tx.Reden, tx.Documents[0])
	}
	if time.Since(start) < time.Second {
		t.Errorf("forced open after %s, before FORCE_UNLOCK_AFTER", time.Since(start))
	}
	if !slices.Contains(e.eventTypes(id), "lock_forced") {
		t.Errorf("no lock_forced event: %v", e.eventTypes(id))
	}
	if msgs := e.waitMessages(id, 1); len(msgs) != 1 || msgs[0].Actie != signing.ActieVoltooid {
		t.Fatalf("notifications %+v", msgs)
	}
	if len(e.zgw.Locks()) != 0 {
		t.Errorf("locks left: %v", e.zgw.Locks())
	}
}

// TestWorkflowLostLockCancel: a transaction cancelled while a lock request of ours has no known
// answer leaves no lock behind: the abort forces the document open.
func TestWorkflowLostLockCancel(t *testing.T) {
	t.Parallel()
	o := envOptions{}
	forcedUnlockAuth(&o, append(slices.Clone(sim.DefaultScopes), "documenten.geforceerd-unlock")...)
	e := newEnv(t, o)
	sc := e.scenario(1, 1)
	id := e.start(sc)
	e.signingID(id)
	e.loseLock(id, sc.docs[0])
	e.cancel(id, "niet meer nodig")
	e.aborted(id, "Ingetrokken: niet meer nodig") // checks one notification and no lock left
}

// TestWorkflowLostLockNoScope: without documenten.geforceerd-unlock a lost lock cannot be
// released; after FORCE_UNLOCK_AFTER the transaction aborts with a Dutch technical reden instead of
// waiting forever.
func TestWorkflowLostLockNoScope(t *testing.T) {
	t.Parallel()
	o := envOptions{jobs: func(c *jobsConfig) { c.ForceUnlockAfter = time.Second }}
	forcedUnlockAuth(&o, sim.DefaultScopes...)
	e := newEnv(t, o)
	sc := e.scenario(1, 1)
	id := e.start(sc)
	e.signingID(id)
	e.loseLock(id, sc.docs[0])
	e.vendorCall(id, 0, "sign", nil)
	tx := e.wait(id, 30*time.Second)
	if tx.State != signing.StateAborted || !strings.HasPrefix(tx.Reden, signing.RedenTechnical(signing.StepUpload, `"Besluit 1"`)) ||
		!strings.Contains(tx.Reden, "documenten.geforceerd-unlock") {
		t.Fatalf("state %s reden %q", tx.State, tx.Reden)
	}
	msgs := e.waitMessages(id, 1)
	if len(msgs) != 1 || msgs[0].Actie != signing.ActieAfgebroken || msgs[0].Kenmerken["reden"] != tx.Reden {
		t.Fatalf("notifications %+v", msgs)
	}
	if v, _ := e.zgw.Versions(sc.docs[0]); len(v) != 1 {
		t.Errorf("document has %d versions, want the original only", len(v))
	}
}

// TestWorkflowLockWaitMax: a document that someone else keeps locked longer than LOCK_WAIT_MAX
// aborts the transaction with reden "Document is vergrendeld door een ander"; their lock is not
// touched.
func TestWorkflowLockWaitMax(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{jobs: func(c *jobsConfig) { c.LockWaitMax = time.Second }})
	sc := e.scenario(1, 1)
	id := e.start(sc)
	e.signingID(id) // locked once the signing is under way: the upload meets the lock
	lock, err := e.zgw.LockDocument(sc.docs[0])
	if err != nil {
		t.Fatal(err)
	}
	e.vendorCall(id, 0, "sign", nil)
	tx := e.wait(id, 30*time.Second)
	if tx.State != signing.StateAborted || tx.Reden != `Document is vergrendeld door een ander: "Besluit 1"` {
		t.Fatalf("state %s reden %q", tx.State, tx.Reden)
	}
	if msgs := e.waitMessages(id, 1); len(msgs) != 1 || msgs[0].Actie != signing.ActieAfgebroken || msgs[0].Kenmerken["reden"] != tx.Reden {
		t.Fatalf("notifications %+v", msgs)
	}
	if l := e.zgw.Locks(); len(l) != 1 || l[0].Lock != lock {
		t.Errorf("locks %v, want only the other user's %s", l, lock)
	}
}

// TestWorkflowEvidenceAfterCrash: a run that created the evidence document but crashed before
// recording its URL leaves the evidence intent; the retry finds that document by its identificatie
// and links it instead of creating a second one.
func TestWorkflowEvidenceAfterCrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	sc := e.scenario(1, 1)
	id := e.start(sc)
	e.signingID(id)
	ident := "sd-" + strings.ReplaceAll(id, "-", "")
	orphan, err := e.zgw.SeedDocument(pdf("Bewijs"), sim.DocumentSeed{Titel: "Bewijs van ondertekening", Identificatie: ident,
		Bronorganisatie: e.rsin, Informatieobjecttype: e.iot, Status: "definitief", Formaat: "application/pdf"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Pool().Exec(context.Background(), `UPDATE transactions SET evidence_requested_at = now() WHERE id = $1`, mustUUID(id)); err != nil {
		t.Fatal(err)
	}
	e.vendorCall(id, 0, "sign", nil)
	tx := e.wait(id, 30*time.Second)
	if tx.State != signing.StateCompleted {
		t.Fatalf("state %s reden %q", tx.State, tx.Reden)
	}
	if related := e.zgw.ZaakDocuments(sc.zaak); len(related) != 2 || !slices.Contains(related, orphan) {
		t.Fatalf("zaak documents %v, want %s and the evidence %s", related, sc.docs[0], orphan)
	}
	if n := createdEIOs(e.zgw); n != 0 {
		t.Errorf("%d evidence documents created, want the existing one reused", n)
	}
}

// TestWorkflowEvidenceIdentificatie: the evidence document carries the transaction in its
// identificatie, by which a retry finds it.
func TestWorkflowEvidenceIdentificatie(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{autoSign: true})
	sc := e.scenario(1, 1)
	id := e.start(sc)
	if tx := e.wait(id, 30*time.Second); tx.State != signing.StateCompleted {
		t.Fatalf("state %s reden %q", tx.State, tx.Reden)
	}
	for _, u := range e.zgw.ZaakDocuments(sc.zaak) {
		if u == sc.docs[0] {
			continue
		}
		v, err := e.zgw.Versions(u)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := v[0].Metadata["identificatie"], "sd-"+strings.ReplaceAll(id, "-", ""); got != want {
			t.Errorf("evidence identificatie %v, want %s", got, want)
		}
	}
}

// createdEIOs counts the documents created through the DRC API: the evidence documents.
func createdEIOs(zs *sim.Server) int {
	n := 0
	for _, r := range zs.RequestsTo("POST", "/enkelvoudiginformatieobjecten") {
		if strings.HasSuffix(r.Path, "/enkelvoudiginformatieobjecten") && r.Status == 201 {
			n++
		}
	}
	return n
}
