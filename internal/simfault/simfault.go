// Package simfault is the fault injection the simulators share (the ZGW simulator, the vendor
// simulators): rules that match requests by method and path and make them fail the way real
// servers and networks do. A simulator picks the fault for each request and writes the answer in
// its own dialect (a ZGW problem document, a vendor's error body).
package simfault

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Kind is what an injected fault does to a request.
type Kind string

const (
	// Error answers with Status (500 when zero) and the simulator's error body.
	Error Kind = "error"
	// RateLimit answers 429 with Retry-After (RetryAfter seconds, 1 when zero).
	RateLimit Kind = "ratelimit"
	// Drop hijacks the connection and closes it without a response; the request is not executed.
	Drop Kind = "drop"
	// DropAfter executes the request, throws its response away and closes the connection: the
	// client sees a dropped connection although the simulator did what was asked (a create answered
	// to a client that crashed or timed out before reading the answer).
	DropAfter Kind = "drop-after"
	// Latency delays the request by Latency and then serves it normally.
	Latency Kind = "latency"
	// Alter serves the request and changes the body of a successful answer on its way out
	// (eight bytes appended), as a proxy that rewrites content would.
	Alter Kind = "alter"
)

// Fault is one fault injection rule. A request matches when Method, Path (exact) and PathPrefix
// match, each if set; the first Skip matching requests pass untouched; then the fault fires with
// Probability (always when zero) and, when Times > 0, only for the first Times firings.
type Fault struct {
	Kind        Kind          `json:"kind"`
	Method      string        `json:"method,omitempty"`
	Path        string        `json:"path,omitempty"`
	PathPrefix  string        `json:"pathPrefix,omitempty"`
	Skip        int           `json:"skip,omitempty"`
	Probability float64       `json:"probability,omitempty"`
	Times       int           `json:"times,omitempty"`
	Status      int           `json:"status,omitempty"`
	RetryAfter  int           `json:"retryAfter,omitempty"`
	Latency     time.Duration `json:"latency,omitempty"`
	fired       int
	skipped     int
}

// RetryAfterSeconds is the Retry-After a RateLimit fault sends: RetryAfter, at least 1.
func (f *Fault) RetryAfterSeconds() int { return max(f.RetryAfter, 1) }

// ErrorStatus is the status an Error fault answers with: Status when it is 4xx or 5xx, else 500.
func (f *Fault) ErrorStatus() int {
	if f.Status < 400 || f.Status > 599 {
		return http.StatusInternalServerError
	}
	return f.Status
}

// Set is a list of rules, safe for concurrent use. The zero Set is ready, seeded with 0.
type Set struct {
	mu     sync.Mutex
	rng    *rand.Rand
	faults []*Fault
	fired  int
}

// Seed re-seeds the random source the Probability draws come from, for reproducible runs.
func (s *Set) Seed(seed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Add adds a rule; rules are checked in the order added and the first that fires wins (latency
// rules add their delay and let checking continue).
func (s *Set) Add(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.fired, f.skipped = 0, 0
	s.faults = append(s.faults, &f)
}

// Clear removes all rules.
func (s *Set) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// List returns the active rules.
func (s *Set) List() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// Fired counts the faults injected so far.
func (s *Set) Fired() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fired
}

// Pick decides which fault (if any) applies to r, and the total latency the latency rules add.
func (s *Set) Pick(r *http.Request) (*Fault, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var delay time.Duration
	for _, ft := range s.faults {
		if ft.Method != "" && !strings.EqualFold(ft.Method, r.Method) {
			continue
		}
		if ft.Path != "" && r.URL.Path != ft.Path {
			continue
		}
		if ft.PathPrefix != "" && !strings.HasPrefix(r.URL.Path, ft.PathPrefix) {
			continue
		}
		if ft.skipped < ft.Skip {
			ft.skipped++
			continue
		}
		if ft.Times > 0 && ft.fired >= ft.Times {
			continue
		}
		if ft.Probability > 0 {
			if s.rng == nil {
				s.rng = rand.New(rand.NewPCG(0, 0x9e3779b97f4a7c15))
			}
			if s.rng.Float64() >= ft.Probability {
				continue
			}
		}
		ft.fired++
		s.fired++
		if ft.Kind == Latency {
			delay += ft.Latency
			continue
		}
		c := *ft
		return &c, delay
	}
	return nil, delay
}

// Wait sleeps for delay unless r is cancelled first; it reports whether the request is still wanted.
func Wait(r *http.Request, delay time.Duration) bool {
	if delay <= 0 {
		return true
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// DropConnection closes the client's connection without an answer.
func DropConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	// HTTP/2 cannot be hijacked: abort the handler, which resets the stream.
	panic(http.ErrAbortHandler)
}

// LostResponse is a response that never reaches the client (DropAfter): it keeps the status the
// handler wrote and throws the body away.
type LostResponse struct {
	header http.Header
	Status int
}

// NewLostResponse returns an empty LostResponse.
func NewLostResponse() *LostResponse { return &LostResponse{header: http.Header{}} }

// Header implements http.ResponseWriter.
func (l *LostResponse) Header() http.Header { return l.header }

// WriteHeader implements http.ResponseWriter.
func (l *LostResponse) WriteHeader(code int) {
	if l.Status == 0 {
		l.Status = code
	}
}

// Write implements http.ResponseWriter.
func (l *LostResponse) Write(b []byte) (int, error) {
	l.WriteHeader(http.StatusOK)
	return len(b), nil
}
