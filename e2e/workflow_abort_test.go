package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/zgw/sim"
)

// aborted checks the common end of every abort path: state aborted with the reden, exactly one
// OndertekenenAfgebroken carrying it, the signing cancelled at the vendor, no lock left.
func (e *env) aborted(id, wantReden string) signing.Transaction {
	e.t.Helper()
	tx := e.wait(id, 30*time.Second)
	if tx.State != signing.StateAborted || !strings.HasPrefix(tx.Reden, wantReden) {
		e.t.Fatalf("state %s reden %q, want aborted with %q", tx.State, tx.Reden, wantReden)
	}
	msgs := e.waitMessages(id, 1)
	if len(msgs) != 1 || msgs[0].Actie != signing.ActieAfgebroken || msgs[0].Kenmerken["reden"] != tx.Reden {
		e.t.Fatalf("notifications %+v", msgs)
	}
	if sid, ok := e.vendor.SigningByExternalID(id); ok {
		if st := e.vendor.Status(sid); st == "pending" || st == "draft" {
			e.t.Errorf("signing still %s at the vendor", st)
		}
	}
	if len(e.zgw.Locks()) != 0 {
		e.t.Errorf("locks left: %v", e.zgw.Locks())
	}
	return tx
}

func TestWorkflowAbortDecline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	id := e.start(e.scenario(1, 1, 2))
	e.vendorCall(id, 0, "sign", nil)
	if got := e.vendorCall(id, 1, "decline", map[string]string{"reden": "bedrag klopt niet"}); got != http.StatusOK {
		t.Fatalf("decline: %d", got)
	}
	// The notification names the signer by position, not by e-mail address; the status API keeps the person.
	tx := e.aborted(id, "Geweigerd door ondertekenaar 2: bedrag klopt niet")
	if tx.Reden != "Geweigerd door ondertekenaar 2: bedrag klopt niet" || strings.Contains(tx.Reden, "@") {
		t.Errorf("reden %q", tx.Reden)
	}
	if tx.Signers[1].Status != signing.SignerDeclined || tx.Signers[1].DeclineReason != "bedrag klopt niet" || tx.Signers[1].Email == "" {
		t.Errorf("signer %+v", tx.Signers[1])
	}
}

func TestWorkflowAbortCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	id := e.start(e.scenario(2, 1))
	e.signingID(id)
	e.cancel(id, "verkeerd document")
	e.aborted(id, "Ingetrokken: verkeerd document")
	if status, _ := e.do(http.MethodPost, "/api/v1/transactions/"+id+"/cancel", nil); status != http.StatusConflict {
		t.Errorf("second cancel: %d", status)
	}
}

// TestWorkflowAbortCancelWhileCreating: a cancel that comes while the vendor is still creating the
// signing (its answer not yet in) withdraws that signing too, once the answer arrives; no signer
// is left invited to a transaction that was withdrawn.
func TestWorkflowAbortCancelWhileCreating(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e := newEnv(t, envOptions{vendorWrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			if strings.HasSuffix(r.URL.Path, "/start") {
				once.Do(func() { close(started) })
				<-release // the answer reaches signingd only now
			}
		})
	}})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	id := e.start(e.scenario(1, 1))
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the signing never started at the vendor")
	}
	if status, body := e.do(http.MethodPost, "/api/v1/transactions/"+id+"/cancel", nil); status >= 300 {
		t.Fatalf("cancel: %d %s", status, body)
	}
	if tx := e.wait(id, 30*time.Second); tx.State != signing.StateAborted {
		t.Fatalf("state %s, want aborted", tx.State)
	}
	close(release)
	sid, _ := e.vendor.SigningByExternalID(id)
	for deadline := time.Now().Add(30 * time.Second); e.vendor.Status(sid) != simulated.StatusCancelled; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("signing %s at the vendor is %s, want cancelled", sid, e.vendor.Status(sid))
		}
	}
}

func TestWorkflowAbortExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{expiry: 1500 * time.Millisecond})
	id := e.start(e.scenario(1, 1))
	e.aborted(id, signing.RedenExpired)
}

func TestWorkflowAbortPermanentFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	sc := e.scenario(2, 1)
	e.zgw.AddFault(sim.Fault{Kind: sim.FaultError, Status: 403, Method: http.MethodGet, PathPrefix: sim.DRCPath + "/enkelvoudiginformatieobjecten/" + lastSegment(sc.docs[1]) + "/download"})
	id := e.start(sc)
	e.aborted(id, `Technische fout bij het ophalen van document "Besluit 2"`)
}

func TestWorkflowAbortExhaustedRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{jobs: func(c *jobsConfig) { c.MaxAttempts = 3 }})
	sc := e.scenario(1, 1)
	e.zgw.AddFault(sim.Fault{Kind: sim.FaultError, Status: 503, Method: http.MethodGet, PathPrefix: sim.DRCPath + "/enkelvoudiginformatieobjecten/" + lastSegment(sc.docs[0])})
	id := e.start(sc)
	e.aborted(id, `Technische fout bij het ophalen van document "Besluit 1"`)
}

func TestWorkflowDrift(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	sc := e.scenario(2, 1)
	id := e.start(sc)
	e.signingID(id)
	if _, err := e.zgw.SeedVersion(sc.docs[1], pdf("Besluit 2, gewijzigd"), nil); err != nil {
		t.Fatal(err)
	}
	e.vendorCall(id, 0, "sign", nil)
	e.aborted(id, signing.RedenDrift)
	if v, _ := e.zgw.Versions(sc.docs[1]); len(v) != 2 {
		t.Errorf("changed document got %d versions, want 2 (no upload over the change)", len(v))
	}
}

func TestWorkflowDriftNextVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{jobs: func(c *jobsConfig) { c.Drift = signing.DriftNextVersion }})
	sc := e.scenario(1, 1)
	id := e.start(sc)
	e.signingID(id)
	if _, err := e.zgw.SeedVersion(sc.docs[0], pdf("Besluit 1, gewijzigd"), nil); err != nil {
		t.Fatal(err)
	}
	e.vendorCall(id, 0, "sign", nil)
	if tx := e.wait(id, 30*time.Second); tx.State != signing.StateCompleted || *tx.Documents[0].VersieUploaded != 3 {
		t.Fatalf("state %s, %+v", tx.State, tx.Documents[0])
	}
}

// TestWorkflowLockConflict: a document locked by someone else at upload time is retried and
// uploaded once the lock is released.
func TestWorkflowLockConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	sc := e.scenario(1, 1)
	id := e.start(sc)
	e.signingID(id) // locked once the signing is under way: the upload meets the lock
	lock, err := e.zgw.LockDocument(sc.docs[0])
	if err != nil {
		t.Fatal(err)
	}
	e.vendorCall(id, 0, "sign", nil)
	refused := func() bool {
		for _, r := range e.zgw.RequestsTo("POST", "/lock") {
			if r.Status >= 400 {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(30 * time.Second); !refused(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the upload never tried to lock the document")
		}
	}
	if w, _ := e.st.StateOf(t.Context(), mustUUID(id)); w != signing.StateUploading {
		t.Fatalf("state %s while the document is locked, want uploading", w)
	}
	b, _ := json.Marshal(map[string]string{"lock": lock})
	res, err := http.Post(sc.docs[0]+"/unlock", "application/json", bytes.NewReader(b))
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("unlock by the other user: %v %v", err, res)
	}
	res.Body.Close()
	tx := e.wait(id, 30*time.Second)
	if tx.State != signing.StateCompleted || *tx.Documents[0].VersieUploaded != 2 {
		t.Fatalf("state %s, %+v", tx.State, tx.Documents[0])
	}
	if len(e.zgw.Locks()) != 0 {
		t.Errorf("locks left: %v", e.zgw.Locks())
	}
}
