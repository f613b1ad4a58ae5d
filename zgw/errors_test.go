package zgw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeDRC serves canned answers on a loopback server, one handler per test case.
func fakeClient(t *testing.T, h http.HandlerFunc) (*Client, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	root := srv.URL + "/api/v1"
	reg := mustRegistry(t, testLandscape(ServiceSpec{Kind: KindDRC, APIRoot: root}))
	return NewClient(reg, testRSIN, ClientOptions{HTTPClient: srv.Client()}), root + "/enkelvoudiginformatieobjecten/f491249e-0651-4d22-a8a8-bb35885e9245"
}

func problem(w http.ResponseWriter, status int, code string, params ...InvalidParam) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	var ps []string
	for _, p := range params {
		ps = append(ps, fmt.Sprintf(`{"name":%q,"code":%q,"reason":%q}`, p.Name, p.Code, p.Reason))
	}
	fmt.Fprintf(w, `{"type":"https://x/ref/fouten/E/","code":%q,"title":"Fout","status":%d,"detail":"d","instance":"urn:uuid:1","invalidParams":[%s]}`,
		code, status, strings.Join(ps, ","))
}

func TestErrorClassification(t *testing.T) {
	httpDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	cases := []struct {
		name      string
		h         http.HandlerFunc
		transient bool
		locked    bool
		wrongLock bool
		retry     time.Duration // minimum expected
		status    int
	}{
		{name: "lock conflict (Open Zaak)", h: func(w http.ResponseWriter, r *http.Request) {
			problem(w, 400, "invalid", InvalidParam{"nonFieldErrors", "existing-lock", "Het document is al gelockt."})
		}, locked: true, status: 400},
		{name: "missing lock", h: func(w http.ResponseWriter, r *http.Request) {
			problem(w, 400, "invalid", InvalidParam{"nonFieldErrors", "missing-lock-id", "Dit document is gelockt."})
		}, locked: true, status: 400},
		{name: "423 locked", h: func(w http.ResponseWriter, r *http.Request) { problem(w, 423, "locked") },
			transient: true, locked: true, status: 423},
		{name: "wrong lock", h: func(w http.ResponseWriter, r *http.Request) {
			problem(w, 400, "invalid", InvalidParam{"nonFieldErrors", "incorrect-lock-id", "Incorrect lock ID."})
		}, wrongLock: true, status: 400},
		{name: "wrong lock, field-named", h: func(w http.ResponseWriter, r *http.Request) {
			problem(w, 400, "invalid", InvalidParam{"lock", "invalid", "Lock is niet geldig."})
		}, wrongLock: true, status: 400},
		{name: "validation", h: func(w http.ResponseWriter, r *http.Request) {
			problem(w, 400, "invalid", InvalidParam{"titel", "required", "Dit veld is vereist."})
		}, status: 400},
		{name: "403", h: func(w http.ResponseWriter, r *http.Request) { problem(w, 403, "permission_denied") }, status: 403},
		{name: "404", h: func(w http.ResponseWriter, r *http.Request) { problem(w, 404, "not_found") }, status: 404},
		{name: "500", h: func(w http.ResponseWriter, r *http.Request) { problem(w, 500, "error") }, transient: true, status: 500},
		{name: "502 html", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			io.WriteString(w, "<html>bad gateway</html>")
		}, transient: true, status: 502},
		{name: "429 seconds", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			problem(w, 429, "throttled")
		}, transient: true, retry: 7 * time.Second, status: 429},
		{name: "503 http date", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", httpDate)
			problem(w, 503, "unavailable")
		}, transient: true, retry: 80 * time.Second, status: 503},
		{name: "dropped connection", h: func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, transient: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl, eio := fakeClient(t, c.h)
			_, err := cl.Lock(context.Background(), eio)
			if err == nil {
				t.Fatal("no error")
			}
			if got := IsTransient(err); got != c.transient {
				t.Errorf("IsTransient = %v, want %v (%v)", got, c.transient, err)
			}
			if got := IsPermanent(err); got == c.transient {
				t.Errorf("IsPermanent = %v (%v)", got, err)
			}
			if got := IsLocked(err); got != c.locked {
				t.Errorf("IsLocked = %v, want %v (%v)", got, c.locked, err)
			}
			if got := IsWrongLock(err); got != c.wrongLock {
				t.Errorf("IsWrongLock = %v, want %v (%v)", got, c.wrongLock, err)
			}
			d, ok := RetryAfter(err)
			if c.retry > 0 && (!ok || d < c.retry || d > c.retry+15*time.Second) {
				t.Errorf("RetryAfter = %v, %v, want ≈%v", d, ok, c.retry)
			}
			if c.retry == 0 && ok {
				t.Errorf("RetryAfter = %v, want none", d)
			}
			if c.status != 0 {
				var ze *Error
				if !errors.As(err, &ze) || ze.Status != c.status {
					t.Fatalf("err = %#v, want *Error with status %d", err, c.status)
				}
				if ze.Title == "" || ze.Op != "lock" {
					t.Errorf("error lacks context: %+v", ze)
				}
			}
		})
	}
}

func TestProblemParsed(t *testing.T) {
	cl, eio := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		problem(w, 400, "invalid", InvalidParam{"nonFieldErrors", "incorrect-lock-id", "Incorrect lock ID."})
	})
	_, err := cl.UpdateEIO(context.Background(), eio, "abc", EIOFields{Titel: "x"}, nil)
	var ze *Error
	if !errors.As(err, &ze) {
		t.Fatalf("err = %v", err)
	}
	want := InvalidParam{"nonFieldErrors", "incorrect-lock-id", "Incorrect lock ID."}
	if ze.Code != "invalid" || ze.Detail != "d" || ze.Instance != "urn:uuid:1" || len(ze.InvalidParams) != 1 || ze.InvalidParams[0] != want {
		t.Errorf("parsed %+v", ze)
	}
	if !strings.Contains(err.Error(), "incorrect-lock-id") || !strings.Contains(err.Error(), "update document") {
		t.Errorf("message %q", err)
	}
}

func TestDownloadDroppedMidBody(t *testing.T) {
	cl, eio := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(200)
		io.WriteString(w, strings.Repeat("x", 1000))
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	rc, err := cl.Download(context.Background(), eio, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	if err == nil || !IsTransient(err) {
		t.Fatalf("read error %v, want a transient error", err)
	}
}

func TestTimeoutIsTransient(t *testing.T) {
	cl, eio := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := cl.RetrieveEIO(ctx, eio, 0)
	if !IsTransient(err) {
		t.Fatalf("timeout: %v not transient", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = cl.RetrieveEIO(ctx, eio, 0)
	if IsTransient(err) || IsPermanent(err) {
		t.Fatalf("cancelled: %v classified", err)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-5":                            0,
		"120":                           2 * time.Minute,
		"Sat, 01 Mar 2025 12:01:00 GMT": time.Minute,
		"Sat, 01 Mar 2025 11:00:00 GMT": 0,
		"soon":                          0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

// countingReader counts its reads in a plain field, so that the race detector sees a read after
// the caller took the reader back.
type countingReader struct{ reads int }

func (r *countingReader) Read(p []byte) (int, error) {
	r.reads++
	n := min(len(p), 512)
	clear(p[:n])
	return n, nil
}

// TestFailedUploadStopsReadingContent: when the DRC answers before reading the body, the content
// is no longer read once UpdateEIO returns (the caller closes it then; run with -race).
func TestFailedUploadStopsReadingContent(t *testing.T) {
	cl, eio := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		problem(w, 400, "invalid")
	})
	content := &countingReader{}
	_, err := cl.UpdateEIO(context.Background(), eio, "abc", EIOFields{Titel: "x"}, &Content{Reader: content, Size: 4 << 20})
	if err == nil {
		t.Fatal("upload refused by the DRC succeeded")
	}
	content.reads = -1 // the caller owns the reader again
}
