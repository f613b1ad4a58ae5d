package docusealsim

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/signingd/signingd/internal/simfault"
)

// SetAutoSign makes every submitter sign as soon as it is their turn.
func (s *Server) SetAutoSign(on bool) {
	s.mu.Lock()
	s.autoSign = on
	s.mu.Unlock()
}

// SetOutput changes signed PDFs on their way out (to damage them in tests); nil restores them.
func (s *Server) SetOutput(f func([]byte) []byte) {
	s.mu.Lock()
	s.output = f
	s.mu.Unlock()
}

// AddFault adds a fault injection rule for API requests (paths as sent, e.g. /api/submissions).
func (s *Server) AddFault(f simfault.Fault) { s.faults.Add(f) }

// ClearFaults removes all fault rules.
func (s *Server) ClearFaults() { s.faults.Clear() }

// SubmissionByTransaction returns the submission whose submitters carry external ids
// "{txid}:{position}", as the adapter makes them.
func (s *Server) SubmissionByTransaction(txid string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		for _, sb := range s.submissions[id].Submitters {
			if strings.HasPrefix(sb.ExternalID, txid+":") {
				return strconv.FormatInt(id, 10), true
			}
		}
	}
	return "", false
}

// Submissions returns the number of submissions.
func (s *Server) Submissions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order)
}

// Submitters returns a submission's submitters as created.
func (s *Server) Submitters(submissionID string) []Submitter {
	id, _ := parseID(submissionID)
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.submissions[id]
	if sub == nil {
		return nil
	}
	out := make([]Submitter, len(sub.Submitters))
	for i, sb := range sub.Submitters {
		out[i] = *sb
		out[i].submission = nil
	}
	return out
}

// Fields returns a submission's fields as created, for tests to check their places.
func (s *Server) Fields(submissionID string) []Field {
	id, _ := parseID(submissionID)
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.submissions[id]
	if sub == nil {
		return nil
	}
	return append([]Field(nil), sub.Fields...)
}

// AddTemplate adds a template as one made in DocuSeal's UI: one PDF and a signature field per
// role at the foot of its first page. POST /submissions makes submissions from it.
func (s *Server) AddTemplate(name string, pdf []byte, roles ...string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.templates[s.nextID] = &template{ID: s.nextID, Name: name, Roles: roles, Doc: pdf, CreatedAt: s.now()}
	return s.nextID
}

// inspectRoutes serves the inspection API for people with curl (no authentication: bind the
// simulator to loopback):
//
//	GET    /inspect/submissions                        submissions as GET /api/submissions/{id} shows them
//	POST   /inspect/submissions/{id}/sign?email=       a submitter signs (when it is their turn)
//	POST   /inspect/submissions/{id}/decline?email=&reason=
//	POST   /inspect/submissions/{id}/expire
//	GET    /inspect/transactions/{txid}                {"id": submission id}
//	POST   /inspect/autosign?on=true|false
//	GET    /inspect/webhooks                           deliveries
//	POST   /inspect/webhooks?url=&secret=              configure the webhook
//	POST   /inspect/webhooks/header?name=&value=       the custom static header
//	POST   /inspect/webhooks/drop?n=                   lose the next n
//	POST   /inspect/webhooks/{i}/redeliver
//	GET    /inspect/faults, POST /inspect/faults (a simfault.Fault), DELETE /inspect/faults
//	GET    /inspect/shape-errors                       requests refused, answers not conforming
//	GET    /inspect/root.pem                           the CA of the signing certificate
func (s *Server) inspectRoutes(m *http.ServeMux) {
	done := func(w http.ResponseWriter, v any, err error) {
		switch {
		case err == nil:
			if v == nil {
				v = map[string]bool{"success": true}
			}
			writeJSON(w, http.StatusOK, v)
		case errors.Is(err, ErrNotFound):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		default:
			writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		}
	}
	m.HandleFunc("GET /inspect/submissions", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		out := []map[string]any{}
		for _, id := range s.order {
			out = append(out, s.submissionJSON(s.submissions[id], true, true, true))
		}
		s.mu.Unlock()
		done(w, out, nil)
	})
	m.HandleFunc("POST /inspect/submissions/{id}/sign", func(w http.ResponseWriter, r *http.Request) {
		done(w, nil, s.Sign(r.PathValue("id"), r.URL.Query().Get("email")))
	})
	m.HandleFunc("POST /inspect/submissions/{id}/decline", func(w http.ResponseWriter, r *http.Request) {
		done(w, nil, s.Decline(r.PathValue("id"), r.URL.Query().Get("email"), r.URL.Query().Get("reason")))
	})
	m.HandleFunc("POST /inspect/submissions/{id}/expire", func(w http.ResponseWriter, r *http.Request) {
		done(w, nil, s.Expire(r.PathValue("id")))
	})
	m.HandleFunc("GET /inspect/transactions/{txid}", func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.SubmissionByTransaction(r.PathValue("txid"))
		if !ok {
			done(w, nil, ErrNotFound)
			return
		}
		done(w, map[string]string{"id": id}, nil)
	})
	m.HandleFunc("POST /inspect/autosign", func(w http.ResponseWriter, r *http.Request) {
		s.SetAutoSign(r.URL.Query().Get("on") != "false")
		done(w, nil, nil)
	})
	m.HandleFunc("GET /inspect/webhooks", func(w http.ResponseWriter, r *http.Request) {
		type view struct {
			Event    string          `json:"event"`
			Attempts int             `json:"attempts"`
			Status   int             `json:"status"`
			Err      string          `json:"error,omitempty"`
			Dropped  bool            `json:"dropped,omitempty"`
			Done     bool            `json:"done"`
			Body     json.RawMessage `json:"body,omitempty"`
		}
		out := []view{}
		for _, d := range s.Webhooks() {
			out = append(out, view{d.Event, d.Attempts, d.Status, d.Err, d.Dropped, d.Done, d.Body})
		}
		done(w, out, nil)
	})
	m.HandleFunc("POST /inspect/webhooks", func(w http.ResponseWriter, r *http.Request) {
		s.SetWebhook(r.URL.Query().Get("url"), r.URL.Query().Get("secret"))
		done(w, nil, nil)
	})
	m.HandleFunc("POST /inspect/webhooks/header", func(w http.ResponseWriter, r *http.Request) {
		s.SetWebhookHeader(r.URL.Query().Get("name"), r.URL.Query().Get("value"))
		done(w, nil, nil)
	})
	m.HandleFunc("POST /inspect/webhooks/drop", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		s.DropWebhooks(n)
		done(w, nil, nil)
	})
	m.HandleFunc("POST /inspect/webhooks/{i}/redeliver", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil {
			done(w, nil, ErrNotFound)
			return
		}
		done(w, nil, s.Redeliver(i))
	})
	m.HandleFunc("GET /inspect/faults", func(w http.ResponseWriter, r *http.Request) { done(w, s.faults.List(), nil) })
	m.HandleFunc("POST /inspect/faults", func(w http.ResponseWriter, r *http.Request) {
		var f simfault.Fault
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		switch f.Kind {
		case simfault.Error, simfault.RateLimit, simfault.Drop, simfault.DropAfter, simfault.Latency, simfault.Alter:
		default:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unknown fault kind " + string(f.Kind)})
			return
		}
		s.AddFault(f)
		done(w, nil, nil)
	})
	m.HandleFunc("DELETE /inspect/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		done(w, nil, nil)
	})
	m.HandleFunc("GET /inspect/shape-errors", func(w http.ResponseWriter, r *http.Request) {
		done(w, map[string][]string{"requests": append([]string{}, s.ShapeErrors()...), "answers": append([]string{}, s.AnswerErrors()...)}, nil)
	})
	m.HandleFunc("GET /inspect/root.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_ = pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: s.root.Raw})
	})
}
