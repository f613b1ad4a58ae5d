package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
)

// TestCrashRecovery runs signingd as a subprocess and kills it with SIGKILL at random moments
// (at least 20 times) while 50 transactions go through; after the last restart every transaction
// ends in exactly one terminal state, none is lost, no lock is left, each was notified at least
// once, and each has exactly one evidence document. Duplicate notifications are reported.
//
// signingd has the scope documenten.geforceerd-unlock here: a kill between a granted lock and
// storing its id leaves a lock only a forced unlock can release (after FORCE_UNLOCK_AFTER).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs the binary")
	}
	began := time.Now()
	p := newProcs(t, "Crash", false)
	pool, zs, nrc, key := p.pool, p.zs, p.nrc, p.key
	addr := freeAddr(t)
	p.vendor.SetWebhook("http://"+addr+"/api/v1/providers/simulated/webhook", webhookSecret)
	e := p.e
	var scenarios []scenario
	var triggers []map[string]any
	for range 50 {
		sc := e.scenario(2, 1, 2)
		scenarios = append(scenarios, sc)
		triggers = append(triggers, sc.trigger)
	}

	start := func() *exec.Cmd { return p.start(t, addr) }
	post := func(i int) (string, bool) {
		id, err := postTransaction("http://"+addr, key, fmt.Sprintf("crash-%d", i), triggers[i])
		return id, err == nil
	}
	// Signers act at the vendor whenever they are invited, independent of signingd's life.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			res, err := http.Get(p.vendorURL + "/api/signings")
			if err == nil {
				var list []struct {
					ID      string `json:"id"`
					Signers []struct {
						Position int    `json:"position"`
						Status   string `json:"status"`
					} `json:"signers"`
				}
				_ = json.NewDecoder(res.Body).Decode(&list)
				res.Body.Close()
				for _, s := range list {
					for _, sg := range s.Signers {
						if sg.Status == "invited" && rand.IntN(3) == 0 {
							r, err := http.Post(fmt.Sprintf("%s/api/signings/%s/signers/%d/sign", p.vendorURL, s.ID, sg.Position), "application/json", nil)
							if err == nil {
								r.Body.Close()
							}
						}
					}
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	ids := map[int]string{}
	kills := 0
	for kills < 22 || len(ids) < len(triggers) {
		cmd := start()
		life := time.Now().Add(time.Duration(200+rand.IntN(900)) * time.Millisecond)
		for i := range triggers {
			if _, ok := ids[i]; !ok && time.Now().Before(life) && rand.IntN(2) == 0 {
				if id, ok := post(i); ok {
					ids[i] = id
				}
			}
		}
		time.Sleep(time.Until(life))
		end(cmd, syscall.SIGKILL)
		kills++
	}
	cmd := start()
	defer stop(cmd)

	deadline := time.Now().Add(90 * time.Second)
	var all []string
	for _, id := range ids {
		all = append(all, id)
	}
	if p.waitCompleted(t, all, deadline) > 0 {
		return
	}
	// Settled: no job is waiting to run (a killed process leaves its jobs "running" until River
	// rescues them; those are not waited for) and every notification the NRC accepted reached the
	// subscriber. A duplicate would have shown itself by then.
	for settleBy := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var waiting int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job
			WHERE state IN ('available', 'scheduled', 'retryable', 'pending')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		delivered, published := 0, 0
		for _, id := range ids {
			delivered += len(nrc.For(id))
		}
		for _, n := range zs.Notifications() {
			if n.Message.Kenmerken["transaction_id"] != "" {
				published++
			}
		}
		if waiting == 0 && delivered >= published {
			break
		}
		if time.Now().After(settleBy) {
			t.Fatalf("not settled: %d jobs waiting, %d of %d notifications delivered", waiting, delivered, published)
		}
	}
	dups := 0
	for i, id := range ids {
		if docs := zs.ZaakDocuments(scenarios[i].zaak); len(docs) != 3 {
			t.Errorf("%s: zaak has %d documents, want 2 and the evidence", id, len(docs))
		}
		msgs := nrc.For(id)
		if len(msgs) == 0 {
			t.Errorf("%s: never notified", id)
		}
		dups += max(len(msgs)-1, 0)
		var terminal int
		_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE transaction_id = $1 AND type = $2`, mustUUID(id), signing.EventNotified).Scan(&terminal)
		if terminal != 1 {
			t.Errorf("%s: %d terminal transitions", id, terminal)
		}
	}
	if len(zs.Locks()) != 0 {
		t.Errorf("locks left: %v", zs.Locks())
	}
	if n := createdEIOs(zs); n != len(ids) {
		t.Errorf("%d evidence documents created for %d transactions", n, len(ids))
	}
	var forced int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = 'lock_forced'`).Scan(&forced)
	t.Logf("crash test: %d kills, %d transactions, %d duplicate notifications, %d lost locks forced open, %s",
		kills, len(ids), dups, forced, time.Since(began).Round(time.Second))
}
