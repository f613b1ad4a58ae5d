package sim

import (
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is what an injected fault does to a request.
type FaultKind string

const (
	// FaultError answers with Status (500 when zero) and a Fout body.
	FaultError FaultKind = "error"
	// FaultRateLimit answers 429 with Retry-After (RetryAfter seconds, 1 when zero).
	FaultRateLimit FaultKind = "ratelimit"
	// FaultDrop hijacks the connection and closes it without a response; the request is not executed.
	FaultDrop FaultKind = "drop"
	// FaultDropAfter executes the request, throws its response away and closes the connection: the
	// client sees a dropped connection although the simulator did what was asked (a create answered
	// to a client that crashed or timed out before reading the answer).
	FaultDropAfter FaultKind = "drop-after"
	// FaultLatency delays the request by Latency and then serves it normally.
	FaultLatency FaultKind = "latency"
	// FaultAlter serves the request and changes the body of a successful answer on its way out
	// (eight bytes appended), as a proxy that rewrites content would: the client gets other bytes
	// than the DRC holds, with a consistent Content-Length.
	FaultAlter FaultKind = "alter"
)

// Fault is one fault injection rule. A request matches when Method, Path (exact) and PathPrefix match, each if set; the
// first Skip matching requests pass untouched; then the fault fires with Probability (always when zero) and, when
// Times > 0, only for the first Times firings.
type Fault struct {
	Kind        FaultKind     `json:"kind"`
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

type faultState struct {
	mu     sync.Mutex
	rng    *rand.Rand
	faults []*Fault
	fired  int
}

func (f *faultState) init(seed uint64) {
	f.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// AddFault adds an injection rule; rules are checked in the order added and the first that fires wins
// (latency rules add their delay and let checking continue).
func (s *Sim) AddFault(f Fault) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	f.fired, f.skipped = 0, 0
	s.faults.faults = append(s.faults.faults, &f)
}

// ClearFaults removes all injection rules.
func (s *Sim) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.faults = nil
}

// SetFaultSeed re-seeds the fault random source, for reproducible runs.
func (s *Sim) SetFaultSeed(seed uint64) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.init(seed)
}

// Faults returns the active rules.
func (s *Sim) Faults() []Fault {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make([]Fault, 0, len(s.faults.faults))
	for _, f := range s.faults.faults {
		out = append(out, *f)
	}
	return out
}

// FaultsFired counts the faults injected so far.
func (s *Sim) FaultsFired() int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.fired
}

// pick decides which fault (if any) applies to r, and the total added latency.
func (f *faultState) pick(r *http.Request) (*Fault, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var delay time.Duration
	for _, ft := range f.faults {
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
		if ft.Probability > 0 && f.rng.Float64() >= ft.Probability {
			continue
		}
		ft.fired++
		f.fired++
		if ft.Kind == FaultLatency {
			delay += ft.Latency
			continue
		}
		c := *ft
		return &c, delay
	}
	return nil, delay
}

// applyFaults injects the matching fault; it reports whether the request was answered (or dropped). next serves
// the request for FaultDropAfter; record logs the request, and is called before a connection is dropped.
func (s *Sim) applyFaults(w http.ResponseWriter, r *http.Request, next http.Handler, record func()) bool {
	ft, delay := s.faults.pick(r)
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return true
		}
	}
	if ft == nil {
		return false
	}
	switch ft.Kind {
	case FaultDrop:
		record()
		dropConnection(w)
	case FaultDropAfter:
		lost := &lostResponse{header: http.Header{}}
		next.ServeHTTP(lost, r)
		if sw, ok := w.(*statusWriter); ok && sw.status == 0 {
			sw.status = lost.status // the request log shows what was done
		}
		record()
		dropConnection(w)
	case FaultAlter:
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code < 300 {
			body = append(body, "\n%alter\n"...)
		}
		maps.Copy(w.Header(), rec.Header())
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	case FaultRateLimit:
		ra := ft.RetryAfter
		if ra <= 0 {
			ra = 1
		}
		w.Header().Set("API-version", apiVersionFor(r.URL.Path))
		s.writeProblem(w, r, &problem{Status: 429, Code: "throttled", Title: "Verzoek is afgeknepen.",
			Detail: "Verwacht beschikbaar te zijn over " + strconv.Itoa(ra) + " seconden.", RetryAfter: ra})
	default:
		st := ft.Status
		if st < 400 || st > 599 {
			st = 500
		}
		w.Header().Set("API-version", apiVersionFor(r.URL.Path))
		s.writeProblem(w, r, &problem{Status: st, Code: "error", Title: "Er is een serverfout opgetreden.", Detail: "Geïnjecteerde fout (sim)."})
	}
	return true
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	// HTTP/2 cannot be hijacked: abort the handler, which resets the stream.
	panic(http.ErrAbortHandler)
}

// lostResponse is a response that never reaches the client.
type lostResponse struct {
	header http.Header
	status int
}

func (l *lostResponse) Header() http.Header { return l.header }

func (l *lostResponse) WriteHeader(code int) {
	if l.status == 0 {
		l.status = code
	}
}

func (l *lostResponse) Write(b []byte) (int, error) {
	l.WriteHeader(http.StatusOK)
	return len(b), nil
}

func apiVersionFor(path string) string {
	switch {
	case strings.HasPrefix(path, DRCPath):
		return DRCVersion
	case strings.HasPrefix(path, ZRCPath):
		return ZRCVersion
	case strings.HasPrefix(path, NRCPath):
		return NRCVersion
	case strings.HasPrefix(path, ZTCPath):
		return ZTCVersion
	}
	return ""
}
