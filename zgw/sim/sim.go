// Package sim is an in-memory ZGW landscape — Documenten (DRC 1.5.0), Zaken (ZRC 1.5.1), Notificaties (NRC 1.0.0)
// and the small part of Catalogi (ZTC 1.3.1) signingd reads — that behaves like Open Zaak / OneGround for every call
// signingd makes, so client code can be tested against real HTTP without a real ZGW installation.
//
// All four APIs live on one host:
//
//	{base}/documenten/api/v1/...    DRC
//	{base}/zaken/api/v1/...         ZRC
//	{base}/notificaties/api/v1/...  NRC
//	{base}/catalogi/api/v1/...      ZTC
//	{base}/_sim/...                 inspection, seeding and fault injection (no auth)
//
// In tests:
//
//	srv := sim.NewServer(sim.Options{})          // httptest server on loopback, BaseURL filled in
//	defer srv.Close()
//	doc, _ := srv.SeedDocument([]byte("%PDF-1.7 ..."), sim.DocumentSeed{Titel: "Besluit"})
//	zaak, _ := srv.SeedZaak(sim.ZaakSeed{})
//
// As a standalone server (what `signingd sim` does):
//
//	s, err := sim.New(sim.Options{BaseURL: "http://localhost:8090"})
//	if err != nil { ... }
//	defer s.Close()
//	err = http.ListenAndServe(":8090", s.Handler())
//
// Inspection and seeding, as Go methods (Versions, Content, Locks, Notifications, Deliveries, WaitDeliveries,
// Requests, SeedZaak, SeedDocument, SeedVersion, SeedKanaal, SeedAbonnement, LockDocument, AddFault, ...) and as
// JSON over HTTP for the demo:
//
//	GET    /_sim/documents/{uuid}/versions   versions with metadata, size and sha256
//	GET    /_sim/locks | /_sim/notifications | /_sim/deliveries | /_sim/requests
//	GET    /_sim/faults, POST /_sim/faults (a Fault), DELETE /_sim/faults
//	POST   /_sim/seed/informatieobjecttype | zaaktype | zaak | document | kanaal   → {"url": ...}
//
// State lives in memory (document content in temporary files under a directory the Sim owns and removes on Close)
// and every method is safe for concurrent use.
package sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/signingd/signingd/internal/simfault"
)

// Path prefixes of the simulated APIs below the base URL.
const (
	DRCPath = "/documenten/api/v1"
	ZRCPath = "/zaken/api/v1"
	NRCPath = "/notificaties/api/v1"
	ZTCPath = "/catalogi/api/v1"
	SimPath = "/_sim"
)

// API versions reported in the API-version response header, matching the OAS files the sim follows.
const (
	DRCVersion = "1.5.0"
	ZRCVersion = "1.5.1"
	NRCVersion = "1.0.0"
	ZTCVersion = "1.3.1"
)

// Options configure a Sim. The zero value is a working simulator without token checks.
type Options struct {
	// BaseURL is the external scheme://host[:port] under which the APIs are reachable; resource URLs in responses
	// and in seeded data are built from it. When empty, it is taken from the Host of each request (and seeds use
	// http://sim.invalid until SetBaseURL is called).
	BaseURL string

	// Tokens selects how Authorization headers are checked (TokensOff, TokensOpenZaak, TokensOneGround).
	Tokens TokenMode
	// Clients are the known client_ids with their HS256 secret and scopes.
	Clients map[string]Client
	// OAuthKeys verify RS256/ES256 OAuth2 access tokens in OneGround mode (any of them may match).
	OAuthKeys []any
	// JWKSURL is fetched (and cached) to verify OAuth2 access tokens in OneGround mode.
	JWKSURL string
	// Now is the clock for token checks and timestamps; time.Now when nil.
	Now func() time.Time

	// OneGroundDRC enables OneGround's stricter document rules: updating a document whose status is definitief is
	// refused (drc-010 as OneGround implements it) unless the client has documenten.geforceerd-bijwerken, the
	// informatieobjecttype cannot change, and no new version is accepted while a chunked upload is pending.
	// Without it the sim follows VNG DRC >= 1.4, which allows all three.
	OneGroundDRC bool

	// VerifyIntegriteit makes the DRC check an integriteit of algoritme sha_256, sha_512, sha_1 or md5 against the
	// content (400 integriteit-mismatch). Real DRCs store integriteit unchecked; this catches client bugs.
	VerifyIntegriteit bool

	// PartSize is the size of bestandsdelen handed out for chunked uploads; 1 MiB when zero.
	PartSize int64
	// MaxJSONBody limits JSON request bodies (base64 content included); 1 GiB when zero.
	MaxJSONBody int64
	// Dir is where content files are kept; a fresh temporary directory (removed on Close) when empty.
	Dir string

	// DeliveryAttempts is how often a notification is offered to a failing callback; 3 when zero.
	DeliveryAttempts int
	// DeliveryBackoff is the wait before the first retry, doubled per attempt; 50 ms when zero.
	DeliveryBackoff time.Duration
	// DeliveryClient sends notifications to callbacks; a client with a 10 s timeout when nil.
	DeliveryClient *http.Client

	// FaultSeed seeds the random source of fault injection so tests are deterministic.
	FaultSeed uint64
	// MaxRequestLog bounds the request log; 10000 entries when zero.
	MaxRequestLog int
	// Logger receives one debug line per request; discarded when nil.
	Logger *slog.Logger
}

// Sim is the simulated ZGW landscape. Create it with New or NewServer.
type Sim struct {
	opts   Options
	dir    string
	ownDir bool
	log    *slog.Logger

	mu       sync.Mutex
	baseURL  string
	docs     map[string]*eio
	parts    map[string]*part // bestandsdeel uuid → part
	zaken    map[string]*zaak
	zios     map[string]*zio
	ziosOrd  []string
	iots     map[string]*iot
	zaaktyps map[string]*zaaktype
	kanalen  map[string]*kanaal
	kanOrd   []string
	abos     map[string]*abonnement
	abosOrd  []string
	notifs   []Notification
	delivs   []Delivery
	requests []RequestRecord
	faults   simfault.Set
	seq      int
	jwks     jwksCache

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	handler http.Handler
}

// New returns a Sim; call Close to stop deliveries and remove stored content.
func New(opts Options) (*Sim, error) {
	if opts.PartSize <= 0 {
		opts.PartSize = 1 << 20
	}
	if opts.MaxJSONBody <= 0 {
		opts.MaxJSONBody = 1 << 30
	}
	if opts.DeliveryAttempts <= 0 {
		opts.DeliveryAttempts = 3
	}
	if opts.DeliveryBackoff <= 0 {
		opts.DeliveryBackoff = 50 * time.Millisecond
	}
	if opts.DeliveryClient == nil {
		opts.DeliveryClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.MaxRequestLog <= 0 {
		opts.MaxRequestLog = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sim{
		opts:     opts,
		baseURL:  strings.TrimRight(opts.BaseURL, "/"),
		docs:     map[string]*eio{},
		parts:    map[string]*part{},
		zaken:    map[string]*zaak{},
		zios:     map[string]*zio{},
		iots:     map[string]*iot{},
		zaaktyps: map[string]*zaaktype{},
		kanalen:  map[string]*kanaal{},
		abos:     map[string]*abonnement{},
		log:      opts.Logger,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, err
		}
		s.dir = opts.Dir
	} else {
		d, err := os.MkdirTemp("", "zgwsim-")
		if err != nil {
			return nil, err
		}
		s.dir, s.ownDir = d, true
	}
	s.faults.Seed(opts.FaultSeed)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.handler = s.routes()
	return s, nil
}

// Close stops pending notification deliveries and removes the content directory if the Sim created it.
func (s *Sim) Close() error {
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	s.wg.Wait()
	if s.ownDir {
		return os.RemoveAll(s.dir)
	}
	return nil
}

// Handler serves all simulated APIs and the /_sim inspection API.
func (s *Sim) Handler() http.Handler { return s.handler }

// SetBaseURL sets the external base URL (e.g. an httptest server's URL once it is known).
func (s *Sim) SetBaseURL(u string) {
	s.mu.Lock()
	s.baseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// BaseURL returns the external base URL used for resource URLs.
func (s *Sim) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseLocked()
}

func (s *Sim) baseLocked() string {
	if s.baseURL == "" {
		return "http://sim.invalid"
	}
	return s.baseURL
}

// DRC, ZRC, NRC and ZTC return the API roots (e.g. http://127.0.0.1:1234/documenten/api/v1) to configure clients with.
func (s *Sim) DRC() string { return s.BaseURL() + DRCPath }

// ZRC returns the Zaken API root.
func (s *Sim) ZRC() string { return s.BaseURL() + ZRCPath }

// NRC returns the Notificaties API root.
func (s *Sim) NRC() string { return s.BaseURL() + NRCPath }

// ZTC returns the Catalogi API root.
func (s *Sim) ZTC() string { return s.BaseURL() + ZTCPath }

// Server is a Sim served by an httptest server on loopback, for tests.
type Server struct {
	*Sim
	HTTP *httptest.Server
	// URL is the base URL, equal to HTTP.URL.
	URL string
}

// NewServer starts a Sim on a loopback httptest server with BaseURL set to it. It panics only if the temporary
// content directory cannot be created, like httptest.NewServer panics when it cannot listen.
func NewServer(opts Options) *Server {
	s, err := New(opts)
	if err != nil {
		panic("sim: " + err.Error())
	}
	hs := httptest.NewServer(s.Handler())
	s.SetBaseURL(hs.URL)
	return &Server{Sim: s, HTTP: hs, URL: hs.URL}
}

// Close shuts the HTTP server down, then the Sim.
func (srv *Server) Close() {
	srv.HTTP.CloseClientConnections()
	srv.HTTP.Close()
	_ = srv.Sim.Close()
}

// newUUID returns a random (version 4) UUID string.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newLock returns an unguessable lock id (128 random bits, hex).
func newLock() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Sim) now() time.Time { return s.opts.Now().UTC() }
