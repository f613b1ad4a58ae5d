package zgw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Client calls the ZGW services of one organisation. Every method takes full resource URLs, as
// ZGW references everything by URL, and refuses a URL that does not resolve to one of the
// organisation's services of the right kind before any byte goes out.
type Client struct {
	reg    *Registry
	rsin   string
	hc     *http.Client
	log    *slog.Logger
	now    func() time.Time
	upload UploadOptions
}

// ClientOptions configures a Client.
type ClientOptions struct {
	// HTTPClient supplies the transport (tests wrap it with a validator); its CheckRedirect and
	// Jar are replaced. A transport with connect and response-header timeouts when nil. No overall
	// timeout is set, since downloads and uploads of large documents take long: pass a context.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	Upload     UploadOptions
}

// UploadOptions chooses between base64 content inside the JSON and a chunked upload.
type UploadOptions struct {
	// PartThreshold is the content size from which bestandsdelen are used; DefaultPartThreshold
	// when zero.
	PartThreshold int64
}

// DefaultPartThreshold keeps base64 request bodies moderate (≈21 MiB) while most documents still
// go in one request.
const DefaultPartThreshold = 16 << 20

// NewClient returns a client for the organisation with the given RSIN.
func NewClient(reg *Registry, rsin string, opts ClientOptions) *Client {
	c := &Client{reg: reg, rsin: rsin, log: opts.Logger, now: opts.Now, upload: opts.Upload}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.upload.PartThreshold <= 0 {
		c.upload.PartThreshold = DefaultPartThreshold
	}
	var hc http.Client
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient
	} else {
		hc.Transport = DefaultTransport()
	}
	hc.Jar = nil
	hc.CheckRedirect = c.checkRedirect
	c.hc = &hc
	return c
}

// DefaultTransport is the transport ZGW calls use when none is given: no proxy (it would see the
// tokens), a connect timeout and a response-header timeout. Wrap it to instrument calls.
func DefaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // a proxy would see the bearer tokens; configure one explicitly if needed
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = 2 * time.Minute
	return t
}

// RSIN returns the organisation this client works for.
func (c *Client) RSIN() string { return c.rsin }

type serviceKey struct{}

// checkRedirect follows a redirect only on the same scheme and host. Credentials stay only when the
// target still lies under the API root of the service the first request resolved to.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0]
	if len(via) >= 5 {
		return &RedirectError{From: first.URL.String(), To: req.URL.String()}
	}
	svc, _ := first.Context().Value(serviceKey{}).(*Service)
	if svc == nil || req.URL.Scheme != svc.root.Scheme || normHost(req.URL) != svc.root.Host || req.URL.User != nil {
		return &RedirectError{From: first.URL.String(), To: req.URL.String()}
	}
	p, err := cleanPath(req.URL)
	if err != nil || !underPath(svc.root.Path, p) {
		req.Header.Del("Authorization")
		return nil
	}
	if err := svc.auth.Authorize(req); err != nil {
		return fmt.Errorf("zgw: authorize redirect: %w", err)
	}
	return nil
}

// request is one prepared call.
type request struct {
	op       string
	kind     string
	method   string
	url      string
	query    url.Values
	body     io.Reader
	length   int64 // -1 unknown
	ctype    string
	header   http.Header
	okStatus []int
}

// send resolves the URL, authenticates and sends the request. On a 2xx in okStatus it returns the
// open response; otherwise an *Error (or a wrapped transport error).
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	svc, u, err := c.reg.Resolve(c.rsin, r.kind, r.url)
	if err != nil {
		return nil, fmt.Errorf("zgw: %s: %w", r.op, err)
	}
	if r.query != nil {
		q := u.Query()
		for k, v := range r.query {
			q[k] = v
		}
		u.RawQuery = q.Encode()
	}
	ctx = context.WithValue(ctx, serviceKey{}, svc)
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), r.body)
	if err != nil {
		return nil, fmt.Errorf("zgw: %s %s: %w", r.op, u, err)
	}
	if r.body != nil && r.length >= 0 {
		req.ContentLength = r.length
		if r.length == 0 {
			req.Body = http.NoBody
		}
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if err := svc.auth.Authorize(req); err != nil {
		return nil, fmt.Errorf("zgw: %s %s: authenticate: %w", r.op, u, err)
	}
	start := c.now()
	resp, err := c.hc.Do(req)
	if err != nil {
		var re *RedirectError
		if errors.As(err, &re) {
			return nil, re
		}
		c.log.DebugContext(ctx, "zgw call failed", "op", r.op, "url", u.String(), "err", err)
		return nil, fmt.Errorf("zgw: %s %s: %w", r.op, u, err)
	}
	c.log.DebugContext(ctx, "zgw call", "op", r.op, "method", r.method, "url", u.String(),
		"status", resp.StatusCode, "duration", c.now().Sub(start))
	for _, s := range r.okStatus {
		if resp.StatusCode == s {
			return resp, nil
		}
	}
	return nil, newError(r.op, resp, c.now())
}

// maxJSONBody bounds a JSON answer; ZGW resources are small, lists of zaakinformatieobjecten too.
const maxJSONBody = 32 << 20

// decode reads a JSON answer into v and closes the body.
func decode(op string, resp *http.Response, v any) error {
	defer resp.Body.Close()
	if v == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxJSONBody))
		return nil
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxJSONBody))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("zgw: %s %s: decode answer: %w", op, resp.Request.URL, err)
	}
	return nil
}

// doJSON sends a JSON body (or none) and decodes the answer into out.
func (c *Client) doJSON(ctx context.Context, r request, in, out any) error {
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("zgw: %s: encode: %w", r.op, err)
		}
		r.body, r.length, r.ctype = bytes.NewReader(b), int64(len(b)), "application/json"
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	return decode(r.op, resp, out)
}
