package sim_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signingd/signingd/zgw/oasvalidate"
	"github.com/signingd/signingd/zgw/sim"
)

func TestKanaal(t *testing.T) {
	e := newEnv(t, sim.Options{})
	kanaalURL := e.srv.NRC() + "/kanaal"
	var list []map[string]any
	_ = json.Unmarshal(e.mustStatus(e.do("GET", kanaalURL+"?naam=documentacties", nil), 200).body, &list)
	if list == nil || len(list) != 0 {
		t.Fatalf("want empty plain array, got %v", list)
	}
	r := e.mustStatus(e.do("POST", kanaalURL, map[string]any{"naam": "documentacties", "documentatieLink": "https://dev.oneground.nl/blog/integrating-signing-software-with-zgw", "filters": []string{}}), 201)
	if r.header.Get("Location") == "" || r.json(t)["naam"] != "documentacties" {
		t.Errorf("create: %v %s", r.header, r.body)
	}
	e.srv.SeedKanaal("zaken")
	_ = json.Unmarshal(e.mustStatus(e.do("GET", kanaalURL+"?naam=documentacties", nil), 200).body, &list)
	if len(list) != 1 || list[0]["naam"] != "documentacties" {
		t.Errorf("filtered list %v", list)
	}
	_ = json.Unmarshal(e.mustStatus(e.do("GET", kanaalURL, nil), 200).body, &list)
	if len(list) != 2 {
		t.Errorf("list %v", list)
	}
	for _, tc := range []struct {
		name string
		body any
		code string
	}{
		{"duplicate", map[string]any{"naam": "documentacties"}, "unique"},
		{"no naam", map[string]any{"filters": []string{}}, "required"},
		{"naam too long", map[string]any{"naam": "0123456789012345678901234567890123456789012345678901"}, "max_length"},
	} {
		r := e.invalid().do("POST", kanaalURL, tc.body)
		if r.status != 400 || r.invalidCodes(t)[0] != tc.code {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
}

// callback is a notification consumer (notificaties-consumer-api): it answers 204, or fails the first n calls.
type callback struct {
	srv      *httptest.Server
	mu       sync.Mutex
	received []map[string]any
	auths    []string
	failures atomic.Int32
}

func newCallback(t *testing.T, failFirst int32) *callback {
	c := &callback{}
	c.failures.Store(failFirst)
	v, err := oasvalidate.New(oasvalidate.Options{Mounts: []oasvalidate.Mount{{Prefix: "", File: "notificaties-consumer-api-1.0.0-rc1.yaml"}}})
	if err != nil {
		t.Fatal(err)
	}
	c.srv = httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		if c.failures.Add(-1) >= 0 {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(503)
			_, _ = w.Write([]byte(`{"type":"x","code":"unavailable","title":"t","status":503,"detail":"d","instance":"i"}`))
			return
		}
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		c.mu.Lock()
		c.received = append(c.received, m)
		c.auths = append(c.auths, r.Header.Get("Authorization"))
		c.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})))
	t.Cleanup(func() {
		c.srv.Close()
		v.AssertClean(t) // the sim's deliveries conform to the consumer OAS
	})
	return c
}

func (c *callback) got() ([]map[string]any, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]any{}, c.received...), append([]string{}, c.auths...)
}

func TestNotificatiesDelivery(t *testing.T) {
	e := newEnv(t, sim.Options{DeliveryBackoff: 5 * time.Millisecond})
	e.srv.SeedKanaal("documentacties", "transaction_id")
	all := newCallback(t, 0)
	filtered := newCallback(t, 0)
	flaky := newCallback(t, 2) // fails twice, then accepts (3 attempts by default)
	other := newCallback(t, 0)
	abo := e.srv.NRC() + "/abonnement"
	e.mustStatus(e.do("POST", abo, map[string]any{"callbackUrl": all.srv.URL + "/hook", "auth": "Bearer all",
		"kanalen": []map[string]any{{"naam": "documentacties"}}}), 201)
	e.mustStatus(e.do("POST", abo, map[string]any{"callbackUrl": filtered.srv.URL + "/hook", "auth": "Bearer f",
		"kanalen": []map[string]any{{"naam": "documentacties", "filters": map[string]string{"transaction_id": "t-2", "#actie": "OndertekenenVoltooid"}}}}), 201)
	e.mustStatus(e.do("POST", abo, map[string]any{"callbackUrl": flaky.srv.URL + "/hook", "auth": "Bearer flaky",
		"kanalen": []map[string]any{{"naam": "documentacties"}}}), 201)
	e.srv.SeedKanaal("zaken")
	e.mustStatus(e.do("POST", abo, map[string]any{"callbackUrl": other.srv.URL + "/hook", "auth": "Bearer o",
		"kanalen": []map[string]any{{"naam": "zaken"}}}), 201)
	r := e.invalid().do("POST", abo, map[string]any{"callbackUrl": all.srv.URL, "auth": "x", "kanalen": []map[string]any{{"naam": "bestaat-niet"}}})
	if r.status != 400 {
		t.Errorf("abonnement on unknown kanaal: %d", r.status)
	}
	var abos []map[string]any
	_ = json.Unmarshal(e.mustStatus(e.do("GET", abo, nil), 200).body, &abos)
	if len(abos) != 4 {
		t.Errorf("abonnementen %d", len(abos))
	}

	msg := func(tx, actie string) map[string]any {
		return map[string]any{"kanaal": "documentacties", "hoofdObject": "https://zrc.example/api/v1/zaken/1",
			"resource": "zaak", "resourceUrl": "https://zrc.example/api/v1/zaken/1", "actie": actie,
			"aanmaakdatum": "2025-03-27T10:00:00Z", "kenmerken": map[string]string{"transaction_id": tx}}
	}
	notifURL := e.srv.NRC() + "/notificaties"
	got := e.mustStatus(e.do("POST", notifURL, msg("t-1", "OndertekenenVoltooid")), 200).json(t)
	if got["kanaal"] != "documentacties" || got["actie"] != "OndertekenenVoltooid" {
		t.Errorf("echo %v", got)
	}
	e.mustStatus(e.do("POST", notifURL, msg("t-2", "OndertekenenVoltooid")), 200)
	e.mustStatus(e.do("POST", notifURL, msg("t-2", "OndertekenenAfgebroken")), 200)
	// all: 3, filtered: 1 (t-2 AND Voltooid), flaky: 3 after retries
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.WaitDeliveries(ctx, 7); err != nil {
		t.Fatal(err)
	}
	gotAll, auths := all.got()
	if len(gotAll) != 3 || auths[0] != "Bearer all" {
		t.Errorf("all: %d %v", len(gotAll), auths)
	}
	// deliveries run concurrently (no ordering, as with a real NRC); the t-1 message arrives unchanged
	i := slices.IndexFunc(gotAll, func(m map[string]any) bool {
		k, _ := m["kenmerken"].(map[string]any)
		return k["transaction_id"] == "t-1"
	})
	if i < 0 || gotAll[i]["resourceUrl"] != "https://zrc.example/api/v1/zaken/1" || gotAll[i]["aanmaakdatum"] != "2025-03-27T10:00:00Z" {
		t.Errorf("message not delivered unchanged: %v", gotAll)
	}
	gotF, authsF := filtered.got()
	if len(gotF) != 1 || gotF[0]["actie"] != "OndertekenenVoltooid" || authsF[0] != "Bearer f" {
		t.Errorf("filtered: %v", gotF)
	}
	if gotFlaky, _ := flaky.got(); len(gotFlaky) != 3 {
		t.Errorf("flaky got %d", len(gotFlaky))
	}
	if gotO, _ := other.got(); len(gotO) != 0 {
		t.Errorf("other kanaal got %d", len(gotO))
	}
	var failed int
	for _, d := range e.srv.Deliveries() {
		if !d.Delivered {
			failed++
			if d.Status != 503 {
				t.Errorf("failed delivery %+v", d)
			}
		}
	}
	if failed != 2 {
		t.Errorf("failed attempts %d, want 2", failed)
	}
	if n := e.srv.Notifications(); len(n) != 3 || n[0].Message.Kenmerken["transaction_id"] != "t-1" {
		t.Errorf("Notifications %+v", n)
	}

	for _, tc := range []struct {
		name   string
		mutate func(map[string]any)
		code   string
	}{
		{"unknown kanaal", func(m map[string]any) { m["kanaal"] = "onbekend" }, "kanaal_naam"},
		{"empty kenmerk", func(m map[string]any) { m["kenmerken"] = map[string]string{"reden": ""} }, "invalid"},
		{"missing actie", func(m map[string]any) { delete(m, "actie") }, "required"},
		{"bad aanmaakdatum", func(m map[string]any) { m["aanmaakdatum"] = "gisteren" }, "invalid"},
	} {
		m := msg("t-9", "x")
		tc.mutate(m)
		r := e.invalid().do("POST", notifURL, m)
		if r.status != 400 || r.invalidCodes(t)[0] != tc.code {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
}

func TestDeliveryGivesUp(t *testing.T) {
	e := newEnv(t, sim.Options{DeliveryBackoff: time.Millisecond, DeliveryAttempts: 2})
	e.srv.SeedKanaal("documentacties")
	dead := newCallback(t, 100)
	if _, err := e.srv.SeedAbonnement(dead.srv.URL+"/hook", "Bearer x", "documentacties", nil); err != nil {
		t.Fatal(err)
	}
	e.mustStatus(e.do("POST", e.srv.NRC()+"/notificaties", map[string]any{"kanaal": "documentacties",
		"hoofdObject": "https://x.example/1", "resource": "zaak", "resourceUrl": "https://x.example/1", "actie": "a",
		"aanmaakdatum": "2025-03-27T10:00:00Z"}), 200)
	deadline := time.Now().Add(5 * time.Second)
	for len(e.srv.Deliveries()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if d := e.srv.Deliveries(); len(d) != 2 || d[1].Attempt != 2 || d[1].Delivered {
		t.Errorf("deliveries %+v", d)
	}
}

func TestInternalNotifications(t *testing.T) {
	e := newEnv(t, sim.Options{})
	e.srv.SeedKanaal("zaken")
	e.srv.SeedKanaal("documenten")
	zaak, _ := e.srv.SeedZaak(sim.ZaakSeed{})
	doc := e.seedDoc("x", sim.DocumentSeed{})
	e.mustStatus(e.do("POST", e.srv.ZRC()+"/zaakinformatieobjecten", map[string]string{"informatieobject": doc, "zaak": zaak}), 201)
	lock := e.lock(doc)
	e.mustStatus(e.do("PATCH", doc, map[string]any{"lock": lock, "titel": "nieuw"}), 200)
	var kinds []string
	for _, n := range e.srv.Notifications() {
		if !n.Internal {
			t.Errorf("unexpected external %+v", n)
		}
		kinds = append(kinds, n.Message.Kanaal+"/"+n.Message.Resource+"/"+n.Message.Actie)
	}
	want := []string{"zaken/zaakinformatieobject/create", "documenten/enkelvoudiginformatieobject/partial_update"}
	if len(kinds) != 2 || kinds[0] != want[0] || kinds[1] != want[1] {
		t.Errorf("internal notifications %v, want %v", kinds, want)
	}
}
