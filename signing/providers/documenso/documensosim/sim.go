// Package documensosim is an in-memory Documenso (API v2) for tests and development: envelopes
// with several PDFs and recipients, created, distributed, signed in Documenso's order, rejected,
// cancelled and expired; its downloads, audit log and webhooks; its rate limits; and a way to
// break it (faults, lost webhooks, damaged output). Requests are checked against the shapes of
// Documenso's zod schemas by hand (no OpenAPI snapshot of the v2 API is published), more strictly
// than Documenso does: an unknown field, which Documenso would drop silently, is a 400 here and is
// recorded, so an adapter's typo shows in ShapeErrors.
package documensosim

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/signingd/signingd/internal/simvendor"
	"github.com/signingd/signingd/signing/pades"
)

// Documenso's limits (packages/lib/server-only/rate-limit/rate-limits.ts): 1 000 API calls and 20
// file uploads per epoch-aligned minute.
const (
	CallsPerMinute   = 1000
	UploadsPerMinute = 20
)

// Options configure the simulator.
type Options struct {
	// APIKey is the team's API token, "api_" + 16 characters; one is made when empty (APIKey()).
	APIKey string
	// Now is the clock for timestamps and the rate-limit windows; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// Client delivers webhooks; one with Documenso's 10 s timeout that follows no redirect when nil.
	Client *http.Client
	// RetryDelay is the wait between webhook attempts; 100 ms when zero (Documenso's job runner
	// waits longer; tests should not).
	RetryDelay time.Duration
}

// Server is the simulated Documenso instance.
type Server struct {
	opts   Options
	log    *slog.Logger
	key    crypto.Signer
	chain  []*x509.Certificate
	root   *x509.Certificate
	mux    *http.ServeMux
	hooks  chan int
	done   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once

	mu          sync.Mutex
	envelopes   map[string]*envelope
	order       []string
	nextID      int
	shapeErrors []string
	faults      []*Fault
	calls       window
	uploads     window
	autoSign    bool
	output      func([]byte) []byte
	webhookURL  string
	secret      string
	deliveries  simvendor.Deliveries[Delivery]
}

type window struct {
	start int64 // unix minute
	n     int
}

// New starts a simulator; Close stops its webhook deliveries.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.APIKey == "" {
		opts.APIKey = "api_" + randomID(16)
	}
	if opts.RetryDelay == 0 {
		opts.RetryDelay = 100 * time.Millisecond
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	key, chain, root, err := pades.DemoCertificate("Documenso (simulator)")
	if err != nil {
		return nil, fmt.Errorf("documensosim: certificate: %w", err)
	}
	s := &Server{opts: opts, log: opts.Logger, key: key, chain: chain, root: root,
		envelopes: map[string]*envelope{}, hooks: make(chan int, 1024), done: make(chan struct{})}
	s.routes()
	s.wg.Add(1)
	go s.deliver()
	return s, nil
}

// APIKey returns the API token the simulator accepts.
func (s *Server) APIKey() string { return s.opts.APIKey }

// Root returns the certificate authority of the instance's signing certificate: Documenso seals
// every completed document with one certificate of its own.
func (s *Server) Root() *x509.Certificate { return s.root }

// Handler serves the API under /api/v2 and /api/v2-beta, and the inspection API under /inspect.
func (s *Server) Handler() http.Handler { return s.mux }

// Close stops webhook deliveries.
func (s *Server) Close() {
	s.closed.Do(func() { close(s.done) })
	s.wg.Wait()
}

// SetAutoSign makes every recipient sign as soon as it is their turn.
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

// ShapeErrors returns the requests refused for their shape (unknown or missing fields, wrong
// values), one line each.
func (s *Server) ShapeErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.shapeErrors...)
}

// EnvelopeByExternalID returns the envelope with externalId id.
func (s *Server) EnvelopeByExternalID(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, eid := range s.order {
		if s.envelopes[eid].ExternalID == id {
			return eid, true
		}
	}
	return "", false
}

// Envelopes returns the number of envelopes.
func (s *Server) Envelopes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order)
}

// Fields returns the fields of an envelope as created, for tests to check placement.
func (s *Server) Fields(envelopeID string) []Field {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.envelopes[envelopeID]
	if e == nil {
		return nil
	}
	out := make([]Field, len(e.Fields))
	for i, f := range e.Fields {
		out[i] = *f
	}
	return out
}

// Recipients returns the recipients of an envelope.
func (s *Server) Recipients(envelopeID string) []Recipient {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.envelopes[envelopeID]
	if e == nil {
		return nil
	}
	out := make([]Recipient, len(e.Recipients))
	for i, r := range e.Recipients {
		out[i] = *r
	}
	return out
}

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

// shapeError records and answers a request refused for its shape.
func (s *Server) shapeError(w http.ResponseWriter, r *http.Request, msg string) {
	s.mu.Lock()
	s.shapeErrors = append(s.shapeErrors, r.Method+" "+r.URL.Path+": "+msg)
	s.mu.Unlock()
	s.log.Warn("documensosim: request refused for its shape", "path", r.URL.Path, "error", msg)
	apiError(w, http.StatusBadRequest, "BAD_REQUEST", msg)
}

// apiError writes Documenso's v2 error body.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "code": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomID(n int) string {
	var b strings.Builder
	for range n {
		i, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
		b.WriteByte(alnum[i.Int64()])
	}
	return b.String()
}
