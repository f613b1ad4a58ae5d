// Package onespansim is a faithful in-memory OneSpan Sign (ValidSign) API for tests and the demo:
// packages created in one multipart step (or JSON then documents), signers who sign by role index,
// status changes by PUT and POST, signed PDFs with real PAdES signatures, the audit trail and the
// evidence summary, account callbacks sent once and never retried, and an inspection API to sign,
// decline, expire, inject faults and drop callbacks. Every JSON payload is checked against the
// vendor's object model (see ShapeErrors).
package onespansim

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signingd/signingd/internal/simfault"
	"github.com/signingd/signingd/internal/simvendor"
)

// Options configure the simulator.
type Options struct {
	// APIKey is what requests must carry as "Authorization: Basic {APIKey}".
	APIKey string
	Now    func() time.Time
	Logger *slog.Logger
	// Client sends the callbacks.
	Client *http.Client
}

// Errors of the Go inspection API.
var (
	ErrNotFound = errors.New("onespansim: no such package or signer")
	ErrConflict = errors.New("onespansim: not possible in this state")
)

// Server is the simulated OneSpan Sign. Its state lives in memory.
type Server struct {
	opts   Options
	faults simfault.Set
	ca     *authority

	mu         sync.Mutex
	packages   map[string]*Package
	order      []string // package ids in creation order
	callback   *callbackReg
	deliveries simvendor.Deliveries[Delivery]
	autoSign   bool
	output     func([]byte) []byte
	shapeErrs  []string
	baseURL    string // learnt from requests, for signing URLs

	wg     sync.WaitGroup
	closed chan struct{}
}

// New returns a simulator.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	ca, err := newAuthority()
	if err != nil {
		panic(fmt.Sprintf("onespansim: certificate authority: %v", err)) // crypto/rand failing is not recoverable
	}
	return &Server{opts: opts, ca: ca, packages: map[string]*Package{}, closed: make(chan struct{})}
}

// Close waits for callbacks in flight.
func (s *Server) Close() {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	s.wg.Wait()
}

// Flush waits for the callbacks in flight to be delivered (or to fail).
func (s *Server) Flush() { s.wg.Wait() }

// Root returns the certificate authority of the signers' certificates: a verifier that trusts it
// finds the signatures valid.
func (s *Server) Root() *x509.Certificate { return s.ca.root }

// Handler serves the API under /api, the signer pages and the inspection API under /inspect.
func (s *Server) Handler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("POST /api/packages", s.createPackage)
	api.HandleFunc("GET /api/packages", s.listPackages)
	api.HandleFunc("GET /api/packages/{id}", s.getPackage)
	api.HandleFunc("PUT /api/packages/{id}", s.updatePackage)
	api.HandleFunc("POST /api/packages/{id}", s.updatePackage)
	api.HandleFunc("DELETE /api/packages/{id}", s.deletePackage)
	api.HandleFunc("POST /api/packages/{id}/documents", s.addDocument)
	api.HandleFunc("GET /api/packages/{id}/documents/{docId}/pdf", s.documentPDF)
	api.HandleFunc("GET /api/packages/{id}/documents/{docId}/original", s.documentPDF)
	api.HandleFunc("GET /api/packages/{id}/evidence/summary", s.evidenceSummary)
	api.HandleFunc("GET /api/packages/{id}/audit", s.auditTrail)
	api.HandleFunc("GET /api/packages/{id}/signingStatus", s.signingStatus)
	api.HandleFunc("GET /api/packages/{id}/roles/{roleId}/signingUrl", s.signingURL)
	api.HandleFunc("POST /api/callback", s.registerCallback)
	api.HandleFunc("GET /api/callback", s.getCallback)
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "error.notFound", "Resource not found")
	})

	mux := http.NewServeMux()
	mux.Handle("/api/", s.apiGate(api))
	s.inspectRoutes(mux)
	return mux
}

// apiGate learns the base URL, injects faults and checks the API key.
func (s *Server) apiGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.learnBase(r)
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
				s.authorized(next).ServeHTTP(simfault.NewLostResponse(), r)
				simfault.DropConnection(w)
				return
			case simfault.Alter:
				rec := httptest.NewRecorder()
				s.authorized(next).ServeHTTP(rec, r)
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
				apiError(w, http.StatusTooManyRequests, "error.tooManyRequests", "Too many requests")
				return
			case simfault.Error:
				st := ft.ErrorStatus()
				if ft.RetryAfter > 0 {
					w.Header().Set("Retry-After", strconv.Itoa(ft.RetryAfter))
				}
				apiError(w, st, "error.injected", "Injected fault (onespansim)")
				return
			}
		}
		s.authorized(next).ServeHTTP(w, r)
	})
}

func (s *Server) authorized(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.APIKey == "" || r.Header.Get("Authorization") != "Basic "+s.opts.APIKey {
			apiError(w, http.StatusUnauthorized, "error.unauthorised.noSession", "Unauthorized")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) learnBase(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL == "" && r.Host != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		s.baseURL = scheme + "://" + r.Host
	}
}

// apiError writes OneSpan's error body.
func apiError(w http.ResponseWriter, status int, key, msg string) {
	writeJSON(w, status, map[string]any{"messageKey": key, "message": msg, "code": status, "technical": msg, "name": http.StatusText(status)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ShapeErrors returns every payload problem found so far: unknown fields, values of the wrong
// kind, missing required fields, and misplaced requests.
func (s *Server) ShapeErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.shapeErrs)
}

// shapeFail records problems and answers 400.
func (s *Server) shapeFail(w http.ResponseWriter, r *http.Request, errs []string) {
	s.mu.Lock()
	s.recordShape(r, errs)
	s.mu.Unlock()
	apiError(w, http.StatusBadRequest, "error.validation.invalidPayload", strings.Join(errs, "; "))
}

// recordShape keeps payload problems for ShapeErrors; s.mu is held.
func (s *Server) recordShape(r *http.Request, errs []string) {
	for _, e := range errs {
		s.shapeErrs = append(s.shapeErrs, r.Method+" "+r.URL.Path+": "+e)
	}
	s.opts.Logger.Warn("onespansim: request refused", "method", r.Method, "path", r.URL.Path, "errors", errs)
}

// decodeShaped reads a JSON object of kind obj, checks its shape and decodes it into out (when
// not nil); it answers the request itself when the payload is refused.
func (s *Server) decodeShaped(w http.ResponseWriter, r *http.Request, data []byte, obj string, create bool, out any) (map[string]any, bool) {
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		s.shapeFail(w, r, []string{obj + ": invalid JSON: " + err.Error()})
		return nil, false
	}
	if errs := checkShape(obj, obj, raw, create); len(errs) > 0 {
		s.shapeFail(w, r, errs)
		return nil, false
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.shapeFail(w, r, []string{obj + ": " + err.Error()})
			return nil, false
		}
	}
	return raw.(map[string]any), true
}

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

func (s *Server) stamp() string { return s.now().Format(dateLayout) }

func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.URLEncoding.EncodeToString(b)
}

// packageID looks like OneSpan's: base64 text ending in "=".
func packageID() string { return newID(20) }

// shortID is a signer or approval id.
func shortID() string { return strings.TrimRight(newID(9), "=") }

const (
	maxPayload  = 4 << 20
	maxDocument = 64 << 20
)

func (s *Server) createPackage(w http.ResponseWriter, r *http.Request) {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var payload []byte
	var files []upload
	if strings.HasPrefix(mt, "multipart/") {
		var err error
		payload, files, err = readMultipart(r, params["boundary"])
		if err != nil {
			s.shapeFail(w, r, []string{err.Error()})
			return
		}
		if payload == nil {
			s.shapeFail(w, r, []string{"multipart: no part named payload"})
			return
		}
	} else {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxPayload))
		if err != nil {
			apiError(w, http.StatusBadRequest, "error.validation", "read body")
			return
		}
		payload = b
	}
	p := &Package{Autocomplete: true, Type: "PACKAGE", Status: StatusDraft, Language: "en", Visibility: "ACCOUNT"}
	raw, ok := s.decodeShaped(w, r, payload, "package", true, p)
	if !ok {
		return
	}
	if errs := s.prepare(p, raw, files); len(errs) > 0 {
		s.shapeFail(w, r, errs)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p.ID = packageID()
	p.Created, p.Updated = s.stamp(), s.stamp()
	p.Roles = append([]*Role{{ID: shortID(), Name: "Owner", Type: "SENDER", Index: 0,
		Signers: []*Signer{senderSigner(p.Sender)}}}, p.Roles...)
	s.packages[p.ID] = p
	s.order = append(s.order, p.ID)
	s.audit(p, "Create", p.Name, nil, r)
	s.emit(p, EventPackageCreate, "", "")
	if p.Status == StatusSent {
		if msg := s.activate(p, r); msg != "" {
			delete(s.packages, p.ID)
			s.order = s.order[:len(s.order)-1]
			apiError(w, http.StatusBadRequest, "error.validation.packageActivation", msg)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": p.ID})
}

func senderSigner(snd *Sender) *Signer {
	sg := &Signer{ID: shortID(), Email: "sender@onespansim.example", FirstName: "Simulated", LastName: "Sender", Auth: &Auth{Scheme: "NONE", Challenges: []Challenge{}}}
	if snd != nil && snd.Email != "" {
		sg.Email = snd.Email
	}
	return sg
}

type upload struct {
	name    string
	content []byte
}

// readMultipart reads the payload part and the file parts, in order.
func readMultipart(r *http.Request, boundary string) ([]byte, []upload, error) {
	if boundary == "" {
		return nil, nil, errors.New("multipart: no boundary")
	}
	mr := multipart.NewReader(r.Body, boundary)
	var payload []byte
	var files []upload
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return payload, files, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("multipart: %w", err)
		}
		switch part.FormName() {
		case "payload":
			payload, err = io.ReadAll(io.LimitReader(part, maxPayload))
		case "file":
			var b []byte
			b, err = io.ReadAll(io.LimitReader(part, maxDocument+1))
			if len(b) > maxDocument {
				return nil, nil, errors.New("multipart: file too large")
			}
			files = append(files, upload{name: part.FileName(), content: b})
		default:
			return nil, nil, fmt.Errorf("multipart: unknown part %q (want payload and file)", part.FormName())
		}
		if err != nil {
			return nil, nil, fmt.Errorf("multipart: %w", err)
		}
	}
}

// prepare completes a new package: ids, files matched to documents, the due date.
func (s *Server) prepare(p *Package, raw map[string]any, files []upload) []string {
	var errs []string
	if p.Status != StatusDraft && p.Status != StatusSent {
		errs = append(errs, "package.status: a new package is DRAFT or SENT, not "+p.Status)
	}
	if p.Due != nil {
		t, _ := parseDate(*p.Due)
		p.due = t
		d := t.UTC().Format(dateLayout)
		p.Due = &d
	}
	if p.Data == nil {
		p.Data = map[string]any{}
	}
	roleIDs := map[string]bool{}
	for i, rl := range p.Roles {
		if rl.ID == "" {
			rl.ID = shortID()
		}
		if roleIDs[rl.ID] {
			errs = append(errs, fmt.Sprintf("package.roles[%d].id: %q twice", i, rl.ID))
		}
		roleIDs[rl.ID] = true
		if rl.Type == "" {
			rl.Type = "SIGNER"
		}
		if rl.Name == "" {
			rl.Name = rl.ID
		}
		if len(rl.Signers) != 1 {
			errs = append(errs, fmt.Sprintf("package.roles[%d].signers: want exactly one signer", i))
		}
		for _, sg := range rl.Signers {
			if sg.ID == "" {
				sg.ID = shortID()
			}
			if sg.Auth == nil {
				sg.Auth = &Auth{Scheme: "NONE"}
			}
			if sg.Auth.Challenges == nil {
				sg.Auth.Challenges = []Challenge{}
			}
		}
	}
	if len(files) > 0 && len(files) != len(p.Documents) {
		errs = append(errs, fmt.Sprintf("multipart: %d file parts for %d documents", len(files), len(p.Documents)))
	}
	used := make([]bool, len(files))
	for i, d := range p.Documents {
		errs = append(errs, s.prepareDocument(d, fmt.Sprintf("package.documents[%d]", i), roleIDs)...)
		// A file goes with the document of its name, else with the document in its place.
		for j, f := range files {
			if !used[j] && f.name == d.Name {
				used[j], d.original = true, f.content
				break
			}
		}
		if d.original == nil && i < len(files) && !used[i] {
			used[i], d.original = true, files[i].content
		}
	}
	for i, d := range p.Documents {
		if d.original != nil && !bytes.HasPrefix(d.original, []byte("%PDF-")) {
			errs = append(errs, fmt.Sprintf("package.documents[%d]: the file is no PDF", i))
		}
		d.current, d.Size = d.original, len(d.original)
	}
	return errs
}

func (s *Server) prepareDocument(d *Document, where string, roleIDs map[string]bool) []string {
	var errs []string
	if d.ID == "" {
		d.ID = strings.ToLower(shortID())
	}
	for k, a := range d.Approvals {
		if a.ID == "" {
			a.ID = shortID()
		}
		if !roleIDs[a.Role] {
			errs = append(errs, fmt.Sprintf("%s.approvals[%d].role: no role %q in the package", where, k, a.Role))
		}
		a.Signed, a.Accepted = nil, nil
		for _, f := range a.Fields {
			if f.ID == "" {
				f.ID = shortID()
			}
		}
	}
	return errs
}

// pkg finds a package for a request and expires it when due; s.mu is held.
func (s *Server) pkg(w http.ResponseWriter, r *http.Request) (*Package, bool) {
	p, ok := s.packages[r.PathValue("id")]
	if !ok {
		apiError(w, http.StatusNotFound, "error.notFound.packageNotFound", "Package not found")
		return nil, false
	}
	s.touch(p)
	return p, true
}

// touch expires a sent package whose due date passed; s.mu is held.
func (s *Server) touch(p *Package) {
	if p.Status == StatusSent && !p.due.IsZero() && s.now().After(p.due) {
		s.expire(p)
	}
}

func (s *Server) expire(p *Package) {
	p.Status, p.Updated = StatusExpired, s.stamp()
	s.audit(p, "Expire", p.Name, nil, nil)
	s.emit(p, EventPackageExpire, "", "")
}

func (s *Server) getPackage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pkg(w, r); ok {
		writeJSON(w, http.StatusOK, p)
	}
}

// listPackages answers GET /api/packages?query={status}&from={from}&to={to} (1-based, inclusive;
// newest first), optionally with startDate/endDate bounding the last update.
func (s *Server) listPackages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to := 1, 100
	if v := q.Get("from"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 {
			from = n
		}
	}
	if v := q.Get("to"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= from {
			to = n
		}
	}
	var start, end time.Time
	if v := q.Get("startDate"); v != "" {
		start, _ = parseDate(v)
	}
	if v := q.Get("endDate"); v != "" {
		end, _ = parseDate(v)
	}
	status := strings.ToUpper(q.Get("query"))
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*Package
	for _, id := range slices.Backward(s.order) {
		p, ok := s.packages[id]
		if !ok {
			continue
		}
		s.touch(p)
		switch {
		case status == "TRASHED":
			if !p.Trashed {
				continue
			}
		case p.Trashed:
			continue
		case status != "" && p.Status != status:
			continue
		}
		if up, _ := parseDate(p.Updated); (!start.IsZero() && up.Before(start)) || (!end.IsZero() && up.After(end)) {
			continue
		}
		all = append(all, p)
	}
	page := []*Package{}
	if from <= len(all) {
		page = all[from-1 : min(to, len(all))]
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": page, "count": len(all)})
}

// updatePackage changes a package (PUT and POST alike): status, trashed, and while it is a draft
// its other fields.
func (s *Server) updatePackage(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxPayload))
	if err != nil {
		apiError(w, http.StatusBadRequest, "error.validation", "read body")
		return
	}
	raw, ok := s.decodeShaped(w, r, b, "package", false, nil)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pkg(w, r)
	if !ok {
		return
	}
	if t, ok := raw["trashed"].(bool); ok && t != p.Trashed {
		p.Trashed, p.Updated = t, s.stamp()
		if t {
			s.audit(p, "Trash", p.Name, nil, r)
			s.emit(p, EventPackageTrash, "", "")
		} else {
			s.emit(p, EventPackageRestore, "", "")
		}
	}
	for _, k := range []string{"name", "description", "emailMessage", "language", "autocomplete", "due"} {
		v, ok := raw[k]
		if !ok {
			continue
		}
		if p.Status != StatusDraft {
			apiError(w, http.StatusBadRequest, "error.validation.packageNotDraft", "only a draft package can be changed")
			return
		}
		switch k {
		case "name":
			p.Name, _ = v.(string)
		case "description":
			p.Description, _ = v.(string)
		case "emailMessage":
			p.EmailMessage, _ = v.(string)
		case "language":
			p.Language, _ = v.(string)
		case "autocomplete":
			p.Autocomplete, _ = v.(bool)
		case "due":
			if d, _ := v.(string); d != "" {
				p.due, _ = parseDate(d)
				ds := p.due.UTC().Format(dateLayout)
				p.Due = &ds
			} else {
				p.due, p.Due = time.Time{}, nil
			}
		}
	}
	if st, ok := raw["status"].(string); ok && st != p.Status {
		if msg := s.changeStatus(p, st, r); msg != "" {
			apiError(w, http.StatusBadRequest, "error.validation.packageStatus", msg)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("{}"))
}

// changeStatus moves p to st as the API allows; it returns why not, or ""; s.mu is held.
func (s *Server) changeStatus(p *Package, st string, r *http.Request) string {
	switch {
	case st == StatusSent && p.Status == StatusDraft:
		return s.activate(p, r)
	case st == StatusDraft && (p.Status == StatusSent || p.Status == StatusDeclined || p.Status == StatusExpired || p.Status == StatusOptedOut):
		p.Status, p.Updated = StatusDraft, s.stamp()
		s.audit(p, "Draft", p.Name, nil, r)
		s.emit(p, EventPackageDeactivate, "", "")
	case st == StatusCompleted && p.Status == StatusSent && s.allSigned(p):
		s.complete(p, r)
	case st == StatusArchived && p.Status == StatusCompleted:
		p.Status, p.Updated = StatusArchived, s.stamp()
		s.emit(p, EventPackageArchive, "", "")
	default:
		return fmt.Sprintf("cannot change a %s package to %s", p.Status, st)
	}
	return ""
}

// activate sends a draft; s.mu is held.
func (s *Server) activate(p *Package, r *http.Request) string {
	if p.Trashed {
		return "the package is trashed"
	}
	if len(p.Documents) == 0 {
		return "a package needs documents to be sent"
	}
	for _, d := range p.Documents {
		if d.original == nil {
			return "document " + d.ID + " has no file"
		}
	}
	if len(s.signerRoles(p)) == 0 {
		return "a package needs signers to be sent"
	}
	p.Status, p.Updated = StatusSent, s.stamp()
	s.audit(p, "Send", p.Name, nil, r)
	s.emit(p, EventPackageActivate, "", "")
	s.autoSignLocked(p)
	return ""
}

func (s *Server) deletePackage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pkg(w, r)
	if !ok {
		return
	}
	delete(s.packages, p.ID)
	s.emit(p, EventPackageDelete, "", "")
	w.WriteHeader(http.StatusOK)
}

// addDocument is the second step of the two-step create: POST /packages/{id}/documents with a
// multipart payload (the document JSON) and file.
func (s *Server) addDocument(w http.ResponseWriter, r *http.Request) {
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	payload, files, err := readMultipart(r, params["boundary"])
	if err != nil || payload == nil || len(files) != 1 {
		s.shapeFail(w, r, []string{"multipart: want a payload part and one file part"})
		return
	}
	d := &Document{}
	if _, ok := s.decodeShaped(w, r, payload, "document", true, d); !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pkg(w, r)
	if !ok {
		return
	}
	if p.Status != StatusDraft {
		apiError(w, http.StatusBadRequest, "error.validation.packageNotDraft", "documents are added to a draft")
		return
	}
	roleIDs := map[string]bool{}
	for _, rl := range p.Roles {
		roleIDs[rl.ID] = true
	}
	if errs := s.prepareDocument(d, "document", roleIDs); len(errs) > 0 {
		s.recordShape(r, errs)
		apiError(w, http.StatusBadRequest, "error.validation.invalidPayload", strings.Join(errs, "; "))
		return
	}
	if !bytes.HasPrefix(files[0].content, []byte("%PDF-")) {
		apiError(w, http.StatusBadRequest, "error.validation.invalidDocument", "the file is no PDF")
		return
	}
	d.original, d.current, d.Size = files[0].content, files[0].content, len(files[0].content)
	p.Documents = append(p.Documents, d)
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) documentPDF(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p, ok := s.pkg(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	var body []byte
	for _, d := range p.Documents {
		if d.ID == r.PathValue("docId") {
			body = d.original
			if strings.HasSuffix(r.URL.Path, "/pdf") {
				body = d.current
				if s.output != nil {
					body = s.output(bytes.Clone(body))
				}
			}
		}
	}
	s.mu.Unlock()
	if body == nil {
		apiError(w, http.StatusNotFound, "error.notFound.documentNotFound", "Document not found")
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func (s *Server) auditTrail(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pkg(w, r); ok {
		writeJSON(w, http.StatusOK, map[string]any{"audit-events": append([]AuditEvent{}, p.audit...)})
	}
}

// signingStatus answers GET /packages/{id}/signingStatus?signer=&document=.
func (s *Server) signingStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pkg(w, r)
	if !ok {
		return
	}
	st := p.Status
	switch {
	case p.Trashed:
		st = "DELETED"
	case p.Status == StatusSent && s.allSigned(p):
		st = "SIGNING_COMPLETED"
	case p.Status == StatusSent:
		st = "SIGNING_PENDING"
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": st})
}

func (s *Server) signingURL(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pkg(w, r)
	if !ok {
		return
	}
	for _, rl := range p.Roles {
		if rl.ID == r.PathValue("roleId") {
			writeJSON(w, http.StatusOK, map[string]string{"url": s.baseURL + "/sign/" + p.ID + "/" + rl.ID, "packageId": p.ID, "roleId": rl.ID})
			return
		}
	}
	apiError(w, http.StatusNotFound, "error.notFound.roleNotFound", "Role not found")
}

// signerRoles are the roles that sign, in signing order; s.mu is held.
func (s *Server) signerRoles(p *Package) []*Role {
	var out []*Role
	for _, rl := range p.Roles {
		if rl.Type == "SIGNER" && len(s.approvals(p, rl.ID)) > 0 {
			out = append(out, rl)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

func (s *Server) approvals(p *Package, role string) []*Approval {
	var out []*Approval
	for _, d := range p.Documents {
		for _, a := range d.Approvals {
			if a.Role == role {
				out = append(out, a)
			}
		}
	}
	return out
}

func (s *Server) roleSigned(p *Package, role string) bool {
	for _, a := range s.approvals(p, role) {
		if a.Signed == nil {
			return false
		}
	}
	return true
}

func (s *Server) allSigned(p *Package) bool {
	for _, rl := range s.signerRoles(p) {
		if !s.roleSigned(p, rl.ID) {
			return false
		}
	}
	return true
}

// invited returns the roles that may sign now: the lowest index with unsigned approvals.
func (s *Server) invited(p *Package) []*Role {
	if p.Status != StatusSent || p.Trashed {
		return nil
	}
	next := -1
	for _, rl := range s.signerRoles(p) {
		if !s.roleSigned(p, rl.ID) && (next < 0 || rl.Index < next) {
			next = rl.Index
		}
	}
	var out []*Role
	for _, rl := range s.signerRoles(p) {
		if rl.Index == next && !s.roleSigned(p, rl.ID) {
			out = append(out, rl)
		}
	}
	return out
}

// audit appends to the audit trail; s.mu is held.
func (s *Server) audit(p *Package, typ, target string, sg *Signer, r *http.Request) {
	e := AuditEvent{Type: typ, DateTime: s.now().Format("2006-01-02T15:04:05.000Z"), Target: target}
	if sg != nil {
		e.User, e.Email = strings.TrimSpace(sg.FirstName+" "+sg.LastName), sg.Email
	} else {
		e.User, e.Email = "Simulated Sender", "sender@onespansim.example"
	}
	if r != nil {
		e.IP = clientIP(r)
	}
	p.audit = append(p.audit, e)
}

func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = strings.Trim(host[:i], "[]")
	}
	return host
}
