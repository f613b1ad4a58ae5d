package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signingd/signingd/api"
	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/internal/app"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type env struct {
	t    testing.TB
	srv  *httptest.Server
	st   *store.Store
	pool *pgxpool.Pool
	keys *auth.APIKeys
}

type options struct {
	providers map[string]signing.Provider
	ready     func(context.Context) error
	checkURL  api.URLChecker
	landscape *config.Landscape
}

func setup(t testing.TB, opts ...func(*options)) *env {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.providers == nil {
		// Nothing works the jobs: the vendor is never called.
		o.providers = map[string]signing.Provider{simulated.Name: simulated.New(simulated.Config{BaseURL: "http://vendor.invalid"})}
	}
	land := config.Landscape{DefaultProvider: simulated.Name}
	if o.landscape != nil {
		land = *o.landscape
	}
	pool := dbtest.Pool(t)
	var keys *auth.APIKeys
	// No workers: jobs stay in the table to be inspected.
	a, err := app.New(context.Background(), app.Options{Pool: pool,
		Build: func(_ context.Context, st *store.Store, _ signing.ProgressFunc) (app.Parts, error) {
			keys = auth.NewAPIKeys(st, []byte("test pepper"))
			return app.Parts{Providers: o.providers, API: api.Deps{Auth: auth.Chain{keys}, PublicURL: "http://signingd.test", Ready: o.ready, CheckURL: o.checkURL,
				Landscape: land}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: a.Store, pool: pool, keys: keys}
	e.srv = httptest.NewServer(a.Handler)
	t.Cleanup(e.srv.Close)
	return e
}

// client registers an organisation and a client in it, and returns the client's API key.
func (e *env) client(rsin string, scopes ...string) string {
	e.t.Helper()
	ctx := context.Background()
	if err := e.st.SyncOrganisations(ctx, map[string]string{rsin: "Gemeente " + rsin}); err != nil {
		e.t.Fatal(err)
	}
	if len(scopes) == 0 {
		scopes = auth.AllScopes
	}
	c, err := e.st.CreateClient(ctx, store.NewClientID(), "test", rsin, scopes)
	if err != nil {
		e.t.Fatal(err)
	}
	key := auth.GenerateAPIKey()
	if err := e.st.AddAPIKey(ctx, c.ID, e.keys.Digest(key)); err != nil {
		e.t.Fatal(err)
	}
	return key
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, r.body)
	}
	return m
}

func (e *env) do(method, path, key string, body []byte, header ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

func example(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../signing/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (e *env) create(key string, body []byte, header ...string) string {
	e.t.Helper()
	r := e.do("POST", "/api/v1/transactions", key, body, header...)
	if r.status != 200 {
		e.t.Fatalf("create: %d %s", r.status, r.body)
	}
	return r.json(e.t)["transaction_id"].(string)
}

func TestCreateTransactionWritesEverything(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file            string
		docs, signers   int
		eigenaar        string
		smsSigner       bool
		idempotencyRows int
	}{
		{"trigger-full.json", 2, 2, "behandelaar@gemeente.example", true, 1},
		{"trigger-minimal.json", 1, 1, "", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			key := e.client(dbtest.NewRSIN())
			var hdr []string
			if tt.idempotencyRows > 0 {
				hdr = []string{"Idempotency-Key", uuid.NewString()}
			}
			id := e.create(key, example(t, tt.file), hdr...)
			if _, err := uuid.Parse(id); err != nil {
				t.Fatalf("transaction_id %q is not a uuid", id)
			}
			if n := e.count(`SELECT count(*) FROM transactions WHERE id = $1 AND state = 'received' AND coalesce(eigenaar, '') = $2`, id, tt.eigenaar); n != 1 {
				t.Errorf("transaction rows = %d", n)
			}
			if n := e.count(`SELECT count(*) FROM documents WHERE transaction_id = $1`, id); n != tt.docs {
				t.Errorf("documents = %d, want %d", n, tt.docs)
			}
			if n := e.count(`SELECT count(*) FROM signers WHERE transaction_id = $1`, id); n != tt.signers {
				t.Errorf("signers = %d, want %d", n, tt.signers)
			}
			wantSMS := 0
			if tt.smsSigner {
				wantSMS = 1
			}
			if n := e.count(`SELECT count(*) FROM signers WHERE transaction_id = $1 AND auth_method = 'sms' AND auth_value = '+31612345678'`, id); n != wantSMS {
				t.Errorf("sms signers = %d, want %d", n, wantSMS)
			}
			if n := e.count(`SELECT count(*) FROM events WHERE transaction_id = $1 AND type = 'received'`, id); n != 1 {
				t.Errorf("received events = %d", n)
			}
			if n := e.count(`SELECT count(*) FROM river_job WHERE kind = 'fetch_documents' AND args->>'transaction_id' = $1`, id); n != 1 {
				t.Errorf("fetch jobs = %d", n)
			}
			if n := e.count(`SELECT count(*) FROM idempotency_keys WHERE transaction_id = $1`, id); n != tt.idempotencyRows {
				t.Errorf("idempotency rows = %d, want %d", n, tt.idempotencyRows)
			}

			got := e.do("GET", "/api/v1/transactions/"+id, key, nil)
			if got.status != 200 {
				t.Fatalf("get: %d %s", got.status, got.body)
			}
			tr := got.json(t)
			if tr["status"] != "received" || len(tr["documenten"].([]any)) != tt.docs || len(tr["ondertekenaars"].([]any)) != tt.signers || len(tr["events"].([]any)) != 1 {
				t.Errorf("get returned %s", got.body)
			}
			if tt.smsSigner {
				a := tr["ondertekenaars"].([]any)[0].(map[string]any)["authenticatie"].(map[string]any)
				if a["methode"] != "sms" || a["waarde"] != "+••••••••678" {
					t.Errorf("sms authenticatie shown as %v, want masked number", a)
				}
			}
		})
	}
}

func TestCreateTransactionNamesInvalidFields(t *testing.T) {
	t.Parallel()
	e := setup(t)
	key := e.client(dbtest.NewRSIN())
	body := strings.Replace(string(example(t, "trigger-full.json")), `"wethouder@gemeente.example"`, `"wethouder"`, 1)
	body = strings.Replace(body, `"versie": 3`, `"versie": 0`, 1)
	r := e.do("POST", "/api/v1/transactions", key, []byte(body))
	if r.status != 400 || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d, type %s", r.status, r.header.Get("Content-Type"))
	}
	names := map[string]bool{}
	for _, p := range r.json(t)["invalidParams"].([]any) {
		names[p.(map[string]any)["name"].(string)] = true
	}
	if !names["ondertekenaars.1.e-mail"] || !names["documenten.0.versie"] || len(names) != 2 {
		t.Errorf("invalidParams = %v", names)
	}
	if n := e.count(`SELECT count(*) FROM transactions t JOIN api_keys k ON k.client_id = t.client_id WHERE k.digest = $1`, e.keys.Digest(key)); n != 0 {
		t.Errorf("an invalid trigger left %d transactions", n)
	}
}

// Bytes Postgres can't store are the caller's mistake, answered with 400 naming the field, never 500.
func TestCreateTransactionRefusesUnstorableText(t *testing.T) {
	t.Parallel()
	e := setup(t)
	key := e.client(dbtest.NewRSIN())
	invalid := func(r response) map[string]bool {
		t.Helper()
		if r.status != 400 || r.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		names := map[string]bool{}
		for _, p := range r.json(t)["invalidParams"].([]any) {
			names[p.(map[string]any)["name"].(string)] = true
		}
		return names
	}
	body := strings.Replace(string(example(t, "trigger-full.json")), `"naam": "`, `"naam": "a\u0000`, 1)
	body = strings.Replace(body, `"achternaam": "`, `"achternaam": "\u0000`, 1)
	if names := invalid(e.do("POST", "/api/v1/transactions", key, []byte(body))); !names["naam"] || !names["ondertekenaars.0.achternaam"] || len(names) != 2 {
		t.Errorf("invalidParams = %v", names)
	}
	for _, k := range []string{"a\x80b", "a b", "a\tb", strings.Repeat("k", 256)} {
		if names := invalid(e.do("POST", "/api/v1/transactions", key, example(t, "trigger-minimal.json"), "Idempotency-Key", k)); !names["Idempotency-Key"] {
			t.Errorf("Idempotency-Key %q: invalidParams = %v", k, names)
		}
	}
	if n := e.count(`SELECT count(*) FROM transactions t JOIN api_keys k ON k.client_id = t.client_id WHERE k.digest = $1`, e.keys.Digest(key)); n != 0 {
		t.Errorf("refused triggers left %d transactions", n)
	}
	for _, q := range []string{"%00", "a%80"} {
		if names := invalid(e.do("GET", "/api/v1/transactions?zaak="+q, key, nil)); !names["zaak"] {
			t.Errorf("zaak=%s: invalidParams = %v", q, names)
		}
	}
}

func TestCreateTransactionChecksURLsAgainstLandscape(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) {
		o.checkURL = func(rsin, kind, u string) error {
			if kind == "drc" && !strings.HasPrefix(u, "https://documenten.gemeente.example/api/v1/") {
				return fmt.Errorf("URL is not under a configured DRC of organisation %s", rsin)
			}
			return nil
		}
	})
	key := e.client(dbtest.NewRSIN())
	body := strings.Replace(string(example(t, "trigger-minimal.json")), "https://documenten.gemeente.example", "https://evil.test", 1)
	r := e.do("POST", "/api/v1/transactions", key, []byte(body))
	if r.status != 400 || !strings.Contains(string(r.body), `"name":"documenten.0.url","code":"not_allowed"`) {
		t.Fatalf("got %d %s", r.status, r.body)
	}
}

// TestCreateTransactionNeedsARunningProvider: a trigger of an organisation that no provider signs
// for, or whose provider is not running, is refused before anything is stored.
func TestCreateTransactionNeedsARunningProvider(t *testing.T) {
	t.Parallel()
	rsin := dbtest.NewRSIN()
	tests := []struct {
		name      string
		landscape config.Landscape
		providers map[string]signing.Provider
	}{
		{name: "no provider", landscape: config.Landscape{Organisations: []config.Organisation{{RSIN: rsin, Name: "A"}}}},
		{name: "not running", landscape: config.Landscape{DefaultProvider: "builtin"}},
		{name: "none running", landscape: config.Landscape{DefaultProvider: simulated.Name}, providers: map[string]signing.Provider{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, func(o *options) { o.landscape, o.providers = &tt.landscape, tt.providers })
			key := e.client(rsin)
			r := e.do("POST", "/api/v1/transactions", key, example(t, "trigger-minimal.json"))
			if r.status != http.StatusServiceUnavailable || r.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("got %d %s %s, want 503 problem+json", r.status, r.header.Get("Content-Type"), r.body)
			}
			if n := e.count("SELECT count(*) FROM transactions t JOIN organisations o ON o.id = t.organisation_id WHERE o.rsin = $1", rsin); n != 0 {
				t.Errorf("%d transactions stored", n)
			}
		})
	}
}

func TestCreateTransactionTransportErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	key := e.client(dbtest.NewRSIN())
	big := append([]byte(`{"naam": "`), bytes.Repeat([]byte("x"), api.MaxBodySize)...)
	big = append(big, `"}`...)
	tests := []struct {
		name   string
		body   []byte
		header []string
		status int
	}{
		{"too large", big, nil, 413},
		{"wrong content type", example(t, "trigger-minimal.json"), []string{"Content-Type", "text/plain"}, 415},
		{"no content type", example(t, "trigger-minimal.json"), []string{"Content-Type", ""}, 415},
		{"malformed json", []byte(`{"naam": `), nil, 400},
		{"empty body", []byte{}, nil, 400},
	}
	for _, tt := range tests {
		r := e.do("POST", "/api/v1/transactions", key, tt.body, tt.header...)
		if r.status != tt.status || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s %s", tt.name, r.status, r.header.Get("Content-Type"), r.body)
		}
		if tt.name == "no content type" && !strings.Contains(string(r.body), "The Content-Type header is missing: send application/json.") {
			t.Errorf("%s: the answer does not name the header: %s", tt.name, r.body)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rsin := dbtest.NewRSIN()
	key, other := e.client(rsin), e.client(rsin)
	ik := uuid.NewString()
	first := e.create(key, example(t, "trigger-full.json"), "Idempotency-Key", ik)
	// The same trigger, formatted differently, is the same request.
	var m map[string]any
	_ = json.Unmarshal(example(t, "trigger-full.json"), &m)
	compact, _ := json.Marshal(m)
	if again := e.create(key, compact, "Idempotency-Key", ik); again != first {
		t.Errorf("replay gave %s, want %s", again, first)
	}
	r := e.do("POST", "/api/v1/transactions", key, example(t, "trigger-minimal.json"), "Idempotency-Key", ik)
	if r.status != 422 {
		t.Errorf("same key, other body: %d %s", r.status, r.body)
	}
	// Keys are scoped per client: another client's same key is a new transaction.
	if theirs := e.create(other, example(t, "trigger-full.json"), "Idempotency-Key", ik); theirs == first {
		t.Error("another client's key replayed this client's transaction")
	}
	if n := e.count(`SELECT count(*) FROM transactions WHERE id = $1`, first); n != 1 {
		t.Errorf("transactions with the first id = %d", n)
	}
}

func TestIdempotencyKeyConcurrent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	key := e.client(dbtest.NewRSIN())
	ik := uuid.NewString()
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() { ids[i] = e.create(key, example(t, "trigger-full.json"), "Idempotency-Key", ik) })
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent replays gave different ids: %v", ids)
		}
	}
	if n := e.count(`SELECT count(*) FROM river_job WHERE args->>'transaction_id' = $1`, ids[0]); n != 1 {
		t.Errorf("jobs for the transaction = %d", n)
	}
}

func TestTenancy(t *testing.T) {
	t.Parallel()
	e := setup(t)
	mine, theirs := e.client(dbtest.NewRSIN()), e.client(dbtest.NewRSIN())
	id := e.create(mine, example(t, "trigger-minimal.json"))
	for _, r := range []response{
		e.do("GET", "/api/v1/transactions/"+id, theirs, nil),
		e.do("POST", "/api/v1/transactions/"+id+"/cancel", theirs, []byte(`{}`)),
	} {
		if r.status != 404 {
			t.Errorf("other organisation got %d %s", r.status, r.body)
		}
	}
	list := e.do("GET", "/api/v1/transactions", theirs, nil).json(t)
	if list["count"].(float64) != 0 {
		t.Errorf("other organisation lists %v", list)
	}
	if n := e.count(`SELECT count(*) FROM transactions WHERE id = $1 AND state = 'received'`, id); n != 1 {
		t.Error("the other organisation's cancel changed the transaction")
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	e := setup(t)
	key := e.client(dbtest.NewRSIN())
	id := e.create(key, example(t, "trigger-minimal.json"))
	r := e.do("POST", "/api/v1/transactions/"+id+"/cancel", key, []byte(`{"reden": "verkeerd document"}`))
	if r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	tr := r.json(t)
	if tr["status"] != "aborting" || tr["reden"] != "Ingetrokken: verkeerd document" {
		t.Errorf("after cancel: %s", r.body)
	}
	if n := e.count(`SELECT count(*) FROM events WHERE transaction_id = $1 AND type = 'cancel_requested' AND detail->>'reden' = 'Ingetrokken: verkeerd document'`, id); n != 1 {
		t.Errorf("cancel events = %d", n)
	}
	if n := e.count(`SELECT count(*) FROM river_job WHERE kind = 'abort' AND args->>'transaction_id' = $1`, id); n != 1 {
		t.Errorf("abort jobs = %d", n)
	}
	if r := e.do("POST", "/api/v1/transactions/"+id+"/cancel", key, nil); r.status != 409 {
		t.Errorf("second cancel while aborting: %d %s", r.status, r.body)
	}
	// A terminal transaction cannot be cancelled either.
	if _, err := e.pool.Exec(context.Background(), `UPDATE transactions SET state = 'completed' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if r := e.do("POST", "/api/v1/transactions/"+id+"/cancel", key, []byte(`{}`)); r.status != 409 {
		t.Errorf("cancel of a completed transaction: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/transactions/"+uuid.NewString()+"/cancel", key, nil); r.status != 404 {
		t.Errorf("cancel of an unknown transaction: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/transactions/not-a-uuid", key, nil); r.status != 400 || !strings.Contains(string(r.body), `"name":"id"`) {
		t.Errorf("bad id: %d %s", r.status, r.body)
	}
}

func TestListPagination(t *testing.T) {
	t.Parallel()
	e := setup(t)
	key := e.client(dbtest.NewRSIN())
	var ids []string
	for range 5 {
		ids = append(ids, e.create(key, example(t, "trigger-minimal.json")))
	}
	other := strings.ReplaceAll(string(example(t, "trigger-full.json")), "2cc803a9-7404-4289-8f3d-f2300f666eac", "3cc803a9-7404-4289-8f3d-f2300f666eac")
	e.create(key, []byte(other))
	zaak := "https://zaken.gemeente.example/api/v1/zaken/2cc803a9-7404-4289-8f3d-f2300f666eac"

	page1 := e.do("GET", "/api/v1/transactions?pageSize=2&zaak="+zaak, key, nil).json(t)
	if page1["count"].(float64) != 5 || len(page1["results"].([]any)) != 2 || page1["previous"] != nil {
		t.Fatalf("page 1: %v", page1)
	}
	next, _ := page1["next"].(string)
	if !strings.HasPrefix(next, "http://signingd.test/api/v1/transactions?") || !strings.Contains(next, "page=2") {
		t.Fatalf("next = %q", next)
	}
	page3 := e.do("GET", "/api/v1/transactions?pageSize=2&page=3&zaak="+zaak, key, nil).json(t)
	if len(page3["results"].([]any)) != 1 || page3["next"] != nil || page3["previous"] == nil {
		t.Errorf("page 3: %v", page3)
	}
	if got := page3["results"].([]any)[0].(map[string]any)["transaction_id"]; got != ids[0] {
		t.Errorf("oldest last: got %v, want %s", got, ids[0])
	}
	cancelled := e.do("GET", "/api/v1/transactions?status=aborting", key, nil).json(t)
	if cancelled["count"].(float64) != 0 {
		t.Errorf("status filter: %v", cancelled)
	}
	r := e.do("GET", "/api/v1/transactions?status=bogus&pageSize=500", key, nil)
	if r.status != 400 || !strings.Contains(string(r.body), `"name":"status"`) || !strings.Contains(string(r.body), `"name":"pageSize"`) {
		t.Errorf("bad filters: %d %s", r.status, r.body)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rsin := dbtest.NewRSIN()
	reader := e.client(rsin, auth.ScopeRead)
	tests := []struct {
		name, key string
		status    int
	}{
		{"no key", "", 401},
		{"unknown key", auth.GenerateAPIKey(), 401},
		{"malformed key", "hunter2", 401},
		{"missing scope", reader, 403},
	}
	for _, tt := range tests {
		r := e.do("POST", "/api/v1/transactions", tt.key, example(t, "trigger-minimal.json"))
		if r.status != tt.status {
			t.Errorf("%s: %d %s", tt.name, r.status, r.body)
		}
		// RFC 6750 §3.1: no error code for a request without credentials.
		want := `Bearer error="invalid_token"`
		if tt.key == "" {
			want = "Bearer"
		}
		if tt.status == 401 && r.header.Get("WWW-Authenticate") != want {
			t.Errorf("%s: WWW-Authenticate %q, want %q", tt.name, r.header.Get("WWW-Authenticate"), want)
		}
	}
	if r := e.do("GET", "/api/v1/transactions", reader, nil); r.status != 200 {
		t.Errorf("reader listing: %d", r.status)
	}
}

func TestRevokedClientRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rsin := dbtest.NewRSIN()
	key := e.client(rsin)
	if r := e.do("GET", "/api/v1/transactions", key, nil); r.status != 200 {
		t.Fatalf("before revoke: %d", r.status)
	}
	var clientID string
	if err := e.pool.QueryRow(context.Background(), `SELECT c.client_id FROM api_clients c JOIN api_keys k ON k.client_id = c.id WHERE k.digest = $1`, e.keys.Digest(key)).Scan(&clientID); err != nil {
		t.Fatal(err)
	}
	if err := e.st.RevokeClient(context.Background(), clientID, time.Now()); err != nil {
		t.Fatal(err)
	}
	// A fresh authenticator has no cache: the revocation is visible at once.
	fresh := auth.NewAPIKeys(e.st, []byte("test pepper"))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(auth.APIKeyHeader, key)
	if _, err := fresh.Authenticate(context.Background(), req); err == nil {
		t.Error("revoked key accepted")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.ready = store.New(dbtest.Pool(t), store.Jobs{}).Ping })
	if r := e.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
	if r := e.do("GET", "/readyz", "", nil); r.status != 200 {
		t.Errorf("readyz: %d %s", r.status, r.body)
	}
	// Nothing listens on port 1: the database is unreachable.
	down, err := store.Open(context.Background(), "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	e2 := setup(t, func(o *options) { o.ready = store.New(down, store.Jobs{}).Ping })
	if r := e2.do("GET", "/readyz", "", nil); r.status != 503 {
		t.Errorf("readyz without database: %d %s", r.status, r.body)
	}
}

func TestContractAndDocs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	spec := e.do("GET", "/openapi.yaml", "", nil)
	if spec.status != 200 || !bytes.Contains(spec.body, []byte("operationId: createTransaction")) {
		t.Errorf("openapi.yaml: %d", spec.status)
	}
	docs := e.do("GET", "/docs", "", nil)
	for _, want := range []string{"/api/v1/transactions/{id}/cancel", "Idempotency-Key", "ondertekenaars"} {
		if !bytes.Contains(docs.body, []byte(want)) {
			t.Errorf("docs page lacks %q", want)
		}
	}
	if r := e.do("GET", "/nope", "", nil); r.status != 404 || r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown route: %d %s", r.status, r.header.Get("Content-Type"))
	}
}

// TestIntakeKnowsWhatTheProviderCanDo: a signer authentication the organisation's provider does
// not offer, or the landscape does not allow for it, is a 400 at intake naming the field.
func TestIntakeKnowsWhatTheProviderCanDo(t *testing.T) {
	t.Parallel()
	sms := func() []byte {
		var m map[string]any
		_ = json.Unmarshal(example(t, "trigger-minimal.json"), &m)
		m["ondertekenaars"].([]any)[0].(map[string]any)["authenticatie"] = map[string]any{"methode": "sms", "waarde": "+31612345678"}
		b, _ := json.Marshal(m)
		return b
	}()
	tests := []struct {
		name      string
		offers    []string // the provider's methods
		landscape []string // the landscape's allowed methods
		status    int
	}{
		{name: "offered", status: 200},
		{name: "provider without sms", offers: []string{"email"}, status: 400},
		{name: "landscape allows email only", landscape: []string{"email"}, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prov := simulated.New(simulated.Config{BaseURL: "http://vendor.invalid", AuthMethods: tt.offers})
			land := config.Landscape{DefaultProvider: simulated.Name, Providers: []config.Provider{{Name: simulated.Name, AuthMethods: tt.landscape}}}
			e := setup(t, func(o *options) {
				o.providers = map[string]signing.Provider{simulated.Name: prov}
				o.landscape = &land
			})
			r := e.do("POST", "/api/v1/transactions", e.client(dbtest.NewRSIN()), sms)
			if r.status != tt.status {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tt.status)
			}
			if tt.status == 400 && !strings.Contains(string(r.body), `"name":"ondertekenaars.0.authenticatie.methode"`) {
				t.Errorf("the 400 does not name ondertekenaars.0.authenticatie.methode: %s", r.body)
			}
		})
	}
}
