package zgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/signingd/signingd/internal/text"
)

// InvalidParam is one entry of a ValidatieFout's invalidParams.
type InvalidParam struct {
	Name   string `json:"name"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// Error is a non-2xx answer of a ZGW API, parsed from its application/problem+json body when it
// has one (Fout / ValidatieFout).
type Error struct {
	Op     string // what the client was doing, e.g. "lock"
	Method string
	URL    string
	Status int

	Type          string
	Code          string
	Title         string
	Detail        string
	Instance      string
	InvalidParams []InvalidParam
	// RetryAfter is the delay the server asked for (Retry-After, seconds or HTTP date); zero when
	// it sent none.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "zgw: %s %s: %d", e.Op, e.URL, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Title != "" {
		b.WriteString(": " + e.Title)
	}
	if e.Detail != "" && e.Detail != e.Title {
		b.WriteString(" (" + text.Truncate(e.Detail, 300) + ")")
	}
	for i, p := range e.InvalidParams {
		if i == 5 {
			fmt.Fprintf(&b, " [+%d more]", len(e.InvalidParams)-5)
			break
		}
		fmt.Fprintf(&b, " [%s: %s: %s]", p.Name, p.Code, text.Truncate(p.Reason, 200))
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Transient reports whether repeating the same request later may succeed.
func (e *Error) Transient() bool {
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusLocked, http.StatusTooManyRequests:
		return true
	}
	return e.Status >= 500
}

// maxProblemBody bounds how much of an error body is read: problem documents are small, and a
// misbehaving server must not make us buffer an arbitrary amount.
const maxProblemBody = 64 << 10

// newError builds an *Error from a non-2xx response and closes its body.
func newError(op string, resp *http.Response, now time.Time) *Error {
	e := &Error{Op: op, Method: resp.Request.Method, URL: resp.Request.URL.String(), Status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxProblemBody))
	_ = resp.Body.Close()
	var p struct {
		Type          string         `json:"type"`
		Code          string         `json:"code"`
		Title         string         `json:"title"`
		Detail        string         `json:"detail"`
		Instance      string         `json:"instance"`
		InvalidParams []InvalidParam `json:"invalidParams"`
	}
	if len(body) > 0 && json.Unmarshal(body, &p) == nil {
		e.Type, e.Code, e.Title, e.Detail, e.Instance, e.InvalidParams = p.Type, p.Code, p.Title, p.Detail, p.Instance, p.InvalidParams
	}
	if e.Title == "" {
		e.Title = http.StatusText(resp.StatusCode)
	}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date; an unparsable or past value gives zero.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > 7*24*3600 {
			n = 7 * 24 * 3600
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// IsTransient reports whether err is worth retrying: 5xx, 408, 409, 423 and 429 answers, timeouts,
// refused or reset connections, and connections dropped mid-response.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var ze *Error
	if errors.As(err, &ze) {
		return ze.Transient()
	}
	var ue *URLError
	var re *RedirectError
	if errors.As(err, &ue) || errors.As(err, &re) {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// IsPermanent reports whether err will not go away by retrying: other 4xx answers, URLs refused by
// the registry, refused redirects, undecodable answers. A cancelled context is neither transient
// nor permanent.
func IsPermanent(err error) bool {
	return err != nil && !IsTransient(err) && !errors.Is(err, context.Canceled)
}

// RetryAfter returns the delay the server asked for before a retry, if it asked.
func RetryAfter(err error) (time.Duration, bool) {
	var ze *Error
	if errors.As(err, &ze) && ze.RetryAfter > 0 {
		return ze.RetryAfter, true
	}
	return 0, false
}

// StatusCode returns the HTTP status of a ZGW error answer, or 0.
func StatusCode(err error) int {
	var ze *Error
	if errors.As(err, &ze) {
		return ze.Status
	}
	return 0
}

// IsNotFound reports a 404 (or 410) answer.
func IsNotFound(err error) bool {
	s := StatusCode(err)
	return s == http.StatusNotFound || s == http.StatusGone
}

// lockParams returns the invalid params that are about the lock. Implementations differ in codes
// ("existing-lock", "incorrect-lock-id", "missing-lock-id", "unlocked", …), so this looks at the
// field name as well as the code.
func lockParams(e *Error) []InvalidParam {
	var out []InvalidParam
	for _, p := range e.InvalidParams {
		name, code := strings.ToLower(p.Name), strings.ToLower(p.Code)
		if name == "lock" || strings.Contains(code, "lock") {
			out = append(out, p)
		}
	}
	return out
}

// IsLocked reports that the document is locked by someone else: a lock attempt on a locked
// document, or a write without a lock on one. The caller may retry later or force an unlock.
func IsLocked(err error) bool {
	var ze *Error
	if !errors.As(err, &ze) {
		return false
	}
	switch ze.Status {
	case http.StatusLocked:
		return true
	case http.StatusBadRequest, http.StatusConflict:
	default:
		return false
	}
	for _, p := range lockParams(ze) {
		code := strings.ToLower(p.Code)
		if strings.Contains(code, "existing") || strings.Contains(code, "already") ||
			(strings.Contains(code, "locked") && !strings.Contains(code, "unlocked")) ||
			strings.Contains(code, "missing-lock") {
			return true
		}
	}
	return ze.Status == http.StatusConflict && strings.Contains(strings.ToLower(ze.Code+" "+ze.Title+" "+ze.Detail), "lock")
}

// IsWrongLock reports that the lock sent does not match the document's lock (or the document is
// not locked at all): our lock was lost, e.g. to a forced unlock.
func IsWrongLock(err error) bool {
	var ze *Error
	if !errors.As(err, &ze) || ze.Status != http.StatusBadRequest {
		return false
	}
	for _, p := range lockParams(ze) {
		code := strings.ToLower(p.Code)
		if strings.Contains(code, "incorrect") || strings.Contains(code, "invalid") ||
			strings.Contains(code, "wrong") || strings.Contains(code, "unlocked") || strings.Contains(code, "not-locked") ||
			(strings.ToLower(p.Name) == "lock" && !strings.Contains(code, "missing") && code != "required") {
			return true
		}
	}
	return false
}

// RedirectError is returned when a ZGW service redirects to a URL that is not under one of the
// organisation's API roots on the same host.
type RedirectError struct {
	From, To string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("zgw: refused redirect from %s to %s", e.From, text.Truncate(e.To, 200))
}
