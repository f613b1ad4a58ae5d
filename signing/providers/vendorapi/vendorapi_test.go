package vendorapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
)

var now = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// setup serves h and returns a client for it that sends "Authorization: Bearer k".
func setup(t *testing.T, h http.HandlerFunc, cfg Config) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg.Vendor, cfg.BaseURL = "acme", srv.URL+"/api/"
	cfg.Auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer k") }
	cfg.Now = func() time.Time { return now }
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestErrors: every non-2xx answer is a VendorError with the vendor's wait and message.
func TestErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		body       string
		cfg        Config
		permanent  bool
		wait       time.Duration
		message    string
	}{
		{"500", 500, "", "boom\n", Config{}, false, 0, "boom"},
		{"503 with seconds", 503, "30", "", Config{}, false, 30 * time.Second, "Service Unavailable"},
		{"503 with an HTTP date", 503, now.Add(90 * time.Second).Format(http.TimeFormat), "", Config{}, false, 90 * time.Second, "Service Unavailable"},
		{"an HTTP date past", 503, now.Add(-time.Hour).Format(http.TimeFormat), "", Config{}, false, 0, "Service Unavailable"},
		{"a wait beyond the bound", 503, "99999999", "", Config{}, false, MaxRetryAfter, "Service Unavailable"},
		{"a date beyond the bound", 503, now.AddDate(1, 0, 0).Format(http.TimeFormat), "", Config{}, false, MaxRetryAfter, "Service Unavailable"},
		{"unreadable Retry-After", 503, "soon", "", Config{}, false, 0, "Service Unavailable"},
		{"429 without Retry-After", 429, "", "slow down", Config{RateLimitWait: time.Minute}, false, time.Minute, "slow down"},
		{"429 without Retry-After, no default", 429, "", "", Config{}, false, 0, "Too Many Requests"},
		{"429 with Retry-After", 429, "7", "", Config{RateLimitWait: time.Minute}, false, 7 * time.Second, "Too Many Requests"},
		{"400", 400, "", `{"error":"bad"}`, Config{}, true, 0, `{"error":"bad"}`},
		{"404", 404, "", "", Config{}, true, 0, "Not Found"},
		{"409", 409, "", "", Config{}, false, 0, "Conflict"},
		{"the vendor's message", 400, "", `{"code":"E1","text":"no signers"}`, Config{ErrorMessage: func(b []byte) string {
			var m struct{ Code, Text string }
			_ = json.Unmarshal(b, &m)
			return strings.TrimSpace(m.Code + " " + m.Text)
		}}, true, 0, "E1 no signers"},
		{"no vendor's message: the body", 400, "", "plain", Config{ErrorMessage: func([]byte) string { return "" }}, true, 0, "plain"},
		{"a long body, cut", 500, "", strings.Repeat("x", 2*maxMessage), Config{}, false, 0, strings.Repeat("x", maxMessage)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := setup(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}, tc.cfg)
			err := c.JSON(context.Background(), "get thing", http.MethodGet, "/things/1", nil, nil)
			var ve *signing.VendorError
			if !errors.As(err, &ve) {
				t.Fatalf("%v: no VendorError", err)
			}
			want := signing.VendorError{Vendor: "acme", Op: "get thing", Status: tc.status, RetryAfter: tc.wait, Message: tc.message}
			if *ve != want {
				t.Errorf("got  %+v\nwant %+v", *ve, want)
			}
			if errors.Is(err, signing.ErrPermanent) != tc.permanent {
				t.Errorf("permanent %v, want %v", !tc.permanent, tc.permanent)
			}
			if Status(err) != tc.status {
				t.Errorf("Status %d", Status(err))
			}
		})
	}
}

// TestRedirects: a redirect within the API's host is followed; one elsewhere is refused before
// the other host hears of it, and so is a sixth.
func TestRedirects(t *testing.T) {
	t.Parallel()
	var reached atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Store(true) }))
	t.Cleanup(other.Close)
	t.Cleanup(func() { // after the parallel subtests
		if reached.Load() {
			t.Error("the other host was called")
		}
	})
	for _, tc := range []struct {
		name      string
		to        string // where /api/start redirects
		ok        bool
		permanent bool
	}{
		{"same host", "/api/end", true, false},
		{"another host", strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/api/end", false, true},
		{"another port", other.URL + "/api/end", false, true},
		{"a loop", "/api/start", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := setup(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/api/start" {
					http.Redirect(w, r, tc.to, http.StatusFound)
					return
				}
				io.WriteString(w, `{"ok":true}`)
			}, Config{})
			var out struct{ OK bool }
			err := c.JSON(context.Background(), "start", http.MethodGet, "/start", nil, &out)
			if (err == nil) != tc.ok || out.OK != tc.ok || errors.Is(err, signing.ErrPermanent) != tc.permanent {
				t.Errorf("%v, answer %v", err, out.OK)
			}
		})
	}
}

// TestJSON: the body goes as JSON with the credentials, the answer is decoded; an answer that is
// no JSON is an error naming the operation, to retry.
func TestJSON(t *testing.T) {
	t.Parallel()
	c := setup(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/api/broken" {
			io.WriteString(w, "<html>")
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "auth": r.Header.Get("Authorization"),
			"type": r.Header.Get("Content-Type"), "accept": r.Header.Get("Accept"), "body": string(b)})
	}, Config{JSONType: "application/json; v=2"})
	var got map[string]string
	if err := c.JSON(context.Background(), "make", http.MethodPost, "/things", map[string]int{"n": 1}, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"path": "/api/things", "auth": "Bearer k", "type": "application/json; v=2",
		"accept": "application/json; v=2", "body": `{"n":1}`}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	err := c.JSON(context.Background(), "get broken", http.MethodGet, "/broken", nil, &got)
	if err == nil || !strings.Contains(err.Error(), "acme: get broken: decode answer") || errors.Is(err, signing.ErrPermanent) {
		t.Errorf("decode: %v", err)
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("decode: %v wraps no SyntaxError", err)
	}
}

// TestDownload: an answer up to limit bytes is read whole; a larger one is refused for good.
func TestDownload(t *testing.T) {
	t.Parallel()
	c := setup(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/pdf" {
			http.Error(w, "accept "+r.Header.Get("Accept"), http.StatusNotAcceptable)
			return
		}
		io.WriteString(w, strings.Repeat("x", 10))
	}, Config{DownloadType: "application/pdf"})
	for _, tc := range []struct {
		limit int64
		ok    bool
	}{{10, true}, {100, true}, {9, false}} {
		b, err := c.Download(context.Background(), "download", "/file", tc.limit)
		if tc.ok && (err != nil || len(b) != 10) {
			t.Errorf("limit %d: %d bytes, %v", tc.limit, len(b), err)
		}
		if !tc.ok && (b != nil || !errors.Is(err, signing.ErrPermanent)) {
			t.Errorf("limit %d: %d bytes, %v; want permanent", tc.limit, len(b), err)
		}
	}
}

// TestDo: a streamed body goes with the length the caller gives, and is closed.
func TestDo(t *testing.T) {
	t.Parallel()
	c := setup(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Length", r.Header.Get("Content-Length"))
		w.Write(b)
	}, Config{})
	body := &closer{Reader: strings.NewReader("hello")}
	resp, err := c.Do(context.Background(), "upload", Request{Method: http.MethodPut, Path: "/doc", Body: body, Size: 5,
		ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	if !body.wasClosed() {
		t.Error("body not closed")
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "hello" || resp.Header.Get("X-Length") != "5" {
		t.Errorf("%q, Content-Length %q", b, resp.Header.Get("X-Length"))
	}
	// a body that cannot be sent is closed all the same
	bad, _ := New(Config{Vendor: "acme", BaseURL: "no URL"})
	body = &closer{Reader: strings.NewReader("hello")}
	if _, err := bad.Do(context.Background(), "upload", Request{Method: http.MethodPut, Path: "/doc", Body: body}); !errors.Is(err, signing.ErrPermanent) || !body.wasClosed() {
		t.Errorf("bad base URL: %v, body closed %v", err, body.wasClosed())
	}
}

type closer struct {
	io.Reader
	closed atomic.Bool
}

func (c *closer) Close() error { c.closed.Store(true); return nil }

// wasClosed says whether the body is closed, within a second: the transport closes a body it
// sent after writing it, which may be after the answer came.
func (c *closer) wasClosed() bool {
	for range 100 {
		if c.closed.Load() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// TestNew: a base URL that is no absolute http(s) URL, or has a query or fragment, is refused; the given client is copied,
// not changed, and a missing one has a timeout.
func TestNew(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "example.org/api", "ftp://example.org/api", "https:///api", "http://[::1", "https://example.org/api?x=1", "https://example.org/api#x"} {
		c, err := New(Config{Vendor: "acme", BaseURL: u})
		if err == nil || c == nil {
			t.Fatalf("%q accepted", u)
		}
		if err := c.JSON(context.Background(), "get", http.MethodGet, "/x", nil, nil); !errors.Is(err, signing.ErrPermanent) {
			t.Errorf("%q: call: %v", u, err)
		}
		if _, err := c.GetLink(context.Background(), "get", "https://example.org/x"); !errors.Is(err, signing.ErrPermanent) {
			t.Errorf("%q: link: %v", u, err)
		}
	}
	given := &http.Client{Timeout: time.Second}
	c, err := New(Config{Vendor: "acme", BaseURL: "https://example.org/api", Client: given})
	if err != nil || given.CheckRedirect != nil || c.hc == given || c.hc.Timeout != time.Second {
		t.Errorf("given client: %v, changed %v", err, given.CheckRedirect != nil)
	}
	c, _ = New(Config{Vendor: "acme", BaseURL: "https://example.org/api"})
	if c.hc.Timeout != defaultTimeout {
		t.Errorf("default timeout %v", c.hc.Timeout)
	}
	if Status(errors.New("x")) != 0 || Status(nil) != 0 {
		t.Error("Status of an error that is no VendorError")
	}
}

// TestLinks: a link the vendor hands out is fetched, with the credentials, from the API's host or
// a link host only, and its redirects stay there; any other link is refused before a request is
// made. API calls never go to a link host.
func TestLinks(t *testing.T) {
	t.Parallel()
	var strays atomic.Int32 // requests that reached a host they should not have
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { strays.Add(1) }))
	t.Cleanup(other.Close)
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-other":
			http.Redirect(w, r, other.URL+"/f", http.StatusFound)
		case "/to-self":
			http.Redirect(w, r, "/f", http.StatusFound)
		case "/from-api":
			strays.Add(1)
		case "/gone":
			http.Error(w, "expired", http.StatusNotFound)
		default:
			io.WriteString(w, r.Header.Get("Authorization")+" "+r.Header.Get("Accept"))
		}
	}))
	t.Cleanup(files.Close)
	filesHost := strings.TrimPrefix(files.URL, "http://")
	c := setup(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/to-files":
			http.Redirect(w, r, files.URL+"/from-api", http.StatusFound)
		case "/files/to-files":
			http.Redirect(w, r, files.URL+"/f", http.StatusFound)
		default:
			io.WriteString(w, r.Header.Get("Authorization")+" "+r.Header.Get("Accept"))
		}
	}, Config{DownloadType: "application/pdf", LinkHosts: []string{"", filesHost}})
	api := c.base[:strings.Index(c.base, "/api")]
	const want = "Bearer k application/pdf"
	for _, tc := range []struct {
		name string
		link string
		ok   bool
	}{
		{"the API's host", api + "/files/a.pdf", true},
		{"a link host", files.URL + "/a.pdf?sig=x", true},
		{"the scheme in capitals", strings.ToUpper(files.URL[:len("http://")]) + filesHost + "/a.pdf", true},
		{"a redirect within the link host", files.URL + "/to-self", true},
		{"a redirect from the API's host to a link host", api + "/files/to-files", true},
		{"another host", other.URL + "/a.pdf", false},
		{"a link host by another name", strings.Replace(files.URL, "127.0.0.1", "localhost", 1) + "/a.pdf", false},
		{"another scheme", strings.Replace(files.URL, "http:", "https:", 1) + "/a.pdf", false},
		{"credentials in the link", strings.Replace(files.URL, "//", "//user:pw@", 1) + "/a.pdf", false},
		{"a relative link", "/files/a.pdf", false},
		{"no URL", "http://[::1", false},
		{"a redirect from a link host elsewhere", files.URL + "/to-other", false},
	} {
		b, err := c.DownloadLink(context.Background(), "download", tc.link, 1<<10)
		if tc.ok && (err != nil || string(b) != want) {
			t.Errorf("%s: %q, %v", tc.name, b, err)
		}
		if !tc.ok && (b != nil || !errors.Is(err, signing.ErrPermanent)) {
			t.Errorf("%s: %q, %v; want refused for good", tc.name, b, err)
		}
	}
	if _, err := c.DownloadLink(context.Background(), "download", files.URL+"/a.pdf", 3); !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("over the limit: %v", err)
	}
	// an API call redirected to a link host: refused
	if err := c.JSON(context.Background(), "get", http.MethodGet, "/to-files", nil, nil); !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("API call redirected to a link host: %v", err)
	}
	if n := strays.Load(); n != 0 {
		t.Errorf("%d requests reached a host they should not have", n)
	}
	// an error answer to a link is a VendorError as any other
	if resp, err := c.GetLink(context.Background(), "download", files.URL+"/gone"); resp != nil || Status(err) != http.StatusNotFound {
		t.Errorf("expired link: %v", err)
	}
}
