// Command intake measures the trigger intake over HTTP against the physical limit of a durable
// intake on this machine: pgbench writing the very rows one intake writes (transaction, documents,
// signers, event, job, idempotency record) in one statement, one round trip, at the same
// concurrency; pgbench sending them a statement per round trip in one transaction is shown beside it.
// Its last line is a JSON summary (Summary); with BENCH_SAMPLES_DIR set it writes the latencies
// there, in ms, one a line.
//
//	go run ./bench/intake [-c 8] [-d 10s]
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signingd/signingd/api"
	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/internal/app"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/store"
)

func main() {
	conc := flag.Int("c", 8, "concurrent clients, for both the intake and pgbench")
	dur := flag.Duration("d", 10*time.Second, "duration of each measurement")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the peak measurement to this file")
	flag.Parse()
	if err := run(context.Background(), *conc, *dur, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "intake bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, conc int, dur time.Duration, cpuprofile string) error {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = config.DefaultDatabaseURL
	}
	dbName := "signingd_bench_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+dbName); err != nil {
		return err
	}
	defer admin.Exec(context.Background(), "DROP DATABASE "+dbName+" WITH (FORCE)") //nolint:errcheck
	u, err := neturl.Parse(base)
	if err != nil {
		return err
	}
	u.Path = "/" + dbName
	dbURL := u.String()
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(conc+2))
	u.RawQuery = q.Encode()

	pool, err := store.Open(ctx, u.String())
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool); err != nil {
		return err
	}
	rsin := "002220647"
	key := auth.GenerateAPIKey()
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	// The intake as serve assembles it, without workers: the jobs stay queued.
	var keys *auth.APIKeys
	a, err := app.New(ctx, app.Options{Pool: pool, Build: func(_ context.Context, st *store.Store, _ signing.ProgressFunc) (app.Parts, error) {
		keys = auth.NewAPIKeys(st, []byte("bench pepper"))
		// The vendor is never called: nothing works the jobs.
		prov := simulated.New(simulated.Config{BaseURL: "http://vendor.invalid"})
		land := config.Landscape{Organisations: []config.Organisation{{RSIN: rsin, Name: "Bench", Provider: simulated.Name}}}
		return app.Parts{Providers: map[string]signing.Provider{simulated.Name: prov},
			API: api.Deps{Auth: auth.Chain{keys}, Logger: logger, Landscape: land}}, nil
	}})
	if err != nil {
		return err
	}
	st := a.Store
	if err := st.SyncOrganisations(ctx, map[string]string{rsin: "Bench"}); err != nil {
		return err
	}
	client, err := st.CreateClient(ctx, "bench", "bench", rsin, auth.AllScopes)
	if err != nil {
		return err
	}
	if err := st.AddAPIKey(ctx, client.ID, keys.Digest(key)); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler}
	go srv.Serve(ln) //nolint:errcheck
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/api/v1/transactions"
	body := trigger()

	fmt.Printf("intake benchmark: %d clients, %s each, 3 documents and 2 signers per trigger\n", conc, dur)
	load(url, key, body, conc, 2*time.Second, 0) // warm up
	// Each phase starts from a clean checkpoint, so none pays for the writes of the one before.
	checkpoint := func() {
		if _, err := pool.Exec(ctx, "CHECKPOINT"); err != nil {
			fmt.Println("  (CHECKPOINT refused; phases may overlap with background writes:", err, ")")
		}
	}
	// The machine is shared and noisy: intake and pgbench alternate over paired rounds, and the round
	// with the median ratio is the figure; a single pair can be off by tens of percents. The floor is
	// pgbench writing the same rows in one statement (one round trip); pgbench sending them a statement
	// per round trip, as the intake's code does, is shown beside it.
	const rounds = 3
	var rs []round
	var peak result
	for r := range rounds {
		checkpoint()
		if cpuprofile != "" && r == 0 {
			f, err := os.Create(cpuprofile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
		}
		got := load(url, key, body, conc, dur, 0)
		pprof.StopCPUProfile()
		checkpoint()
		floor, err := pgbench(ctx, dbURL, pgbenchOneStatement, client.ID, client.OrganisationID, conc, dur)
		if err != nil {
			return err
		}
		checkpoint()
		perStmt, err := pgbench(ctx, dbURL, pgbenchScript, client.ID, client.OrganisationID, conc, dur)
		if err != nil {
			return err
		}
		rs = append(rs, round{got, floor, perStmt})
		fmt.Printf("  round %d: intake over HTTP %6.0f/s (p50 %5.2f ms, p99 %6.2f ms), pgbench one statement %6.0f/s (ratio %5.1f %%), a statement per round trip %6.0f/s (ratio %5.1f %%)\n",
			r+1, got.rate, got.p(50), got.p(99), floor, 100*got.rate/floor, perStmt, 100*got.rate/perStmt)
		if got.rate > peak.rate {
			peak = got
		}
	}
	slices.SortFunc(rs, func(a, b round) int { return cmp.Compare(a.intake.rate/a.floor, b.intake.rate/b.floor) })
	med := rs[rounds/2]
	fmt.Printf("  ratio intake/one-statement floor, median of %d rounds: %5.1f %%   (target >= 70 %%)\n", rounds, 100*med.intake.rate/med.floor)

	checkpoint()
	half := load(url, key, body, conc, dur, peak.rate/2)
	fmt.Printf("  at half peak (%.0f/s): %7.0f transactions/s  p50 %6.2f ms  p99 %6.2f ms  (target p99 <= 25 ms)\n",
		peak.rate/2, half.rate, half.p(50), half.p(99))

	if dir := os.Getenv("BENCH_SAMPLES_DIR"); dir != "" {
		if err := writeSamples(filepath.Join(dir, "intake-peak-ms.txt"), med.intake.latencies); err != nil {
			return err
		}
		if err := writeSamples(filepath.Join(dir, "intake-half-peak-ms.txt"), half.latencies); err != nil {
			return err
		}
	}
	// The last line is the summary for bench/report.
	sum, err := json.Marshal(Summary{
		Clients: conc, Seconds: dur.Seconds(), Rounds: rounds,
		Rate: med.intake.rate, P50: med.intake.p(50), P99: med.intake.p(99),
		Floor: med.floor, PerStatement: med.perStmt, Ratio: med.intake.rate / med.floor,
		HalfTarget: peak.rate / 2, HalfRate: half.rate, HalfP50: half.p(50), HalfP99: half.p(99),
	})
	if err != nil {
		return err
	}
	fmt.Printf("%s\n", sum)
	return nil
}

// trigger returns a realistic trigger: 3 documents, 2 signers, one with sms.
func trigger() []byte {
	zaak := uuid.NewString()
	t := map[string]any{
		"naam":                        "Omgevingsvergunning Dorpsstraat 12 - besluit",
		"eigenaar":                    "behandelaar@gemeente.example",
		"zaak":                        map[string]any{"uuid": zaak, "url": "https://zaken.gemeente.example/api/v1/zaken/" + zaak},
		"bewijs_informatieobjecttype": "https://catalogi.gemeente.example/api/v1/informatieobjecttypen/" + uuid.NewString(),
	}
	var docs []any
	for i := range 3 {
		id := uuid.NewString()
		docs = append(docs, map[string]any{"uuid": id, "url": "https://documenten.gemeente.example/api/v1/enkelvoudiginformatieobjecten/" + id,
			"titel": fmt.Sprintf("Document %d", i+1), "versie": i + 1, "bestandsnaam": fmt.Sprintf("document %d.pdf", i+1)})
	}
	t["documenten"] = docs
	t["ondertekenaars"] = []any{
		map[string]any{"e-mail": "teamleider@gemeente.example", "voornaam": "Anouk", "achternaam": "de Vries", "identificatie": "Signer1",
			"volgorde": 1, "authenticatie": map[string]any{"methode": "sms", "waarde": "+31612345678"}},
		map[string]any{"e-mail": "wethouder@gemeente.example", "voornaam": "Sjoerd", "achternaam": "van den Berg", "identificatie": "Signer2",
			"volgorde": 2, "authenticatie": nil},
	}
	b, _ := json.Marshal(t)
	return b
}

// round is one paired measurement: the intake, then pgbench twice on the same database.
type round struct {
	intake         result
	floor, perStmt float64
}

// Summary is the JSON line bench/intake prints last: the round with the median ratio against the
// one-statement floor, and the measurement at half the peak rate. Rates per second, latencies in ms.
type Summary struct {
	Clients      int     `json:"clients"`
	Seconds      float64 `json:"seconds"`
	Rounds       int     `json:"rounds"`
	Rate         float64 `json:"intake_per_s"`
	P50          float64 `json:"intake_p50_ms"`
	P99          float64 `json:"intake_p99_ms"`
	Floor        float64 `json:"pgbench_one_statement_per_s"`
	PerStatement float64 `json:"pgbench_per_statement_per_s"`
	Ratio        float64 `json:"ratio"`
	HalfTarget   float64 `json:"half_peak_target_per_s"`
	HalfRate     float64 `json:"half_peak_per_s"`
	HalfP50      float64 `json:"half_peak_p50_ms"`
	HalfP99      float64 `json:"half_peak_p99_ms"`
}

// writeSamples writes latencies in milliseconds, one a line.
func writeSamples(path string, lat []time.Duration) error {
	var b strings.Builder
	for _, d := range lat {
		fmt.Fprintf(&b, "%.3f\n", float64(d.Microseconds())/1000)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

type result struct {
	rate      float64
	latencies []time.Duration
}

func (r result) p(q int) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	return float64(r.latencies[len(r.latencies)*q/100-btoi(q == 100)].Microseconds()) / 1000
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// load posts triggers from conc workers for dur. With rate > 0 the workers together send at that
// rate (open loop, latency measured from the scheduled start); otherwise as fast as they can.
func load(url, key string, body []byte, conc int, dur time.Duration, rate float64) result {
	tr := &http.Transport{MaxIdleConnsPerHost: conc}
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs atomic.Int64
		wg   sync.WaitGroup
		next atomic.Int64
	)
	start := time.Now()
	deadline := start.Add(dur)
	interval := time.Duration(0)
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	for range conc {
		wg.Go(func() {
			var mine []time.Duration
			for {
				t0 := time.Now()
				if interval > 0 {
					t0 = start.Add(time.Duration(next.Add(1)) * interval)
					time.Sleep(time.Until(t0))
				}
				if t0.After(deadline) {
					break
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-API-Key", key)
				req.Header.Set("Idempotency-Key", uuid.NewString())
				res, err := hc.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body) //nolint:errcheck
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					errs.Add(1)
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	tr.CloseIdleConnections()
	if n := errs.Load(); n > 0 {
		fmt.Printf("  (%d requests failed)\n", n)
	}
	slices.Sort(lat)
	return result{rate: float64(len(lat)) / time.Since(start).Seconds(), latencies: lat}
}

// pgbenchScript writes what one intake writes, statement for statement, in one transaction: a
// round trip per statement.
const pgbenchScript = `BEGIN;
INSERT INTO idempotency_keys (client_id, key, request_hash, transaction_id, created_at, expires_at)
  VALUES (:client, gen_random_uuid()::text, '\x00', gen_random_uuid(), now(), now() + interval '48 hours');
INSERT INTO transactions (id, organisation_id, client_id, state, naam, eigenaar, zaak_url, zaak_uuid, bewijs_informatieobjecttype, provider, trigger, created_at, updated_at, deadline)
  VALUES (gen_random_uuid(), :org, :client, 'received', 'Omgevingsvergunning Dorpsstraat 12 - besluit', 'behandelaar@gemeente.example',
  'https://zaken.gemeente.example/api/v1/zaken/2cc803a9-7404-4289-8f3d-f2300f666eac', gen_random_uuid(), 'https://catalogi.gemeente.example/api/v1/informatieobjecttypen/8f3a1c02-5b7e-4b61-9a39-0d0f8c1e7f10',
  'simulated', '{"naam": "Omgevingsvergunning Dorpsstraat 12 - besluit", "documenten": [{}, {}, {}], "ondertekenaars": [{}, {}]}', now(), now(), now() + interval '30 days')
  RETURNING id \gset
INSERT INTO documents (transaction_id, position, url, uuid, titel, versie, bestandsnaam)
  SELECT :id::uuid, p, 'https://documenten.gemeente.example/api/v1/enkelvoudiginformatieobjecten/' || p, gen_random_uuid(), 'Document', p + 1, 'document.pdf'
  FROM generate_series(0, 2) AS p;
INSERT INTO signers (transaction_id, position, email, voornaam, achternaam, identificatie, volgorde, auth_method, auth_value)
  SELECT :id::uuid, p, e, vn, an, i, v, m, w FROM (VALUES (0, 'teamleider@gemeente.example', 'Anouk', 'de Vries', 'Signer1', 1, 'sms', '+31612345678'),
         (1, 'wethouder@gemeente.example', 'Sjoerd', 'van den Berg', 'Signer2', 2, NULL, NULL)) AS x(p, e, vn, an, i, v, m, w);
INSERT INTO events (transaction_id, at, type, state, actor) VALUES (:id, now(), 'received', 'received', 'client-bench');
INSERT INTO river_job (args, kind, max_attempts, priority, queue, state, scheduled_at)
  VALUES (json_build_object('transaction_id', :id::text)::jsonb, 'fetch_documents', 25, 1, 'default', 'available', now());
COMMIT;
`

// pgbenchOneStatement writes the same rows as pgbenchScript in one statement (data-modifying CTEs,
// committed on its own): one round trip, the floor the intake is measured against.
const pgbenchOneStatement = `WITH t AS (
  INSERT INTO transactions (id, organisation_id, client_id, state, naam, eigenaar, zaak_url, zaak_uuid, bewijs_informatieobjecttype, provider, trigger, created_at, updated_at, deadline)
  VALUES (gen_random_uuid(), :org, :client, 'received', 'Omgevingsvergunning Dorpsstraat 12 - besluit', 'behandelaar@gemeente.example',
  'https://zaken.gemeente.example/api/v1/zaken/2cc803a9-7404-4289-8f3d-f2300f666eac', gen_random_uuid(), 'https://catalogi.gemeente.example/api/v1/informatieobjecttypen/8f3a1c02-5b7e-4b61-9a39-0d0f8c1e7f10',
  'simulated', '{"naam": "Omgevingsvergunning Dorpsstraat 12 - besluit", "documenten": [{}, {}, {}], "ondertekenaars": [{}, {}]}', now(), now(), now() + interval '30 days')
  RETURNING id),
k AS (INSERT INTO idempotency_keys (client_id, key, request_hash, transaction_id, created_at, expires_at)
  SELECT :client, gen_random_uuid()::text, '\x00', t.id, now(), now() + interval '48 hours' FROM t),
d AS (INSERT INTO documents (transaction_id, position, url, uuid, titel, versie, bestandsnaam)
  SELECT t.id, p, 'https://documenten.gemeente.example/api/v1/enkelvoudiginformatieobjecten/' || p, gen_random_uuid(), 'Document', p + 1, 'document.pdf'
  FROM t, generate_series(0, 2) AS p),
s AS (INSERT INTO signers (transaction_id, position, email, voornaam, achternaam, identificatie, volgorde, auth_method, auth_value)
  SELECT t.id, p, e, vn, an, i, v, m, w FROM t, (VALUES (0, 'teamleider@gemeente.example', 'Anouk', 'de Vries', 'Signer1', 1, 'sms', '+31612345678'),
         (1, 'wethouder@gemeente.example', 'Sjoerd', 'van den Berg', 'Signer2', 2, NULL, NULL)) AS x(p, e, vn, an, i, v, m, w)),
e AS (INSERT INTO events (transaction_id, at, type, state, actor) SELECT t.id, now(), 'received', 'received', 'client-bench' FROM t)
INSERT INTO river_job (args, kind, max_attempts, priority, queue, state, scheduled_at)
  SELECT json_build_object('transaction_id', t.id::text)::jsonb, 'fetch_documents', 25, 1, 'default', 'available', now() FROM t;
`

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

func pgbench(ctx context.Context, dbURL, script string, client, org uuid.UUID, conc int, dur time.Duration) (float64, error) {
	f, err := os.CreateTemp("", "intake-*.sql")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(script); err != nil {
		return 0, err
	}
	f.Close()
	jobsN := min(conc, 2)
	cmd := exec.CommandContext(ctx, "pgbench", "-n", "-M", "prepared", "-c", strconv.Itoa(conc), "-j", strconv.Itoa(jobsN),
		"-T", strconv.Itoa(int(dur.Seconds())), "-D", "client="+client.String(), "-D", "org="+org.String(), "-f", f.Name(), dbURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %w\n%s", err, out)
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench printed no tps:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
