package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

type kanaal struct {
	uuid             string
	naam             string
	documentatieLink string
	filters          []string
}

type abonnement struct {
	uuid        string
	callbackURL string
	auth        string
	kanalen     []filterGroup
	clientID    string
}

type filterGroup struct {
	Naam    string            `json:"naam"`
	Filters map[string]string `json:"filters,omitempty"`
}

// Message is an NRC notification as published (NRC 1.0 Message).
type Message struct {
	Kanaal       string            `json:"kanaal"`
	HoofdObject  string            `json:"hoofdObject"`
	Resource     string            `json:"resource"`
	ResourceURL  string            `json:"resourceUrl"`
	Actie        string            `json:"actie"`
	Aanmaakdatum string            `json:"aanmaakdatum"`
	Kenmerken    map[string]string `json:"kenmerken,omitempty"`
}

// Notification is a message the NRC accepted.
type Notification struct {
	Message  Message
	Raw      json.RawMessage // the body exactly as received (and delivered)
	Received time.Time
	ClientID string // publisher's client_id ("" for the sim's own DRC/ZRC notifications)
	Internal bool   // published by the simulated DRC/ZRC themselves
}

// Delivery is one attempt to hand a notification to an abonnement's callback.
type Delivery struct {
	Abonnement  string // abonnement URL
	CallbackURL string
	Kanaal      string
	Message     Message
	Attempt     int // 1-based
	Status      int // HTTP status; 0 when the request failed
	Error       string
	Delivered   bool // 2xx
	At          time.Time
}

var kanaalFields = []field{
	{name: "naam", kind: kString, min: 1, max: 50, required: true},
	{name: "documentatieLink", kind: kURI, max: 200},
	{name: "filters", kind: kStringList},
}

func (s *Sim) renderKanaal(base string, k *kanaal) map[string]any {
	return map[string]any{"url": base + NRCPath + "/kanaal/" + k.uuid, "naam": k.naam, "documentatieLink": k.documentatieLink, "filters": k.filters}
}

func (s *Sim) kanaalList(w http.ResponseWriter, r *http.Request, _ *principal) error {
	naam := r.URL.Query().Get("naam")
	s.mu.Lock()
	out := []map[string]any{}
	for _, id := range s.kanOrd {
		if k := s.kanalen[id]; naam == "" || k.naam == naam {
			out = append(out, s.renderKanaal(s.baseLocked(), k))
		}
	}
	s.mu.Unlock()
	writeJSON(w, 200, out)
	return nil
}

func (s *Sim) kanaalRetrieve(w http.ResponseWriter, r *http.Request, _ *principal) error {
	s.mu.Lock()
	k := s.kanalen[r.PathValue("uuid")]
	if k == nil {
		s.mu.Unlock()
		return notFound()
	}
	body := s.renderKanaal(s.baseLocked(), k)
	s.mu.Unlock()
	writeJSON(w, 200, body)
	return nil
}

func (s *Sim) kanaalCreate(w http.ResponseWriter, r *http.Request, _ *principal) error {
	body, err := s.readJSONObject(r)
	if err != nil {
		return err
	}
	vals, errs := decodeFields(kanaalFields, body, false)
	for _, f := range asStrings(vals["filters"]) {
		if len(f) < 1 || len(f) > 100 {
			errs = append(errs, InvalidParam{"filters", "max_length", "Filters moeten 1 tot 100 tekens zijn."})
		}
	}
	if len(errs) > 0 {
		return validation(errs...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kanaalByNameLocked(vals["naam"].(string)) != nil {
		return invalid("naam", "unique", "kanaal met deze naam bestaat al.")
	}
	k := s.addKanaalLocked(vals["naam"].(string), str(vals["documentatieLink"]), asStrings(vals["filters"]))
	base := s.baseLocked()
	w.Header().Set("Location", base+NRCPath+"/kanaal/"+k.uuid)
	writeJSON(w, 201, s.renderKanaal(base, k))
	return nil
}

func (s *Sim) addKanaalLocked(naam, link string, filters []string) *kanaal {
	if filters == nil {
		filters = []string{}
	}
	k := &kanaal{uuid: newUUID(), naam: naam, documentatieLink: link, filters: filters}
	s.kanalen[k.uuid] = k
	s.kanOrd = append(s.kanOrd, k.uuid)
	return k
}

func asStrings(v any) []string {
	l, _ := v.([]string)
	return l
}

func (s *Sim) kanaalByNameLocked(naam string) *kanaal {
	for _, k := range s.kanalen {
		if k.naam == naam {
			return k
		}
	}
	return nil
}

var messageFields = []field{
	{name: "kanaal", kind: kString, min: 1, max: 50, required: true},
	{name: "hoofdObject", kind: kURI, min: 1, required: true},
	{name: "resource", kind: kString, min: 1, max: 100, required: true},
	{name: "resourceUrl", kind: kURI, min: 1, required: true},
	{name: "actie", kind: kString, min: 1, max: 100, required: true},
	{name: "aanmaakdatum", kind: kDateTime, required: true},
	{name: "kenmerken", kind: kObject, max: 1000},
}

// notificatieCreate accepts a message on an existing kanaal, answers 200 with the message and delivers it
// asynchronously to every matching abonnement.
func (s *Sim) notificatieCreate(w http.ResponseWriter, r *http.Request, p *principal) error {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err != nil {
		return invalid("nonFieldErrors", "parse_error", "Kon body niet lezen.")
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(raw, &body) != nil || body == nil {
		return invalid("nonFieldErrors", "parse_error", "Body moet een JSON object zijn.")
	}
	_, errs := decodeFields(messageFields, body, false)
	if len(errs) > 0 {
		return validation(errs...)
	}
	var msg Message
	if err := json.Unmarshal(raw, &msg); err != nil {
		return invalid("nonFieldErrors", "parse_error", err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kanaalByNameLocked(msg.Kanaal) == nil {
		return invalid("kanaal", "kanaal_naam", fmt.Sprintf("Kanaal %q bestaat niet.", msg.Kanaal))
	}
	s.acceptLocked(msg, raw, p.clientID, false)
	writeJSON(w, 200, json.RawMessage(raw))
	return nil
}

// acceptLocked stores a notification and starts deliveries.
func (s *Sim) acceptLocked(msg Message, raw json.RawMessage, clientID string, internal bool) {
	s.notifs = append(s.notifs, Notification{Message: msg, Raw: raw, Received: s.now(), ClientID: clientID, Internal: internal})
	base := s.baseLocked()
	for _, id := range s.abosOrd {
		a := s.abos[id]
		if a == nil || !a.matches(msg) || s.ctx.Err() != nil {
			continue
		}
		s.wg.Add(1)
		go s.deliver(base+NRCPath+"/abonnement/"+a.uuid, a.callbackURL, a.auth, msg, raw)
	}
}

// publishInternalLocked is how the simulated DRC/ZRC notify, as real ones do, when the kanaal exists.
func (s *Sim) publishInternalLocked(kanaalNaam, resource, actie, hoofd, resourceURL string, kenmerken map[string]string) {
	if s.kanaalByNameLocked(kanaalNaam) == nil {
		return
	}
	for k, v := range kenmerken {
		if v == "" {
			delete(kenmerken, k)
		}
	}
	msg := Message{Kanaal: kanaalNaam, HoofdObject: hoofd, Resource: resource, ResourceURL: resourceURL, Actie: actie,
		Aanmaakdatum: fmtTime(s.now()), Kenmerken: kenmerken}
	raw, _ := json.Marshal(msg)
	s.acceptLocked(msg, raw, "", true)
}

// matches applies the abonnement's filters: a kanaal group matches when all its filters match (AND).
// Keys "#resource" and "#actie" compare to the message's resource and actie, other keys to kenmerken; "*" matches any.
func (a *abonnement) matches(m Message) bool {
	for _, g := range a.kanalen {
		if g.Naam != m.Kanaal {
			continue
		}
		ok := true
		for k, want := range g.Filters {
			var got string
			var present bool
			switch k {
			case "#resource":
				got, present = m.Resource, true
			case "#actie":
				got, present = m.Actie, true
			default:
				got, present = m.Kenmerken[k]
			}
			if want != "*" && (!present || got != want) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// deliver POSTs the message to the callback with the abonnement's auth, retrying with exponential backoff.
func (s *Sim) deliver(aboURL, callback, auth string, msg Message, raw []byte) {
	defer s.wg.Done()
	wait := s.opts.DeliveryBackoff
	for attempt := 1; attempt <= s.opts.DeliveryAttempts; attempt++ {
		d := Delivery{Abonnement: aboURL, CallbackURL: callback, Kanaal: msg.Kanaal, Message: msg, Attempt: attempt}
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, callback, bytes.NewReader(raw))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", auth)
			var resp *http.Response
			resp, err = s.opts.DeliveryClient.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				d.Status = resp.StatusCode
				d.Delivered = resp.StatusCode >= 200 && resp.StatusCode < 300
			}
		}
		cancel()
		if err != nil {
			d.Error = err.Error()
		}
		s.mu.Lock()
		d.At = s.now()
		s.delivs = append(s.delivs, d)
		s.mu.Unlock()
		if d.Delivered || s.ctx.Err() != nil {
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}

var abonnementFields = []field{
	{name: "callbackUrl", kind: kURI, min: 1, max: 200, required: true},
	{name: "auth", kind: kString, min: 1, max: 1000, required: true},
}

func (s *Sim) renderAbonnement(base string, a *abonnement) map[string]any {
	groups := make([]map[string]any, 0, len(a.kanalen))
	for _, g := range a.kanalen {
		f := g.Filters
		if f == nil {
			f = map[string]string{}
		}
		groups = append(groups, map[string]any{"naam": g.Naam, "filters": f})
	}
	return map[string]any{"url": base + NRCPath + "/abonnement/" + a.uuid, "callbackUrl": a.callbackURL, "auth": a.auth, "kanalen": groups}
}

func (s *Sim) abonnementCreate(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readJSONObject(r)
	if err != nil {
		return err
	}
	vals, errs := decodeFields(abonnementFields, body, false)
	var groups []filterGroup
	if raw, ok := body["kanalen"]; !ok {
		errs = append(errs, InvalidParam{"kanalen", "required", "Dit veld is vereist."})
	} else if json.Unmarshal(raw, &groups) != nil {
		errs = append(errs, InvalidParam{"kanalen", "invalid", "Verwachtte een lijst van {naam, filters}."})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, g := range groups {
		if s.kanaalByNameLocked(g.Naam) == nil {
			errs = append(errs, InvalidParam{fmt.Sprintf("kanalen.%d.naam", i), "does_not_exist", fmt.Sprintf("Kanaal %q bestaat niet.", g.Naam)})
		}
	}
	if len(errs) > 0 {
		return validation(errs...)
	}
	a := &abonnement{uuid: newUUID(), callbackURL: vals["callbackUrl"].(string), auth: vals["auth"].(string), kanalen: groups, clientID: p.clientID}
	s.abos[a.uuid] = a
	s.abosOrd = append(s.abosOrd, a.uuid)
	base := s.baseLocked()
	w.Header().Set("Location", base+NRCPath+"/abonnement/"+a.uuid)
	writeJSON(w, 201, s.renderAbonnement(base, a))
	return nil
}

func (s *Sim) abonnementList(w http.ResponseWriter, r *http.Request, _ *principal) error {
	s.mu.Lock()
	out := []map[string]any{}
	for _, id := range s.abosOrd {
		if a := s.abos[id]; a != nil {
			out = append(out, s.renderAbonnement(s.baseLocked(), a))
		}
	}
	s.mu.Unlock()
	writeJSON(w, 200, out)
	return nil
}

func (s *Sim) abonnementRetrieve(w http.ResponseWriter, r *http.Request, _ *principal) error {
	s.mu.Lock()
	a := s.abos[r.PathValue("uuid")]
	if a == nil {
		s.mu.Unlock()
		return notFound()
	}
	body := s.renderAbonnement(s.baseLocked(), a)
	s.mu.Unlock()
	writeJSON(w, 200, body)
	return nil
}

func (s *Sim) abonnementDelete(w http.ResponseWriter, r *http.Request, _ *principal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("uuid")
	if s.abos[id] == nil {
		return notFound()
	}
	delete(s.abos, id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
