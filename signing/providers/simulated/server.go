// Package simulated is a signing vendor in miniature, for tests and the demo: a Server with its own
// small HTTP API (create a signing, upload documents, sign or decline per signer, cancel, fetch
// PDFs signed with PAdES signatures of its own) that calls a webhook signed with HMAC-SHA256 on every change, and a Provider that
// adapts it to signing.Provider the way a real vendor adapter would.
package simulated

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/signingd/signingd/internal/report"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>" on webhook calls.
const SignatureHeader = "X-Simulated-Signature"

// Signing statuses at the simulated vendor.
const (
	StatusDraft     = "draft"
	StatusPending   = "pending"
	StatusCompleted = "completed"
	StatusDeclined  = "declined"
	StatusCancelled = "cancelled"
	StatusExpired   = "expired"
)

// ServerOptions configure the simulated vendor.
type ServerOptions struct {
	// WebhookURL receives a POST on every change; none when empty.
	WebhookURL    string
	WebhookSecret string
	// AutoSign signs for every signer as soon as a signing starts (benchmarks).
	AutoSign bool
	Client   *http.Client
	Logger   *slog.Logger
	Now      func() time.Time
}

// Server is the simulated vendor. Its state lives in memory.
type Server struct {
	mu       sync.Mutex
	opts     ServerOptions
	signings map[string]*vendorSigning
	byExt    map[string]string
	wg       sync.WaitGroup
	closed   chan struct{}
	sealer   *sealer
	// output, when set, replaces each signed PDF the vendor hands back (SetOutput).
	output func(signed []byte) []byte
}

type vendorSigning struct {
	ID         string          `json:"id"`
	ExternalID string          `json:"external_id"`
	Naam       string          `json:"naam"`
	Status     string          `json:"status"`
	Reden      string          `json:"reden,omitempty"`
	Signers    []*vendorSigner `json:"signers"`
	Documents  []*vendorDoc    `json:"documents"`
	CreatedAt  time.Time       `json:"created_at"`
	audit      []AuditEntry
}

// AuditEntry is one line of the vendor's audit trail, as vendors keep one.
type AuditEntry struct {
	At        time.Time `json:"at"`
	Signer    int       `json:"signer"` // position, -1 for the vendor itself
	Event     string    `json:"event"`  // created, invited, signed, declined, cancelled, completed
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	Reden     string    `json:"reden,omitempty"`
}

// record adds an audit line; s.mu is held.
func (s *Server) record(v *vendorSigning, signer int, event string, r *http.Request, reden string) {
	e := AuditEntry{At: s.opts.Now().UTC(), Signer: signer, Event: event, Reden: reden}
	if r != nil {
		e.IP, e.UserAgent = r.RemoteAddr, r.UserAgent()
	}
	v.audit = append(v.audit, e)
}

type vendorSigner struct {
	Position   int       `json:"position"`
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	Volgorde   int       `json:"volgorde"`
	AuthMethod string    `json:"auth_method,omitempty"`
	Anchor     string    `json:"anchor,omitempty"` // text in the documents that the signature covers
	Status     string    `json:"status"`           // pending, invited, signed, declined
	At         time.Time `json:"at,omitzero"`
	Reden      string    `json:"reden,omitempty"`
	IP         string    `json:"ip,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
}

type vendorDoc struct {
	Position int    `json:"position"`
	Name     string `json:"name"`
	Size     int    `json:"size"`
	content  []byte
	signed   []byte
}

// NewServer returns a simulated vendor.
func NewServer(opts ServerOptions) *Server {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	sl, err := newSealer()
	if err != nil {
		panic(fmt.Sprintf("simulated: signing key: %v", err)) // crypto/rand failing is not recoverable
	}
	return &Server{opts: opts, signings: map[string]*vendorSigning{}, byExt: map[string]string{}, closed: make(chan struct{}), sealer: sl}
}

// SetWebhook sets where webhooks go (the service URL is often known only after the vendor starts).
func (s *Server) SetWebhook(url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.WebhookURL, s.opts.WebhookSecret = url, secret
}

// SetAutoSign turns instant signing on or off.
func (s *Server) SetAutoSign(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.AutoSign = on
}

// SetOutput makes the vendor hand back out(signed) instead of each signed PDF, as a faulty vendor
// would (the wrong file, a damaged one); nil restores the real output.
func (s *Server) SetOutput(out func(signed []byte) []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.output = out
}

// Close waits for webhook deliveries in flight and stops retries.
func (s *Server) Close() {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	s.wg.Wait()
}

// Handler serves the vendor API under /api/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/signings", s.create)
	mux.HandleFunc("GET /api/signings", s.list)
	mux.HandleFunc("GET /api/signings/{id}", s.get)
	mux.HandleFunc("PUT /api/signings/{id}/documents/{pos}", s.upload)
	mux.HandleFunc("GET /api/signings/{id}/documents/{pos}/signed", s.signed)
	mux.HandleFunc("POST /api/signings/{id}/start", s.start)
	mux.HandleFunc("POST /api/signings/{id}/cancel", s.cancel)
	mux.HandleFunc("POST /api/signings/{id}/expire", s.expire)
	mux.HandleFunc("POST /api/signings/{id}/signers/{pos}/sign", s.sign)
	mux.HandleFunc("POST /api/signings/{id}/signers/{pos}/decline", s.decline)
	mux.HandleFunc("GET /api/signings/{id}/audit", s.auditJSON)
	mux.HandleFunc("GET /api/signings/{id}/audit.pdf", s.auditPDF)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

type createBody struct {
	ExternalID string `json:"external_id"`
	Naam       string `json:"naam"`
	Signers    []struct {
		Position   int    `json:"position"`
		Email      string `json:"email"`
		Name       string `json:"name"`
		Volgorde   int    `json:"volgorde"`
		AuthMethod string `json:"auth_method"`
		Anchor     string `json:"anchor,omitempty"`
	} `json:"signers"`
	Documents []struct {
		Position int    `json:"position"`
		Name     string `json:"name"`
	} `json:"documents"`
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var in createBody
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "invalid JSON")
		return
	}
	if in.ExternalID == "" || len(in.Signers) == 0 || len(in.Documents) == 0 {
		fail(w, http.StatusBadRequest, "external_id, signers and documents are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byExt[in.ExternalID]; ok {
		writeJSON(w, http.StatusOK, s.signings[id])
		return
	}
	v := &vendorSigning{ID: newID(), ExternalID: in.ExternalID, Naam: in.Naam, Status: StatusDraft, CreatedAt: s.opts.Now()}
	for _, sg := range in.Signers {
		v.Signers = append(v.Signers, &vendorSigner{Position: sg.Position, Email: sg.Email, Name: sg.Name, Volgorde: sg.Volgorde, AuthMethod: sg.AuthMethod, Anchor: sg.Anchor, Status: "pending"})
	}
	sort.SliceStable(v.Signers, func(i, j int) bool { return v.Signers[i].Position < v.Signers[j].Position })
	for _, d := range in.Documents {
		v.Documents = append(v.Documents, &vendorDoc{Position: d.Position, Name: d.Name})
	}
	s.signings[v.ID] = v
	s.byExt[in.ExternalID] = v.ID
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ext := r.URL.Query().Get("external_id")
	out := []*vendorSigning{}
	for _, v := range s.signings {
		if ext == "" || v.ExternalID == ext {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	writeJSON(w, http.StatusOK, out)
}

// lookup finds a signing and, when pos is set, one of its documents or signers; s.mu is held.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*vendorSigning, bool) {
	v, ok := s.signings[r.PathValue("id")]
	if !ok {
		fail(w, http.StatusNotFound, "no such signing")
	}
	return v, ok
}

func position(w http.ResponseWriter, r *http.Request) (int, bool) {
	p, err := strconv.Atoi(r.PathValue("pos"))
	if err != nil || p < 0 {
		fail(w, http.StatusBadRequest, "bad position")
		return 0, false
	}
	return p, true
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.lookup(w, r); ok {
		writeJSON(w, http.StatusOK, v)
	}
}

func (s *Server) auditJSON(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.lookup(w, r); ok {
		writeJSON(w, http.StatusOK, append([]AuditEntry{}, v.audit...))
	}
}

// auditPDF is the vendor's own evidence document, in English as vendors write theirs: who did what
// when, from where.
func (s *Server) auditPDF(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	v, ok := s.lookup(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	rep := report.New(report.Info{Title: "Audit trail " + v.Naam, Author: "Simulated vendor", Created: v.CreatedAt})
	rep.Line(report.Title, "Audit trail")
	rep.Line(report.Body, "Signing "+v.ID+" ("+v.Naam+"), status "+v.Status)
	rep.Gap(6)
	for _, e := range v.audit {
		who := "vendor"
		if e.Signer >= 0 && e.Signer < len(v.Signers) {
			who = v.Signers[e.Signer].Name + " <" + v.Signers[e.Signer].Email + ">"
		}
		rep.Line(report.Body, e.At.Format(time.RFC3339)+" "+e.Event+" by "+who)
		if e.IP != "" {
			rep.Line(report.Small, "from "+e.IP+", "+e.UserAgent)
		}
	}
	s.mu.Unlock()
	b, err := rep.Bytes()
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	_, _ = w.Write(b)
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	pos, ok := position(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<30))
	if err != nil {
		fail(w, http.StatusBadRequest, "read body")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if v.Status != StatusDraft {
		fail(w, http.StatusConflict, "signing already started")
		return
	}
	for _, d := range v.Documents {
		if d.Position == pos {
			d.content, d.Size = body, len(body)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	fail(w, http.StatusNotFound, "no such document")
}

func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if v.Status != StatusDraft {
		writeJSON(w, http.StatusOK, v)
		return
	}
	for _, d := range v.Documents {
		if d.content == nil {
			fail(w, http.StatusConflict, fmt.Sprintf("document %d not uploaded", d.Position))
			return
		}
	}
	v.Status = StatusPending
	s.record(v, -1, "created", nil, "")
	s.invite(v)
	if s.opts.AutoSign {
		for v.Status == StatusPending {
			for _, sg := range v.Signers {
				if sg.Status == "invited" {
					s.doSign(v, sg, r)
				}
			}
		}
	}
	s.notify(v, "started")
	writeJSON(w, http.StatusOK, v)
}

// invite moves the lowest volgorde group with unsigned signers to invited; s.mu is held.
func (s *Server) invite(v *vendorSigning) {
	next := -1
	for _, sg := range v.Signers {
		if sg.Status != "signed" && (next < 0 || sg.Volgorde < next) {
			next = sg.Volgorde
		}
	}
	if next < 0 {
		v.Status = StatusCompleted
		s.record(v, -1, "completed", nil, "")
		s.stampAll(v)
		return
	}
	for _, sg := range v.Signers {
		if sg.Volgorde == next && sg.Status == "pending" {
			sg.Status = "invited"
			s.record(v, sg.Position, "invited", nil, "")
		}
	}
}

// stampAll signs every document for its signers. A document that is no PDF the signer can read
// (tests upload a few bytes) gets a trailing comment instead, so that signed still differs.
func (s *Server) stampAll(v *vendorSigning) {
	for _, d := range v.Documents {
		signed, err := s.sealer.sign(d.content, v.Signers)
		if err != nil {
			s.opts.Logger.Warn("simulated: document not signed as a PDF", "signing", v.ID, "document", d.Position, "err", err)
			signed = append(bytes.Clone(d.content), "\n% signed at the simulated vendor\n"...)
		}
		d.signed = signed
	}
}

func (s *Server) signer(w http.ResponseWriter, r *http.Request) (*vendorSigning, *vendorSigner, bool) {
	pos, ok := position(w, r)
	if !ok {
		return nil, nil, false
	}
	v, ok := s.lookup(w, r)
	if !ok {
		return nil, nil, false
	}
	for _, sg := range v.Signers {
		if sg.Position == pos {
			if v.Status != StatusPending {
				fail(w, http.StatusConflict, "signing is "+v.Status)
				return nil, nil, false
			}
			if sg.Status != "invited" {
				fail(w, http.StatusConflict, "signer is "+sg.Status+", not invited")
				return nil, nil, false
			}
			return v, sg, true
		}
	}
	fail(w, http.StatusNotFound, "no such signer")
	return nil, nil, false
}

func (s *Server) doSign(v *vendorSigning, sg *vendorSigner, r *http.Request) {
	sg.Status, sg.At = "signed", s.opts.Now().UTC()
	sg.IP, sg.UserAgent = r.RemoteAddr, r.UserAgent()
	s.record(v, sg.Position, "signed", r, "")
	done := true
	for _, o := range v.Signers {
		if o.Volgorde == sg.Volgorde && o.Status != "signed" {
			done = false
		}
	}
	if done {
		s.invite(v)
	}
}

func (s *Server) sign(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, sg, ok := s.signer(w, r)
	if !ok {
		return
	}
	s.doSign(v, sg, r)
	s.notify(v, "signed")
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) decline(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Reden string `json:"reden"`
	}
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in) // a reason is optional
	s.mu.Lock()
	defer s.mu.Unlock()
	v, sg, ok := s.signer(w, r)
	if !ok {
		return
	}
	sg.Status, sg.At, sg.Reden = "declined", s.opts.Now().UTC(), in.Reden
	sg.IP, sg.UserAgent = r.RemoteAddr, r.UserAgent()
	v.Status, v.Reden = StatusDeclined, in.Reden
	s.record(v, sg.Position, "declined", r, in.Reden)
	s.notify(v, "declined")
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Reden string `json:"reden"`
	}
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if v.Status == StatusDraft || v.Status == StatusPending {
		v.Status, v.Reden = StatusCancelled, in.Reden
		s.record(v, -1, "cancelled", r, in.Reden)
	}
	writeJSON(w, http.StatusOK, v)
}

// expire ends a pending signing as the vendor does when its own deadline passes.
func (s *Server) expire(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if v.Status != StatusPending {
		fail(w, http.StatusConflict, "signing is "+v.Status)
		return
	}
	v.Status = StatusExpired
	s.record(v, -1, "expired", nil, "")
	s.notify(v, "expired")
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) signed(w http.ResponseWriter, r *http.Request) {
	pos, ok := position(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	v, ok := s.lookup(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	if v.Status != StatusCompleted {
		s.mu.Unlock()
		fail(w, http.StatusConflict, "signing is "+v.Status)
		return
	}
	var body []byte
	for _, d := range v.Documents {
		if d.Position == pos {
			body = d.signed
			if s.output != nil {
				body = s.output(bytes.Clone(d.signed))
			}
		}
	}
	s.mu.Unlock()
	if body == nil {
		fail(w, http.StatusNotFound, "no such document")
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// notify posts the webhook in the background, retrying a few times; s.mu is held.
func (s *Server) notify(v *vendorSigning, event string) {
	if s.opts.WebhookURL == "" {
		return
	}
	body, _ := json.Marshal(map[string]string{"signing_id": v.ID, "external_id": v.ExternalID, "event": event, "status": v.Status,
		"sent_at": s.opts.Now().UTC().Format(time.RFC3339)})
	url, secret := s.opts.WebhookURL, s.opts.WebhookSecret
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for attempt := range 5 {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(SignatureHeader, "sha256="+Sign(secret, body))
			resp, err := s.opts.Client.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode < 300 {
					return
				}
			}
			s.opts.Logger.Debug("simulated: webhook failed", "signing", v.ID, "attempt", attempt+1, "err", err)
			select {
			case <-s.closed:
				return
			case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
			}
		}
	}()
}

// Sign returns the hex HMAC-SHA256 of body with secret, as the webhook header carries it.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "sim_" + hex.EncodeToString(b)
}

// SigningByExternalID returns the vendor's id of the signing made for an external id (the
// transaction id), for tests and the demo.
func (s *Server) SigningByExternalID(ext string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byExt[ext]
	return id, ok
}

// Status returns a signing's status at the vendor.
func (s *Server) Status(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.signings[id]; ok {
		return v.Status
	}
	return ""
}
