package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/zgw/sim"
)

// TestChaos is the replicas of TestReplicas under fire: while transactions go through, a random
// replica is killed (SIGKILL) and restarted every one to three seconds, the DRC fails 40 % of its
// calls (5xx, 429 and dropped connections) for a stretch, the NRC refuses every notification for
// another, and, with CHAOS_PG_RESTART=1, Postgres is restarted once (pg_ctlcluster restart -m
// immediate; never in CI, where other packages use the same server). 100 transactions in CI;
// `make chaos` runs 1 000 with the Postgres restart.
//
// Figures: lost (must be 0), ended in more than one terminal state (0), DRC locks left (0),
// duplicated evidence documents (0), duplicate notifications (at most 1 %), and the time from the
// end of the faults to the last completion.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three signingd processes")
	}
	n := 100
	if v, err := strconv.Atoi(os.Getenv("CHAOS_TRANSACTIONS")); err == nil && v > 0 {
		n = v
	}
	pgRestart := os.Getenv("CHAOS_PG_RESTART") == "1"
	p := newProcs(t, "Chaos", true)
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	p.vendor.SetWebhook("http://"+addrs[0]+"/api/v1/providers/simulated/webhook", webhookSecret)

	var mu sync.Mutex
	running := make([]*exec.Cmd, len(addrs))
	for i, a := range addrs {
		running[i] = p.start(t, a)
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range running {
			stop(c)
		}
	}()

	triggers := make([]map[string]any, n)
	scenarios := make([]scenario, n)
	for i := range triggers {
		scenarios[i] = p.e.scenario(1, 1)
		triggers[i] = scenarios[i].trigger
	}

	// The faults, one after the other, while the kills go on throughout.
	began := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kills := 0
	killsDone := make(chan struct{})
	go func() {
		defer close(killsDone)
		for ctx.Err() == nil {
			time.Sleep(time.Duration(1000+rand.IntN(2000)) * time.Millisecond)
			if ctx.Err() != nil {
				return
			}
			i := rand.IntN(len(addrs))
			mu.Lock()
			end(running[i], syscall.SIGKILL)
			kills++
			mu.Unlock()
			time.Sleep(300 * time.Millisecond)
			// A replica started while Postgres restarts gives up; the orchestrator starts it again.
			cmd, err := tryStart(p.bin, p.env, addrs[i])
			for err != nil && ctx.Err() == nil {
				time.Sleep(500 * time.Millisecond)
				cmd, err = tryStart(p.bin, p.env, addrs[i])
			}
			if err != nil {
				cmd, _ = tryStart(p.bin, p.env, addrs[i])
			}
			mu.Lock()
			running[i] = cmd
			mu.Unlock()
		}
	}()
	faults := []struct {
		name string
		at   time.Duration
		on   func()
	}{
		{"DRC fails 40 % of calls", 2 * time.Second, func() {
			for _, f := range []sim.Fault{
				{Kind: sim.FaultError, Status: 503, PathPrefix: sim.DRCPath, Probability: 0.2},
				{Kind: sim.FaultRateLimit, RetryAfter: 1, PathPrefix: sim.DRCPath, Probability: 0.15},
				{Kind: sim.FaultDrop, PathPrefix: sim.DRCPath, Probability: 0.1},
			} {
				p.zs.AddFault(f)
			}
		}},
		{"DRC well again", 10 * time.Second, p.zs.ClearFaults},
		{"NRC refuses every notification", 10 * time.Second, func() {
			p.zs.AddFault(sim.Fault{Kind: sim.FaultError, Status: 503, Method: http.MethodPost, PathPrefix: sim.NRCPath + "/notificaties"})
		}},
		{"NRC well again", 18 * time.Second, p.zs.ClearFaults},
	}
	if pgRestart {
		faults = append(faults, struct {
			name string
			at   time.Duration
			on   func()
		}{"Postgres restarted (immediate)", 14 * time.Second, func() {
			ver, _ := os.ReadDir("/etc/postgresql")
			if len(ver) == 0 {
				t.Error("no /etc/postgresql: cannot restart Postgres")
				return
			}
			if out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", ver[0].Name(), "main", "restart", "-m", "immediate").CombinedOutput(); err != nil {
				t.Errorf("restart Postgres: %v\n%s", err, out)
			}
		}})
	}
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		for _, f := range faults {
			time.Sleep(time.Until(began.Add(f.at)))
			f.on()
			t.Logf("%5.1fs %s", time.Since(began).Seconds(), f.name)
		}
	}()

	// Eight clients post round-robin; a replica that is down (or a restarting database) makes
	// the client try the next one, with the same Idempotency-Key.
	ids := make([]string, n)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				for try := 0; ids[i] == "" && try < 200; try++ {
					// a replica that is down, or answers otherwise: the next one, with the same key
					ids[i], _ = postTransaction(fmt.Sprintf("http://%s", addrs[(i+try)%len(addrs)]), p.key, fmt.Sprintf("chaos-%d", i), triggers[i])
					if ids[i] == "" {
						time.Sleep(100 * time.Millisecond)
					}
				}
			}
		})
	}
	for i := range triggers {
		work <- i
		time.Sleep(time.Duration(15000/n) * time.Millisecond) // spread over some 15 s, into the faults
	}
	close(work)
	wg.Wait()
	<-faultsDone
	faultsEnd := time.Now()
	cancel()
	<-killsDone

	var posted []string
	for _, id := range ids {
		if id != "" {
			posted = append(posted, id)
		}
	}
	lost := len(ids) - len(posted) + p.waitCompleted(t, posted, time.Now().Add(3*time.Minute))
	var last time.Time
	var finished time.Time
	if err := p.pool.QueryRow(context.Background(), `SELECT max(finished_at) FROM transactions`).Scan(&finished); err == nil {
		last = finished
	}

	// Once and only once.
	var doubleTerminal int
	if err := p.pool.QueryRow(context.Background(), `SELECT count(*) FROM (SELECT transaction_id FROM events
		WHERE type = $1 AND state IN ($2, $3) GROUP BY transaction_id HAVING count(*) > 1) d`,
		signing.EventStateChanged, signing.StateCompleted, signing.StateAborted).Scan(&doubleTerminal); err != nil {
		t.Fatal(err)
	}
	dupEvidence, dupNotes, notified := 0, 0, 0
	settle := time.Now().Add(30 * time.Second)
	for {
		dupNotes, notified = 0, 0
		for _, id := range ids {
			if m := len(p.nrc.For(id)); m > 0 {
				notified++
				dupNotes += m - 1
			}
		}
		if notified == n-lost || time.Now().After(settle) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i, id := range ids {
		if id != "" && len(p.zs.ZaakDocuments(scenarios[i].zaak)) != 2 {
			dupEvidence++
		}
	}
	locks := len(p.zs.Locks())
	t.Logf("chaos: %d transactions, 3 replicas, %d kills, Postgres restart %v: lost %d, more than one terminal state %d, "+
		"duplicate notifications %d (%.1f %%), notified %d, DRC locks left %d, zaken without exactly one evidence document %d, "+
		"last completion %.1fs after the faults ended (%s in all)",
		n, kills, pgRestart, lost, doubleTerminal, dupNotes, 100*float64(dupNotes)/float64(n), notified, locks, dupEvidence,
		last.Sub(faultsEnd).Seconds(), time.Since(began).Round(time.Second))
	if lost != 0 || doubleTerminal != 0 || locks != 0 || dupEvidence != 0 || notified != n {
		t.Errorf("chaos broke a promise: lost %d, double terminal %d, locks %d, duplicate evidence %d, notified %d of %d",
			lost, doubleTerminal, locks, dupEvidence, notified, n)
	}
	// A notification the NRC took while its step's commit was lost (a kill, the Postgres restart)
	// goes out again: at least once, never lost. Without the restart it stays within 1 %; with it,
	// the figure is reported, as every notification in flight at that moment repeats.
	if dupNotes*100 > max(n, 100) {
		if pgRestart {
			t.Logf("%d duplicate notifications: above the 1 %% target, with Postgres restarted under %d transactions in flight", dupNotes, n)
		} else {
			t.Errorf("%d duplicate notifications: more than 1 %%", dupNotes)
		}
	}
}
