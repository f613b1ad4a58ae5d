package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	t.Parallel()
	proxies := New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")})
	cases := []struct {
		name   string
		r      *Resolver
		peer   string
		xff    []string
		realIP string
		want   string
	}{
		{"no proxies trusted: the header counts for nothing", New(nil), "198.51.100.1:4000", []string{"192.0.2.9"}, "192.0.2.8", "198.51.100.1"},
		{"untrusted peer", proxies, "198.51.100.1:4000", []string{"192.0.2.9"}, "", "198.51.100.1"},
		{"trusted peer, one hop", proxies, "10.1.1.1:4000", []string{"192.0.2.9"}, "", "192.0.2.9"},
		{"right-most untrusted hop wins over what the client wrote", proxies, "10.1.1.1:4000", []string{"1.1.1.1, 192.0.2.9, 10.2.2.2"}, "", "192.0.2.9"},
		{"hops over several header lines", proxies, "10.1.1.1:4000", []string{"1.1.1.1", "192.0.2.9", "10.2.2.2"}, "", "192.0.2.9"},
		{"all trusted: the left-most", proxies, "10.1.1.1:4000", []string{"10.3.3.3, 10.2.2.2"}, "", "10.3.3.3"},
		{"not an IP ends the walk", proxies, "10.1.1.1:4000", []string{"10.9.8.7 via gemeente-proxy"}, "", "10.1.1.1"},
		{"not an IP left of the client is never reached", proxies, "10.1.1.1:4000", []string{"junk, 192.0.2.9"}, "", "192.0.2.9"},
		{"a huge value is ignored", proxies, "10.1.1.1:4000", nil, strings.Repeat("1", 100_000), "10.1.1.1"},
		{"X-Real-IP from a trusted peer", proxies, "10.1.1.1:4000", nil, "192.0.2.5", "192.0.2.5"},
		{"X-Real-IP with a port is not an IP", proxies, "10.1.1.1:4000", nil, "192.0.2.5:80", "10.1.1.1"},
		{"IPv6 peer and mapped hop", proxies, "[2001:db8::1]:4000", []string{"::ffff:192.0.2.9"}, "", "192.0.2.9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if c.realIP != "" {
				r.Header.Set("X-Real-IP", c.realIP)
			}
			if got := c.r.Of(r); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestFromUsesTheHandlersAnswer(t *testing.T) {
	t.Parallel()
	var got string
	h := New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}).Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = From(r)
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:999"
	r.Header.Set("X-Forwarded-For", "192.0.2.1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "192.0.2.1" {
		t.Fatalf("From = %q", got)
	}
	if From(r) != "127.0.0.1" { // without the handler: the peer, never the header
		t.Fatalf("From without handler = %q", From(r))
	}
}
