// Package clientip decides which address a request comes from: the TCP peer, or what a trusted
// reverse proxy says the peer was. Rate limits, lockouts, the audit trail and the signer's evidence
// all read the address here, so they agree, and a forwarded header from anyone else counts for nothing.
package clientip

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds a request's client address given the proxies whose forwarded headers are trusted.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a resolver that believes X-Forwarded-For and X-Real-IP only from a peer inside one of
// the trusted prefixes; with none, the TCP peer is always the client.
func New(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: trusted}
}

// Of returns the client address of r: the right-most hop that is not a trusted proxy. Walking
// X-Forwarded-For from the right, every address a trusted proxy appended is skipped; the first
// untrusted one is the client. A value that is not an IP address ends the walk (what lies left of
// it was written by nobody we trust), so the last trusted hop stands.
func (rs *Resolver) Of(r *http.Request) string {
	peer, ok := parse(hostOf(r.RemoteAddr))
	if !ok {
		return hostOf(r.RemoteAddr)
	}
	if !rs.isTrusted(peer) {
		return peer.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	if len(hops) == 0 {
		if v, ok := parse(r.Header.Get("X-Real-IP")); ok {
			return v.String()
		}
		return peer.String()
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, ok := parse(parts[j])
			if !ok {
				return client.String()
			}
			client = a
			if !rs.isTrusted(a) {
				return a.String()
			}
		}
	}
	return client.String()
}

func (rs *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range rs.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parse accepts one IP address (IPv4, IPv6, IPv4-mapped IPv6 as IPv4), nothing else: no port, no
// name, no zone. An address is at most 45 characters, so a long value is refused before parsing.
func parse(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 45 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func hostOf(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

type ctxKey struct{}

// Handler stores the client address of every request in its context, for From.
func (rs *Resolver) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, rs.Of(r))))
	})
}

// From returns the client address of r as Handler stored it; without Handler in front (a test
// driving a handler directly) the TCP peer, never a forwarded header.
func From(r *http.Request) string {
	if a, ok := r.Context().Value(ctxKey{}).(string); ok {
		return a
	}
	return New(nil).Of(r)
}
