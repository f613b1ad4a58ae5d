package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/simulated"
)

// The conformance suite: the scenarios every vendor adapter must pass, written once. A vendor
// joins by a vendorKit (its simulator, its adapter, and acting as its signers); failing its API,
// damaging its output and losing, repeating or forging its callbacks is done around the kit, the
// same for every vendor. Each scenario ends in exactly one notification with the right reden.

// TestConformanceSimulated runs the suite against the simulated vendor.
func TestConformanceSimulated(t *testing.T) {
	t.Parallel()
	conformance(t, func() vendorKit { return &simulatedKit{srv: simulated.NewServer(simulated.ServerOptions{})} })
}

// conformanceSMS is the phone number of the happy path's SMS signer.
const conformanceSMS = "+31612345678"

func conformance(t *testing.T, newKit func() vendorKit) {
	start := func(t *testing.T, volgorde ...int) (*env, scenario, string, string) {
		e := newEnv(t, envOptions{kit: newKit()})
		sc := e.scenario(1, volgorde...)
		id := e.start(sc)
		return e, sc, id, e.providerRef(id)
	}

	t.Run("happy path: two documents, three signers in volgorde 1 2 2, one by SMS", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{kit: newKit()})
		sc := e.scenario(2, 1, 2, 2)
		second := map[string]any{"methode": e.kit.SMS()}
		if e.kit.SMS() == signing.AuthSMS {
			second["waarde"] = conformanceSMS
		}
		sc.trigger["ondertekenaars"].([]map[string]any)[1]["authenticatie"] = second
		id := e.start(sc)
		ref := e.providerRef(id)
		e.kit.Sign(t, ref, "signer1@example.nl")
		e.kit.Sign(t, ref, "signer2@example.nl")
		e.kit.Sign(t, ref, "signer3@example.nl")
		tx := e.ended(id, signing.StateCompleted, signing.ActieVoltooid, "")
		for i, d := range tx.Documents {
			content, err := e.zgw.Content(sc.docs[i], *d.VersieUploaded)
			if err != nil {
				t.Fatal(err)
			}
			want := e.kit.Signatures(3)
			if total, valid := testkit.ValidSignatures(testkit.PDFSigBytes(t, content, e.kit.Root())); total != want || valid != want {
				t.Errorf("document %d: %d signatures, %d valid and trusted; want %d", i, total, valid, want)
			}
		}
		for _, s := range tx.Signers {
			if s.Status != signing.SignerSigned {
				t.Errorf("signer %s is %s", s.Email, s.Status)
			}
		}
	})

	t.Run("a method the vendor lacks is a 400 at intake naming the field, one it has is taken", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{kit: newKit()})
		lacks := e.kit.Lacks()
		sc := e.scenario(1, 1, 2)
		if lacks == "" { // a vendor with every method takes both second factors
			sc.trigger["ondertekenaars"].([]map[string]any)[0]["authenticatie"] = map[string]any{"methode": signing.AuthSMS, "waarde": conformanceSMS}
			sc.trigger["ondertekenaars"].([]map[string]any)[1]["authenticatie"] = map[string]any{"methode": signing.AuthEmail}
			if status, body := e.do(http.MethodPost, "/api/v1/transactions", sc.trigger); status != http.StatusOK {
				t.Fatalf("trigger with sms and email: %d %s", status, body)
			}
			return
		}
		auth := map[string]any{"methode": lacks}
		if lacks == signing.AuthSMS {
			auth["waarde"] = conformanceSMS
		}
		sc.trigger["ondertekenaars"].([]map[string]any)[1]["authenticatie"] = auth
		status, body := e.do(http.MethodPost, "/api/v1/transactions", sc.trigger)
		if status != http.StatusBadRequest || !strings.Contains(string(body), `"ondertekenaars.1.authenticatie.methode"`) {
			t.Fatalf("trigger asking %s: %d %s; want 400 naming ondertekenaars.1.authenticatie.methode", lacks, status, body)
		}
		if n := e.transactions(); n != 0 {
			t.Errorf("%d transactions stored for a refused trigger", n)
		}
	})

	t.Run("decline with a reason", func(t *testing.T) {
		t.Parallel()
		e, _, id, ref := start(t, 1, 2)
		e.kit.Sign(t, ref, "signer1@example.nl")
		e.kit.Decline(t, ref, "signer2@example.nl", "Het bedrag klopt niet")
		e.ended(id, signing.StateAborted, signing.ActieAfgebroken, signing.RedenDeclined(2, "Het bedrag klopt niet"))
	})

	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		e, _, id, _ := start(t, 1)
		if status, body := e.do(http.MethodPost, "/api/v1/transactions/"+id+"/cancel", map[string]any{"reden": "Besluit ingetrokken"}); status/100 != 2 {
			t.Fatalf("cancel: %d %s", status, body)
		}
		e.ended(id, signing.StateAborted, signing.ActieAfgebroken, "Besluit ingetrokken")
	})

	t.Run("expiry at the vendor", func(t *testing.T) {
		t.Parallel()
		e, _, id, ref := start(t, 1)
		e.kit.Expire(t, ref)
		e.ended(id, signing.StateAborted, signing.ActieAfgebroken, signing.RedenExpired)
	})

	t.Run("callbacks lost: the poller completes it", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{kit: newKit()})
		e.hooks.loseAll()
		sc := e.scenario(1, 1)
		id := e.start(sc)
		e.kit.Sign(t, e.providerRef(id), "signer1@example.nl")
		e.ended(id, signing.StateCompleted, signing.ActieVoltooid, "")
		if seen, lost := e.hooks.count(); lost == 0 || lost != seen {
			t.Errorf("%d callbacks lost of %d; want every one lost", lost, seen)
		}
	})

	t.Run("a duplicate callback queues one reconciliation, a forged one is refused", func(t *testing.T) {
		t.Parallel()
		e, _, id, ref := start(t, 1, 2)
		e.kit.Sign(t, ref, "signer1@example.nl")
		first := e.waitCallback(t)
		delivery := e.hooks.delivery(first)
		e.waitChecks(t, delivery, 1)
		if got := e.hooks.replay(t, e.api.URL, first, false); got/100 != 2 {
			t.Errorf("a duplicate callback was answered %d, want 2xx", got)
		}
		if got := e.hooks.replay(t, e.api.URL, first, true); got != http.StatusUnauthorized {
			t.Errorf("a forged callback was answered %d, want 401", got)
		}
		if n := e.checksFor(delivery); n != 1 {
			t.Errorf("%d status checks for one callback delivered twice and forged once, want 1", n)
		}
		e.kit.Sign(t, ref, "signer2@example.nl")
		e.ended(id, signing.StateCompleted, signing.ActieVoltooid, "")
	})

	t.Run("vendor 5xx and 429 with Retry-After are retried", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{kit: newKit()})
		e.faults.fail(1, http.StatusInternalServerError, http.StatusBadGateway, http.StatusTooManyRequests)
		sc := e.scenario(1, 1)
		id := e.start(sc)
		e.kit.Sign(t, e.providerRef(id), "signer1@example.nl")
		e.ended(id, signing.StateCompleted, signing.ActieVoltooid, "")
		if n := e.faults.fired(); n != 3 {
			t.Errorf("%d vendor faults fired, want 3", n)
		}
	})

	t.Run("output that is not a valid signed PDF aborts with a reason", func(t *testing.T) {
		t.Parallel()
		e, _, id, ref := start(t, 1)
		e.faults.damageOutput()
		e.kit.Sign(t, ref, "signer1@example.nl")
		tx := e.ended(id, signing.StateAborted, signing.ActieAfgebroken, "")
		if !strings.Contains(tx.Reden, "de ondertekende versie van de leverancier") {
			t.Errorf("reden %q does not say the vendor's signed version is wrong", tx.Reden)
		}
	})
}

// providerRef waits until the transaction's signing exists at the provider and returns its
// reference there.
func (e *env) providerRef(id string) string {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		w, err := e.st.Work(context.Background(), mustUUID(id))
		if err != nil {
			e.t.Fatal(err)
		}
		if w.ProviderRef != "" && w.State == signing.StateAwaitingSignatures {
			return w.ProviderRef
		}
		if w.State.Terminal() {
			e.t.Fatalf("transaction ended before it reached the provider: %s %q", w.State, w.Reden)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("transaction %s never reached the provider", id)
	return ""
}

// ended waits for the transaction's end in state and checks it sent exactly one notification,
// with actie and, for an abort, the transaction's reden (which must contain reden when given).
func (e *env) ended(id string, state signing.State, actie, reden string) signing.Transaction {
	e.t.Helper()
	tx := e.wait(id, 60*time.Second)
	if tx.State != state {
		e.t.Fatalf("state %s reden %q, want %s; events %v", tx.State, tx.Reden, state, e.eventTypes(id))
	}
	if reden != "" && !strings.Contains(tx.Reden, reden) {
		e.t.Errorf("reden %q, want it to hold %q", tx.Reden, reden)
	}
	msgs := e.waitMessages(id, 1)
	if len(msgs) != 1 || msgs[0].Actie != actie {
		e.t.Fatalf("notifications %+v, want exactly one %s", msgs, actie)
	}
	if actie == signing.ActieAfgebroken && msgs[0].Kenmerken["reden"] != tx.Reden {
		e.t.Errorf("notified reden %q, transaction's %q", msgs[0].Kenmerken["reden"], tx.Reden)
	}
	return tx
}

// waitCallback waits for the vendor's first callback that signingd accepted and returns its index.
func (e *env) waitCallback(t testing.TB) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if i := e.hooks.accepted(); i >= 0 {
			return i
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the vendor sent no callback")
	return -1
}

// checksFor counts the status checks queued for a callback delivery.
func (e *env) checksFor(delivery string) int {
	e.t.Helper()
	var n int
	if err := e.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE args->>'delivery' = $1`, delivery).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// waitChecks waits until n status checks are queued for a callback delivery.
func (e *env) waitChecks(t testing.TB, delivery string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for e.checksFor(delivery) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d status checks for delivery %s, want %d", e.checksFor(delivery), delivery, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// transactions counts the stored transactions.
func (e *env) transactions() int {
	e.t.Helper()
	var n int
	if err := e.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM transactions`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}
