package api_test

import (
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
