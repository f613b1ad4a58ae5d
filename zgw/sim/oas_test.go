package sim_test

import (
	"net/http"
	"testing"

	"github.com/signingd/signingd/zgw/oasvalidate"
)

// oasClient returns a client whose every request and response is validated against the official OAS; the test
// fails at cleanup on any violation, and when nothing at all was validated (a check that cannot fail is a defect).
func oasClient(t *testing.T, next http.RoundTripper) *http.Client {
	t.Helper()
	v, err := oasvalidate.New(oasvalidate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		v.AssertClean(t)
		if v.Skipped() > 0 {
			t.Errorf("OAS validation skipped %d bodies", v.Skipped())
		}
	})
	return &http.Client{Transport: v.Transport(next)}
}
