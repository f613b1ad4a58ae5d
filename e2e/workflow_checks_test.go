package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/zgw/sim"
)

// otherRSIN is a municipality that shares the ZGW APIs with the test's organisation, as a hosting
// party's one Open Zaak serves several.
const otherRSIN = "813264571"

// TestChecksBeforeSigning: a trigger that can never end well is aborted in the fetch step, before
// the provider is called: no signing at the vendor, no new version in the DRC, one
// OndertekenenAfgebroken whose reden names what is wrong, and the check in the status API.
func TestChecksBeforeSigning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  func(*envOptions)
		setup func(e *env, sc *scenario) // changes the ZGW data after the scenario was seeded
		zaak  *sim.ZaakSeed              // seeds the zaak differently
		check string
		reden string
	}{
		{name: "document of another organisation", check: "eigenaar", reden: "is niet van deze organisatie (bronorganisatie 813264571)",
			setup: func(e *env, sc *scenario) {
				// The review's case: org B names org A's document, on the APIs they share.
				doc, err := e.zgw.SeedDocument(pdf("Geheim besluit"), sim.DocumentSeed{Titel: "Geheim besluit", Bestandsnaam: "geheim.pdf",
					Status: "in_bewerking", Formaat: "application/pdf", Zaak: sc.zaak, Bronorganisatie: otherRSIN, Vertrouwelijkheidaanduiding: "geheim"})
				if err != nil {
					e.t.Fatal(err)
				}
				sc.docs[0] = doc
				d := sc.trigger["documenten"].([]map[string]any)[0]
				d["url"], d["uuid"], d["titel"] = doc, lastSegment(doc), "Geheim besluit"
			}},
		{name: "zaak of another organisation", check: "eigenaar", reden: "is niet van deze organisatie (bronorganisatie 813264571)",
			zaak: &sim.ZaakSeed{Bronorganisatie: otherRSIN}},
		{name: "closed zaak", check: "zaak", reden: "is afgesloten (einddatum 2026-01-31)",
			zaak: &sim.ZaakSeed{Einddatum: "2026-01-31"}},
		{name: "document not of the zaak", check: "zaakrelatie", reden: "hoort niet bij de zaak",
			setup: func(e *env, sc *scenario) {
				doc, err := e.zgw.SeedDocument(pdf("Los"), sim.DocumentSeed{Titel: "Los document", Bestandsnaam: "los.pdf",
					Status: "in_bewerking", Formaat: "application/pdf", Bronorganisatie: e.rsin})
				if err != nil {
					e.t.Fatal(err)
				}
				sc.docs[0] = doc
				d := sc.trigger["documenten"].([]map[string]any)[0]
				d["url"], d["uuid"], d["titel"] = doc, lastSegment(doc), "Los document"
			}},
		{name: "not the latest versie", check: "versie", reden: `"Besluit 1": versie 1 is niet de laatste versie (2)`,
			setup: func(e *env, sc *scenario) {
				if _, err := e.zgw.SeedVersion(sc.docs[0], pdf("Besluit 1, gewijzigd"), nil); err != nil {
					e.t.Fatal(err)
				}
			}},
		{name: "archived document", check: "status", reden: "is gearchiveerd",
			setup: func(e *env, sc *scenario) {
				doc, err := e.zgw.SeedDocument(pdf("Oud"), sim.DocumentSeed{Titel: "Oud besluit", Bestandsnaam: "oud.pdf",
					Status: "gearchiveerd", Formaat: "application/pdf", Zaak: sc.zaak, Bronorganisatie: e.rsin})
				if err != nil {
					e.t.Fatal(err)
				}
				sc.docs[0] = doc
				d := sc.trigger["documenten"].([]map[string]any)[0]
				d["url"], d["uuid"], d["titel"] = doc, lastSegment(doc), "Oud besluit"
			}},
		{name: "bytes altered on the way", check: "inhoud", reden: "de DRC noemt",
			setup: func(e *env, sc *scenario) {
				e.zgw.AddFault(sim.Fault{Kind: sim.FaultAlter, Method: http.MethodGet,
					Path: sim.DRCPath + "/enkelvoudiginformatieobjecten/" + lastSegment(sc.docs[0]) + "/download"})
			}},
		{name: "evidence type not of the zaaktype", check: "bewijstype", reden: "is niet toegestaan bij het zaaktype",
			zaak: &sim.ZaakSeed{}},
		{name: "not a PDF", check: "bestandstype", reden: "is geen PDF",
			setup: func(e *env, sc *scenario) {
				doc, err := e.zgw.SeedDocument([]byte("platte tekst"), sim.DocumentSeed{Titel: "Notitie", Bestandsnaam: "notitie.txt",
					Status: "in_bewerking", Formaat: "text/plain", Zaak: sc.zaak, Bronorganisatie: e.rsin})
				if err != nil {
					e.t.Fatal(err)
				}
				sc.docs[0] = doc
				d := sc.trigger["documenten"].([]map[string]any)[0]
				d["url"], d["uuid"], d["titel"], d["bestandsnaam"] = doc, lastSegment(doc), "Notitie", "notitie.txt"
			}},
		{name: "PDF that needs a password", check: "beveiligd", reden: `Document "Besloten besluit" is beveiligd: het opent alleen met een wachtwoord`,
			setup: func(e *env, sc *scenario) {
				doc, err := e.zgw.SeedDocument(encryptPDF(e.t, pdf("Besloten besluit"), "geheim"), sim.DocumentSeed{Titel: "Besloten besluit",
					Bestandsnaam: "besloten.pdf", Status: "in_bewerking", Formaat: "application/pdf", Zaak: sc.zaak, Bronorganisatie: e.rsin})
				if err != nil {
					e.t.Fatal(err)
				}
				sc.docs[0] = doc
				d := sc.trigger["documenten"].([]map[string]any)[0]
				d["url"], d["uuid"], d["titel"], d["bestandsnaam"] = doc, lastSegment(doc), "Besloten besluit", "besloten.pdf"
			}},
		{name: "locked by someone else too long", check: "vergrendeld", reden: "Document is vergrendeld door een ander",
			opts: func(o *envOptions) {
				o.jobs = func(c *jobsConfig) { c.LockRetry, c.LockWaitMax = 50*time.Millisecond, 300*time.Millisecond }
			},
			setup: func(e *env, sc *scenario) {
				if _, err := e.zgw.LockDocument(sc.docs[0]); err != nil {
					e.t.Fatal(err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var o envOptions
			if tt.opts != nil {
				tt.opts(&o)
			}
			e := newEnv(t, o)
			var sc scenario
			if tt.zaak != nil {
				sc = e.scenarioOn(*tt.zaak, 1, 1)
			} else {
				sc = e.scenario(1, 1)
			}
			if tt.setup != nil {
				tt.setup(e, &sc)
			}
			versions := map[string]int{}
			for _, d := range sc.docs {
				v, err := e.zgw.Versions(d)
				if err != nil {
					t.Fatal(err)
				}
				versions[d] = len(v)
			}
			id := e.start(sc)
			tx := e.wait(id, 30*time.Second)
			if tx.State != signing.StateAborted || !strings.Contains(tx.Reden, tt.reden) {
				t.Fatalf("state %s, reden %q; want aborted with %q", tx.State, tx.Reden, tt.reden)
			}
			if _, ok := e.vendor.SigningByExternalID(id); ok {
				t.Error("the vendor was asked to sign")
			}
			for d, n := range versions {
				if v, _ := e.zgw.Versions(d); len(v) != n {
					t.Errorf("document %s has %d versions, had %d", d, len(v), n)
				}
			}
			if l := e.zgw.Locks(); tt.check != "vergrendeld" && len(l) != 0 {
				t.Errorf("locks left: %v", l)
			}
			found := false
			for _, ev := range tx.Events {
				found = found || ev.Type == signing.EventAborting && ev.Detail["check"] == tt.check
			}
			if !found {
				t.Errorf("no aborting event with check %q: %+v", tt.check, tx.Events)
			}
			e.settle(id)
			if msgs := e.waitMessages(id, 1); len(msgs) != 1 || msgs[0].Actie != signing.ActieAfgebroken {
				t.Errorf("notifications %+v, want one Afgebroken", msgs)
			}
		})
	}
}

// encryptPDF encrypts a PDF with qpdf (AES-256) with the user password given, as a municipality's
// protected PDF is; extra are qpdf's restrictions, e.g. --modify=none.
func encryptPDF(t testing.TB, data []byte, user string, extra ...string) []byte {
	t.Helper()
	testkit.NeedTool(t, "qpdf")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{"--encrypt", user, "eigenaar", "256"}, extra...), "--", in, out)
	if b, err := exec.Command("qpdf", args...).CombinedOutput(); err != nil {
		t.Fatalf("qpdf %v: %v\n%s", args, err, b)
	}
	enc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// TestWorkflowProtectedPDF: a PDF encrypted with an empty user password and permissions that
// forbid changes and printing (a "protected" PDF) passes the checks, is signed, and its signed
// version keeps the encryption and the permissions.
func TestWorkflowProtectedPDF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	sc := e.scenario(1, 1)
	doc, err := e.zgw.SeedDocument(encryptPDF(t, pdf("Beschermd besluit"), "", "--modify=none", "--print=none"), sim.DocumentSeed{Titel: "Beschermd besluit",
		Bestandsnaam: "beschermd.pdf", Status: "in_bewerking", Formaat: "application/pdf", Zaak: sc.zaak, Bronorganisatie: e.rsin})
	if err != nil {
		t.Fatal(err)
	}
	sc.docs[0] = doc
	d := sc.trigger["documenten"].([]map[string]any)[0]
	d["url"], d["uuid"], d["titel"], d["bestandsnaam"] = doc, lastSegment(doc), "Beschermd besluit", "beschermd.pdf"
	id := e.start(sc)
	if got := e.vendorCall(id, 0, "sign", nil); got != http.StatusOK {
		t.Fatalf("sign: %d", got)
	}
	tx := e.wait(id, 30*time.Second)
	if tx.State != signing.StateCompleted {
		t.Fatalf("state %s, reden %q", tx.State, tx.Reden)
	}
	content, err := e.zgw.Content(doc, 2)
	if err != nil {
		t.Fatal(err)
	}
	if total, valid := testkit.ValidSignatures(testkit.PDFSigBytes(t, content, e.vendor.Root())); total != 1 || valid != 1 {
		t.Errorf("%d signatures, %d valid; want 1", total, valid)
	}
	signed := filepath.Join(t.TempDir(), "signed.pdf")
	if err := os.WriteFile(signed, content, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("qpdf", "--show-encryption", signed).CombinedOutput()
	if err != nil {
		t.Fatalf("qpdf --show-encryption: %v\n%s", err, out)
	}
	for _, want := range []string{"R = 6", "modify anything: not allowed", "print high resolution: not allowed"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the signed version lost its protection: no %q in\n%s", want, out)
		}
	}
}
