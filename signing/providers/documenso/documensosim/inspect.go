package documensosim

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FaultKind is what an injected fault does.
type FaultKind string

// Fault kinds.
const (
	FaultError     FaultKind = "error"     // answer Status (500 when zero)
	FaultRateLimit FaultKind = "ratelimit" // answer 429 with Retry-After: RetryAfter seconds (1 when zero)
	FaultLatency   FaultKind = "latency"   // wait Latency, then serve
	FaultDrop      FaultKind = "drop"      // close the connection without an answer
)

// Fault is an injection rule for API requests matching Method (any when empty) and a path that
// starts with PathPrefix (after /api/v2); Times > 0 limits how often it fires.
type Fault struct {
	Kind       FaultKind     `json:"kind"`
	Method     string        `json:"method,omitempty"`
	PathPrefix string        `json:"pathPrefix,omitempty"`
	Times      int           `json:"times,omitempty"`
	Status     int           `json:"status,omitempty"`
	RetryAfter int           `json:"retryAfter,omitempty"`
	Latency    time.Duration `json:"latency,omitempty"`
	fired      int
}

// AddFault adds a rule; the first that fires wins (latency lets checking continue).
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	f.fired = 0
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// ClearFaults removes all rules.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// fault applies the rules to r; true when it answered.
func (s *Server) fault(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.Path
	for _, p := range []string{"/api/v2-beta", "/api/v2"} {
		path = strings.TrimPrefix(path, p)
	}
	for {
		s.mu.Lock()
		var hit *Fault
		for _, f := range s.faults {
			if (f.Method == "" || f.Method == r.Method) && strings.HasPrefix(path, f.PathPrefix) && (f.Times == 0 || f.fired < f.Times) {
				f.fired++
				hit = f
				break
			}
		}
		s.mu.Unlock()
		if hit == nil {
			return false
		}
		switch hit.Kind {
		case FaultLatency:
			time.Sleep(hit.Latency)
			if hit.Times == 0 {
				return false // an endless latency rule would match again
			}
			continue
		case FaultRateLimit:
			w.Header().Set("Retry-After", strconv.Itoa(max(1, hit.RetryAfter)))
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Too many requests, please try again later."})
		case FaultDrop:
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return true
				}
			}
			panic(http.ErrAbortHandler)
		default:
			st := hit.Status
			if st == 0 {
				st = http.StatusInternalServerError
			}
			apiError(w, st, "INTERNAL_SERVER_ERROR", "injected fault")
		}
		return true
	}
}

// inspectRoutes serves the inspection API for people with curl (no authentication: bind the
// simulator to loopback):
//
//	GET  /inspect/envelopes                         envelopes, newest last
//	POST /inspect/envelopes/{id}/sign?email=        a recipient signs (when it is their turn)
//	POST /inspect/envelopes/{id}/reject?email=&reason=
//	POST /inspect/envelopes/{id}/expire
//	POST /inspect/autosign?on=true|false
//	GET  /inspect/webhooks                          deliveries
//	POST /inspect/webhooks?url=&secret=             configure the webhook
//	POST /inspect/webhooks/drop?n=                  lose the next n
//	POST /inspect/webhooks/{i}/redeliver
//	POST /inspect/faults   (a Fault as JSON)        DELETE /inspect/faults
//	GET  /inspect/shape-errors
//	GET  /inspect/root.pem                          the CA of the sealing certificate
func (s *Server) inspectRoutes() {
	m := s.mux
	done := func(w http.ResponseWriter, err error) {
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, map[string]bool{"success": true})
		case errors.Is(err, ErrNotFound):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		default:
			writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		}
	}
	m.HandleFunc("GET /inspect/envelopes", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		out := []map[string]any{}
		for _, id := range s.order {
			out = append(out, s.envelopes[id].envelopeJSON())
		}
		writeJSON(w, http.StatusOK, out)
	})
	m.HandleFunc("GET /inspect/transactions/{txid}", func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.EnvelopeByExternalID(r.PathValue("txid"))
		if !ok {
			apiError(w, http.StatusNotFound, "NOT_FOUND", "no envelope with this externalId")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": id})
	})
	m.HandleFunc("POST /inspect/envelopes/{id}/sign", func(w http.ResponseWriter, r *http.Request) {
		done(w, s.Sign(r.PathValue("id"), r.URL.Query().Get("email")))
	})
	m.HandleFunc("POST /inspect/envelopes/{id}/reject", func(w http.ResponseWriter, r *http.Request) {
		done(w, s.Reject(r.PathValue("id"), r.URL.Query().Get("email"), r.URL.Query().Get("reason")))
	})
	m.HandleFunc("POST /inspect/envelopes/{id}/expire", func(w http.ResponseWriter, r *http.Request) {
		done(w, s.Expire(r.PathValue("id")))
	})
	m.HandleFunc("POST /inspect/autosign", func(w http.ResponseWriter, r *http.Request) {
		s.SetAutoSign(r.URL.Query().Get("on") != "false")
		done(w, nil)
	})
	m.HandleFunc("GET /inspect/webhooks", func(w http.ResponseWriter, r *http.Request) {
		type view struct {
			Event    string          `json:"event"`
			Attempts int             `json:"attempts"`
			Status   int             `json:"status"`
			Err      string          `json:"error,omitempty"`
			Dropped  bool            `json:"dropped,omitempty"`
			Body     json.RawMessage `json:"body"`
		}
		out := []view{}
		for _, d := range s.Webhooks() {
			out = append(out, view{d.Event, d.Attempts, d.Status, d.Err, d.Dropped, d.Body})
		}
		writeJSON(w, http.StatusOK, out)
	})
	m.HandleFunc("POST /inspect/webhooks", func(w http.ResponseWriter, r *http.Request) {
		s.SetWebhook(r.URL.Query().Get("url"), r.URL.Query().Get("secret"))
		done(w, nil)
	})
	m.HandleFunc("POST /inspect/webhooks/drop", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		s.DropWebhooks(n)
		done(w, nil)
	})
	m.HandleFunc("POST /inspect/webhooks/{i}/redeliver", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil {
			done(w, ErrNotFound)
			return
		}
		done(w, s.Redeliver(i))
	})
	m.HandleFunc("POST /inspect/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.AddFault(f)
		done(w, nil)
	})
	m.HandleFunc("DELETE /inspect/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		done(w, nil)
	})
	m.HandleFunc("GET /inspect/shape-errors", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, append([]string{}, s.ShapeErrors()...))
	})
	m.HandleFunc("GET /inspect/root.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_ = pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: s.root.Raw})
	})
}
