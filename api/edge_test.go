package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/api"
	"github.com/signingd/signingd/internal/clientip"
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
