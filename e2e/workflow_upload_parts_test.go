package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/zgw/sim"
)

// TestWorkflowUploadPartFault: the DRC fails the second part of a signed document's new version. The
// retry finishes that version's upload with the stored lock (sending only the parts the DRC lacks)
// instead of trying to unlock incomplete parts; the document ends unlocked, its new version holding
// the signed PDF.
func TestWorkflowUploadPartFault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{autoSign: true, sim: sim.Options{PartSize: 512}, jobs: func(c *jobsConfig) { c.PartThreshold = 1 << 10 }})
	e.zgw.AddFault(sim.Fault{Kind: sim.FaultError, Status: 503, Method: http.MethodPut, PathPrefix: sim.DRCPath + "/bestandsdelen/",
		Skip: 1, Times: 1})
	sc := e.scenario(1, 1)
	id := e.start(sc)
	tx := e.wait(id, 60*time.Second)
	if tx.State != signing.StateCompleted {
		t.Fatalf("state %s reden %q, events %v", tx.State, tx.Reden, e.eventTypes(id))
	}
	vs, err := e.zgw.Versions(sc.docs[0])
	if err != nil {
		t.Fatal(err)
	}
	d := tx.Documents[0]
	if len(vs) != 2 || !vs[1].HasContent || vs[1].SHA256 != d.SignedSHA256 || d.VersieUploaded == nil || *d.VersieUploaded != 2 {
		t.Errorf("versions %+v, want version 2 with the signed content %s (document %+v)", vs, d.SignedSHA256, d)
	}
	if l := e.zgw.Locks(); len(l) != 0 {
		t.Errorf("locks left: %v", l)
	}
	if e.zgw.FaultsFired() != 1 {
		t.Errorf("%d faults fired", e.zgw.FaultsFired())
	}
}

// TestWorkflowUploadPartsCancelled: cancelled while the parts of a signed document's new version keep
// failing, the abort completes that version with the stored lock (the DRC refuses to unlock incomplete
// parts) instead of leaving the document locked.
func TestWorkflowUploadPartsCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{autoSign: true, sim: sim.Options{PartSize: 512}, jobs: func(c *jobsConfig) { c.PartThreshold = 1 << 10 }})
	e.zgw.AddFault(sim.Fault{Kind: sim.FaultError, Status: 503, Method: http.MethodPut, PathPrefix: sim.DRCPath + "/bestandsdelen/"})
	sc := e.scenario(1, 1)
	id := e.start(sc)
	e.waitFault("the upload in parts")
	e.cancel(id, "toch niet")
	e.zgw.ClearFaults()
	tx := e.aborted(id, "Ingetrokken: toch niet") // one notification, no lock left
	vs, err := e.zgw.Versions(sc.docs[0])
	if err != nil {
		t.Fatal(err)
	}
	if d := tx.Documents[0]; len(vs) != 2 || !vs[1].HasContent || vs[1].SHA256 != d.SignedSHA256 {
		t.Errorf("versions %+v, want version 2 completed with the signed content %s", vs, d.SignedSHA256)
	}
}
