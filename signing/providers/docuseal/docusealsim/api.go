package docusealsim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signingd/signingd/signing/pades"
)

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: submission %q", ErrNotFound, s)
	}
	return id, nil
}

func ts(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// The bodies of the create requests (docs/openapi.json); the OpenAPI check has run before.
type inSubmitter struct {
	Name            string         `json:"name"`
	Role            string         `json:"role"`
	Email           string         `json:"email"`
	Phone           string         `json:"phone"`
	ExternalID      string         `json:"external_id"`
	Metadata        map[string]any `json:"metadata"`
	SendEmail       *bool          `json:"send_email"`
	Order           *int           `json:"order"`
	RequirePhone2FA bool           `json:"require_phone_2fa"`
	RequireEmail2FA bool           `json:"require_email_2fa"`
}

type inCommon struct {
	Name       string        `json:"name"`
	SendEmail  *bool         `json:"send_email"`
	Order      string        `json:"order"`
	ExpireAt   string        `json:"expire_at"`
	Submitters []inSubmitter `json:"submitters"`
}

type inPDF struct {
	inCommon
	Documents []struct {
		Name   string `json:"name"`
		File   string `json:"file"`
		Fields []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			Role     string `json:"role"`
			Required *bool  `json:"required"`
			Areas    []struct {
				X, Y, W, H float64
				Page       int
			} `json:"areas"`
		} `json:"fields"`
	} `json:"documents"`
}

type inTemplate struct {
	inCommon
	TemplateID int64 `json:"template_id"`
}

// unprocessable is DocuSeal's 422 for a request it understood but cannot do; the simulator
// records it with the shape errors, as a test should see why.
func (s *Server) unprocessable(w http.ResponseWriter, r *http.Request, msg string) {
	s.mu.Lock()
	s.shapeErrors = append(s.shapeErrors, r.Method+" "+r.URL.Path+": 422 "+msg)
	s.mu.Unlock()
	apiError(w, http.StatusUnprocessableEntity, msg)
}

func (s *Server) createFromPDF(w http.ResponseWriter, r *http.Request) {
	var in inPDF
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		s.unprocessable(w, r, "JSON parse error: "+err.Error())
		return
	}
	var docs []*doc
	var fields []Field
	for i, d := range in.Documents {
		if strings.HasPrefix(d.File, "http://") || strings.HasPrefix(d.File, "https://") {
			s.unprocessable(w, r, "Unable to download "+d.File+" (the simulator takes base64 only)")
			return
		}
		b, err := base64.StdEncoding.DecodeString(d.File)
		if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
			s.unprocessable(w, r, fmt.Sprintf("documents[%d].file: not a base64 PDF", i))
			return
		}
		sizes, err := pades.PageSizes(context.Background(), bytes.NewReader(b), int64(len(b)))
		if err != nil {
			s.unprocessable(w, r, fmt.Sprintf("documents[%d].file: unreadable PDF: %v", i, err))
			return
		}
		docs = append(docs, &doc{UUID: newUUID(), Name: d.Name, Original: b})
		for j, f := range d.Fields {
			at := fmt.Sprintf("documents[%d].fields[%d]", i, j)
			fl := Field{UUID: newUUID(), Name: f.Name, Type: f.Type, Role: f.Role, Required: f.Required == nil || *f.Required, Document: i}
			if fl.Type == "" {
				fl.Type = "text"
			}
			for _, a := range f.Areas {
				if a.X < 0 || a.Y < 0 || a.W <= 0 || a.H <= 0 || a.X+a.W > 1.0001 || a.Y+a.H > 1.0001 {
					s.unprocessable(w, r, at+".areas: x, y, w and h are fractions of the page (0 to 1)")
					return
				}
				if a.Page < 1 || a.Page > len(sizes) {
					s.unprocessable(w, r, fmt.Sprintf("%s.areas: page %d of a %d-page document", at, a.Page, len(sizes)))
					return
				}
				fl.Areas = append(fl.Areas, Area{X: a.X, Y: a.Y, W: a.W, H: a.H, Page: a.Page})
			}
			fields = append(fields, fl)
		}
	}
	if len(docs) == 0 {
		s.unprocessable(w, r, "documents: at least one")
		return
	}
	sub, msg := s.newSubmission(r, in.inCommon, docs, fields, nil)
	if msg != "" {
		s.unprocessable(w, r, msg)
		return
	}
	s.mu.Lock()
	out := s.submissionJSON(sub, false, true, false)
	s.mu.Unlock()
	delete(out, "submission_events")
	writeJSON(w, http.StatusOK, out)
	s.maybeAutoSign(sub.ID)
}

func (s *Server) createFromTemplate(w http.ResponseWriter, r *http.Request) {
	var in inTemplate
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		s.unprocessable(w, r, "JSON parse error: "+err.Error())
		return
	}
	s.mu.Lock()
	t := s.templates[in.TemplateID]
	s.mu.Unlock()
	if t == nil {
		s.unprocessable(w, r, "Template not found")
		return
	}
	var fields []Field
	for i, role := range t.Roles {
		fields = append(fields, Field{UUID: newUUID(), Name: "Signature " + strconv.Itoa(i+1), Type: "signature", Role: role, Required: true,
			Areas: []Area{{X: 0.07 + 0.3*float64(i%3), Y: 0.85, W: 0.28, H: 0.06, Page: 1}}})
	}
	for i := range in.Submitters {
		if in.Submitters[i].Role == "" && i < len(t.Roles) {
			in.Submitters[i].Role = t.Roles[i]
		}
		if !slices.Contains(t.Roles, in.Submitters[i].Role) {
			s.unprocessable(w, r, "Unknown submitter role: "+in.Submitters[i].Role)
			return
		}
	}
	docs := []*doc{{UUID: newUUID(), Name: t.Name, Original: t.Doc}}
	sub, msg := s.newSubmission(r, in.inCommon, docs, fields, t)
	if msg != "" {
		s.unprocessable(w, r, msg)
		return
	}
	s.mu.Lock()
	out := []map[string]any{}
	for _, sb := range sub.Submitters {
		m := s.submitterJSON(sub, sb, true)
		delete(m, "documents")
		m["embed_src"] = s.base + "/s/" + sb.Slug
		out = append(out, m)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
	s.maybeAutoSign(sub.ID)
}

func (s *Server) maybeAutoSign(id int64) {
	s.mu.Lock()
	auto := s.autoSign
	s.mu.Unlock()
	if auto {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.autoSignAll(id)
		}()
	}
}

// newSubmission stores a submission and sends the first requests; a message when DocuSeal would
// refuse it.
func (s *Server) newSubmission(r *http.Request, in inCommon, docs []*doc, fields []Field, t *template) (*submission, string) {
	now := s.now()
	sub := &submission{Name: in.Name, Slug: randomID(14), Source: "api", Order: in.Order, CreatedAt: now, UpdatedAt: now, Template: t, Docs: docs, Fields: fields}
	if sub.Order == "" {
		sub.Order = "preserved"
	}
	if sub.Name == "" && t != nil {
		sub.Name = t.Name
	}
	if in.ExpireAt != "" {
		at, err := parseTime(in.ExpireAt)
		if err != nil {
			return nil, "expire_at: " + err.Error()
		}
		sub.ExpireAt = &at
	}
	if len(in.Submitters) == 0 {
		return nil, "submitters: at least one"
	}
	roles := map[string]bool{}
	for i, is := range in.Submitters {
		if is.Role == "" {
			is.Role = "Submitter " + strconv.Itoa(i+1)
		}
		if roles[is.Role] {
			return nil, "submitters: role " + is.Role + " twice"
		}
		roles[is.Role] = true
		if is.RequirePhone2FA && is.Phone == "" {
			return nil, fmt.Sprintf("submitters[%d]: phone is required with require_phone_2fa", i)
		}
		if is.Email == "" && is.Phone == "" {
			return nil, fmt.Sprintf("submitters[%d]: email or phone is required", i)
		}
		sb := &Submitter{UUID: newUUID(), Slug: randomID(14), Name: is.Name, Email: strings.ToLower(is.Email), Phone: is.Phone, Role: is.Role,
			ExternalID: is.ExternalID, Order: i, Phone2FA: is.RequirePhone2FA, Email2FA: is.RequireEmail2FA,
			SendEmail: (in.SendEmail == nil || *in.SendEmail) && (is.SendEmail == nil || *is.SendEmail),
			CreatedAt: now, UpdatedAt: now, Metadata: is.Metadata, submission: sub}
		if is.Order != nil {
			sb.Order = *is.Order
		}
		if sb.Metadata == nil {
			sb.Metadata = map[string]any{}
		}
		sub.Submitters = append(sub.Submitters, sb)
	}
	for _, f := range fields {
		if !roles[f.Role] {
			return nil, "fields: role " + f.Role + " has no submitter"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	sub.ID = s.nextID
	for _, sb := range sub.Submitters {
		s.nextID++
		sb.ID = s.nextID
	}
	s.submissions[sub.ID] = sub
	s.order = append(s.order, sub.ID)
	s.emit(sub, nil, "submission.created")
	s.invite(sub)
	return sub, ""
}

func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time", v)
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *submission {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		notFound(w)
		return nil
	}
	sub := s.submissions[id]
	if sub == nil {
		notFound(w)
	}
	return sub
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub := s.lookup(w, r); sub != nil {
		writeJSON(w, http.StatusOK, s.submissionJSON(sub, true, true, true))
	}
}

func (s *Server) archive(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.lookup(w, r)
	if sub == nil {
		return
	}
	if r.URL.Query().Get("permanently") == "true" {
		delete(s.submissions, sub.ID)
		s.order = slices.DeleteFunc(s.order, func(id int64) bool { return id == sub.ID })
		writeJSON(w, http.StatusOK, map[string]any{"id": sub.ID, "archived_at": ts(sub.ArchivedAt)})
		return
	}
	now := s.now()
	sub.ArchivedAt, sub.UpdatedAt = &now, now
	s.emit(sub, nil, "submission.archived")
	writeJSON(w, http.StatusOK, map[string]any{"id": sub.ID, "archived_at": ts(sub.ArchivedAt)})
}

func (s *Server) documents(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.lookup(w, r)
	if sub == nil {
		return
	}
	docs := []map[string]any{}
	for i, d := range sub.Docs {
		docs = append(docs, map[string]any{"name": d.Name, "url": s.link(sub.ID, i, d.Name)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": sub.ID, "documents": docs})
}

// page applies DocuSeal's id cursor pagination (newest first) to ids.
func page(r *http.Request, ids []int64) ([]int64, map[string]any) {
	limit := 10
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 {
		limit = min(v, 100)
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	slices.Sort(ids)
	slices.Reverse(ids)
	var out []int64
	for _, id := range ids {
		if (after > 0 && id >= after) || (before > 0 && id <= before) {
			continue
		}
		if len(out) < limit {
			out = append(out, id)
		}
	}
	pg := map[string]any{"count": len(out), "next": nil, "prev": nil}
	if len(out) > 0 {
		pg["next"], pg["prev"] = out[len(out)-1], out[0]
	}
	return out, pg
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for _, id := range s.order {
		sub := s.submissions[id]
		if v := q.Get("status"); v != "" && sub.status(s.now()) != v {
			continue
		}
		if v := q.Get("archived"); v != "" && (v == "true") != (sub.ArchivedAt != nil) {
			continue
		}
		if v := q.Get("slug"); v != "" && sub.Slug != v {
			continue
		}
		if v := q.Get("template_id"); v != "" && (sub.Template == nil || strconv.FormatInt(sub.Template.ID, 10) != v) {
			continue
		}
		if term := strings.ToLower(q.Get("q")); term != "" {
			match := false
			for _, sb := range sub.Submitters {
				match = match || strings.Contains(strings.ToLower(sb.Email), term) || strings.Contains(sb.Phone, term) ||
					strings.Contains(strings.ToLower(sb.Name), term)
			}
			if !match {
				continue
			}
		}
		ids = append(ids, id)
	}
	got, pg := page(r, ids)
	data := []map[string]any{}
	for _, id := range got {
		data = append(data, s.submissionJSON(s.submissions[id], false, false, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "pagination": pg})
}

func (s *Server) submitters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	index := map[int64]*Submitter{}
	var ids []int64
	for _, sid := range s.order {
		sub := s.submissions[sid]
		if v := q.Get("submission_id"); v != "" && strconv.FormatInt(sid, 10) != v {
			continue
		}
		for _, sb := range sub.Submitters {
			if v := q.Get("external_id"); v != "" && sb.ExternalID != v {
				continue
			}
			if v := q.Get("slug"); v != "" && sb.Slug != v {
				continue
			}
			if term := strings.ToLower(q.Get("q")); term != "" && !strings.Contains(strings.ToLower(sb.Email), term) &&
				!strings.Contains(strings.ToLower(sb.Name), term) && !strings.Contains(sb.Phone, term) {
				continue
			}
			index[sb.ID] = sb
			ids = append(ids, sb.ID)
		}
	}
	got, pg := page(r, ids)
	data := []map[string]any{}
	for _, id := range got {
		sb := index[id]
		m := s.submitterJSON(sb.submission, sb, true)
		m["submission_events"] = s.eventsJSON(sb.submission, sb.ID)
		if t := sb.submission.Template; t != nil {
			m["template"] = map[string]any{"id": t.ID, "name": t.Name, "created_at": ts(&t.CreatedAt), "updated_at": ts(&t.CreatedAt)}
		}
		data = append(data, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "pagination": pg})
}

// submissionJSON is Submissions::SerializeForApi. Caller holds s.mu.
func (s *Server) submissionJSON(sub *submission, events, documents, values bool) map[string]any {
	now := s.now()
	m := map[string]any{"id": sub.ID, "name": sub.Name, "slug": sub.Slug, "source": sub.Source, "submitters_order": sub.Order,
		"expire_at": ts(sub.ExpireAt), "created_at": ts(&sub.CreatedAt), "updated_at": ts(&sub.UpdatedAt), "archived_at": ts(sub.ArchivedAt),
		"variables": map[string]any{}, "metadata": map[string]any{}, "status": sub.status(now), "completed_at": ts(sub.CompletedAt),
		"audit_log_url": nil, "combined_document_url": nil,
		"created_by_user": map[string]any{"id": 1, "first_name": "Gemeente", "last_name": "Voorbeeld", "email": "team@gemeente.example"},
	}
	if t := sub.Template; t != nil {
		m["template"] = map[string]any{"id": t.ID, "name": t.Name, "external_id": nil, "folder_name": "Default",
			"created_at": ts(&t.CreatedAt), "updated_at": ts(&t.CreatedAt)}
	}
	var subs []map[string]any
	for _, sb := range sub.Submitters {
		j := s.submitterJSON(sub, sb, documents || values)
		if !documents {
			delete(j, "documents")
		}
		if !values {
			delete(j, "values")
		}
		subs = append(subs, j)
	}
	m["submitters"] = subs
	if events {
		m["submission_events"] = s.eventsJSON(sub, 0)
	}
	if documents {
		m["documents"] = []map[string]any{}
	}
	if sub.CompletedAt != nil {
		m["audit_log_url"] = s.link(sub.ID, -1, "Audit Log")
		if documents {
			var docs []map[string]any
			for i, d := range sub.Docs {
				docs = append(docs, map[string]any{"name": d.Name, "url": s.link(sub.ID, i, d.Name)})
			}
			m["documents"] = docs
		}
	}
	return m
}

// submitterJSON is Submitters::SerializeForApi. Caller holds s.mu.
func (s *Server) submitterJSON(sub *submission, sb *Submitter, full bool) map[string]any {
	prefs := map[string]any{"send_email": sb.SendEmail}
	if sb.Phone2FA {
		prefs["require_phone_2fa"] = true
	}
	if sb.Email2FA {
		prefs["require_email_2fa"] = true
	}
	m := map[string]any{"id": sb.ID, "submission_id": sub.ID, "uuid": sb.UUID, "email": orNil(sb.Email), "slug": sb.Slug,
		"sent_at": ts(sb.SentAt), "opened_at": ts(sb.OpenedAt), "completed_at": ts(sb.CompletedAt), "declined_at": ts(sb.DeclinedAt),
		"created_at": ts(&sb.CreatedAt), "updated_at": ts(&sb.UpdatedAt), "name": orNil(sb.Name), "phone": orNil(sb.Phone),
		"external_id": orNil(sb.ExternalID), "status": sb.status(), "role": sb.Role, "metadata": sb.Metadata, "preferences": prefs,
		"application_key": orNil(sb.ExternalID)}
	if full {
		values := []map[string]any{}
		docs := []map[string]any{}
		if sb.CompletedAt != nil {
			for _, f := range sub.Fields {
				if f.Role == sb.Role {
					values = append(values, map[string]any{"field": f.Name, "value": s.base + "/file/signature-" + sb.UUID + "/signature.png"})
				}
			}
			if sub.CompletedAt != nil {
				for i, d := range sub.Docs {
					docs = append(docs, map[string]any{"name": d.Name, "url": s.link(sub.ID, i, d.Name)})
				}
			}
		}
		m["values"], m["documents"] = values, docs
	}
	return m
}

// eventsJSON lists submission_events, of one submitter when submitterID is set. Caller holds s.mu.
func (s *Server) eventsJSON(sub *submission, submitterID int64) []map[string]any {
	out := []map[string]any{}
	for _, e := range sub.Events {
		if submitterID != 0 && e.SubmitterID != submitterID {
			continue
		}
		var who any
		if e.SubmitterID != 0 {
			who = e.SubmitterID
		}
		data := map[string]any{}
		if r, ok := e.Data["reason"]; ok {
			data["reason"] = r
		}
		out = append(out, map[string]any{"id": e.ID, "submitter_id": who, "event_type": e.Type, "event_timestamp": ts(&e.At), "data": data})
	}
	return out
}

// fileRef is what a link serves: a document (0-based) or the audit log (-1), until Expires.
type fileRef struct {
	Submission int64
	Doc        int
	Expires    time.Time
}

// link makes a fresh expiring link, as ActiveStorage::Blob.proxy_url with Accounts.link_expires_at.
// Caller holds s.mu.
func (s *Server) link(id int64, docIndex int, name string) string {
	tok := randomID(40)
	s.files[tok] = fileRef{Submission: id, Doc: docIndex, Expires: s.now().Add(LinkLifetime)}
	return s.base + "/file/" + tok + "/" + url.PathEscape(name+".pdf")
}

func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var b []byte
	ref, ok := s.files[r.PathValue("token")]
	if sub := s.submissions[ref.Submission]; ok && sub != nil && s.now().Before(ref.Expires) {
		switch {
		case ref.Doc < 0:
			b = sub.AuditLog
		case ref.Doc < len(sub.Docs) && sub.Docs[ref.Doc].Signed != nil:
			b = sub.Docs[ref.Doc].Signed
			if s.output != nil {
				b = s.output(slices.Clone(b))
			}
		case ref.Doc < len(sub.Docs):
			b = sub.Docs[ref.Doc].Original
		}
	}
	s.mu.Unlock()
	if b == nil {
		notFound(w) // an expired or unknown link
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}
