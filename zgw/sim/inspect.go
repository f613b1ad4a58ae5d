package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// RequestRecord is one API request as the Sim received it.
type RequestRecord struct {
	Time     time.Time
	Method   string
	Path     string
	Query    string
	Header   http.Header // includes traceparent and Authorization as sent
	ClientID string
	Claims   map[string]any // token payload (verified in token modes, decoded unverified in TokensOff)
	Status   int
	Duration time.Duration
}

type recordKey struct{}

func (s *Sim) record(r *http.Request) (*RequestRecord, *http.Request) {
	rec := &RequestRecord{Time: s.now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone()}
	return rec, r.WithContext(context.WithValue(r.Context(), recordKey{}, rec))
}

func (s *Sim) setRecordClaims(r *http.Request, p *principal) {
	if rec, ok := r.Context().Value(recordKey{}).(*RequestRecord); ok && p != nil {
		s.mu.Lock()
		rec.ClientID, rec.Claims = p.clientID, p.claims
		s.mu.Unlock()
	}
}

func (s *Sim) finishRecord(rec *RequestRecord, status int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Status, rec.Duration = status, d
	s.requests = append(s.requests, *rec)
	if over := len(s.requests) - s.opts.MaxRequestLog; over > 0 {
		s.requests = slices.Delete(s.requests, 0, over)
	}
}

// Requests returns the request log, oldest first (completed requests only).
func (s *Sim) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RequestsTo returns the logged requests with this method (any when "") whose path contains pathPart.
func (s *Sim) RequestsTo(method, pathPart string) []RequestRecord {
	var out []RequestRecord
	for _, r := range s.Requests() {
		if (method == "" || r.Method == method) && strings.Contains(r.Path, pathPart) {
			out = append(out, r)
		}
	}
	return out
}

// Notifications returns every notification the NRC accepted, oldest first.
func (s *Sim) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.notifs)
}

// Deliveries returns every delivery attempt to abonnement callbacks, in completion order.
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.delivs)
}

// WaitDeliveries waits until at least n successful deliveries were made or ctx ends.
func (s *Sim) WaitDeliveries(ctx context.Context, n int) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		ok := 0
		for _, d := range s.Deliveries() {
			if d.Delivered {
				ok++
			}
		}
		if ok >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sim: %d of %d deliveries: %w", ok, n, ctx.Err())
		case <-t.C:
		}
	}
}

// VersionInfo describes one stored version of a document.
type VersionInfo struct {
	Versie           int            `json:"versie"`
	BeginRegistratie time.Time      `json:"beginRegistratie"`
	Metadata         map[string]any `json:"metadata"` // the full response representation of that version
	HasContent       bool           `json:"hasContent"`
	Size             int64          `json:"size"`
	SHA256           string         `json:"sha256"` // hex of the content
}

// Versions lists the versions of the document with this URL (or uuid).
func (s *Sim) Versions(doc string) ([]VersionInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docByRefLocked(doc)
	if d == nil {
		return nil, fmt.Errorf("sim: no document %q", doc)
	}
	base := s.baseLocked()
	out := make([]VersionInfo, 0, len(d.versions))
	for _, v := range d.versions {
		vi := VersionInfo{Versie: v.versie, BeginRegistratie: v.begin, Metadata: s.renderEIO(base, d, v)}
		if v.blob != nil {
			vi.HasContent, vi.Size, vi.SHA256 = true, v.blob.size, v.blob.sha256
		}
		out = append(out, vi)
	}
	return out, nil
}

// OpenContent opens the content of a document version (0: latest). The caller closes it.
func (s *Sim) OpenContent(doc string, versie int) (io.ReadCloser, error) {
	s.mu.Lock()
	d := s.docByRefLocked(doc)
	var b *blob
	if d != nil {
		if versie == 0 {
			versie = len(d.versions)
		}
		if versie >= 1 && versie <= len(d.versions) {
			b = d.versions[versie-1].blob
		}
	}
	s.mu.Unlock()
	if b == nil {
		return nil, fmt.Errorf("sim: no content for %q version %d", doc, versie)
	}
	return os.Open(b.path)
}

// Content returns the content of a document version (0: latest); for small documents in tests.
func (s *Sim) Content(doc string, versie int) ([]byte, error) {
	rc, err := s.OpenContent(doc, versie)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func (s *Sim) docByRefLocked(ref string) *eio {
	if d := s.docs[ref]; d != nil {
		return d
	}
	if id, ok := s.resolveLocked(ref, DRCPath, "enkelvoudiginformatieobjecten"); ok {
		return s.docs[id]
	}
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return s.docs[ref[i+1:]]
	}
	return nil
}

// LockInfo is a lock currently held on a document.
type LockInfo struct {
	Document string `json:"document"`
	Lock     string `json:"lock"`
}

// Locks lists the documents that are locked, with their lock ids.
func (s *Sim) Locks() []LockInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []LockInfo
	for _, d := range slices.SortedFunc(maps.Values(s.docs), func(a, b *eio) int { return a.seq - b.seq }) {
		if d.lock != "" {
			out = append(out, LockInfo{Document: s.eioURL(s.baseLocked(), d.uuid), Lock: d.lock})
		}
	}
	return out
}

// LockDocument locks a document as another user (a ZAC editing it) would, and returns the lock id.
func (s *Sim) LockDocument(doc string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docByRefLocked(doc)
	if d == nil {
		return "", fmt.Errorf("sim: no document %q", doc)
	}
	if d.lock != "" {
		return "", errors.New("sim: document already locked")
	}
	d.lock = newLock()
	return d.lock, nil
}

// ZaakDocuments lists the document URLs related to the zaak (URL or uuid) through zaakinformatieobjecten.
func (s *Sim) ZaakDocuments(zaakRef string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := s.baseLocked()
	zid, ok := s.resolveLocked(zaakRef, ZRCPath, "zaken")
	if !ok {
		zid = zaakRef
	}
	var out []string
	for _, id := range s.ziosOrd {
		if z := s.zios[id]; z.zaak == zid {
			out = append(out, s.eioURL(base, z.doc))
		}
	}
	return out
}

// inspectRoutes serves the inspection/seeding API under /_sim (JSON, no authentication).
func (s *Sim) inspectRoutes(mux *http.ServeMux) {
	j := func(pattern string, h func(r *http.Request) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			v, err := h(r)
			if err != nil {
				writeJSON(w, 400, map[string]string{"error": err.Error()})
				return
			}
			writeJSON(w, 200, v)
		})
	}
	j("GET "+SimPath+"/documents/{uuid}/versions", func(r *http.Request) (any, error) { return s.Versions(r.PathValue("uuid")) })
	j("GET "+SimPath+"/locks", func(*http.Request) (any, error) { return orEmpty(s.Locks()), nil })
	j("GET "+SimPath+"/notifications", func(*http.Request) (any, error) {
		out := []map[string]any{}
		for _, n := range s.Notifications() {
			out = append(out, map[string]any{"message": n.Raw, "received": n.Received, "clientId": n.ClientID, "internal": n.Internal})
		}
		return out, nil
	})
	j("GET "+SimPath+"/deliveries", func(*http.Request) (any, error) {
		out := []map[string]any{}
		for _, d := range s.Deliveries() {
			out = append(out, map[string]any{"abonnement": d.Abonnement, "callbackUrl": d.CallbackURL, "kanaal": d.Kanaal,
				"attempt": d.Attempt, "status": d.Status, "error": d.Error, "delivered": d.Delivered, "at": d.At, "message": d.Message})
		}
		return out, nil
	})
	j("GET "+SimPath+"/requests", func(*http.Request) (any, error) {
		out := []map[string]any{}
		for _, r := range s.Requests() {
			out = append(out, map[string]any{"time": r.Time, "method": r.Method, "path": r.Path, "query": r.Query,
				"headers": r.Header, "clientId": r.ClientID, "claims": r.Claims, "status": r.Status, "durationMs": r.Duration.Milliseconds()})
		}
		return out, nil
	})
	j("GET "+SimPath+"/faults", func(*http.Request) (any, error) { return orEmpty(s.Faults()), nil })
	j("POST "+SimPath+"/faults", func(r *http.Request) (any, error) {
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			return nil, err
		}
		switch f.Kind {
		case FaultError, FaultRateLimit, FaultDrop, FaultLatency:
		default:
			return nil, fmt.Errorf("unknown fault kind %q", f.Kind)
		}
		s.AddFault(f)
		return orEmpty(s.Faults()), nil
	})
	j("DELETE "+SimPath+"/faults", func(*http.Request) (any, error) { s.ClearFaults(); return []Fault{}, nil })
	j("POST "+SimPath+"/seed/informatieobjecttype", func(r *http.Request) (any, error) {
		var in IOTSeed
		if err := decodeSeed(r, &in); err != nil {
			return nil, err
		}
		return map[string]string{"url": s.SeedInformatieobjecttype(in)}, nil
	})
	j("POST "+SimPath+"/seed/zaaktype", func(r *http.Request) (any, error) {
		var in ZaaktypeSeed
		if err := decodeSeed(r, &in); err != nil {
			return nil, err
		}
		u, err := s.SeedZaaktype(in)
		return map[string]string{"url": u}, err
	})
	j("POST "+SimPath+"/seed/zaak", func(r *http.Request) (any, error) {
		var in ZaakSeed
		if err := decodeSeed(r, &in); err != nil {
			return nil, err
		}
		u, err := s.SeedZaak(in)
		return map[string]string{"url": u}, err
	})
	j("POST "+SimPath+"/seed/document", func(r *http.Request) (any, error) {
		var in struct {
			DocumentSeed
			Content []byte `json:"content"` // base64
		}
		if err := decodeSeed(r, &in); err != nil {
			return nil, err
		}
		u, err := s.SeedDocument(in.Content, in.DocumentSeed)
		return map[string]string{"url": u}, err
	})
	j("POST "+SimPath+"/seed/kanaal", func(r *http.Request) (any, error) {
		var in struct {
			Naam    string   `json:"naam"`
			Filters []string `json:"filters"`
		}
		if err := decodeSeed(r, &in); err != nil {
			return nil, err
		}
		return map[string]string{"url": s.SeedKanaal(in.Naam, in.Filters...)}, nil
	})
}

func orEmpty[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

func decodeSeed(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<30))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && err != io.EOF {
		return err
	}
	return nil
}
