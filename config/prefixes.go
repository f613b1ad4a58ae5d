package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// Prefixes is a list of address ranges, such as the trusted reverse proxies.
type Prefixes []netip.Prefix

// ParsePrefixes reads comma-separated CIDRs; a single address stands for itself alone.
func ParsePrefixes(s string) (Prefixes, error) {
	var out Prefixes
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("want a CIDR such as 10.0.0.0/8, got %q", f)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("want a CIDR such as 10.0.0.0/8, got %q", f)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 { // addresses are compared unmapped
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// String lists the prefixes as TRUSTED_PROXIES takes them.
func (p Prefixes) String() string {
	s := make([]string, len(p))
	for i, x := range p {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}
