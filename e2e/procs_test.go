package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
	"github.com/signingd/signingd/zgw/sim"
)

// The tests that run signingd as processes (crash, replicas, chaos, rolling upgrade) do not run in
// parallel with each other: each runs up to three processes with their own connection pools and
// River listeners, and together, beside the parallel tests, they would take more than the 100
// connections of a default Postgres.

// procs is what the tests that run signingd as processes share: the binary, a fresh database,
// the ZGW simulator with a case system's subscription, the simulated vendor, the landscape and an
// API client; each process gets its own address.
type procs struct {
	bin, landFile string
	pool          *pgxpool.Pool
	st            *store.Store
	zs            *sim.Server
	nrc           *subscriber
	vendor        *simulated.Server
	vendorURL     string
	clientID, key string // the API client's id and key
	e             *env   // for scenarios
	env           []string
}

const procsPepper = "procs-test-pepper"

// newProcs builds the binary and the landscape of organisation name. The vendor signs at once
// when autoSign.
func newProcs(t *testing.T, name string, autoSign bool) *procs {
	t.Helper()
	dir := t.TempDir()
	p := &procs{bin: filepath.Join(dir, "signingd")}
	if out, err := exec.Command("go", "build", "-o", p.bin, "../cmd/signingd").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	p.pool = freshDB(t)
	rsin := dbtest.NewRSIN()
	// The request log keeps every request: the tests count evidence documents created in it, and
	// retries under load go past the default 10 000.
	p.zs = sim.NewServer(sim.Options{MaxRequestLog: 1 << 20, Tokens: sim.TokensOpenZaak, Clients: map[string]sim.Client{
		"signingd-procs": {Secret: "procs-zgw-secret", Scopes: append(slices.Clone(sim.DefaultScopes), "documenten.geforceerd-unlock")},
	}})
	t.Cleanup(p.zs.Close)
	iot := p.zs.SeedInformatieobjecttype(sim.IOTSeed{Omschrijving: "Bewijs"})
	p.nrc = &subscriber{first: map[string]time.Time{}}
	p.nrc.srv = httptest.NewServer(p.nrc)
	t.Cleanup(p.nrc.srv.Close)
	p.zs.SeedKanaal(signing.Kanaal)
	if _, err := p.zs.SeedAbonnement(p.nrc.srv.URL, "Bearer x", signing.Kanaal, nil); err != nil {
		t.Fatal(err)
	}
	p.vendor = simulated.NewServer(simulated.ServerOptions{AutoSign: autoSign})
	vsrv := httptest.NewServer(p.vendor.Handler())
	t.Cleanup(func() { vsrv.Close(); p.vendor.Close() })
	p.vendorURL = vsrv.URL

	land := fmt.Sprintf(`organisations:
  - rsin: "%[1]s"
    name: %[9]s
    provider: simulated
    services:
      - {kind: drc, api_root: "%[2]s", auth: %[8]s}
      - {kind: zrc, api_root: "%[3]s", auth: %[8]s}
      - {kind: nrc, api_root: "%[4]s", auth: %[8]s}
      - {kind: ztc, api_root: "%[5]s", auth: %[8]s}
providers:
  - name: simulated
    auth_methods: [sms, email]
    base_url: "%[6]s"
    callback_key: "%[7]s"
    poll_interval: 500ms
`, rsin, p.zs.DRC(), p.zs.ZRC(), p.zs.NRC(), p.zs.ZTC(), vsrv.URL, webhookSecret,
		`{mode: zgw-jwt, client_id: signingd-procs, secret: procs-zgw-secret, user_id: signingd}`, name)
	p.landFile = filepath.Join(dir, "landscape.yaml")
	if err := os.WriteFile(p.landFile, []byte(land), 0o600); err != nil {
		t.Fatal(err)
	}
	p.env = append(os.Environ(), "DATABASE_URL="+p.pool.Config().ConnString(), "CONFIG_FILE="+p.landFile,
		"SECRET_KEY="+procsPepper, "KEY_ENCRYPTION_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "LOG_LEVEL=error", "WORKERS=20",
		"RETRY_BASE=50ms", "RETRY_MAX=500ms", "MAX_ATTEMPTS=50", "LOCK_RETRY=100ms", "JOB_POLL_INTERVAL=50ms",
		"JOB_RESCUE_AFTER=2s", "SHUTDOWN_TIMEOUT=1s", "FORCE_UNLOCK_AFTER=2s")

	// An API client, registered the way `signingd clients create` does, with the same pepper.
	p.st = store.New(p.pool, store.Jobs{})
	if err := p.st.SyncOrganisations(context.Background(), map[string]string{rsin: name}); err != nil {
		t.Fatal(err)
	}
	client, err := p.st.CreateClient(context.Background(), store.NewClientID(), name, rsin, auth.AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	p.clientID, p.key = client.ClientID, auth.GenerateAPIKey()
	if err := p.st.AddAPIKey(context.Background(), client.ID, auth.NewAPIKeys(p.st, []byte(procsPepper)).Digest(p.key)); err != nil {
		t.Fatal(err)
	}
	p.e = &env{t: t, zgw: p.zs, rsin: rsin, iot: iot}
	return p
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs `signingd serve` on addr and waits until it answers /healthz.
func (p *procs) start(t *testing.T, addr string) *exec.Cmd {
	t.Helper()
	return p.startWith(t, p.bin, p.env, addr)
}

// startWith runs bin's serve with env (a later CONFIG_FILE wins) on addr.
func (p *procs) startWith(t *testing.T, bin string, env []string, addr string) *exec.Cmd {
	t.Helper()
	cmd, err := tryStart(bin, env, addr)
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

// tryStart runs bin's serve on addr and waits until it answers /healthz, or says why not (for a
// goroutine, where t.Fatal may not be called).
func tryStart(bin string, env []string, addr string) (*exec.Cmd, error) {
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(slices.Clone(env), "LISTEN_ADDR="+addr, "PUBLIC_URL=http://"+addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	for range 500 {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			return cmd, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("signingd serve on %s exited before it answered /healthz (its stderr is above)", addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	return nil, fmt.Errorf("signingd serve on %s never answered /healthz (its stderr is above)", addr)
}

// stop ends a process as an orchestrator does: SIGTERM, and its exit.
func stop(cmd *exec.Cmd) { end(cmd, syscall.SIGTERM) }

// end sends sig and waits (up to 30 s) until the process is gone; tryStart's goroutine reaps it.
func end(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	for range 3000 {
		if cmd.Process.Signal(syscall.Signal(0)) != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// jsonRequest is a request with v as its JSON body.
func jsonRequest(method, url string, v any) (*http.Request, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

func decodeJSON(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }

// waitCompleted waits until every transaction has ended, failing t for one that ended otherwise
// than completed, and for one still open at the deadline (shown with its jobs). It returns how
// many were still open then.
func (p *procs) waitCompleted(t *testing.T, ids []string, deadline time.Time) (open int) {
	t.Helper()
	for _, id := range ids {
		for {
			s, err := p.st.StateOf(context.Background(), mustUUID(id))
			if err != nil {
				t.Fatal(err)
			}
			if s.Terminal() {
				if s != signing.StateCompleted {
					t.Errorf("%s ended %s", id, s)
				}
				break
			}
			if time.Now().After(deadline) {
				open++
				t.Errorf("%s still %s at the deadline; its jobs:\n%s", id, s, jobsOf(t, p, id))
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return open
}

// postTransaction posts a trigger with the API key (and an Idempotency-Key when idem is set) to
// the signingd at base and returns the transaction id, or why there is none.
func postTransaction(base, key, idem string, trigger map[string]any) (string, error) {
	req, err := jsonRequest(http.MethodPost, base+"/api/v1/transactions", trigger)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-API-Key", key)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var o struct {
		TransactionID string `json:"transaction_id"`
	}
	if err := decodeJSON(res, &o); err != nil || res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("trigger at %s: %d (%v)", base, res.StatusCode, err)
	}
	return o.TransactionID, nil
}
