package zgw_test

import (
	"net/http"
	"testing"

	"github.com/signingd/signingd/zgw/oasvalidate"
)

// validatingTransport wraps the client's transport with the OAS validator, which checks every
// request the client sends and every answer it gets against the official ZGW OAS files; the test
// fails on any violation. Benchmarks skip it: the validator buffers bodies, which would distort the
// peak-memory figure.
func validatingTransport(t testing.TB, rt http.RoundTripper) http.RoundTripper {
	t.Helper()
	if _, ok := t.(*testing.B); ok {
		return rt
	}
	v, err := oasvalidate.New(oasvalidate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		v.AssertClean(t)
		if v.Checked() == 0 {
			t.Error("the OAS validator checked no traffic")
		}
	})
	return v.Transport(rt)
}
