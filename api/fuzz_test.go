package api_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/signingd/signingd/store/dbtest"
)

// FuzzCreateTransaction posts arbitrary bodies and Idempotency-Keys through the whole intake, down
// to Postgres: a caller's mistake is never a server error, and never a panic.
func FuzzCreateTransaction(f *testing.F) {
	e := setup(f)
	key := e.client(dbtest.NewRSIN())
	full, minimal := example(f, "trigger-full.json"), example(f, "trigger-minimal.json")
	for _, seed := range []struct {
		body []byte
		key  string
	}{
		{full, ""}, {minimal, "k-1"}, {minimal, "k-1"}, {full, "k-1"}, {[]byte(`{}`), ""}, {[]byte(`[]`), ""},
		{[]byte(`{"naam": "\u0000"}`), ""}, {[]byte(`{"documenten": [{"versie": 1e400}]}`), ""}, {nil, ""},
	} {
		f.Add(seed.body, seed.key)
	}
	f.Fuzz(func(t *testing.T, body []byte, idem string) {
		for i := 0; i < len(idem); i++ {
			if c := idem[i]; c < 0x20 && c != '\t' || c == 0x7f {
				return // not a header value an HTTP client can send
			}
		}
		var header []string
		if idem != "" {
			header = []string{"Idempotency-Key", idem}
		}
		te := *e
		te.t = t
		if r := te.do("POST", "/api/v1/transactions", key, body, header...); r.status >= 500 {
			t.Fatalf("%d for %q (Idempotency-Key %q): %s", r.status, body, idem, r.body)
		}
	})
}

// FuzzListTransactions sends arbitrary query strings to the list: a bad parameter is a 400 naming
// it, never a server error.
func FuzzListTransactions(f *testing.F) {
	e := setup(f)
	key := e.client(dbtest.NewRSIN())
	e.create(key, example(f, "trigger-minimal.json"))
	for _, seed := range []string{"", "page=2", "pageSize=1&page=1", "page=9223372036854775807", "page=-1",
		"pageSize=9223372036854775807", "zaak=%00", "zaak=%ff", "status=completed", "page=1e3", "status=%00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		te := *e
		te.t = t
		u, err := url.Parse("/api/v1/transactions?" + query)
		if err != nil || u.Path != "/api/v1/transactions" {
			return // not a request line an HTTP client sends
		}
		if r := te.do("GET", u.String(), key, nil); r.status >= 500 {
			t.Fatalf("%d for %q: %s", r.status, query, r.body)
		}
	})
}

// FuzzCancelTransaction posts arbitrary cancel bodies: a bad reden is a 400 naming it, never a
// server error. Each run cancels a transaction of its own.
func FuzzCancelTransaction(f *testing.F) {
	e := setup(f)
	key := e.client(dbtest.NewRSIN())
	trigger := example(f, "trigger-minimal.json")
	for _, seed := range []string{`{"reden": "verkeerd document"}`, `{"reden": "a\u0000b"}`, `{"reden": 1}`, `{}`, ``,
		`{"reden": "` + strings.Repeat("é", 501) + `"}`, `{"reden": "\ud800"}`, `[]`, `null`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		te := *e
		te.t = t
		id := te.create(key, trigger)
		if r := te.do("POST", "/api/v1/transactions/"+id+"/cancel", key, body); r.status >= 500 {
			t.Fatalf("%d for %q: %s", r.status, body, r.body)
		}
	})
}
