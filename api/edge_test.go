package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/api"
	"github.com/signingd/signingd/internal/clientip"
	"github.com/signingd/signingd/store/dbtest"
)

// Every route sees one client address: the TCP peer, or X-Forwarded-For only from a trusted proxy.
func TestClientAddress(t *testing.T) {
	t.Parallel()
	whoami := func(e *echo.Echo) {
		e.GET("/whoami", func(c echo.Context) error {
			return c.String(http.StatusOK, clientip.From(c.Request())+" "+c.RealIP())
		})
	}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		want    string
	}{
		{"no trusted proxies", nil, "127.0.0.1 127.0.0.1"},
		{"loopback trusted", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "192.0.2.9 192.0.2.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(api.New(api.Deps{TrustedProxies: tc.trusted, Mounts: []func(*echo.Echo){whoami}}))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/whoami", nil)
			req.Header.Set("X-Forwarded-For", "203.0.113.1, 192.0.2.9")
			req.Header.Set("X-Real-IP", "198.51.100.3")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if string(b) != tc.want {
				t.Fatalf("got %q, want %q", b, tc.want)
			}
		})
	}
}

// Numbers out of range and NUL characters are the caller's mistake: 400 naming the field.
func TestNumbersAndNULAreBadRequests(t *testing.T) {
	t.Parallel()
	e := setup(t)
	key := e.client(dbtest.NewRSIN())
	trigger := string(example(t, "trigger-minimal.json"))
	for name, c := range map[string]struct {
		body  string
		field string
	}{
		"versie above int32":   {strings.Replace(trigger, `"versie": 1`, `"versie": 2147483648`, 1), "documenten.0.versie"},
		"versie above int64":   {strings.Replace(trigger, `"versie": 1`, `"versie": 92233720368547758070`, 1), "documenten.0.versie"},
		"volgorde above int32": {strings.Replace(trigger, `"volgorde": 1`, `"volgorde": 4294967296`, 1), "ondertekenaars.0.volgorde"},
	} {
		if !strings.Contains(c.body, "483648") && !strings.Contains(c.body, "758070") && !strings.Contains(c.body, "967296") {
			t.Fatalf("%s: the example changed; the body lacks the number", name)
		}
		r := e.do("POST", "/api/v1/transactions", key, []byte(c.body))
		if r.status != 400 || !strings.Contains(string(r.body), `"name":"`+c.field+`"`) {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	for _, q := range []string{"page=9223372036854775807", "page=1000001", "page=0", "pageSize=9223372036854775807"} {
		name, _, _ := strings.Cut(q, "=")
		r := e.do("GET", "/api/v1/transactions?"+q, key, nil)
		if r.status != 400 || !strings.Contains(string(r.body), `"name":"`+name+`"`) {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
	id := e.create(key, []byte(trigger))
	r := e.do("POST", "/api/v1/transactions/"+id+"/cancel", key, []byte(`{"reden": "a\u0000b"}`))
	if r.status != 400 || !strings.Contains(string(r.body), `"name":"reden"`) {
		t.Errorf("NUL in reden: %d %s", r.status, r.body)
	}
}

// Sixteen parallel 1 MiB triggers of empty documents add at most 64 MiB of heap: the array limit
// stops the decoding early instead of building every item.
func TestTriggerMemoryBounded(t *testing.T) {
	e := setup(t)
	key := e.client(dbtest.NewRSIN())
	var b strings.Builder
	b.WriteString(`{"documenten":[{}`)
	for b.Len() < 1<<20-4 {
		b.WriteString(`,{}`)
	}
	b.WriteString(`]}`)
	body := []byte(b.String())

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", "/api/v1/transactions", key, body)
			if r.status != 400 || !strings.Contains(string(r.body), `"name":"documenten"`) {
				t.Errorf("%d %.300s", r.status, r.body)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	added := int64(peak.Load()) - int64(base)
	t.Logf("16 parallel 1 MiB triggers: heap peak %.1f MiB above the %.1f MiB before", float64(added)/(1<<20), float64(base)/(1<<20))
	if added > 64<<20 {
		t.Errorf("16 parallel 1 MiB triggers added %.1f MiB of heap, want at most 64 MiB", float64(added)/(1<<20))
	}
}
