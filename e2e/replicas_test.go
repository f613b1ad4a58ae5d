package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
)

// TestReplicas runs three `signingd serve` processes against one database and one simulated
// landscape, as a hosting party does behind a load balancer, and posts transactions round-robin
// (200; REPLICAS_TRANSACTIONS=1000 for the full run of `make chaos`) with instant signing:
//   - every transaction completes, is notified once and has one evidence document;
//   - the work is spread over all three (River's jobs per replica);
//   - no step of a transaction runs on two replicas at once (the jobs' run intervals);
//   - a client revoked through the database is refused by every replica within a second (the
//     auth caches follow the change notifications).
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three signingd processes")
	}
	n := 200
	if v, err := strconv.Atoi(os.Getenv("REPLICAS_TRANSACTIONS")); err == nil && v > 0 {
		n = v
	}
	p := newProcs(t, "Replicas", true)
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	// The vendor's callbacks go through the load balancer, to any replica; here to the first.
	p.vendor.SetWebhook("http://"+addrs[0]+"/api/v1/providers/simulated/webhook", webhookSecret)

	for _, a := range addrs {
		cmd := p.start(t, a)

		defer stop(cmd)
	}

	triggers := make([]map[string]any, n)
	for i := range triggers {
		triggers[i] = p.e.scenario(1, 1).trigger
	}
	began := time.Now()
	ids := make([]string, n)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 { // eight clients at once
		wg.Go(func() {
			for i := range work {
				ids[i] = postTrigger(t, "http://"+addrs[i%len(addrs)], p.key, triggers[i])
			}
		})
	}
	for i := range triggers {
		work <- i
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		return
	}
	posted := time.Since(began)

	deadline := time.Now().Add(time.Duration(n)*300*time.Millisecond + 2*time.Minute) // a loaded CI machine
	if p.waitCompleted(t, ids, deadline) > 0 {
		return
	}
	done := time.Since(began)

	// Exactly once: one notified event, one notification at the subscriber, one evidence document.
	ctx := context.Background()
	var notified, evidence int
	if err := p.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE type = $1), count(DISTINCT transaction_id) FILTER (WHERE type = $2)
		FROM events`, signing.EventNotified, signing.EventEvidenceCreated).Scan(&notified, &evidence); err != nil {
		t.Fatal(err)
	}
	if notified != n || evidence != n {
		t.Errorf("%d notified events and %d transactions with evidence, want %d of each", notified, evidence, n)
	}
	deadlineNRC := time.Now().Add(30 * time.Second)
	for {
		got, dups := 0, 0
		for _, id := range ids {
			m := len(p.nrc.For(id))
			got += min(m, 1)
			dups += max(m-1, 0)
		}
		if dups > 0 {
			t.Errorf("%d duplicate notifications", dups)
		}
		if got == n || dups > 0 {
			break
		}
		if time.Now().After(deadlineNRC) {
			t.Fatalf("%d of %d transactions notified at the subscriber", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Spread: the jobs of these transactions ran on all three replicas, none doing almost nothing.
	rows, err := p.pool.Query(ctx, `SELECT attempted_by[array_length(attempted_by, 1)], count(*) FROM river_job
		WHERE args->>'transaction_id' IS NOT NULL AND array_length(attempted_by, 1) > 0 GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	perReplica := map[string]int{}
	total := 0
	for rows.Next() {
		var by string
		var c int
		if err := rows.Scan(&by, &c); err != nil {
			t.Fatal(err)
		}
		perReplica[by] += c
		total += c
	}
	rows.Close()
	if len(perReplica) != len(addrs) {
		t.Errorf("jobs ran on %d replicas, want %d: %v", len(perReplica), len(addrs), perReplica)
	}
	for by, c := range perReplica {
		if c*10 < total {
			t.Errorf("replica %s ran %d of %d jobs: less than a tenth", by, c, total)
		}
	}

	// One at a time: a transaction's steps (its status checks aside, which may overlap harmlessly)
	// never ran at the same moment, on whichever replicas.
	var overlaps int
	if err := p.pool.QueryRow(ctx, `SELECT count(*) FROM river_job a JOIN river_job b
		ON a.args->>'transaction_id' = b.args->>'transaction_id' AND a.id < b.id
		WHERE a.kind <> 'check_progress' AND b.kind <> 'check_progress'
		AND a.attempted_at IS NOT NULL AND b.attempted_at IS NOT NULL AND a.finalized_at IS NOT NULL AND b.finalized_at IS NOT NULL
		AND a.attempted_at < b.finalized_at AND b.attempted_at < a.finalized_at`).Scan(&overlaps); err != nil {
		t.Fatal(err)
	}
	if overlaps > 0 {
		t.Errorf("%d pairs of steps of one transaction ran at the same time", overlaps)
	}

	// A revoked client is refused by every replica within a second.
	for _, a := range addrs {
		if code := getTransaction(t, "http://"+a, p.key, ids[0]); code != http.StatusOK {
			t.Fatalf("replica %s before the revocation: %d", a, code)
		}
	}
	if err := p.st.RevokeClient(ctx, p.clientID, time.Now()); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for _, a := range addrs {
		for getTransaction(t, "http://"+a, p.key, ids[0]) != http.StatusUnauthorized {
			if time.Since(revoked) > time.Second {
				t.Errorf("replica %s still accepts the revoked client after %s", a, time.Since(revoked))
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("%d transactions over %d replicas: posted in %s (%.0f/s), all completed after %s (%.1f/s); jobs per replica %v",
		n, len(addrs), posted.Round(time.Millisecond), float64(n)/posted.Seconds(), done.Round(time.Millisecond), float64(n)/done.Seconds(), perReplica)
}

// postTrigger posts a trigger with the API key and returns the transaction id.
func postTrigger(t *testing.T, base, key string, trigger map[string]any) string {
	id, err := postTransaction(base, key, "", trigger)
	if err != nil {
		t.Error(err)
	}
	return id
}

func getTransaction(t *testing.T, base, key, id string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/transactions/%s", base, id), nil)
	req.Header.Set("X-API-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// jobsOf lists a transaction's River jobs, for a test that gives up on it.
func jobsOf(t *testing.T, p *procs, id string) string {
	rows, err := p.pool.Query(context.Background(), `SELECT kind, state, attempt, max_attempts, scheduled_at, attempted_at, finalized_at,
		coalesce(attempted_by[array_length(attempted_by, 1)], ''), coalesce(errors[array_length(errors, 1)]::text, '')
		FROM river_job WHERE args->>'transaction_id' = $1 ORDER BY id`, id)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b bytes.Buffer
	for rows.Next() {
		var kind, state, by, lastErr string
		var attempt, max int
		var scheduled time.Time
		var attempted, finalized *time.Time
		if err := rows.Scan(&kind, &state, &attempt, &max, &scheduled, &attempted, &finalized, &by, &lastErr); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "  %-15s %-10s attempt %d/%d scheduled %s attempted %v finalized %v by %s %s\n",
			kind, state, attempt, max, scheduled.Format(time.StampMilli), attempted, finalized, by, lastErr)
	}
	return b.String()
}
