package onespansim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

type callbackReg struct {
	URL    string   `json:"url"`
	Key    string   `json:"key"`
	Events []string `json:"events"`
}

// Delivery is one callback the simulator sent (or dropped).
type Delivery struct {
	Name      string
	PackageID string
	URL       string
	Body      []byte
	Key       string
	Status    int    // the receiver's HTTP status; 0 when it was not reached
	Err       string // why it was not delivered
	Dropped   bool   // dropped on purpose (DropCallbacks)
	Redeliver bool   // a re-send of an earlier delivery (Redeliver)
}

// SetCallback registers the account's callback, as POST /api/callback does.
func (s *Server) SetCallback(url, key string, events []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callback = &callbackReg{URL: url, Key: key, Events: slices.Clone(events)}
}

func (s *Server) registerCallback(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxPayload))
	if err != nil {
		apiError(w, http.StatusBadRequest, "error.validation", "read body")
		return
	}
	var reg callbackReg
	if _, ok := s.decodeShaped(w, r, b, "callback", true, &reg); !ok {
		return
	}
	s.SetCallback(reg.URL, reg.Key, reg.Events)
	writeJSON(w, http.StatusOK, reg)
}

func (s *Server) getCallback(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.callback == nil {
		writeJSON(w, http.StatusOK, callbackReg{Events: []string{}})
		return
	}
	writeJSON(w, http.StatusOK, s.callback)
}

// DropCallbacks makes the next n callbacks get lost (recorded as dropped), as OneSpan loses a
// callback whose delivery fails and never retries it.
func (s *Server) DropCallbacks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries.Drop(n)
}

// Callbacks returns the deliveries so far, in the order they were made.
func (s *Server) Callbacks() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveries.List(nil)
}

// emit sends the callback for event when the account registered it: once, in the background,
// never retried; s.mu is held. sessionUser is the signer (or sender) id; documentID is set for
// DOCUMENT_SIGNED only.
func (s *Server) emit(p *Package, event, sessionUser, documentID string) {
	if s.callback == nil || s.callback.URL == "" || !slices.Contains(s.callback.Events, event) {
		return
	}
	if sessionUser == "" {
		sessionUser = senderSigner(p.Sender).Email
	}
	var doc any
	if event == EventDocumentSigned && documentID != "" {
		doc = documentID
	}
	body, _ := json.Marshal(struct {
		Class       string `json:"@class"`
		Name        string `json:"name"`
		SessionUser string `json:"sessionUser"`
		PackageID   string `json:"packageId"`
		Message     any    `json:"message"`
		DocumentID  any    `json:"documentId"`
		CreatedDate string `json:"createdDate"`
	}{"com.silanis.esl.packages.event.ESLProcessEvent", event, sessionUser, p.ID, nil, doc, s.now().Format("2006-01-02T15:04:05.000Z")})
	d := &Delivery{Name: event, PackageID: p.ID, URL: s.callback.URL, Body: body, Key: s.callback.Key}
	if _, lost := s.deliveries.Record(d); lost {
		d.Dropped, d.Err = true, "dropped (DropCallbacks)"
		s.opts.Logger.Info("onespansim: callback dropped", "event", event, "package", p.ID)
		return
	}
	sent := *d
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.send(d, sent)
	}()
}

// send posts a delivery (a copy of rec, taken under s.mu) once and records the outcome in rec.
func (s *Server) send(rec *Delivery, d Delivery) {
	status, err := s.post(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Status = status
	if err != nil {
		rec.Err = err.Error()
		s.opts.Logger.Warn("onespansim: callback failed; not retried", "event", d.Name, "package", d.PackageID, "err", err)
	}
}

func (s *Server) post(d Delivery) (int, error) {
	req, err := http.NewRequest(http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Basic "+d.Key)
	select {
	case <-s.closed:
		return 0, fmt.Errorf("simulator closed")
	default:
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("status %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// Redeliver sends delivery i again, byte for byte, synchronously (a duplicate, or the replay of a
// lost one as an operator does from the failure e-mail), and records it.
func (s *Server) Redeliver(i int) error {
	s.mu.Lock()
	orig, ok := s.deliveries.Get(i)
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("onespansim: no delivery %d", i)
	}
	d := *orig
	d.Status, d.Err, d.Dropped, d.Redeliver = 0, "", false, true
	rec := &d
	s.deliveries.Append(rec)
	sent := d
	s.mu.Unlock()
	start := time.Now()
	s.send(rec, sent)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := rec.Err; e != "" {
		return fmt.Errorf("onespansim: redeliver %d (after %s): %s", i, time.Since(start).Round(time.Millisecond), e)
	}
	return nil
}
