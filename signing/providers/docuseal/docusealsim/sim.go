// Package docusealsim is an in-memory DocuSeal for tests and development: submissions made from
// PDFs (Pro: POST /submissions/pdf) or from templates (every edition: POST /submissions), signed in
// DocuSeal's order groups, with e-mail or sms codes, declined, expired and archived; its expiring
// document and audit log links; its webhooks with X-Docuseal-Signature and DocuSeal's retries; and
// ways to break it (faults, lost webhooks, damaged output).
//
// Every API request is checked against DocuSeal's own OpenAPI document (the adapter's snapshot,
// docuseal.OpenAPI()) with kin-openapi: a request that does not conform is answered 400 and recorded
// (ShapeErrors), and every answer and webhook body the simulator makes is checked too
// (AnswerErrors), so the simulator cannot drift from the document unnoticed.
package docusealsim

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signingd/signingd/internal/simfault"
	"github.com/signingd/signingd/internal/simvendor"
	"github.com/signingd/signingd/signing/pades"
)

// Editions.
const (
	EditionPro  = "pro"
	EditionFree = "free"
)

// LinkLifetime is how long a document or audit log link stays valid, on the simulator's clock.
const LinkLifetime = 60 * time.Second

// Options configure the simulator.
type Options struct {
	// APIKey is the X-Auth-Token the API accepts; one is made when empty (APIKey()).
	APIKey string
	// Edition is EditionPro (default: Pro/Cloud, with POST /submissions/pdf) or EditionFree (the
	// community edition, which answers that route 404).
	Edition string
	// Now is the clock for timestamps, link expiry and webhook signatures; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// Client delivers webhooks; one with DocuSeal's timeouts (8 s to connect, 15 s to read) that
	// follows no redirect when nil.
	Client *http.Client
	// RetryScale is the length of one of DocuSeal's retry minutes: attempt n+1 of a webhook
	// follows attempt n after 2^n RetryScale. time.Minute (DocuSeal's) when zero.
	RetryScale time.Duration
}

// Server is the simulated DocuSeal account.
type Server struct {
	opts   Options
	log    *slog.Logger
	spec   *spec
	key    crypto.Signer
	chain  []*x509.Certificate
	root   *x509.Certificate
	faults simfault.Set
	done   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once

	mu           sync.Mutex
	base         string // scheme://host the API was first called on, for the links
	submissions  map[int64]*submission
	order        []int64
	templates    map[int64]*template
	nextID       int64
	files        map[string]fileRef
	shapeErrors  []string
	answerErrors []string
	autoSign     bool
	output       func([]byte) []byte
	webhookURL   string
	secret       string
	legacyName   string
	legacyValue  string
	deliveries   simvendor.Deliveries[Delivery]
}

// New makes a simulator; Close stops its webhook deliveries.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.APIKey == "" {
		opts.APIKey = randomID(32)
	}
	if opts.Edition == "" {
		opts.Edition = EditionPro
	}
	if opts.Edition != EditionPro && opts.Edition != EditionFree {
		return nil, fmt.Errorf("docusealsim: edition %q: pro or free", opts.Edition)
	}
	if opts.RetryScale == 0 {
		opts.RetryScale = time.Minute
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 23 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	sp, err := loadSpec()
	if err != nil {
		return nil, err
	}
	key, chain, root, err := pades.DemoCertificate("DocuSeal (simulator)")
	if err != nil {
		return nil, fmt.Errorf("docusealsim: certificate: %w", err)
	}
	return &Server{opts: opts, log: opts.Logger, spec: sp, key: key, chain: chain, root: root, done: make(chan struct{}),
		submissions: map[int64]*submission{}, templates: map[int64]*template{}, files: map[string]fileRef{}, nextID: 1000}, nil
}

// APIKey returns the X-Auth-Token the simulator accepts.
func (s *Server) APIKey() string { return s.opts.APIKey }

// Root returns the certificate authority of the account's signing certificate: DocuSeal signs
// each completed document once with it.
func (s *Server) Root() *x509.Certificate { return s.root }

// Close stops webhook deliveries and waits for them.
func (s *Server) Close() {
	s.closed.Do(func() { close(s.done) })
	s.wg.Wait()
}

// Handler serves the API under /api (as a self-hosted DocuSeal does), the document and audit log
// links under /file, and the inspection API under /inspect.
func (s *Server) Handler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /submissions", s.list)
	api.HandleFunc("POST /submissions", s.createFromTemplate)
	api.HandleFunc("POST /submissions/pdf", s.createFromPDF)
	api.HandleFunc("GET /submissions/{id}", s.get)
	api.HandleFunc("DELETE /submissions/{id}", s.archive)
	api.HandleFunc("GET /submissions/{id}/documents", s.documents)
	api.HandleFunc("GET /submitters", s.submitters)
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w) })
	mux := http.NewServeMux()
	mux.Handle("/api/", s.gate(http.StripPrefix("/api", api)))
	mux.HandleFunc("GET /file/{token}/{name}", s.file)
	s.inspectRoutes(mux)
	return mux
}

// gate does what happens before a route: routing of the edition, faults, the token, and the
// OpenAPI checks of the request and the answer.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.learnBase(r)
		path := strings.TrimPrefix(r.URL.Path, "/api")
		if s.opts.Edition == EditionFree && r.Method == http.MethodPost && strings.TrimRight(path, "/") == "/submissions/pdf" {
			notFound(w) // the community edition has no such route
			return
		}
		ft, delay := s.faults.Pick(r)
		if !simfault.Wait(r, delay) {
			return
		}
		if ft != nil {
			switch ft.Kind {
			case simfault.Drop:
				simfault.DropConnection(w)
				return
			case simfault.DropAfter:
				s.serve(next, simfault.NewLostResponse(), r, path)
				simfault.DropConnection(w)
				return
			case simfault.Alter:
				rec := httptest.NewRecorder()
				s.serve(next, rec, r, path)
				body := rec.Body.Bytes()
				if rec.Code < 300 {
					body = append(body, "\n%alter\n"...)
				}
				maps.Copy(w.Header(), rec.Header())
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(rec.Code)
				_, _ = w.Write(body)
				return
			case simfault.RateLimit:
				w.Header().Set("Retry-After", strconv.Itoa(ft.RetryAfterSeconds()))
				apiError(w, http.StatusTooManyRequests, "Too many requests")
				return
			case simfault.Error:
				if ft.RetryAfter > 0 {
					w.Header().Set("Retry-After", strconv.Itoa(ft.RetryAfter))
				}
				apiError(w, ft.ErrorStatus(), "Injected fault (docusealsim)")
				return
			}
		}
		s.serve(next, w, r, path)
	})
}

// serve checks the token, the request against the OpenAPI document, and the answer.
func (s *Server) serve(next http.Handler, w http.ResponseWriter, r *http.Request, path string) {
	if tok := r.Header.Get("X-Auth-Token"); tok == "" || tok != s.opts.APIKey {
		apiError(w, http.StatusUnauthorized, "Not authenticated")
		return
	}
	route, params, ok := s.spec.route(r, path)
	if !ok {
		next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<20))
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	in, msg := s.spec.checkRequest(r, route, params, body)
	if msg != "" {
		s.shapeError(w, r, msg)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	if rec.Code == http.StatusOK && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if msg := s.spec.checkResponse(in, rec.Code, rec.Header(), rec.Body.Bytes()); msg != "" {
			s.answerError(r.Method + " " + r.URL.Path + ": " + msg)
		}
	}
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (s *Server) learnBase(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.base == "" && r.Host != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		s.base = scheme + "://" + r.Host
	}
}

// ShapeErrors returns the requests refused because they do not conform to DocuSeal's OpenAPI
// document, one line each.
func (s *Server) ShapeErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.shapeErrors...)
}

// AnswerErrors returns the simulator's own answers and webhook bodies that do not conform to the
// OpenAPI document; there should be none.
func (s *Server) AnswerErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.answerErrors...)
}

func (s *Server) answerError(msg string) {
	s.mu.Lock()
	s.answerErrors = append(s.answerErrors, msg)
	s.mu.Unlock()
	s.log.Error("docusealsim: answer does not conform to the OpenAPI document", "error", msg)
}

func (s *Server) shapeError(w http.ResponseWriter, r *http.Request, msg string) {
	s.mu.Lock()
	s.shapeErrors = append(s.shapeErrors, r.Method+" "+r.URL.Path+": "+msg)
	s.mu.Unlock()
	s.log.Warn("docusealsim: request refused for its shape", "path", r.URL.Path, "error", msg)
	apiError(w, http.StatusBadRequest, msg)
}

// apiError writes DocuSeal's error body.
func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// notFound is Rails' answer to a route or record that does not exist.
func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, "<!doctype html><title>The page you were looking for doesn't exist (404)</title>\n")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomID(n int) string {
	var b strings.Builder
	for range n {
		i, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
		b.WriteByte(alnum[i.Int64()])
	}
	return b.String()
}
