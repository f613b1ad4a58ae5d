package sim

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/signingd/signingd/internal/simfault"
)

// FaultKind is what an injected fault does to a request (see simfault, which the vendor
// simulators share).
type FaultKind = simfault.Kind

// The fault kinds.
const (
	// FaultError answers with Status (500 when zero) and a Fout body.
	FaultError = simfault.Error
	// FaultRateLimit answers 429 with Retry-After (RetryAfter seconds, 1 when zero).
	FaultRateLimit = simfault.RateLimit
	// FaultDrop hijacks the connection and closes it without a response; the request is not executed.
	FaultDrop = simfault.Drop
	// FaultDropAfter executes the request, throws its response away and closes the connection: the
	// client sees a dropped connection although the simulator did what was asked.
	FaultDropAfter = simfault.DropAfter
	// FaultLatency delays the request by Latency and then serves it normally.
	FaultLatency = simfault.Latency
	// FaultAlter serves the request and changes the body of a successful answer on its way out
	// (eight bytes appended): the client gets other bytes than the DRC holds, with a consistent
	// Content-Length.
	FaultAlter = simfault.Alter
)

// Fault is one fault injection rule (simfault.Fault).
type Fault = simfault.Fault

// AddFault adds an injection rule; rules are checked in the order added and the first that fires wins
// (latency rules add their delay and let checking continue).
func (s *Sim) AddFault(f Fault) { s.faults.Add(f) }

// ClearFaults removes all injection rules.
func (s *Sim) ClearFaults() { s.faults.Clear() }

// SetFaultSeed re-seeds the fault random source, for reproducible runs.
func (s *Sim) SetFaultSeed(seed uint64) { s.faults.Seed(seed) }

// Faults returns the active rules.
func (s *Sim) Faults() []Fault { return s.faults.List() }

// FaultsFired counts the faults injected so far.
func (s *Sim) FaultsFired() int { return s.faults.Fired() }

// applyFaults injects the matching fault; it reports whether the request was answered (or dropped). next serves
// the request for FaultDropAfter; record logs the request, and is called before a connection is dropped.
func (s *Sim) applyFaults(w http.ResponseWriter, r *http.Request, next http.Handler, record func()) bool {
	ft, delay := s.faults.Pick(r)
	if !simfault.Wait(r, delay) {
		return true
	}
	if ft == nil {
		return false
	}
	switch ft.Kind {
	case FaultDrop:
		record()
		simfault.DropConnection(w)
	case FaultDropAfter:
		lost := simfault.NewLostResponse()
		next.ServeHTTP(lost, r)
		if sw, ok := w.(*statusWriter); ok && sw.status == 0 {
			sw.status = lost.Status // the request log shows what was done
		}
		record()
		simfault.DropConnection(w)
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
		ra := ft.RetryAfterSeconds()
		w.Header().Set("API-version", apiVersionFor(r.URL.Path))
		s.writeProblem(w, r, &problem{Status: 429, Code: "throttled", Title: "Verzoek is afgeknepen.",
			Detail: "Verwacht beschikbaar te zijn over " + strconv.Itoa(ra) + " seconden.", RetryAfter: ra})
	default:
		st := ft.ErrorStatus()
		w.Header().Set("API-version", apiVersionFor(r.URL.Path))
		s.writeProblem(w, r, &problem{Status: st, Code: "error", Title: "Er is een serverfout opgetreden.", Detail: "Geïnjecteerde fout (sim)."})
	}
	return true
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
