// Package e2e runs the signing workflow end to end: real HTTP, a real Postgres, the ZGW simulator
// and the simulated signing vendor, with the same wiring as signingd serve.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signingd/signingd/api"
	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/internal/app"
	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
	"github.com/signingd/signingd/workflow"
	"github.com/signingd/signingd/zgw"
	"github.com/signingd/signingd/zgw/sim"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const webhookSecret = "e2e-webhook-secret"

// env is one running signingd with its own ZGW landscape and vendor.
type env struct {
	t         testing.TB
	zgw       *sim.Server
	vendor    *simulated.Server // the simulated vendor, when the env runs no other kit
	kit       vendorKit
	faults    *vendorFaults // in front of the vendor
	hooks     *callbacks    // in front of signingd's webhook route
	vendorURL string
	st        *store.Store
	api       *httptest.Server
	key       string
	rsin      string
	iot       string // evidence informatieobjecttype
	nrc       *subscriber
}

type envOptions struct {
	jobs     func(*jobsConfig)
	sim      sim.Options
	autoSign bool
	expiry   time.Duration
	// zgwAuth is how signingd authenticates to the simulated ZGW services; none when nil.
	zgwAuth *config.ServiceAuth
	// vendorWrap wraps the vendor simulator's handler, to hold or watch its answers.
	vendorWrap func(http.Handler) http.Handler
	// kit is the vendor; the simulated vendor when nil.
	kit vendorKit
}

type jobsConfig = workflow.Config

// landscape is one organisation served by the ZGW simulator (every service with auth sa) and the
// named provider, and a fresh database: what both harnesses start from.
func (e *env) landscape(provider string, sa config.ServiceAuth) (config.Landscape, *zgw.Registry, *pgxpool.Pool) {
	e.t.Helper()
	land := config.Landscape{
		Organisations: []config.Organisation{{RSIN: e.rsin, Name: "Gemeente Test", Provider: provider, Services: []config.Service{
			{Kind: zgw.KindDRC, APIRoot: e.zgw.DRC(), Auth: sa},
			{Kind: zgw.KindZRC, APIRoot: e.zgw.ZRC(), Auth: sa},
			{Kind: zgw.KindNRC, APIRoot: e.zgw.NRC(), Auth: sa},
			{Kind: zgw.KindZTC, APIRoot: e.zgw.ZTC(), Auth: sa},
		}}},
		Providers: []config.Provider{{Name: provider, AuthMethods: []string{signing.AuthSMS, signing.AuthEmail}}},
	}
	reg, err := zgw.NewRegistry(land.ZGW(), zgw.RegistryOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return land, reg, freshDB(e.t)
}

// assemble builds signingd as serve does (internal/app) on pool, with the organisations of land,
// the store in e.st, an API key client in e.key, and starts its jobs until the test ends.
func (e *env) assemble(pool *pgxpool.Pool, land config.Landscape, cfg workflow.Config, build func(st *store.Store, progress signing.ProgressFunc) (app.Parts, error)) *app.App {
	e.t.Helper()
	ctx := context.Background()
	a, err := app.New(ctx, app.Options{Pool: pool, Workflow: cfg,
		Build: func(ctx context.Context, st *store.Store, progress signing.ProgressFunc) (app.Parts, error) {
			if err := st.SyncOrganisations(ctx, land.OrganisationNames()); err != nil {
				return app.Parts{}, err
			}
			keys := auth.NewAPIKeys(st, []byte("e2e pepper"))
			parts, err := build(st, progress)
			parts.API.Auth = auth.Chain{keys}
			return parts, err
		}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.st = a.Store
	if err := a.Start(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Stop(sctx)
	})
	e.addClient(auth.NewAPIKeys(a.Store, []byte("e2e pepper")))
	return a
}

func freshDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	name := "signingd_e2e_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	conn, err := pgx.Connect(ctx, dbtest.BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	pool, err := store.Open(ctx, dbtest.URLFor(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Close()
		conn, err := pgx.Connect(context.Background(), dbtest.BaseURL())
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	})
	if err := store.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

func mustUUID(s string) uuid.UUID { return uuid.MustParse(s) }

// subscriber is a case system listening to the NRC: it records every documentacties message.
type subscriber struct {
	mu    sync.Mutex
	msgs  []sim.Message
	first map[string]time.Time // first arrival per transaction
	srv   *httptest.Server
}

func (s *subscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m sim.Message
	if err := json.NewDecoder(r.Body).Decode(&m); err == nil {
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		if id := m.Kenmerken["transaction_id"]; s.first[id].IsZero() {
			s.first[id] = time.Now()
		}
		s.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

// For returns the messages about one transaction.
func (s *subscriber) For(id string) []sim.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sim.Message
	for _, m := range s.msgs {
		if m.Kenmerken["transaction_id"] == id {
			out = append(out, m)
		}
	}
	return out
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	e := &env{t: t, rsin: dbtest.NewRSIN()}
	e.zgw = sim.NewServer(o.sim)
	t.Cleanup(e.zgw.Close)
	e.iot = e.zgw.SeedInformatieobjecttype(sim.IOTSeed{Omschrijving: "Bewijs van ondertekening"})
	e.zgw.SeedKanaal(signing.Kanaal)
	e.nrc = &subscriber{first: map[string]time.Time{}}
	e.nrc.srv = httptest.NewServer(e.nrc)
	t.Cleanup(e.nrc.srv.Close)
	if _, err := e.zgw.SeedAbonnement(e.nrc.srv.URL, "Bearer x", signing.Kanaal, nil); err != nil {
		t.Fatal(err)
	}

	e.kit = o.kit
	if e.kit == nil {
		e.vendor = simulated.NewServer(simulated.ServerOptions{AutoSign: o.autoSign})
		e.kit = &simulatedKit{srv: e.vendor}
	}
	e.faults = &vendorFaults{}
	vh := e.faults.wrap(e.kit.Handler())
	if o.vendorWrap != nil {
		vh = o.vendorWrap(vh)
	}
	vsrv := httptest.NewServer(vh)
	t.Cleanup(func() { vsrv.Close(); e.kit.Close(t) })
	e.vendorURL = vsrv.URL

	sa := config.ServiceAuth{Mode: zgw.AuthNone}
	if o.zgwAuth != nil {
		sa = *o.zgwAuth
	}
	land, reg, pool := e.landscape(e.kit.Name(), sa)
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("E2E_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	prov := e.kit.Provider(vsrv.URL, 2*time.Second)
	cfg := workflow.Config{
		Workers: 20, Logger: logger, Registry: reg,
		// The provider as a test's jobs option may wrap it; the assembly hands these over.
		Providers:         map[string]signing.Provider{e.kit.Name(): prov},
		HTTPClient:        &http.Client{Timeout: 5 * time.Second},
		RetryBase:         50 * time.Millisecond,
		RetryMax:          time.Second,
		LockRetry:         100 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		FetchCooldown:     10 * time.Millisecond,
		Sealer:            sealer(t),
	}
	cfg.OrganisationNames = land.OrganisationNames()
	if o.jobs != nil {
		o.jobs(&cfg)
	}
	a := e.assemble(pool, land, cfg, func(*store.Store, signing.ProgressFunc) (app.Parts, error) {
		return app.Parts{Providers: cfg.Providers, API: api.Deps{
			Landscape: land, CheckURL: reg.CheckResource, PublicURL: "http://signingd.test", Logger: logger, Expiry: o.expiry,
		}}, nil
	})
	e.hooks = &callbacks{next: a.Handler}
	e.api = httptest.NewServer(e.hooks)
	t.Cleanup(e.api.Close)
	e.kit.SetWebhook(e.api.URL + "/api/v1/providers/" + e.kit.Name() + "/webhook")
	return e
}

// addClient registers the client the tests call the API as, and keeps its API key in e.key.
func (e *env) addClient(keys *auth.APIKeys) {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.st.CreateClient(ctx, store.NewClientID(), "e2e", e.rsin, auth.AllScopes)
	if err != nil {
		e.t.Fatal(err)
	}
	e.key = auth.GenerateAPIKey()
	if err := e.st.AddAPIKey(ctx, c.ID, keys.Digest(e.key)); err != nil {
		e.t.Fatal(err)
	}
}

// scenario is a zaak with documents in the ZGW sim and the trigger to sign them.
type scenario struct {
	zaak    string
	docs    []string
	trigger map[string]any
}

// pdf returns a small one-page PDF with the given text.
// pdf is a one-line document.
func pdf(text string) []byte {
	b, err := report.Plain(text)
	if err != nil {
		panic(err)
	}
	return b
}

// scenario seeds a zaak of the organisation whose zaaktype allows the evidence type, with ndocs
// PDF documents, and the trigger for them with a signer per volgorde.
func (e *env) scenario(ndocs int, volgorde ...int) scenario {
	e.t.Helper()
	return e.scenarioOn(sim.ZaakSeed{Informatieobjecttypen: []string{e.zgw.DefaultIOT(), e.iot}}, ndocs, volgorde...)
}

// scenarioOn is scenario on a zaak seeded as z (of the organisation when z names no other).
func (e *env) scenarioOn(z sim.ZaakSeed, ndocs int, volgorde ...int) scenario {
	e.t.Helper()
	if z.Bronorganisatie == "" {
		z.Bronorganisatie = e.rsin
	}
	zaak, err := e.zgw.SeedZaak(z)
	if err != nil {
		e.t.Fatal(err)
	}
	sc := scenario{zaak: zaak}
	var docs []map[string]any
	for i := range ndocs {
		name := fmt.Sprintf("besluit-%d.docx", i+1)
		u, err := e.zgw.SeedDocument(pdf(fmt.Sprintf("Besluit %d", i+1)), sim.DocumentSeed{
			Titel: fmt.Sprintf("Besluit %d", i+1), Bestandsnaam: name, Status: "in_bewerking", Formaat: "application/pdf", Zaak: zaak,
			Bronorganisatie: e.rsin})
		if err != nil {
			e.t.Fatal(err)
		}
		sc.docs = append(sc.docs, u)
		docs = append(docs, map[string]any{"url": u, "uuid": lastSegment(u), "versie": 1, "titel": fmt.Sprintf("Besluit %d", i+1), "bestandsnaam": name})
	}
	var signers []map[string]any
	for i, v := range volgorde {
		signers = append(signers, map[string]any{"e-mail": fmt.Sprintf("signer%d@example.nl", i+1), "voornaam": "Signer",
			"achternaam": fmt.Sprint(i + 1), "volgorde": v, "authenticatie": nil})
	}
	sc.trigger = map[string]any{
		"naam": "Ondertekening besluit", "zaak": map[string]any{"url": zaak, "uuid": lastSegment(zaak)},
		"bewijs_informatieobjecttype": e.iot, "documenten": docs, "ondertekenaars": signers,
	}
	return sc
}

func lastSegment(u string) string { return u[len(u)-36:] }

func (e *env) do(method, path string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.api.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", e.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// start posts the trigger and returns the transaction id.
func (e *env) start(sc scenario) string {
	e.t.Helper()
	status, body := e.do(http.MethodPost, "/api/v1/transactions", sc.trigger)
	if status != http.StatusOK {
		e.t.Fatalf("trigger: %d %s", status, body)
	}
	var out struct {
		TransactionID string `json:"transaction_id"`
	}
	_ = json.Unmarshal(body, &out)
	return out.TransactionID
}

// signingID waits until the vendor has the signing of the transaction.
func (e *env) signingID(id string) string {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if sid, ok := e.vendor.SigningByExternalID(id); ok && e.vendor.Status(sid) != simulated.StatusDraft {
			return sid
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("transaction %s never reached the vendor", id)
	return ""
}

// vendorCall acts as a signer at the vendor: sign or decline.
func (e *env) vendorCall(id string, signer int, action string, body any) int {
	e.t.Helper()
	sid := e.signingID(id)
	b, _ := json.Marshal(body)
	base := e.vendorURL
	res, err := http.Post(fmt.Sprintf("%s/api/signings/%s/signers/%d/%s", base, sid, signer, action), "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// wait waits until the transaction is in a terminal state and returns it.
func (e *env) wait(id string, timeout time.Duration) signing.Transaction {
	e.t.Helper()
	tid := uuid.MustParse(id)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		st, err := e.st.StateOf(context.Background(), tid)
		if err != nil {
			e.t.Fatal(err)
		}
		if st.Terminal() {
			w, err := e.st.Work(context.Background(), tid)
			if err != nil {
				e.t.Fatal(err)
			}
			return w.Transaction
		}
		time.Sleep(25 * time.Millisecond)
	}
	w, _ := e.st.Work(context.Background(), tid)
	e.t.Fatalf("transaction %s not finished after %s: state %s, events %+v", id, timeout, w.State, w.Events)
	return signing.Transaction{}
}

// settle waits until nothing more can happen for the transaction: none of its jobs is due to
// run within a minute (a job planned for later, such as the built-in signer's clean-up, cannot
// fire during a test), and the subscriber got every notification about it that the NRC accepted.
func (e *env) settle(id string) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var open int
		err := e.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM river_job
			WHERE args->>'transaction_id' = $1 AND state NOT IN ('completed', 'cancelled', 'discarded')
			AND scheduled_at < now() + interval '1 minute'`, id).Scan(&open)
		if err != nil {
			e.t.Fatal(err)
		}
		published := 0
		for _, n := range e.zgw.Notifications() {
			if n.Message.Kenmerken["transaction_id"] == id {
				published++
			}
		}
		if open == 0 && len(e.nrc.For(id)) >= published {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("transaction %s not settled: %d jobs open, %d of %d notifications delivered", id, open, len(e.nrc.For(id)), published)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitMessages waits until the subscriber got n messages about the transaction.
func (e *env) waitMessages(id string, n int) []sim.Message {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := e.nrc.For(id); len(m) >= n {
			e.settle(id) // a duplicate would show itself before this returns
			return e.nrc.For(id)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("subscriber got %d messages for %s, want %d", len(e.nrc.For(id)), id, n)
	return nil
}

// cancel withdraws the transaction through the API, as a case system does.
func (e *env) cancel(id, reden string) {
	e.t.Helper()
	if status, body := e.do(http.MethodPost, "/api/v1/transactions/"+id+"/cancel", map[string]string{"reden": reden}); status >= 300 {
		e.t.Fatalf("cancel: %d %s", status, body)
	}
}

// waitFault waits until the simulator injected a fault: what (an upload in parts, say) started.
func (e *env) waitFault(what string) {
	e.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); e.zgw.FaultsFired() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s never started", what)
		}
	}
}
