// Package zgw talks to the ZGW APIs (Documenten, Zaken, Notificaties, Catalogi) of the organisations
// signingd serves. Every URL it calls is first resolved against the service registry, so a trigger
// can never make signingd send a request (let alone credentials) anywhere but a configured service.
package zgw

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/signingd/signingd/internal/text"
)

// Service is one configured ZGW API of one organisation, with its outbound authentication.
type Service struct {
	RSIN string
	Kind string
	// Root is the API root as configured, normalised (lowercase host, default port dropped, no
	// trailing slash).
	Root string
	root *url.URL
	auth Authenticator
}

// URLError says why a URL is not acceptable for a service kind of an organisation. Its message is
// meant for the caller of the intake API, so it names the reason and not the configuration.
type URLError struct {
	URL    string
	Kind   string
	Reason string
}

func (e *URLError) Error() string {
	return fmt.Sprintf("URL %q is not acceptable as a %s URL: %s", text.Truncate(e.URL, 200), kindName(e.Kind), e.Reason)
}

func kindName(kind string) string {
	switch kind {
	case KindDRC:
		return "Documenten API (drc)"
	case KindZRC:
		return "Zaken API (zrc)"
	case KindNRC:
		return "Notificaties API (nrc)"
	case KindZTC:
		return "Catalogi API (ztc)"
	}
	return kind
}

// Registry holds the ZGW services of all organisations in the landscape. It is safe for
// concurrent use; token caches live in the services' authenticators and are shared by all clients.
type Registry struct {
	byRSIN map[string][]*Service
	data   map[string]DataPolicy
}

// RegistryOptions tunes how the registry builds the services' authenticators.
type RegistryOptions struct {
	// Now is the clock for token claims; time.Now when nil. Tests inject a clock to check that
	// iat is never in the future.
	Now func() time.Time
	// TokenClient calls the configured OAuth2 token endpoints; a client with a 30 s timeout when nil.
	TokenClient *http.Client
	Logger      *slog.Logger
}

// NewRegistry builds the registry from the landscape. It fails on API roots that can't be parsed
// safely and on authentication that can't work (missing secret, unreadable key), so a bad landscape
// stops the service at startup instead of at the first signing.
func NewRegistry(orgs []Organisation, opts RegistryOptions) (*Registry, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.TokenClient = tokenClient(opts.TokenClient)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Registry{byRSIN: map[string][]*Service{}, data: map[string]DataPolicy{}}
	var errs []error
	for i, o := range orgs {
		r.data[o.RSIN] = o.Data
		for j, s := range o.Services {
			field := fmt.Sprintf("organisations[%d].services[%d]", i, j)
			root, err := parseRoot(s.APIRoot)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.api_root: %w", field, err))
				continue
			}
			auth, err := newAuthenticator(s.Auth, opts)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.auth: %w", field, err))
				continue
			}
			r.byRSIN[o.RSIN] = append(r.byRSIN[o.RSIN], &Service{
				RSIN: o.RSIN, Kind: s.Kind, Root: root.String(), root: root, auth: auth,
			})
			opts.Logger.Debug("zgw service", "rsin", o.RSIN, "kind", s.Kind, "root", root.String(), "auth", s.Auth.Mode)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("zgw: registry: %w", err)
	}
	return r, nil
}

// tokenClient returns a copy of hc (or a client with a 30 s timeout) that follows no redirect: a
// token endpoint that redirects must not get the client secret or assertion re-sent elsewhere.
func tokenClient(hc *http.Client) *http.Client {
	var c http.Client
	if hc != nil {
		c = *hc
	} else {
		c.Timeout = 30 * time.Second
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// parseRoot validates and normalises a configured API root.
func parseRoot(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%q: scheme must be https or http", raw)
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%q: no host", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("%q: an API root has no userinfo, query or fragment", raw)
	}
	p, err := cleanPath(u)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", raw, err)
	}
	return &url.URL{Scheme: u.Scheme, Host: normHost(u), Path: strings.TrimSuffix(p, "/")}, nil
}

// normHost lowercases the host and drops the scheme's default port, so that equal origins compare
// equal as strings.
func normHost(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return host + ":" + port
	}
	return host
}

// cleanPath returns the decoded path of u, refusing anything a server might resolve differently
// from a plain string prefix check: dot segments, encoded slashes or backslashes, empty segments.
func cleanPath(u *url.URL) (string, error) {
	esc := strings.ToLower(u.EscapedPath())
	if strings.Contains(esc, "%2f") || strings.Contains(esc, "%5c") || strings.Contains(esc, "\\") {
		return "", errors.New("the path contains an encoded slash or a backslash")
	}
	if strings.Contains(esc, "%2e") {
		return "", errors.New("the path contains an encoded dot")
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	if !strings.HasPrefix(p, "/") {
		return "", errors.New("the path is not absolute")
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return "", errors.New("the path contains a dot segment")
		}
	}
	if c := path.Clean(p); c != strings.TrimSuffix(p, "/") && c != p {
		return "", errors.New("the path is not in canonical form (empty segments)")
	}
	return p, nil
}

// Services returns the configured services of an organisation of a kind, in configuration order.
func (r *Registry) Services(rsin, kind string) []*Service {
	var out []*Service
	for _, s := range r.byRSIN[rsin] {
		if s.Kind == kind {
			out = append(out, s)
		}
	}
	return out
}

// DataPolicy returns which ZGW data the organisation may have signed beyond its own.
func (r *Registry) DataPolicy(rsin string) DataPolicy { return r.data[rsin] }

// Root returns the API root of the organisation's first service of a kind: where signingd creates
// resources (evidence documents, notifications) that no trigger URL points at.
func (r *Registry) Root(rsin, kind string) (string, bool) {
	if ss := r.Services(rsin, kind); len(ss) > 0 {
		return ss[0].Root, true
	}
	return "", false
}

// CheckURL reports whether rawURL may be used as a URL of the given kind for the organisation. The
// intake calls it on every URL of a trigger and names the field when it fails; the error is a
// *URLError with a reason fit for a 400 response.
func (r *Registry) CheckURL(rsin, kind, rawURL string) error {
	_, _, err := r.Resolve(rsin, kind, rawURL)
	return err
}

// CheckResource is CheckURL for the URL of a resource signingd keeps or sends on (a zaak, a
// document, a type; the evidence document the DRC created): besides lying under a configured root
// it has no query and no ;-parameters, so that /download or ?versie= appended to it address that
// resource and nothing else. Trigger URLs and URLs from ZGW answers pass the same check.
func (r *Registry) CheckResource(rsin, kind, rawURL string) error {
	switch {
	case strings.Contains(rawURL, "?"):
		return &URLError{URL: rawURL, Kind: kind, Reason: "it contains a query"}
	case strings.Contains(rawURL, ";"):
		return &URLError{URL: rawURL, Kind: kind, Reason: "it contains ; (path parameters)"}
	}
	return r.CheckURL(rsin, kind, rawURL)
}

// Resolve finds the organisation's service of the given kind whose API root contains rawURL, and
// returns it with the parsed, normalised URL to call. The comparison is strict: same scheme, the
// exact host and port, the root's path as a prefix on a segment boundary, no userinfo, no fragment,
// no dot segments, and no IP literal unless the root itself is that literal.
func (r *Registry) Resolve(rsin, kind, rawURL string) (*Service, *url.URL, error) {
	fail := func(reason string) (*Service, *url.URL, error) {
		return nil, nil, &URLError{URL: rawURL, Kind: kind, Reason: reason}
	}
	if rawURL == "" {
		return fail("it is empty")
	}
	if len(rawURL) > 2000 {
		return fail("it is longer than 2000 characters")
	}
	for _, c := range rawURL {
		if c <= ' ' || c == 0x7f {
			return fail("it contains whitespace or control characters")
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return fail("it is not a valid URL")
	}
	if !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return fail("it is not an absolute http(s) URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fail("the scheme must be https or http")
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return fail("it contains userinfo (user@host)")
	}
	if u.Fragment != "" || strings.Contains(rawURL, "#") {
		return fail("it contains a fragment")
	}
	p, err := cleanPath(u)
	if err != nil {
		return fail(err.Error())
	}
	host := normHost(u)
	services := r.Services(rsin, kind)
	if len(services) == 0 {
		if _, ok := r.byRSIN[rsin]; !ok {
			return fail("the organisation " + rsin + " is not configured")
		}
		return fail("the organisation has no " + kind + " service configured")
	}
	isIP := isIPLiteral(u.Hostname())
	for _, s := range services {
		if s.root.Scheme != u.Scheme || s.root.Host != host {
			continue
		}
		if !underPath(s.root.Path, p) {
			continue
		}
		out := &url.URL{Scheme: s.root.Scheme, Host: s.root.Host, Path: p, RawQuery: u.RawQuery}
		return s, out, nil
	}
	if isIP {
		return fail("IP literal hosts are not allowed")
	}
	return fail("it does not lie under a configured " + kind + " API root of the organisation")
}

func isIPLiteral(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	// Forms that some resolvers accept as IPv4 (decimal, hex, octal parts) never match a
	// configured host name, but name them for a clearer reason.
	return net.ParseIP(host) != nil || allDigitsOrHex(host)
}

func allDigitsOrHex(host string) bool {
	if host == "" {
		return false
	}
	for _, part := range strings.Split(host, ".") {
		if part == "" {
			return false
		}
		if strings.HasPrefix(part, "0x") || strings.HasPrefix(part, "0X") {
			continue
		}
		for _, c := range part {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// underPath reports whether p equals root or lies below it on a segment boundary.
func underPath(root, p string) bool {
	if root == "" || root == "/" {
		return true
	}
	return p == root || p == root+"/" || strings.HasPrefix(p, root+"/")
}
