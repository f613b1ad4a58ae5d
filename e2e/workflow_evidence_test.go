package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/zgw/sim"
)

// The evidence document goes as bestandsdelen when it is large; these tests break that upload at each
// point and check that the transaction still ends with exactly one complete, unlocked evidence
// document linked to the zaak, or aborts with a reden that says why, never linking an incomplete one.

// evidenceProvider is the simulated vendor with a large evidence document of its own (vendors
// keep an audit trail), which the evidence report embeds: so a test knows bytes the evidence
// document must hold, and makes it large enough to go in parts.
type evidenceProvider struct {
	signing.Provider
	pdf []byte
}

func (p evidenceProvider) Evidence(context.Context, string) (signing.Evidence, error) {
	return signing.Evidence{Files: []signing.EvidenceFile{{Name: "audit.pdf", MediaType: "application/pdf", Content: p.pdf}}}, nil
}

// withEvidence makes the provider hand over n bytes of evidence (pseudo-random, so that parts put in
// the wrong place show, and compression leaves the report as large).
func withEvidence(c *jobsConfig, n int) []byte {
	b := []byte("%PDF-1.7\n%")
	x := uint32(2463534242)
	for len(b) < n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b = append(b, byte(x))
	}
	c.Providers[simulated.Name] = evidenceProvider{Provider: c.Providers[simulated.Name], pdf: b}
	return b
}

func isEmptyList(v any) bool {
	l, ok := v.([]map[string]any)
	return ok && len(l) == 0
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkEvidence asserts the outcome every evidence test wants: the transaction completed and
// notified once, and the zaak has its document and exactly one evidence document, linked once,
// unlocked, with one version holding content; that content is what signingd stored as the evidence
// content and, when attached is set, has it as its first embedded file. It returns the evidence
// content's SHA-256.
func (e *env) checkEvidence(id string, sc scenario, attached []byte) string {
	e.t.Helper()
	tx := e.wait(id, 60*time.Second)
	if tx.State != signing.StateCompleted {
		e.t.Fatalf("state %s reden %q, events %v", tx.State, tx.Reden, e.eventTypes(id))
	}
	var evidence []string
	for _, u := range e.zgw.ZaakDocuments(sc.zaak) {
		if u != sc.docs[0] {
			evidence = append(evidence, u)
		}
	}
	if len(evidence) != 1 {
		e.t.Fatalf("zaak documents %v, want %s and one evidence document, linked once", e.zgw.ZaakDocuments(sc.zaak), sc.docs[0])
	}
	vs, err := e.zgw.Versions(evidence[0])
	if err != nil {
		e.t.Fatal(err)
	}
	if m := vs[len(vs)-1].Metadata; m["locked"] != false || !isEmptyList(m["bestandsdelen"]) {
		e.t.Errorf("evidence linked with locked %v, bestandsdelen %v", m["locked"], m["bestandsdelen"])
	}
	if len(vs) != 1 || !vs[0].HasContent {
		e.t.Fatalf("evidence versions %+v, want one with content", vs)
	}
	got := vs[0].SHA256
	stored, err := e.st.EvidenceContent(context.Background(), mustUUID(id))
	if err != nil || stored == nil || stored.SHA256 != got {
		e.t.Errorf("evidence content %s, stored %+v (%v)", got, stored, err)
	}
	if attached != nil {
		content, err := e.zgw.Content(evidence[0], 1)
		if err != nil {
			e.t.Fatal(err)
		}
		if got := embeddedFile(e.t, content, 1); sha256Hex(got) != sha256Hex(attached) {
			e.t.Errorf("the evidence report embeds %d other bytes, want the provider's %d", len(got), len(attached))
		}
	}
	if in, _ := vs[0].Metadata["integriteit"].(map[string]any); in["algoritme"] != "sha_256" || in["waarde"] != got {
		e.t.Errorf("evidence integriteit %v", vs[0].Metadata["integriteit"])
	}
	w, err := e.st.Work(context.Background(), mustUUID(id))
	if err != nil {
		e.t.Fatal(err)
	}
	if w.EvidenceURL != evidence[0] || w.EvidenceUploadURL != "" || w.EvidenceUploadLock != "" {
		e.t.Errorf("recorded evidence %s, upload %s %s", w.EvidenceURL, w.EvidenceUploadURL, w.EvidenceUploadLock)
	}
	if l := e.zgw.Locks(); len(l) != 0 {
		e.t.Errorf("locks left: %v", l)
	}
	if msgs := e.waitMessages(id, 1); len(msgs) != 1 || msgs[0].Actie != signing.ActieVoltooid {
		e.t.Errorf("notifications %+v", msgs)
	}
	return got
}

// TestWorkflowEvidencePartFault: the DRC fails the second of the evidence document's five parts. The
// retry resumes the upload with the lock recorded when the DRC created the document: it sends only the
// parts the DRC lacks and unlocks. One evidence document, complete, linked once.
func TestWorkflowEvidencePartFault(t *testing.T) {
	t.Parallel()
	var evidence []byte
	e := newEnv(t, envOptions{autoSign: true, sim: sim.Options{PartSize: 32 << 10}, jobs: func(c *jobsConfig) {
		c.PartThreshold = 64 << 10 // the signed document (some 30 KiB) goes inline, the evidence (160 KiB) in parts
		evidence = withEvidence(c, 160<<10)
	}})
	e.zgw.AddFault(sim.Fault{Kind: sim.FaultError, Status: 503, Method: http.MethodPut, PathPrefix: sim.DRCPath + "/bestandsdelen/",
		Skip: 1, Times: 1})
	sc := e.scenario(1, 1)
	id := e.start(sc)
	e.checkEvidence(id, sc, evidence)
	if n := createdEIOs(e.zgw); n != 1 {
		t.Errorf("%d evidence documents created, want 1", n)
	}
	// part 1, part 2 refused, then parts 2 to n: part 1 is not sent again
	stored, err := e.st.EvidenceContent(context.Background(), mustUUID(id))
	if err != nil {
		t.Fatal(err)
	}
	parts := int((stored.Size + 32<<10 - 1) / (32 << 10))
	want := []int{200, 503}
	for range parts - 1 {
		want = append(want, 200)
	}
	var statuses []int
	for _, r := range e.zgw.RequestsTo(http.MethodPut, "/bestandsdelen/") {
		statuses = append(statuses, r.Status)
	}
	if parts < 3 || !slices.Equal(statuses, want) {
		t.Errorf("part uploads %v, want 200 503 and the %d parts left", statuses, parts-1)
	}
}

// TestWorkflowEvidenceCreateAnswerLost: the DRC creates the evidence document (locked, parts
// announced) but the answer never arrives, as if signingd died right after the create: no lock was
// recorded. The retry finds the document by its identificatie, reads the lock shown with its parts,
// and finishes the upload; no second document is created. Here everything goes in parts, the signed
// document too.
func TestWorkflowEvidenceCreateAnswerLost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{autoSign: true, sim: sim.Options{PartSize: 512}, jobs: func(c *jobsConfig) { c.PartThreshold = 1 << 10 }})
	e.zgw.AddFault(sim.Fault{Kind: sim.FaultDropAfter, Method: http.MethodPost, Path: sim.DRCPath + "/enkelvoudiginformatieobjecten", Times: 1})
	sc := e.scenario(1, 1)
	id := e.start(sc)
	e.checkEvidence(id, sc, nil)
	if stored, _ := e.st.EvidenceContent(context.Background(), mustUUID(id)); stored.Size < 1<<10 {
		t.Errorf("evidence of %d bytes did not go in parts", stored.Size)
	}
	if e.zgw.FaultsFired() != 1 {
		t.Errorf("%d faults fired, want the lost create answer", e.zgw.FaultsFired())
	}
	if n := createdEIOs(e.zgw); n != 1 {
		t.Errorf("%d evidence documents created, want the one whose answer was lost", n)
	}
}

// TestWorkflowEvidenceLockLost: an earlier run's evidence document is locked, and its parts are not
// for the content signingd sends now (say the earlier run's report was longer), so the lock cannot
// be used: a lock of ours, lost. With documenten.geforceerd-unlock it is forced open after
// FORCE_UNLOCK_AFTER, deleted and created again; without, the transaction aborts with a reden naming
// the scope, and nothing is linked.
func TestWorkflowEvidenceLockLost(t *testing.T) {
	t.Parallel()
	for _, forced := range []bool{true, false} {
		name := map[bool]string{true: "forced", false: "no scope"}[forced]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := envOptions{sim: sim.Options{PartSize: 512}, jobs: func(c *jobsConfig) {
				c.PartThreshold = 1 << 10
				c.ForceUnlockAfter = time.Second
			}}
			scopes := slices.Clone(sim.DefaultScopes)
			if forced {
				scopes = append(scopes, "documenten.geforceerd-unlock")
			}
			forcedUnlockAuth(&o, scopes...)
			e := newEnv(t, o)
			sc := e.scenario(1, 1)
			id := e.start(sc)
			e.signingID(id)
			orphan, _, err := e.zgw.SeedPendingUpload(777, sim.DocumentSeed{Titel: "Bewijs van ondertekening",
				Identificatie: "sd-" + strings.ReplaceAll(id, "-", ""), Bronorganisatie: e.rsin,
				Informatieobjecttype: e.iot, Status: "definitief", Formaat: "application/pdf"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.Pool().Exec(context.Background(), `UPDATE transactions SET evidence_requested_at = now() WHERE id = $1`, mustUUID(id)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			e.vendorCall(id, 0, "sign", nil)
			if !forced {
				tx := e.wait(id, 30*time.Second)
				if tx.State != signing.StateAborted || !strings.HasPrefix(tx.Reden, signing.RedenTechnical(signing.StepEvidence, "")) ||
					!strings.Contains(tx.Reden, "documenten.geforceerd-unlock") {
					t.Fatalf("state %s reden %q", tx.State, tx.Reden)
				}
				if msgs := e.waitMessages(id, 1); len(msgs) != 1 || msgs[0].Actie != signing.ActieAfgebroken || msgs[0].Kenmerken["reden"] != tx.Reden {
					t.Fatalf("notifications %+v", msgs)
				}
				if related := e.zgw.ZaakDocuments(sc.zaak); !slices.Equal(related, sc.docs) {
					t.Errorf("zaak documents %v, want only %v", related, sc.docs)
				}
				if n := createdEIOs(e.zgw); n != 0 {
					t.Errorf("%d evidence documents created", n)
				}
				return
			}
			e.checkEvidence(id, sc, nil)
			if time.Since(start) < time.Second {
				t.Errorf("forced open after %s, before FORCE_UNLOCK_AFTER", time.Since(start))
			}
			if _, err := e.zgw.Versions(orphan); err == nil {
				t.Errorf("the incomplete document %s is still there", orphan)
			}
			if ev := e.eventTypes(id); !slices.Contains(ev, "lock_forced") || !slices.Contains(ev, "evidence_discarded") {
				t.Errorf("events %v, want lock_forced and evidence_discarded", ev)
			}
			if n := createdEIOs(e.zgw); n != 1 {
				t.Errorf("%d evidence documents created, want 1", n)
			}
		})
	}
}

// TestWorkflowEvidenceAbortCleans: cancelled as soon as the evidence document exists, while its parts
// keep failing, the transaction aborts; the abort finishes the upload with our lock (recorded, or shown
// with the parts) and deletes the document: nothing locked or incomplete stays in the DRC.
func TestWorkflowEvidenceAbortCleans(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{autoSign: true, sim: sim.Options{PartSize: 32 << 10}, jobs: func(c *jobsConfig) {
		c.PartThreshold = 64 << 10
		withEvidence(c, 160<<10)
	}})
	e.zgw.AddFault(sim.Fault{Kind: sim.FaultError, Status: 503, Method: http.MethodPut, PathPrefix: sim.DRCPath + "/bestandsdelen/"})
	sc := e.scenario(1, 1)
	id := e.start(sc)
	for deadline := time.Now().Add(30 * time.Second); createdEIOs(e.zgw) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the evidence document was never created")
		}
	}
	ident := "sd-" + strings.ReplaceAll(id, "-", "")
	e.cancel(id, "toch niet")
	e.zgw.ClearFaults()
	e.aborted(id, "Ingetrokken: toch niet") // one notification, no lock left
	res, err := http.Get(e.zgw.DRC() + "/enkelvoudiginformatieobjecten?identificatie=" + ident)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct {
		Count int `json:"count"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil || list.Count != 0 {
		t.Errorf("the evidence document of the aborted transaction is still there: %d (%v)", list.Count, err)
	}
	if related := e.zgw.ZaakDocuments(sc.zaak); !slices.Equal(related, sc.docs) {
		t.Errorf("zaak documents %v, want only %v", related, sc.docs)
	}
	if ev := e.eventTypes(id); !slices.Contains(ev, "evidence_discarded") {
		t.Errorf("events %v, want evidence_discarded", ev)
	}
}

// TestEvidenceReportSealedAndWhole: the evidence report the workflow writes for a vendor is
// certified with the service's certificate, holds every letter of a signer's name and a long line
// whole (wrapped, not cut at the page edge), in Dutch, the hash of the document as uploaded, the
// vendor's events, and the vendor's own audit trail embedded.
func TestEvidenceReportSealedAndWhole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{autoSign: true})
	sc := e.scenario(1, 1)
	naam := strings.TrimSpace(strings.Repeat("Omgevingsvergunning voor het bouwen van een woning ", 3)) + " aan de Dorpsstraat 1"
	sc.trigger["naam"] = naam
	s := sc.trigger["ondertekenaars"].([]map[string]any)[0]
	s["voornaam"], s["achternaam"] = "Zoë", "Çelik-Łukasiewicz"
	id := e.start(sc)
	if tx := e.wait(id, 30*time.Second); tx.State != signing.StateCompleted {
		t.Fatalf("state %s reden %q", tx.State, tx.Reden)
	}
	w, err := e.st.Work(context.Background(), mustUUID(id))
	if err != nil {
		t.Fatal(err)
	}
	report, err := e.zgw.Content(w.EvidenceURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := e.zgw.Content(sc.docs[0], *w.Documents[0].VersieUploaded)
	if err != nil {
		t.Fatal(err)
	}
	if total, valid := testkit.ValidSignatures(testkit.PDFSigBytes(t, report, devCA)); total != 1 || valid != 1 {
		t.Errorf("evidence report: %d signatures, %d valid and trusted; want 1 and 1", total, valid)
	}
	text := strings.Join(strings.Fields(testkit.PDFToText(t, report)), " ")
	for _, want := range []string{"Zoë Çelik-Łukasiewicz", "Naam: " + naam, "ondertekenaar 1 (Zoë Çelik-Łukasiewicz) ondertekend",
		"aanbieder: ondertekend — ondertekenaar 1", "Bijlagen", "audit-trail.pdf — Audittrail van de gesimuleerde aanbieder",
		"SHA-256 ondertekend: " + sha256Hex(signed)} {
		if !strings.Contains(text, want) {
			t.Errorf("evidence report lacks %q:\n%s", want, text)
		}
	}
	if trail := embeddedFile(t, report, 1); !strings.Contains(testkit.PDFToText(t, trail), "Audit trail") {
		t.Error("the vendor's audit trail is not embedded in the evidence report")
	}
	for _, english := range []string{"awaiting_signatures", "collecting", "state_changed", "signer_signed"} {
		if strings.Contains(text, english) {
			t.Errorf("evidence report says %q", english)
		}
	}
}

// embeddedFile extracts the n-th file embedded in a PDF, with poppler's pdfdetach.
func embeddedFile(t testing.TB, pdf []byte, n int) []byte {
	t.Helper()
	testkit.NeedTool(t, "pdfdetach")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("pdfdetach", "-save", strconv.Itoa(n), "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("pdfdetach: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
