package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

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
