package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signingd/signingd/signing"
)

// waitingClients is how many API clients look up transactions at once.
const waitingClients = 8

// BenchmarkWaiting100k is a replica carrying 100 000 transactions that wait for signatures
// (BENCH_WAITING overrides the number), each with the scheduled check_progress job of its polling
// chain, as a hosting party would run it: the CPU the idle process uses (vs an empty database),
// and the p50/p99 of status lookups and of a list page filtered on zaak and status at 8 clients
// (vs 1 000 waiting); also that of the first page of every waiting transaction (status filter
// only), whose total count reads them all.
// The rows are written with SQL in bulk, not through the API.
func BenchmarkWaiting100k(b *testing.B) {
	n := 100_000
	if v := os.Getenv("BENCH_WAITING"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("BENCH_WAITING=%q: want a number ≥ 1000", v)
		}
	}
	e := newEnv(b, envOptions{jobs: func(c *jobsConfig) {
		// A replica's job polling as configured by default (JOB_POLL_INTERVAL), not the tests' 50 ms.
		c.FetchPollInterval, c.FetchCooldown = time.Second, 0
		c.Workers = 50
	}})
	for b.Loop() {
		idleEmpty := e.idleCPU(b)

		seed := e.seedWaiting(b, 1000)
		status1k := e.lookups(b, seed, lookupStatus)
		list1k := e.lookups(b, seed, lookupZaak)
		all1k := e.lookups(b, seed, lookupAll)

		more := e.seedWaiting(b, n-1000)
		seed.ids = append(seed.ids, more.ids...)
		seed.zaken = append(seed.zaken, more.zaken...)
		idle := e.idleCPU(b)
		status := e.lookups(b, seed, lookupStatus)
		list := e.lookups(b, seed, lookupZaak)
		all := e.lookups(b, seed, lookupAll)

		b.ReportMetric(idle, "idle-cpu-%")
		b.ReportMetric(idleEmpty, "idle-cpu-empty-%")
		b.ReportMetric(status.quantile(0.50), "status-p50-ms")
		b.ReportMetric(status.quantile(0.99), "status-p99-ms")
		b.ReportMetric(status1k.quantile(0.99), "status-p99-1k-ms")
		b.ReportMetric(status.rate(), "status-req/s")
		b.ReportMetric(list.quantile(0.50), "list-p50-ms")
		b.ReportMetric(list.quantile(0.99), "list-p99-ms")
		b.ReportMetric(list1k.quantile(0.99), "list-p99-1k-ms")
		b.ReportMetric(all.quantile(0.50), "list-status-p50-ms")
		b.ReportMetric(all.quantile(0.99), "list-status-p99-ms")
		b.ReportMetric(all1k.quantile(0.99), "list-status-p99-1k-ms")
		b.Logf("%d waiting: idle CPU %.2f %% (empty %.2f %%); status p50 %.2f p99 %.2f ms (1k: p99 %.2f ms), %.0f req/s; list by zaak p50 %.2f p99 %.2f ms (1k: p99 %.2f ms); list by status only p50 %.2f p99 %.2f ms (1k: p99 %.2f ms)",
			n, idle, idleEmpty, status.quantile(0.50), status.quantile(0.99), status1k.quantile(0.99), status.rate(),
			list.quantile(0.50), list.quantile(0.99), list1k.quantile(0.99), all.quantile(0.50), all.quantile(0.99), all1k.quantile(0.99))
	}
}

// waitingSeed is what seedWaiting wrote: the transactions' ids and the zaken they belong to.
type waitingSeed struct {
	ids   []string
	zaken []string
}

// waitingPerZaak is how many of the seeded transactions share a zaak.
const waitingPerZaak = 5

// seedWaiting writes n transactions of the organisation in state awaiting_signatures, as the
// workflow leaves them after the signing was created at the provider: one document (fetched), one
// signer, the three events so far, and the next check_progress job of the polling chain, scheduled
// an hour or more ahead so that none comes due during the benchmark. Then it analyzes the tables,
// as autovacuum would after such a growth.
func (e *env) seedWaiting(b *testing.B, n int) waitingSeed {
	b.Helper()
	ctx := context.Background()
	org, err := e.st.OrganisationID(ctx, e.rsin)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	tx, err := e.st.Pool().Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after commit
	zrc := e.zgw.ZRC()
	stmts := []struct {
		sql  string
		args []any
	}{
		// A zaak per waitingPerZaak transactions, named after the seed's batch so that seeds do not
		// share zaken.
		{`CREATE TEMP TABLE seed ON COMMIT DROP AS
			SELECT gen_random_uuid() AS id, g, now() - make_interval(secs => g) AS at,
				md5($2::text || (g / $3::int)::text)::uuid AS zaak
			FROM generate_series(1, $1::int) AS g`, []any{n, uuid.NewString(), waitingPerZaak}},
		{`INSERT INTO transactions (id, organisation_id, state, naam, zaak_url, zaak_uuid, bewijs_informatieobjecttype,
				provider, provider_ref, trigger, created_at, updated_at, deadline)
			SELECT id, $1, $2, 'Ondertekening besluit ' || g, $3 || '/zaken/' || zaak, zaak, $4, $5, 'bench-' || id,
				jsonb_build_object('naam', 'Ondertekening besluit ' || g, 'zaak', jsonb_build_object('url', $3 || '/zaken/' || zaak, 'uuid', zaak)),
				at, at, at + interval '30 days'
			FROM seed`, []any{org, signing.StateAwaitingSignatures, zrc, e.iot, e.kit.Name()}},
		{`INSERT INTO documents (transaction_id, position, url, uuid, titel, versie, bestandsnaam, status, original_sha256,
				original_size, formaat)
			SELECT id, 0, $1 || '/enkelvoudiginformatieobjecten/' || u, u, 'Besluit', 1, 'besluit.pdf', 'pending',
				encode(sha256(id::text::bytea), 'hex'), 1234, 'application/pdf'
			FROM (SELECT id, gen_random_uuid() AS u FROM seed) AS s`, []any{e.zgw.DRC()}},
		{`INSERT INTO signers (transaction_id, position, email, voornaam, achternaam, volgorde)
			SELECT id, 0, 'signer' || g || '@example.nl', 'Signer', 'Nummer ' || g, 1 FROM seed`, nil},
		{`INSERT INTO events (transaction_id, at, type, state, actor, detail)
			SELECT id, at, e.type, e.state, e.actor, e.detail FROM seed, (VALUES
				(1, $1, $2, 'client:e2e', NULL::jsonb),
				(2, $3, $4, 'worker', NULL),
				(3, $5, $6, 'worker', jsonb_build_object('provider', $7::text))) AS e(n, type, state, actor, detail)
			ORDER BY g, e.n`, []any{signing.EventReceived, signing.StateReceived, signing.EventStateChanged, signing.StateFetching,
			signing.EventProviderCreated, signing.StateAwaitingSignatures, e.kit.Name()}},
		// As River inserts a CheckProgressArgs{Chain: true} job (queue, priority, attempts of the
		// workflow's), spread over the hour after next.
		{`INSERT INTO river_job (args, kind, max_attempts, priority, queue, state, scheduled_at, created_at)
			SELECT jsonb_build_object('transaction_id', id::text, 'chain', true), 'check_progress', 12, 2, 'finish',
				'scheduled', now() + interval '1 hour' + make_interval(secs => random() * 3600), at
			FROM seed`, nil},
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
			b.Fatalf("seed: %v\n%s", err, s.sql)
		}
	}
	var seed waitingSeed
	rows, err := tx.Query(ctx, `SELECT id::text, $1 || '/zaken/' || zaak FROM seed`, zrc)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id, zaak string
		if err := rows.Scan(&id, &zaak); err != nil {
			b.Fatal(err)
		}
		seed.ids = append(seed.ids, id)
		seed.zaken = append(seed.zaken, zaak)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := e.st.Pool().Exec(ctx, `ANALYZE transactions, documents, signers, events, river_job`); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d waiting transactions in %s", n, time.Since(start).Round(time.Millisecond))
	return seed
}

// idleCPU returns the CPU time the process used, in percent of one core, over 10 s in which no
// request comes in and no job is due, after 2 s to settle.
func (e *env) idleCPU(b *testing.B) float64 {
	b.Helper()
	time.Sleep(2 * time.Second)
	const span = 10 * time.Second
	before, start := cpuTime(b), time.Now()
	time.Sleep(span)
	used, elapsed := cpuTime(b)-before, time.Since(start)
	return 100 * used.Seconds() / elapsed.Seconds()
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// latencies are the durations of the requests of one run of lookups, over its wall time.
type latencies struct {
	d    []time.Duration
	wall time.Duration
}

// quantile returns the q-quantile in milliseconds.
func (l latencies) quantile(q float64) float64 {
	if len(l.d) == 0 {
		return 0
	}
	i := min(int(q*float64(len(l.d))), len(l.d)-1)
	return float64(l.d[i].Microseconds()) / 1000
}

func (l latencies) rate() float64 { return float64(len(l.d)) / l.wall.Seconds() }

// lookup is what the clients of lookups ask for.
type lookup int

const (
	lookupStatus lookup = iota // the status of a random seeded transaction
	lookupZaak                 // the first page (20) of a random seeded zaak's transactions that wait for signatures
	lookupAll                  // the first page (20) of all transactions that wait for signatures, with their count
)

// path returns the request's path for the i-th seeded transaction.
func (l lookup) path(seed waitingSeed, i int) string {
	q := url.Values{"status": {string(signing.StateAwaitingSignatures)}, "pageSize": {"20"}}
	switch l {
	case lookupZaak:
		q.Set("zaak", seed.zaken[i])
	case lookupAll:
	default:
		return "/api/v1/transactions/" + seed.ids[i]
	}
	return "/api/v1/transactions?" + q.Encode()
}

// lookups has waitingClients keep-alive clients call the API in a closed loop for 1 s of warm-up
// (connections, prepared statements), then 5 s measured.
func (e *env) lookups(b *testing.B, seed waitingSeed, what lookup) latencies {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: waitingClients}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	const warmUp, span = time.Second, 5 * time.Second
	var (
		mu  sync.Mutex
		all []time.Duration
		wg  sync.WaitGroup
	)
	start := time.Now().Add(warmUp)
	deadline := start.Add(span)
	for range waitingClients {
		wg.Go(func() {
			var own []time.Duration
			for time.Now().Before(deadline) {
				path := what.path(seed, rand.IntN(len(seed.ids)))
				t0 := time.Now()
				if err := e.get(client, path); err != nil {
					b.Error(err)
					return
				}
				if t0.After(start) {
					own = append(own, time.Since(t0))
				}
			}
			mu.Lock()
			all = append(all, own...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	slices.Sort(all)
	return latencies{d: all, wall: time.Since(start)}
}

// get calls the API as the env's client and reads the whole answer, which must be a 200.
func (e *env) get(client *http.Client, path string) error {
	req, err := http.NewRequest(http.MethodGet, e.api.URL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", e.key)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, res.StatusCode, body)
	}
	return nil
}
