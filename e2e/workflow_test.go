package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
)

// TestWorkflowHappyPath: 2 documents, 3 signers (volgorde 1, 2, 2) → 2 new versions with the right
// metadata, the evidence linked to the zaak, exactly one OndertekenenVoltooid at the subscriber.
func TestWorkflowHappyPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	sc := e.scenario(2, 1, 2, 2)
	id := e.start(sc)

	// Signer 2 may not sign before signer 1.
	if got := e.vendorCall(id, 1, "sign", nil); got != http.StatusConflict {
		t.Fatalf("signer of volgorde 2 signed early: %d", got)
	}
	for _, s := range []int{0, 1, 2} {
		if got := e.vendorCall(id, s, "sign", nil); got != http.StatusOK {
			t.Fatalf("sign %d: %d", s, got)
		}
	}
	tx := e.wait(id, 30*time.Second)
	if tx.State != signing.StateCompleted {
		t.Fatalf("state %s, reden %q", tx.State, tx.Reden)
	}
	for i, d := range tx.Documents {
		if d.Status != signing.DocumentUploaded || d.VersieUploaded == nil || *d.VersieUploaded != 2 {
			t.Fatalf("document %d: %+v", i, d)
		}
		versions, err := e.zgw.Versions(sc.docs[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(versions) != 2 {
			t.Fatalf("document %d has %d versions", i, len(versions))
		}
		v := versions[1]
		m := v.Metadata
		if v.SHA256 != d.SignedSHA256 || d.SignedSHA256 == d.OriginalSHA256 {
			t.Errorf("document %d content hash %s, signed %s, original %s", i, v.SHA256, d.SignedSHA256, d.OriginalSHA256)
		}
		if m["bestandsnaam"] != strings.TrimSuffix(d.Bestandsnaam, ".docx")+".pdf" || m["formaat"] != "application/pdf" || m["status"] != "definitief" {
			t.Errorf("document %d metadata: %v %v %v", i, m["bestandsnaam"], m["formaat"], m["status"])
		}
		if o, _ := m["ondertekening"].(map[string]any); o["soort"] != "digitaal" || o["datum"] == "" {
			t.Errorf("document %d ondertekening %v", i, m["ondertekening"])
		}
		if in, _ := m["integriteit"].(map[string]any); in["algoritme"] != "sha_256" || in["waarde"] != d.SignedSHA256 {
			t.Errorf("document %d integriteit %v", i, m["integriteit"])
		}
		if fmt.Sprint(m["bestandsomvang"]) != fmt.Sprint(v.Size) {
			t.Errorf("document %d bestandsomvang %v, size %d", i, m["bestandsomvang"], v.Size)
		}
		content, _ := e.zgw.Content(sc.docs[i], 2)
		if total, valid := testkit.ValidSignatures(testkit.PDFSigBytes(t, content, e.vendor.Root())); total != len(tx.Signers) || valid != total {
			t.Errorf("document %d has %d signatures, %d valid; want one valid signature per signer (%d)", i, total, valid, len(tx.Signers))
		}
	}
	for _, s := range tx.Signers {
		if s.Status != signing.SignerSigned || s.SignedAt == nil {
			t.Errorf("signer %+v", s)
		}
	}
	// Evidence: a third document related to the zaak, of the evidence type.
	related := e.zgw.ZaakDocuments(sc.zaak)
	if len(related) != 3 {
		t.Fatalf("zaak has %d documents, want 2 + evidence", len(related))
	}
	var evidence string
	for _, u := range related {
		if u != sc.docs[0] && u != sc.docs[1] {
			evidence = u
		}
	}
	ev, _ := e.zgw.Versions(evidence)
	m := ev[0].Metadata
	if m["informatieobjecttype"] != e.iot || m["taal"] != "dut" || m["status"] != "definitief" || m["indicatieGebruiksrecht"] != false || m["formaat"] != "application/pdf" {
		t.Errorf("evidence metadata %v", m)
	}
	msgs := e.waitMessages(id, 1)
	if len(msgs) != 1 || msgs[0].Actie != signing.ActieVoltooid || msgs[0].HoofdObject != sc.zaak || msgs[0].ResourceURL != sc.zaak || msgs[0].Resource != "zaak" {
		t.Fatalf("notifications %+v", msgs)
	}
	if len(e.zgw.Locks()) != 0 {
		t.Errorf("locks left: %v", e.zgw.Locks())
	}
	// The status API shows it all.
	status, body := e.do(http.MethodGet, "/api/v1/transactions/"+id, nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"completed"`) {
		t.Errorf("status API %d %s", status, body)
	}
}
