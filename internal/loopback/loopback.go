// Package loopback holds the one rule for "this machine": plain text (SMTP without TLS) and plain
// HTTP (a client's jwks_uri) are allowed only to a loopback host.
package loopback

import (
	"net/netip"
	"strings"
)

// Host reports whether host (a name or an address, without port) is localhost or a loopback
// address.
func Host(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
