package sim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/signingd/signingd/zgw/sim"
)

func TestFaults(t *testing.T) {
	e := newEnv(t, sim.Options{})
	doc := e.seedDoc("x", sim.DocumentSeed{})

	t.Run("error", func(t *testing.T) {
		e.srv.ClearFaults()
		e.srv.AddFault(sim.Fault{Kind: sim.FaultError, Status: 503, Times: 2, PathPrefix: sim.DRCPath})
		for i, want := range []int{503, 503, 200} {
			if r := e.do("GET", doc, nil); r.status != want {
				t.Errorf("request %d: %d, want %d", i, r.status, want)
			} else if want == 503 && (r.code(t) != "error" || r.header.Get("Content-Type") != "application/problem+json") {
				t.Errorf("fault body %v %s", r.header, r.body)
			}
		}
	})
	t.Run("ratelimit", func(t *testing.T) {
		e.srv.ClearFaults()
		e.srv.AddFault(sim.Fault{Kind: sim.FaultRateLimit, RetryAfter: 7, Times: 1})
		r := e.do("GET", doc, nil)
		if r.status != 429 || r.header.Get("Retry-After") != "7" {
			t.Errorf("429: %d %v", r.status, r.header)
		}
		e.mustStatus(e.do("GET", doc, nil), 200)
	})
	t.Run("drop", func(t *testing.T) {
		e.srv.ClearFaults()
		e.srv.AddFault(sim.Fault{Kind: sim.FaultDrop, Method: "POST", Times: 1})
		req, _ := http.NewRequest("POST", doc+"/lock", nil)
		req.Header.Set("Content-Type", "application/json")
		if res, err := e.c.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("dropped connection gave a response: %d", res.StatusCode)
		}
		e.mustStatus(e.do("GET", doc, nil), 200) // GET does not match the method
		if len(e.srv.Locks()) != 0 {
			t.Error("dropped request was executed")
		}
	})
	t.Run("latency", func(t *testing.T) {
		e.srv.ClearFaults()
		e.srv.AddFault(sim.Fault{Kind: sim.FaultLatency, Latency: 150 * time.Millisecond, PathPrefix: sim.ZRCPath})
		start := time.Now()
		e.mustStatus(e.do("GET", doc, nil), 200)
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("DRC delayed by a ZRC rule: %v", d)
		}
		start = time.Now()
		e.do("GET", e.srv.ZRC()+"/zaakinformatieobjecten", nil)
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("latency not applied: %v", d)
		}
	})
	t.Run("probability is seeded", func(t *testing.T) {
		pattern := func() []int {
			e.srv.ClearFaults()
			e.srv.SetFaultSeed(42)
			e.srv.AddFault(sim.Fault{Kind: sim.FaultError, Probability: 0.5})
			var out []int
			for range 40 {
				out = append(out, e.do("GET", doc, nil).status)
			}
			return out
		}
		a, b := pattern(), pattern()
		var errs int
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("same seed, different pattern: %v vs %v", a, b)
			}
			if a[i] == 500 {
				errs++
			}
		}
		if errs < 8 || errs > 32 {
			t.Errorf("error rate 0.5 gave %d/40", errs)
		}
	})
	e.srv.ClearFaults()
}

func TestFaultsConcurrent(t *testing.T) {
	e := newEnv(t, sim.Options{})
	doc := e.seedDoc("x", sim.DocumentSeed{})
	e.srv.AddFault(sim.Fault{Kind: sim.FaultError, Times: 10})
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := 0
	for range 8 {
		wg.Go(func() {
			for range 10 {
				r := e.do("GET", doc, nil)
				mu.Lock()
				if r.status == 500 {
					errs++
				}
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			e.srv.Faults()
			e.srv.FaultsFired()
		}
	})
	wg.Wait()
	if errs != 10 || e.srv.FaultsFired() != 10 {
		t.Errorf("Times=10 fired %d (%d)", errs, e.srv.FaultsFired())
	}
}

func TestInspectionHTTP(t *testing.T) {
	e := newEnv(t, sim.Options{})
	post := func(path string, body any) map[string]any {
		t.Helper()
		data, _ := json.Marshal(body)
		res, err := http.Post(e.srv.URL+path, "application/json", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, res.StatusCode, m)
		}
		return m
	}
	get := func(path string, v any) {
		t.Helper()
		res, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(v); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, res.StatusCode, err)
		}
	}
	iot := post("/_sim/seed/informatieobjecttype", sim.IOTSeed{Omschrijving: "Bewijs"})["url"].(string)
	zaak := post("/_sim/seed/zaak", sim.ZaakSeed{Informatieobjecttypen: []string{iot}})["url"].(string)
	doc := post("/_sim/seed/document", map[string]any{"titel": "Via HTTP", "informatieobjecttype": iot, "zaak": zaak, "content": []byte("hallo")})["url"].(string)
	post("/_sim/seed/kanaal", map[string]any{"naam": "documentacties"})
	if docs := e.srv.ZaakDocuments(zaak); len(docs) != 1 || docs[0] != doc {
		t.Errorf("seeded relation: %v", docs)
	}
	lock := e.lock(doc)
	var locks []sim.LockInfo
	get("/_sim/locks", &locks)
	if len(locks) != 1 || locks[0].Lock != lock || locks[0].Document != doc {
		t.Errorf("locks %v", locks)
	}
	e.mustStatus(e.do("PATCH", doc, map[string]any{"lock": lock, "titel": "v2"}), 200)
	var versions []sim.VersionInfo
	uuid := doc[len(doc)-36:]
	get("/_sim/documents/"+uuid+"/versions", &versions)
	if len(versions) != 2 || versions[0].Size != 5 || versions[1].Metadata["titel"] != "v2" || versions[1].SHA256 != versions[0].SHA256 {
		t.Errorf("versions %+v", versions)
	}
	var reqs []map[string]any
	get("/_sim/requests", &reqs)
	if len(reqs) != 2 || reqs[1]["method"] != "PATCH" {
		t.Errorf("requests %v", reqs)
	}
	post("/_sim/faults", sim.Fault{Kind: sim.FaultError, Status: 502, Times: 1})
	if r := e.do("GET", doc, nil); r.status != 502 {
		t.Errorf("fault via HTTP: %d", r.status)
	}
	res, _ := http.Post(e.srv.URL+"/_sim/faults", "application/json", bytes.NewReader([]byte(`{"kind":"explode"}`)))
	if res.StatusCode != 400 {
		t.Errorf("bad fault kind: %d", res.StatusCode)
	}
	res.Body.Close()
	var n []map[string]any
	get("/_sim/notifications", &n)
	get("/_sim/deliveries", &n)
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, sim.Options{})
	e.srv.SeedKanaal("documentacties")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			doc := e.seedDoc("x", sim.DocumentSeed{})
			for range 5 {
				r := e.do("POST", doc+"/lock", nil)
				var l struct{ Lock string }
				_ = json.Unmarshal(r.body, &l)
				expect(t, e.do("PATCH", doc, map[string]any{"lock": l.Lock, "beschrijving": "w"}), 200)
				expect(t, e.do("POST", doc+"/unlock", map[string]string{"lock": l.Lock}), 204)
			}
			expect(t, e.do("POST", e.srv.NRC()+"/notificaties", map[string]any{"kanaal": "documentacties",
				"hoofdObject": doc, "resource": "zaak", "resourceUrl": doc, "actie": "a", "aanmaakdatum": "2025-03-27T10:00:00Z",
				"kenmerken": map[string]string{"n": string(rune('a' + i))}}), 200)
			if vs, _ := e.srv.Versions(doc); len(vs) != 6 {
				t.Errorf("versions %d", len(vs))
			}
		})
	}
	wg.Wait()
	if len(e.srv.Notifications()) != 8 {
		t.Errorf("notifications %d", len(e.srv.Notifications()))
	}
}

// expect is mustStatus for goroutines (t.Errorf instead of t.Fatalf).
func expect(t *testing.T, r resp, want int) {
	t.Helper()
	if r.status != want {
		t.Errorf("status %d, want %d: %s", r.status, want, r.body)
	}
}
