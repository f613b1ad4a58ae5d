package sim

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// handlerFunc is an API handler; a returned error is written as problem+json.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *principal) error

func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern, version string, h handlerFunc, scopes ...string) {
		mux.Handle(pattern, s.apiHandler(version, scopes, h))
	}
	d, z, n, c := DRCPath, ZRCPath, NRCPath, ZTCPath
	const eio = "/enkelvoudiginformatieobjecten"

	api("GET "+d+eio+"/{uuid}", DRCVersion, s.eioRetrieve, "documenten.lezen")
	api("HEAD "+d+eio+"/{uuid}", DRCVersion, s.eioRetrieve, "documenten.lezen")
	api("GET "+d+eio+"/{uuid}/download", DRCVersion, s.eioDownload, "documenten.lezen")
	api("GET "+d+eio, DRCVersion, s.eioList, "documenten.lezen")
	api("POST "+d+eio, DRCVersion, s.eioCreate, "documenten.aanmaken")
	api("PATCH "+d+eio+"/{uuid}", DRCVersion, s.eioPatch, "documenten.bijwerken", "documenten.geforceerd-bijwerken")
	api("PUT "+d+eio+"/{uuid}", DRCVersion, s.eioPut, "documenten.bijwerken", "documenten.geforceerd-bijwerken")
	api("DELETE "+d+eio+"/{uuid}", DRCVersion, s.eioDelete, "documenten.verwijderen")
	api("POST "+d+eio+"/{uuid}/lock", DRCVersion, s.eioLock, "documenten.lock")
	api("POST "+d+eio+"/{uuid}/unlock", DRCVersion, s.eioUnlock, "documenten.lock", "documenten.geforceerd-unlock")
	api("PUT "+d+"/bestandsdelen/{uuid}", DRCVersion, s.bestandsdeelPut, "documenten.bijwerken")

	api("GET "+z+"/zaken/{uuid}", ZRCVersion, s.zaakRetrieve, "zaken.lezen")
	api("HEAD "+z+"/zaken/{uuid}", ZRCVersion, s.zaakRetrieve, "zaken.lezen")
	api("GET "+z+"/zaakinformatieobjecten", ZRCVersion, s.zioList, "zaken.lezen")
	api("GET "+z+"/zaakinformatieobjecten/{uuid}", ZRCVersion, s.zioRetrieve, "zaken.lezen")
	api("POST "+z+"/zaakinformatieobjecten", ZRCVersion, s.zioCreate, "zaken.aanmaken", "zaken.bijwerken", "zaken.geforceerd-bijwerken")

	api("GET "+n+"/kanaal", NRCVersion, s.kanaalList, "notificaties.publiceren", "notificaties.consumeren")
	api("GET "+n+"/kanaal/{uuid}", NRCVersion, s.kanaalRetrieve, "notificaties.publiceren", "notificaties.consumeren")
	api("POST "+n+"/kanaal", NRCVersion, s.kanaalCreate, "notificaties.publiceren")
	api("POST "+n+"/notificaties", NRCVersion, s.notificatieCreate, "notificaties.publiceren")
	api("GET "+n+"/abonnement", NRCVersion, s.abonnementList, "notificaties.consumeren", "notificaties.publiceren")
	api("GET "+n+"/abonnement/{uuid}", NRCVersion, s.abonnementRetrieve, "notificaties.consumeren", "notificaties.publiceren")
	api("POST "+n+"/abonnement", NRCVersion, s.abonnementCreate, "notificaties.consumeren")
	api("DELETE "+n+"/abonnement/{uuid}", NRCVersion, s.abonnementDelete, "notificaties.consumeren")

	api("GET "+c+"/informatieobjecttypen/{uuid}", ZTCVersion, s.iotRetrieve, "catalogi.lezen")
	api("GET "+c+"/zaaktypen/{uuid}", ZTCVersion, s.zaaktypeRetrieve, "catalogi.lezen", "documenten.lezen", "zaken.lezen")
	api("GET "+c+"/zaaktype-informatieobjecttypen", ZTCVersion, s.ztiotList, "catalogi.lezen")

	// Anything else under an API (including methods the sim does not implement, like DELETE on a zaak) is a
	// problem+json 404 rather than ServeMux's plain-text answer.
	for _, p := range []struct{ prefix, version string }{{d, DRCVersion}, {z, ZRCVersion}, {n, NRCVersion}, {c, ZTCVersion}} {
		mux.Handle(p.prefix+"/", s.apiHandler(p.version, nil, func(w http.ResponseWriter, r *http.Request, _ *principal) error {
			return notFound()
		}))
	}
	s.inspectRoutes(mux)
	return s.outer(mux)
}

// outer records every API request and applies injected faults before anything else sees the request.
func (s *Sim) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, SimPath+"/") {
			next.ServeHTTP(w, r)
			return
		}
		s.learnBase(r)
		rec, r := s.record(r)
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		recorded := false
		// finish logs the request once: before a dropped connection is closed, so that a
		// client that sees the drop also finds the request in the log, else when it is served
		finish := func() {
			if recorded {
				return
			}
			recorded = true
			s.finishRecord(rec, sw.status, time.Since(start))
			s.log.Debug("sim request", "method", r.Method, "path", r.URL.Path, "status", sw.status)
		}
		defer finish()
		if s.applyFaults(sw, r, next, finish) {
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// apiHandler sets API-version, checks the token and scopes, then runs h.
func (s *Sim) apiHandler(version string, scopes []string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("API-version", version)
		p, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.setRecordClaims(r, p)
		if len(scopes) > 0 && !p.hasAny(scopes...) {
			s.fail(w, r, permissionDenied("U heeft geen toestemming om deze actie uit te voeren (scope "+strings.Join(scopes, " | ")+" vereist)."))
			return
		}
		if err := h(w, r, p); err != nil {
			s.fail(w, r, err)
		}
	})
}

// learnBase adopts the first request's host as base URL when none was configured.
func (s *Sim) learnBase(r *http.Request) {
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

// base returns the base URL for building resource URLs in a response.
func (s *Sim) base(_ *http.Request) string { return s.BaseURL() }

// resolve checks that ref is a URL of this sim under apiPath+collection and returns the uuid it names.
func (s *Sim) resolveLocked(ref, apiPath, collection string) (string, bool) {
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return "", false
	}
	b, err := url.Parse(s.baseLocked())
	if err != nil || !strings.EqualFold(b.Host, u.Host) {
		return "", false
	}
	prefix := strings.TrimRight(b.Path, "/") + apiPath + "/" + collection + "/"
	rest, ok := strings.CutPrefix(u.Path, prefix)
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return rest, true
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (hijacking, flushing).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush forwards to the underlying writer when it can flush.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
