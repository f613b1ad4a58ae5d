package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/simulated"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
	"github.com/signingd/signingd/zgw/sim"
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
	t.Parallel()
	began := time.Now()
	dir := t.TempDir()
	bin := filepath.Join(dir, "signingd")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/signingd").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// The database: a fresh one, migrated by the first start.
	pool := freshDB(t)
	dbURL := pool.Config().ConnString()
	rsin := dbtest.NewRSIN()

	zs := sim.NewServer(sim.Options{Tokens: sim.TokensOpenZaak, Clients: map[string]sim.Client{
		"signingd-crash": {Secret: "crash-zgw-secret", Scopes: append(slices.Clone(sim.DefaultScopes), "documenten.geforceerd-unlock")},
	}})
	t.Cleanup(zs.Close)
	iot := zs.SeedInformatieobjecttype(sim.IOTSeed{Omschrijving: "Bewijs"})
	nrc := &subscriber{first: map[string]time.Time{}}
	nrc.srv = httptest.NewServer(nrc)
	t.Cleanup(nrc.srv.Close)
	zs.SeedKanaal(signing.Kanaal)
	if _, err := zs.SeedAbonnement(nrc.srv.URL, "Bearer x", signing.Kanaal, nil); err != nil {
		t.Fatal(err)
	}
	vendor := simulated.NewServer(simulated.ServerOptions{})
	vsrv := httptest.NewServer(vendor.Handler())
	t.Cleanup(func() { vsrv.Close(); vendor.Close() })

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	land := fmt.Sprintf(`organisations:
  - rsin: "%[1]s"
    name: Crash
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
`, rsin, zs.DRC(), zs.ZRC(), zs.NRC(), zs.ZTC(), vsrv.URL, webhookSecret,
		`{mode: zgw-jwt, client_id: signingd-crash, secret: crash-zgw-secret, user_id: signingd}`)
	landFile := filepath.Join(dir, "landscape.yaml")
	if err := os.WriteFile(landFile, []byte(land), 0o600); err != nil {
		t.Fatal(err)
	}
	vendor.SetWebhook("http://"+addr+"/api/v1/providers/simulated/webhook", webhookSecret)
	procEnv := append(os.Environ(), "DATABASE_URL="+dbURL, "LISTEN_ADDR="+addr, "PUBLIC_URL=http://"+addr,
		"CONFIG_FILE="+landFile, "SECRET_KEY=crash-test-pepper", "KEY_ENCRYPTION_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "LOG_LEVEL=error", "WORKERS=20",
		"RETRY_BASE=50ms", "RETRY_MAX=500ms", "MAX_ATTEMPTS=50", "LOCK_RETRY=100ms", "JOB_POLL_INTERVAL=50ms",
		"JOB_RESCUE_AFTER=2s", "SHUTDOWN_TIMEOUT=1s", "FORCE_UNLOCK_AFTER=2s")

	// An API client, registered the way `signingd clients create` does, with the same pepper.
	st := store.New(pool, store.Jobs{})
	if err := st.SyncOrganisations(context.Background(), map[string]string{rsin: "Crash"}); err != nil {
		t.Fatal(err)
	}
	client, err := st.CreateClient(context.Background(), store.NewClientID(), "crash", rsin, auth.AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	key := auth.GenerateAPIKey()
	if err := st.AddAPIKey(context.Background(), client.ID, auth.NewAPIKeys(st, []byte("crash-test-pepper")).Digest(key)); err != nil {
		t.Fatal(err)
	}

	e := &env{t: t, zgw: zs, rsin: rsin, iot: iot}
	var scenarios []scenario
	var triggers []map[string]any
	for range 50 {
		sc := e.scenario(2, 1, 2)
		scenarios = append(scenarios, sc)
		triggers = append(triggers, sc.trigger)
	}

	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve")
		cmd.Env = procEnv
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for range 500 {
			if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
				res.Body.Close()
				return cmd
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		t.Fatal("signingd serve never answered /healthz (its stderr is above)")
		return nil
	}
	post := func(i int) (string, bool) {
		b, _ := json.Marshal(triggers[i])
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/transactions", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", key)
		req.Header.Set("Idempotency-Key", fmt.Sprintf("crash-%d", i))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", false
		}
		defer res.Body.Close()
		var o struct {
			TransactionID string `json:"transaction_id"`
		}
		_ = json.NewDecoder(res.Body).Decode(&o)
		return o.TransactionID, res.StatusCode == http.StatusOK
	}
	// Signers act at the vendor whenever they are invited, independent of signingd's life.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			res, err := http.Get(vsrv.URL + "/api/signings")
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
							r, err := http.Post(fmt.Sprintf("%s/api/signings/%s/signers/%d/sign", vsrv.URL, s.ID, sg.Position), "application/json", nil)
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
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		kills++
	}
	cmd := start()
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()

	deadline := time.Now().Add(90 * time.Second)
	for _, id := range ids {
		for {
			s, err := st.StateOf(context.Background(), mustUUID(id))
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
				t.Fatalf("%s still %s", id, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
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
