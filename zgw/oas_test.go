package zgw_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/signingd/signingd/zgw/oasvalidate"
)

var (
	oasOnce sync.Once
	oasV    *oasvalidate.Validator
	oasErr  error
)

// validatingTransport wraps the client's transport with the OAS validator, which checks every
// request the client sends and every answer it gets against the official ZGW OAS files; the test
// fails on any violation. The specs are loaded once; the tests of this package run sequentially,
// so each test looks at the violations recorded since it started. Benchmarks skip validation: the
// validator buffers bodies, which would distort the peak-memory figure.
func validatingTransport(t testing.TB, rt http.RoundTripper) http.RoundTripper {
	t.Helper()
	if _, ok := t.(*testing.B); ok {
		return rt
	}
	oasOnce.Do(func() { oasV, oasErr = oasvalidate.New(oasvalidate.Options{}) })
	if oasErr != nil {
		t.Fatal(oasErr)
	}
	start := len(oasV.Violations())
	t.Cleanup(func() {
		for _, x := range oasV.Violations()[start:] {
			t.Errorf("OAS violation: %s", x)
		}
	})
	return oasV.Transport(rt)
}

// TestOASValidationIsWired guards against the validation silently checking nothing.
func TestOASValidationIsWired(t *testing.T) {
	before := 0
	if oasV != nil {
		before = oasV.Checked()
	}
	TestSimDocumentCalls(t)
	if oasV.Checked()-before < 10 {
		t.Errorf("the OAS validator checked %d exchanges", oasV.Checked()-before)
	}
}
