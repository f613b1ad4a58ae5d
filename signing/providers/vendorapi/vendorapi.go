// Package vendorapi is the HTTP client every vendor adapter calls its vendor's API with, so that
// all of them keep the same rules: requests go to the configured API root only (a redirect
// elsewhere would take the credentials along), and every non-2xx answer is a *signing.VendorError,
// which says itself whether retrying can help and how long the vendor asked us to wait. The one
// way out of the API root is a link a vendor's answer hands out (GetLink, DownloadLink), and only
// to the API's host or the few hosts the adapter names in Config.LinkHosts.
package vendorapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signingd/signingd/signing"
)

// MaxRetryAfter bounds the wait a Retry-After header can ask for: a vendor asking for more is
// taken to mean this.
const MaxRetryAfter = 7 * 24 * time.Hour

const (
	defaultTimeout = 60 * time.Second
	defaultMaxJSON = 16 << 20 // a JSON answer read by JSON
	maxRedirects   = 5
	maxErrorBody   = 64 << 10 // what is read of an error answer
	maxMessage     = 4096     // what of it goes into VendorError.Message
	maxDrained     = 64 << 10 // what is read of an answer nobody wants, to reuse the connection
)

// Config describes one vendor's API.
type Config struct {
	// Vendor names the vendor in errors and in VendorError.Vendor, e.g. "onespan".
	Vendor string
	// BaseURL is the API root, an absolute http(s) URL; request paths are appended to it.
	BaseURL string
	// Client is copied; its CheckRedirect is replaced. A client with a 60 s timeout when nil.
	Client *http.Client
	// Auth sets the credentials on every request, e.g. an Authorization header.
	Auth func(*http.Request)
	// JSONType is the Content-Type of JSON bodies and the Accept of JSON calls;
	// application/json when empty.
	JSONType string
	// DownloadType is the Accept of Download; none when empty.
	DownloadType string
	// LinkHosts are the hosts (host[:port]) besides the API's that links the vendor hands out in
	// its answers, files to download, may point to. Only GetLink and DownloadLink go there, never
	// Do, JSON or Download; none when empty.
	LinkHosts []string
	// MaxJSON bounds a JSON answer; 16 MiB when zero.
	MaxJSON int64
	// RateLimitWait is the wait assumed for a 429 without a Retry-After; none when zero.
	RateLimitWait time.Duration
	// ErrorMessage, when set, reads the vendor's error body (its first 64 KiB) into
	// VendorError.Message; when it is nil or returns "", the message is the start of the body.
	ErrorMessage func(body []byte) string
	// Now is the clock an HTTP-date Retry-After is read against; time.Now when nil.
	Now func() time.Time
}

// Client calls one vendor's API.
type Client struct {
	cfg    Config
	base   string   // BaseURL without a trailing slash
	baseU  *url.URL // base, parsed
	hc     *http.Client
	linkHC *http.Client // hc, but redirects may also go to LinkHosts
	err    error        // why BaseURL cannot be called
}

// New returns the client for cfg, and an error when BaseURL is no absolute http(s) URL. The client
// is never nil: with such an error, every call fails with it, matching signing.ErrPermanent.
func New(cfg Config) (*Client, error) {
	if cfg.JSONType == "" {
		cfg.JSONType = "application/json"
	}
	if cfg.MaxJSON == 0 {
		cfg.MaxJSON = defaultMaxJSON
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := http.Client{Timeout: defaultTimeout}
	if cfg.Client != nil {
		hc = *cfg.Client
	}
	linkHC := hc
	c := &Client{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), hc: &hc, linkHC: &linkHC}
	base, err := url.Parse(c.base)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" ||
		base.RawQuery != "" || base.Fragment != "" {
		err := fmt.Errorf("%s: base URL %q: an absolute http(s) URL without query or fragment is needed", cfg.Vendor, cfg.BaseURL)
		c.err = fmt.Errorf("%w: %w", err, signing.ErrPermanent)
		return c, err
	}
	c.baseU = base
	hc.CheckRedirect = c.checkRedirect(false)
	linkHC.CheckRedirect = c.checkRedirect(true)
	return c, nil
}

// checkRedirect lets a redirect go to the API's host, and with links to LinkHosts too.
func (c *Client) checkRedirect(links bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !c.allowed(req.URL, links) {
			return fmt.Errorf("%s: redirect to %s refused (only %s is called): %w", c.cfg.Vendor, req.URL.Host, c.baseU.Host, signing.ErrPermanent)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("%s: more than %d redirects", c.cfg.Vendor, maxRedirects)
		}
		return nil
	}
}

// allowed says whether u has the API's scheme and the API's host, or with links one of LinkHosts.
func (c *Client) allowed(u *url.URL, links bool) bool {
	if u.Scheme != c.baseU.Scheme {
		return false
	}
	if strings.EqualFold(u.Host, c.baseU.Host) {
		return true
	}
	if links {
		for _, h := range c.cfg.LinkHosts {
			if h != "" && strings.EqualFold(u.Host, h) {
				return true
			}
		}
	}
	return false
}

// Request is one request as the caller builds it.
type Request struct {
	Method string
	Path   string    // below the API root, query included
	Body   io.Reader // streamed as the transport reads it; closed when it is an io.Closer
	// Size is the body's length when the caller knows it and Body does not tell (a
	// *bytes.Reader or *strings.Reader does); unknown when zero.
	Size        int64
	ContentType string
	Accept      string
}

// Do sends r with the credentials. A non-2xx answer is a *signing.VendorError; otherwise the
// caller reads and closes the answer's body.
func (c *Client) Do(ctx context.Context, op string, r Request) (*http.Response, error) {
	if c.err != nil {
		closeBody(r.Body)
		return nil, c.err
	}
	return c.send(ctx, op, c.hc, c.base+r.Path, r)
}

// GetLink sends a GET with the credentials to link, an absolute URL that a vendor's answer handed
// out (a file to download), when it has the API's scheme, the API's host or one of
// Config.LinkHosts, and no credentials of its own; any other link is refused, matching
// signing.ErrPermanent, before a request is made, and so is a redirect elsewhere. Otherwise as
// Do, with the Accept of Download.
func (c *Client) GetLink(ctx context.Context, op, link string) (*http.Response, error) {
	if c.err != nil {
		return nil, c.err
	}
	u, err := url.Parse(link)
	if err != nil || u.User != nil || !c.allowed(u, true) {
		return nil, fmt.Errorf("%s: %s: link %q is not on the vendor's hosts: %w", c.cfg.Vendor, op, link, signing.ErrPermanent)
	}
	return c.send(ctx, op, c.linkHC, link, Request{Method: http.MethodGet, Accept: c.cfg.DownloadType})
}

// send sends r to target with hc; see Do.
func (c *Client) send(ctx context.Context, op string, hc *http.Client, target string, r Request) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, target, r.Body)
	if err != nil {
		closeBody(r.Body)
		return nil, fmt.Errorf("%s: %s: %w: %w", c.cfg.Vendor, op, err, signing.ErrPermanent)
	}
	if r.Size > 0 {
		req.ContentLength = r.Size
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if r.Accept != "" {
		req.Header.Set("Accept", r.Accept)
	}
	if c.cfg.Auth != nil {
		c.cfg.Auth(req)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", c.cfg.Vendor, op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, c.vendorError(op, resp)
	}
	return resp, nil
}

// closeBody closes a request body that was never sent, as the transport would have.
func closeBody(body io.Reader) {
	if rc, ok := body.(io.Closer); ok {
		rc.Close()
	}
}

// JSON sends in as JSON (no body when nil) and decodes the answer into out (discarded when nil).
func (c *Client) JSON(ctx context.Context, op, method, path string, in, out any) error {
	r := Request{Method: method, Path: path, Accept: c.cfg.JSONType}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", c.cfg.Vendor, op, err)
		}
		r.Body, r.ContentType = bytes.NewReader(b), c.cfg.JSONType
	}
	resp, err := c.Do(ctx, op, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrained))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, c.cfg.MaxJSON)).Decode(out); err != nil {
		return fmt.Errorf("%s: %s: decode answer: %w", c.cfg.Vendor, op, err)
	}
	return nil
}

// Download reads the answer to a GET of path whole; more than limit bytes is an error matching
// signing.ErrPermanent.
func (c *Client) Download(ctx context.Context, op, path string, limit int64) ([]byte, error) {
	resp, err := c.Do(ctx, op, Request{Method: http.MethodGet, Path: path, Accept: c.cfg.DownloadType})
	if err != nil {
		return nil, err
	}
	return c.readAll(op, resp, limit)
}

// DownloadLink reads the answer to GetLink of link whole, as Download.
func (c *Client) DownloadLink(ctx context.Context, op, link string, limit int64) ([]byte, error) {
	resp, err := c.GetLink(ctx, op, link)
	if err != nil {
		return nil, err
	}
	return c.readAll(op, resp, limit)
}

// readAll reads resp's body whole, at most limit bytes, and closes it.
func (c *Client) readAll(op string, resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", c.cfg.Vendor, op, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %s: more than %d bytes: %w", c.cfg.Vendor, op, limit, signing.ErrPermanent)
	}
	return b, nil
}

// Status is the HTTP status of the vendor's error answer in err, or 0.
func Status(err error) int {
	var ve *signing.VendorError
	if errors.As(err, &ve) {
		return ve.Status
	}
	return 0
}

func (c *Client) vendorError(op string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &signing.VendorError{Vendor: c.cfg.Vendor, Op: op, Status: resp.StatusCode,
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), c.cfg.Now())}
	if c.cfg.ErrorMessage != nil {
		e.Message = c.cfg.ErrorMessage(b)
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(strings.ToValidUTF8(string(b[:min(len(b), maxMessage)]), ""))
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if e.RetryAfter == 0 && resp.StatusCode == http.StatusTooManyRequests {
		e.RetryAfter = c.cfg.RateLimitWait
	}
	return e
}

// retryAfter reads delay-seconds or an HTTP date, at most MaxRetryAfter; zero when absent,
// unreadable or past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(min(max(n, 0), int64(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}
