package documensosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"

	"github.com/signingd/signingd/internal/report"
)

func (s *Server) routes() {
	api := http.NewServeMux()
	api.HandleFunc("POST /envelope/create", s.create)
	api.HandleFunc("POST /envelope/distribute", s.distribute)
	api.HandleFunc("POST /envelope/cancel", s.cancel)
	api.HandleFunc("GET /envelope", s.find)
	api.HandleFunc("GET /envelope/{id}", s.get)
	api.HandleFunc("GET /envelope/{id}/audit-log", s.auditLog)
	// /envelope/item/{itemId}/download and /envelope/{id}/{audit-log|certificate}/download overlap
	api.HandleFunc("GET /envelope/{id}/{what}/download", func(w http.ResponseWriter, r *http.Request) {
		switch id, what := r.PathValue("id"), r.PathValue("what"); {
		case id == "item":
			r.SetPathValue("id", what)
			s.download(w, r)
		case what == "audit-log":
			s.auditLogPDF(w, r)
		case what == "certificate":
			s.certificatePDF(w, r)
		default:
			apiError(w, http.StatusNotFound, "NOT_FOUND", "Not found")
		}
	})
	s.mux = http.NewServeMux()
	for _, prefix := range []string{"/api/v2", "/api/v2-beta"} {
		s.mux.Handle(prefix+"/", s.middleware(http.StripPrefix(prefix, api)))
	}
	s.inspectRoutes()
}

// middleware does what Documenso's router does before a route: its rate limits (answered before
// authentication), then the API token.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.fault(w, r) {
			return
		}
		upload := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/envelope/create")
		if !s.allow(w, upload) {
			return
		}
		tok := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if tok == "" || tok != s.opts.APIKey {
			apiError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Unauthorized")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allow counts the call in the epoch-aligned minute windows and answers 429 with Retry-After
// past a limit, with the X-RateLimit headers on every answer (rate-limit-middleware.ts).
func (s *Server) allow(w http.ResponseWriter, upload bool) bool {
	now := s.opts.Now()
	minute := now.Unix() / 60
	s.mu.Lock()
	count := func(win *window) int {
		if win.start != minute {
			win.start, win.n = minute, 0
		}
		win.n++
		return win.n
	}
	calls := count(&s.calls)
	limit, n := CallsPerMinute, calls
	if upload {
		if u := count(&s.uploads); u > UploadsPerMinute {
			limit, n = UploadsPerMinute, u
		}
	}
	s.mu.Unlock()
	reset := (minute + 1) * 60
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(limit))
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(max(0, limit-n)))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	if n <= limit {
		return true
	}
	w.Header().Set("Retry-After", strconv.FormatInt(max(1, reset-now.Unix()), 10))
	writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Too many requests, please try again later."})
	return false
}

// strict decodes JSON refusing unknown fields.
func strict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// The create payload (create-envelope.types.ts); pointers tell a missing field from a zero one.
type createPayload struct {
	Title                  *string           `json:"title"`
	Type                   *string           `json:"type"`
	DelegatedDocumentOwner *string           `json:"delegatedDocumentOwner"`
	ExternalID             *string           `json:"externalId"`
	Visibility             *string           `json:"visibility"`
	GlobalAccessAuth       []string          `json:"globalAccessAuth"`
	GlobalActionAuth       []string          `json:"globalActionAuth"`
	FormValues             map[string]any    `json:"formValues"`
	FolderID               *string           `json:"folderId"`
	Recipients             []createRecipient `json:"recipients"`
	Meta                   *createMeta       `json:"meta"`
	Attachments            []map[string]any  `json:"attachments"`
}

type createRecipient struct {
	Email        *string       `json:"email"`
	Name         *string       `json:"name"`
	Role         *string       `json:"role"`
	SigningOrder *float64      `json:"signingOrder"`
	AccessAuth   []string      `json:"accessAuth"`
	ActionAuth   []string      `json:"actionAuth"`
	Fields       []createField `json:"fields"`
}

type createField struct {
	Type       *string         `json:"type"`
	Identifier json.RawMessage `json:"identifier"`
	Page       *float64        `json:"page"`
	PositionX  *float64        `json:"positionX"`
	PositionY  *float64        `json:"positionY"`
	Width      *float64        `json:"width"`
	Height     *float64        `json:"height"`
	FieldMeta  map[string]any  `json:"fieldMeta"`
}

// createMeta is ZDocumentMetaCreateSchema.
type createMeta struct {
	Subject                  *string        `json:"subject"`
	Message                  *string        `json:"message"`
	Timezone                 *string        `json:"timezone"`
	DateFormat               *string        `json:"dateFormat"`
	RedirectURL              *string        `json:"redirectUrl"`
	SigningOrder             *string        `json:"signingOrder"`
	AllowDictateNextSigner   *bool          `json:"allowDictateNextSigner"`
	Language                 *string        `json:"language"`
	DistributionMethod       *string        `json:"distributionMethod"`
	EmailSettings            map[string]any `json:"emailSettings"`
	EmailID                  *string        `json:"emailId"`
	EmailReplyTo             *string        `json:"emailReplyTo"`
	TypedSignatureEnabled    *bool          `json:"typedSignatureEnabled"`
	UploadSignatureEnabled   *bool          `json:"uploadSignatureEnabled"`
	DrawSignatureEnabled     *bool          `json:"drawSignatureEnabled"`
	EnvelopeExpirationPeriod map[string]any `json:"envelopeExpirationPeriod"`
}

var (
	roles       = []string{"CC", "SIGNER", "VIEWER", "APPROVER", "ASSISTANT"}
	accessAuths = []string{"ACCOUNT", "TWO_FACTOR_AUTH"}
	actionAuths = []string{"ACCOUNT", "PASSKEY", "TWO_FACTOR_AUTH", "PASSWORD", "EXPLICIT_NONE"}
	fieldTypes  = []string{"SIGNATURE", "FREE_SIGNATURE", "INITIALS", "NAME", "EMAIL", "DATE", "TEXT", "NUMBER", "RADIO", "CHECKBOX", "DROPDOWN"}
	languages   = []string{"de", "en", "fr", "es", "it", "nl", "pl", "pt-BR", "ja", "ko", "zh", "sv"}
)

func oneOf(v *string, allowed []string) bool { return v != nil && slices.Contains(allowed, *v) }

const maxUpload = 64 << 20

type upload struct {
	name string
	data []byte
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(maxUpload); err != nil {
		s.shapeError(w, r, "multipart/form-data expected: "+err.Error())
		return
	}
	for k := range r.MultipartForm.Value {
		if k != "payload" {
			s.shapeError(w, r, "unknown form field "+k)
			return
		}
	}
	for k := range r.MultipartForm.File {
		if k != "files" {
			s.shapeError(w, r, "unknown file part "+k)
			return
		}
	}
	vals := r.MultipartForm.Value["payload"]
	if len(vals) != 1 {
		s.shapeError(w, r, "payload: required, once")
		return
	}
	var p createPayload
	if err := strict([]byte(vals[0]), &p); err != nil {
		s.shapeError(w, r, "payload: "+err.Error())
		return
	}
	var files []upload
	for _, fh := range r.MultipartForm.File["files"] {
		f, err := fh.Open()
		if err != nil {
			apiError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
			return
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			apiError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
			return
		}
		if !bytes.HasPrefix(b, []byte("%PDF-")) {
			s.shapeError(w, r, "files: "+fh.Filename+" is not a PDF")
			return
		}
		files = append(files, upload{fh.Filename, b})
	}
	if msg := checkPayload(&p, files); msg != "" {
		s.shapeError(w, r, msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.nextID++
	e := &envelope{ID: "envelope_" + strings.ToLower(randomID(16)), SecondaryID: "document_" + strconv.Itoa(s.nextID), LegacyID: s.nextID,
		Title: *p.Title, Status: StatusDraft, CreatedAt: now, UpdatedAt: now, Meta: map[string]any{}}
	if p.ExternalID != nil {
		e.ExternalID = *p.ExternalID
	}
	if p.Meta != nil {
		b, _ := json.Marshal(p.Meta)
		_ = json.Unmarshal(b, &e.Meta)
	}
	for i, f := range files {
		e.Items = append(e.Items, &item{ID: "envelope_item_" + strings.ToLower(randomID(16)), Title: f.name, Order: i + 1, Original: f.data})
	}
	e.audit(now, "DOCUMENT_CREATED", nil, map[string]any{"title": e.Title, "source": map[string]any{"type": "API"}})
	for _, rc := range p.Recipients {
		s.nextID++
		rec := &Recipient{ID: s.nextID, Email: strings.ToLower(*rc.Email), Name: *rc.Name, Role: *rc.Role, Token: randomID(21),
			ReadStatus: "NOT_OPENED", SigningStatus: "NOT_SIGNED", SendStatus: "NOT_SENT", AccessAuth: rc.AccessAuth, ActionAuth: rc.ActionAuth}
		if rc.SigningOrder != nil {
			o := int(*rc.SigningOrder)
			rec.SigningOrder = &o
		}
		e.Recipients = append(e.Recipients, rec)
		for _, f := range rc.Fields {
			s.nextID++
			e.Fields = append(e.Fields, &Field{ID: s.nextID, RecipientID: rec.ID, ItemID: e.Items[identifierIndex(f.Identifier, files)].ID,
				Type: *f.Type, Page: int(*f.Page), PositionX: *f.PositionX, PositionY: *f.PositionY, Width: *f.Width, Height: *f.Height})
		}
	}
	s.envelopes[e.ID] = e
	s.order = append(s.order, e.ID)
	s.emit(e, "DOCUMENT_CREATED")
	writeJSON(w, http.StatusOK, map[string]string{"id": e.ID})
}

// identifierIndex resolves a field's identifier, a file name or a 0-based index, to the file; -1
// when it names none. No identifier is the first file.
func identifierIndex(raw json.RawMessage, files []upload) int {
	if len(raw) == 0 || string(raw) == "null" {
		return 0
	}
	var n float64
	if json.Unmarshal(raw, &n) == nil {
		if n >= 0 && n == math.Trunc(n) && int(n) < len(files) {
			return int(n)
		}
		return -1
	}
	var name string
	if json.Unmarshal(raw, &name) == nil {
		for i, f := range files {
			if f.name == name {
				return i
			}
		}
	}
	return -1
}

func checkPayload(p *createPayload, files []upload) string {
	switch {
	case p.Title == nil || *p.Title == "" || len(*p.Title) > 255:
		return "payload.title: required, 1 to 255 characters"
	case !oneOf(p.Type, []string{"DOCUMENT", "TEMPLATE"}):
		return "payload.type: required, DOCUMENT or TEMPLATE"
	case p.ExternalID != nil && len(*p.ExternalID) > 255:
		return "payload.externalId: at most 255 characters"
	case len(files) == 0:
		return "files: at least one PDF"
	}
	for _, a := range p.GlobalAccessAuth {
		if !slices.Contains(accessAuths, a) {
			return "payload.globalAccessAuth: unknown " + a
		}
	}
	if m := p.Meta; m != nil {
		switch {
		case m.SigningOrder != nil && !oneOf(m.SigningOrder, []string{OrderParallel, OrderSequential}):
			return "payload.meta.signingOrder: PARALLEL or SEQUENTIAL"
		case m.DistributionMethod != nil && !oneOf(m.DistributionMethod, []string{"EMAIL", "NONE"}):
			return "payload.meta.distributionMethod: EMAIL or NONE"
		case m.Language != nil && !oneOf(m.Language, languages):
			return "payload.meta.language: unsupported " + *m.Language
		case m.Subject != nil && len(*m.Subject) > 255:
			return "payload.meta.subject: at most 255 characters"
		case m.Message != nil && len(*m.Message) > 5000:
			return "payload.meta.message: at most 5000 characters"
		}
	}
	emails := map[string]bool{}
	for i, rc := range p.Recipients {
		at := fmt.Sprintf("payload.recipients[%d]", i)
		switch {
		case rc.Email == nil:
			return at + ".email: required"
		case rc.Name == nil || len(*rc.Name) > 255:
			return at + ".name: required, at most 255 characters"
		case !oneOf(rc.Role, roles):
			return at + ".role: required, one of " + strings.Join(roles, ", ")
		case rc.SigningOrder != nil && *rc.SigningOrder != math.Trunc(*rc.SigningOrder):
			return at + ".signingOrder: a whole number"
		}
		if _, err := mail.ParseAddress(*rc.Email); err != nil && *rc.Email != "" {
			return at + ".email: invalid"
		}
		if emails[strings.ToLower(*rc.Email)] {
			return at + ".email: duplicate recipient"
		}
		emails[strings.ToLower(*rc.Email)] = true
		for _, a := range rc.AccessAuth {
			if !slices.Contains(accessAuths, a) {
				return at + ".accessAuth: unknown " + a
			}
		}
		for _, a := range rc.ActionAuth {
			if !slices.Contains(actionAuths, a) {
				return at + ".actionAuth: unknown " + a
			}
		}
		for j, f := range rc.Fields {
			fat := fmt.Sprintf("%s.fields[%d]", at, j)
			switch {
			case !oneOf(f.Type, fieldTypes):
				return fat + ".type: required, a field type"
			case f.Page == nil || *f.Page < 1 || *f.Page != math.Trunc(*f.Page):
				return fat + ".page: required, from 1"
			case f.PositionX == nil || f.PositionY == nil || f.Width == nil || f.Height == nil:
				return fat + ": positionX, positionY, width and height are required"
			case *f.PositionX < 0 || *f.PositionX > 100 || *f.PositionY < 0 || *f.PositionY > 100 ||
				*f.Width < 0 || *f.Width > 100 || *f.Height < 0 || *f.Height > 100:
				return fat + ": positions and sizes are percentages, 0 to 100"
			case identifierIndex(f.Identifier, files) < 0:
				return fat + ".identifier: names no uploaded file"
			}
		}
	}
	return ""
}

func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return false
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.shapeError(w, r, "Content-Type application/json expected")
		return false
	}
	if err := strict(b, v); err != nil {
		s.shapeError(w, r, err.Error())
		return false
	}
	return true
}

func (s *Server) distribute(w http.ResponseWriter, r *http.Request) {
	var in struct {
		EnvelopeID *string        `json:"envelopeId"`
		Meta       map[string]any `json:"meta"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	if in.EnvelopeID == nil {
		s.shapeError(w, r, "envelopeId: required")
		return
	}
	s.mu.Lock()
	e := s.envelopes[*in.EnvelopeID]
	if e == nil {
		s.mu.Unlock()
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Envelope not found")
		return
	}
	if e.Status != StatusDraft {
		s.mu.Unlock()
		apiError(w, http.StatusBadRequest, "INVALID_REQUEST", "Envelope has already been sent")
		return
	}
	for _, rc := range e.Recipients {
		if rc.Role != "SIGNER" {
			continue
		}
		has := slices.ContainsFunc(e.Fields, func(f *Field) bool { return f.RecipientID == rc.ID && f.Type == "SIGNATURE" })
		if !has {
			s.mu.Unlock()
			apiError(w, http.StatusBadRequest, "INVALID_REQUEST", "Signers must have at least one signature field")
			return
		}
	}
	for k, v := range in.Meta {
		e.Meta[k] = v
	}
	now := s.now()
	e.Status, e.UpdatedAt = StatusPending, now
	e.audit(now, "DOCUMENT_SENT", nil, nil)
	pending := e.pending()
	for _, rc := range pending {
		if e.signingOrder() == OrderSequential && rc != pending[0] {
			continue
		}
		s.send(e, rc)
	}
	s.emit(e, "DOCUMENT_SENT")
	var recips []map[string]any
	for _, rc := range e.Recipients {
		recips = append(recips, map[string]any{"id": rc.ID, "name": rc.Name, "email": rc.Email, "token": rc.Token, "role": rc.Role,
			"signingOrder": e.recipientJSON(rc)["signingOrder"], "signingUrl": "http://" + r.Host + "/sign/" + rc.Token})
	}
	id, auto := e.ID, s.autoSign
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "id": id, "recipients": recips})
	if auto {
		go s.autoSignAll(id)
	}
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	var in struct {
		EnvelopeID *string `json:"envelopeId"`
		Reason     *string `json:"reason"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	if in.EnvelopeID == nil {
		s.shapeError(w, r, "envelopeId: required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.envelopes[*in.EnvelopeID]
	if e == nil {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Envelope not found")
		return
	}
	if e.Status != StatusPending {
		apiError(w, http.StatusBadRequest, "INVALID_REQUEST", "Only pending envelopes can be cancelled")
		return
	}
	now := s.now()
	reason := ""
	if in.Reason != nil {
		reason = *in.Reason
	}
	e.Status, e.UpdatedAt = StatusCancelled, now
	e.audit(now, "DOCUMENT_CANCELLED", nil, map[string]any{"reason": reason, "type": "CANCELLED"})
	s.emit(e, "DOCUMENT_CANCELLED")
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// query reads the query parameters, refusing unknown ones.
func (s *Server) query(w http.ResponseWriter, r *http.Request, known ...string) bool {
	for k := range r.URL.Query() {
		if !slices.Contains(known, k) {
			s.shapeError(w, r, "unknown query parameter "+k)
			return false
		}
	}
	return true
}

func pageParams(r *http.Request) (page, per int, ok bool) {
	page, per = 1, 10
	var err error
	if v := r.URL.Query().Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return 0, 0, false
		}
	}
	if v := r.URL.Query().Get("perPage"); v != "" {
		if per, err = strconv.Atoi(v); err != nil || per < 1 || per > 100 {
			return 0, 0, false
		}
	}
	return page, per, true
}

func paged[T any](all []T, page, per int) map[string]any {
	from, to := min((page-1)*per, len(all)), min(page*per, len(all))
	return map[string]any{"data": all[from:to], "count": len(all), "currentPage": page, "perPage": per,
		"totalPages": (len(all) + per - 1) / per}
}

func (s *Server) find(w http.ResponseWriter, r *http.Request) {
	if !s.query(w, r, "query", "page", "perPage", "type", "templateId", "source", "status", "hasExpiredRecipients", "folderId", "orderByColumn", "orderByDirection") {
		return
	}
	page, per, ok := pageParams(r)
	if !ok {
		s.shapeError(w, r, "page from 1, perPage 1 to 100")
		return
	}
	q := strings.ToLower(r.URL.Query().Get("query"))
	status := r.URL.Query().Get("status")
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []map[string]any
	for i := len(s.order) - 1; i >= 0; i-- { // newest first
		e := s.envelopes[s.order[i]]
		if status != "" && e.Status != status {
			continue
		}
		match := q == "" || strings.Contains(strings.ToLower(e.Title), q) || strings.Contains(strings.ToLower(e.ExternalID), q)
		for _, rc := range e.Recipients {
			match = match || strings.Contains(strings.ToLower(rc.Email), q) || strings.Contains(strings.ToLower(rc.Name), q)
		}
		if match {
			all = append(all, e.manyJSON())
		}
	}
	writeJSON(w, http.StatusOK, paged(all, page, per))
}

func (s *Server) envelope(w http.ResponseWriter, r *http.Request) *envelope {
	e := s.envelopes[r.PathValue("id")]
	if e == nil {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Envelope not found")
	}
	return e
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	if !s.query(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.envelope(w, r); e != nil {
		writeJSON(w, http.StatusOK, e.envelopeJSON())
	}
}

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	if !s.query(w, r, "page", "perPage", "orderByColumn", "orderByDirection") {
		return
	}
	page, per, ok := pageParams(r)
	if !ok {
		s.shapeError(w, r, "page from 1, perPage 1 to 100")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.envelope(w, r)
	if e == nil {
		return
	}
	all := make([]map[string]any, 0, len(e.Audit))
	for _, a := range e.Audit {
		all = append(all, a.json(e.ID))
	}
	if r.URL.Query().Get("orderByDirection") != "asc" { // Documenso lists the newest first
		slices.Reverse(all)
	}
	writeJSON(w, http.StatusOK, paged(all, page, per))
}

func writePDF(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

func (s *Server) auditLogPDF(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	e := s.envelope(w, r)
	if e == nil {
		s.mu.Unlock()
		return
	}
	lines := []string{"Audit log", e.Title, e.ID, ""}
	for _, a := range e.Audit {
		lines = append(lines, fmt.Sprintf("%s  %s  %s", a.CreatedAt.Format("2006-01-02 15:04:05"), a.Type, a.Email))
	}
	s.mu.Unlock()
	pdfOrError(w, lines)
}

func (s *Server) certificatePDF(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	e := s.envelope(w, r)
	if e == nil {
		s.mu.Unlock()
		return
	}
	if e.Status != StatusCompleted {
		s.mu.Unlock()
		apiError(w, http.StatusBadRequest, "INVALID_REQUEST", "Envelope is not completed")
		return
	}
	lines := []string{"Signing certificate", e.Title, e.ID, ""}
	for _, rc := range e.Recipients {
		lines = append(lines, fmt.Sprintf("%s <%s>  %s  %s", rc.Name, rc.Email, rc.SigningStatus, ts(rc.SignedAt)))
	}
	s.mu.Unlock()
	pdfOrError(w, lines)
}

func pdfOrError(w http.ResponseWriter, lines []string) {
	b, err := report.Plain(lines...)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
		return
	}
	writePDF(w, b)
}

func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	if !s.query(w, r, "version") {
		return
	}
	version := r.URL.Query().Get("version")
	if version == "" {
		version = "signed"
	}
	if !slices.Contains([]string{"original", "signed", "pending"}, version) {
		s.shapeError(w, r, "version: original, signed or pending")
		return
	}
	s.mu.Lock()
	var it *item
	var e *envelope
	for _, cand := range s.envelopes {
		for _, i := range cand.Items {
			if i.ID == r.PathValue("id") {
				it, e = i, cand
			}
		}
	}
	out := s.output
	s.mu.Unlock()
	if it == nil {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Envelope item not found")
		return
	}
	switch version {
	case "original":
		writePDF(w, it.Original)
	case "pending":
		if e.Status != StatusPending {
			apiError(w, http.StatusBadRequest, "INVALID_REQUEST", "Pending version only while the envelope is pending")
			return
		}
		writePDF(w, it.Original)
	default:
		if e.Status != StatusCompleted || it.Signed == nil {
			apiError(w, http.StatusBadRequest, "INVALID_REQUEST", "Envelope is not completed")
			return
		}
		b := it.Signed
		if out != nil {
			b = out(slices.Clone(b))
		}
		writePDF(w, b)
	}
}
