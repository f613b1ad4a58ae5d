package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"time"
)

// DefaultRSIN is the bronorganisatie seeds use when none is given.
const DefaultRSIN = "002220647"

// IOTSeed describes an informatieobjecttype to seed in the ZTC.
type IOTSeed struct {
	Omschrijving                string `json:"omschrijving,omitempty"`
	Vertrouwelijkheidaanduiding string `json:"vertrouwelijkheidaanduiding,omitempty"` // default "openbaar"
	Concept                     bool   `json:"concept,omitempty"`                     // unpublished: drc-001 refuses it
}

// SeedInformatieobjecttype adds an informatieobjecttype and returns its URL.
func (s *Sim) SeedInformatieobjecttype(in IOTSeed) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.iotURL(s.baseLocked(), s.seedIOTLocked(in).uuid)
}

func (s *Sim) seedIOTLocked(in IOTSeed) *iot {
	t := &iot{uuid: newUUID(), omschrijving: in.Omschrijving, vertrouwelijkheid: in.Vertrouwelijkheidaanduiding,
		concept: in.Concept, beginGeldigheid: "2020-01-01"}
	if t.omschrijving == "" {
		t.omschrijving = "Document"
	}
	if t.vertrouwelijkheid == "" {
		t.vertrouwelijkheid = "openbaar"
	}
	s.iots[t.uuid] = t
	return t
}

// defaultIOTLocked is the published IOT seeds fall back to (created once).
func (s *Sim) defaultIOTLocked() *iot {
	for _, t := range s.iots {
		if t.omschrijving == "Sim standaard document" {
			return t
		}
	}
	return s.seedIOTLocked(IOTSeed{Omschrijving: "Sim standaard document", Vertrouwelijkheidaanduiding: "zaakvertrouwelijk"})
}

// DefaultIOT returns the URL of the published informatieobjecttype seeds use when none is given; zaken seeded
// without a zaaktype allow it.
func (s *Sim) DefaultIOT() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.iotURL(s.baseLocked(), s.defaultIOTLocked().uuid)
}

// ZaaktypeSeed describes a zaaktype to seed in the ZTC.
type ZaaktypeSeed struct {
	Omschrijving string `json:"omschrijving,omitempty"`
	// Informatieobjecttypen are the IOT URLs allowed for zaken of this type (zrc-017).
	Informatieobjecttypen []string `json:"informatieobjecttypen,omitempty"`
	Concept               bool     `json:"concept,omitempty"`
}

// SeedZaaktype adds a zaaktype and returns its URL.
func (s *Sim) SeedZaaktype(in ZaaktypeSeed) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	zt, err := s.seedZaaktypeLocked(in)
	if err != nil {
		return "", err
	}
	return s.zaaktypeURL(s.baseLocked(), zt.uuid), nil
}

func (s *Sim) seedZaaktypeLocked(in ZaaktypeSeed) (*zaaktype, error) {
	s.seq++
	zt := &zaaktype{uuid: newUUID(), identificatie: fmt.Sprintf("ZAAKTYPE-%d", s.seq), omschrijving: in.Omschrijving,
		vertrouwelijkheid: "zaakvertrouwelijk", concept: in.Concept, versiedatum: "2020-01-01"}
	if zt.omschrijving == "" {
		zt.omschrijving = "Sim zaaktype"
	}
	for _, ref := range in.Informatieobjecttypen {
		id, ok := s.resolveLocked(ref, ZTCPath, "informatieobjecttypen")
		if !ok || s.iots[id] == nil {
			return nil, fmt.Errorf("sim: unknown informatieobjecttype %q", ref)
		}
		zt.informatieobjecttypen = append(zt.informatieobjecttypen, id)
	}
	s.zaaktyps[zt.uuid] = zt
	return zt, nil
}

// AllowIOT adds an informatieobjecttype to a zaaktype's informatieobjecttypen (zrc-017).
func (s *Sim) AllowIOT(zaaktypeURL, iotURL string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	zid, _ := s.resolveLocked(zaaktypeURL, ZTCPath, "zaaktypen")
	iid, _ := s.resolveLocked(iotURL, ZTCPath, "informatieobjecttypen")
	zt, t := s.zaaktyps[zid], s.iots[iid]
	if zt == nil || t == nil {
		return fmt.Errorf("sim: unknown zaaktype %q or informatieobjecttype %q", zaaktypeURL, iotURL)
	}
	zt.informatieobjecttypen = append(zt.informatieobjecttypen, iid)
	return nil
}

// ZaakSeed describes a zaak to seed in the ZRC. Everything is optional.
type ZaakSeed struct {
	// Zaaktype is a seeded zaaktype URL. When empty a new zaaktype is made that allows Informatieobjecttypen, or
	// the DefaultIOT when that is empty too.
	Zaaktype              string   `json:"zaaktype,omitempty"`
	Informatieobjecttypen []string `json:"informatieobjecttypen,omitempty"`
	Identificatie         string   `json:"identificatie,omitempty"`
	Bronorganisatie       string   `json:"bronorganisatie,omitempty"` // default DefaultRSIN
	Omschrijving          string   `json:"omschrijving,omitempty"`
	// Vertrouwelijkheidaanduiding defaults to zaakvertrouwelijk.
	Vertrouwelijkheidaanduiding string `json:"vertrouwelijkheidaanduiding,omitempty"`
	// Einddatum (YYYY-MM-DD) makes the zaak closed: new relations then need zaken.geforceerd-bijwerken.
	Einddatum string `json:"einddatum,omitempty"`
	// Archiefstatus defaults to nog_te_archiveren.
	Archiefstatus string `json:"archiefstatus,omitempty"`
}

// SeedZaak adds a zaak and returns its URL.
func (s *Sim) SeedZaak(in ZaakSeed) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ztID string
	if in.Zaaktype != "" {
		id, ok := s.resolveLocked(in.Zaaktype, ZTCPath, "zaaktypen")
		if !ok || s.zaaktyps[id] == nil {
			return "", fmt.Errorf("sim: unknown zaaktype %q", in.Zaaktype)
		}
		ztID = id
	} else {
		iots := in.Informatieobjecttypen
		if len(iots) == 0 {
			iots = []string{s.iotURL(s.baseLocked(), s.defaultIOTLocked().uuid)}
		}
		zt, err := s.seedZaaktypeLocked(ZaaktypeSeed{Informatieobjecttypen: iots})
		if err != nil {
			return "", err
		}
		ztID = zt.uuid
	}
	s.seq++
	today := s.now().Format(time.DateOnly)
	z := &zaak{uuid: newUUID(), seq: s.seq, identificatie: in.Identificatie, bronorganisatie: in.Bronorganisatie,
		omschrijving: in.Omschrijving, zaaktype: ztID, startdatum: today, registratiedatum: today,
		einddatum: in.Einddatum, vertrouwelijkheid: in.Vertrouwelijkheidaanduiding, archiefstatus: in.Archiefstatus}
	if z.identificatie == "" {
		z.identificatie = fmt.Sprintf("ZAAK-%d-%010d", s.now().Year(), s.seq)
	}
	if z.bronorganisatie == "" {
		z.bronorganisatie = DefaultRSIN
	}
	z.verantwoordelijkeOrganisatie = z.bronorganisatie
	if z.vertrouwelijkheid == "" {
		z.vertrouwelijkheid = "zaakvertrouwelijk"
	}
	if z.archiefstatus == "" {
		z.archiefstatus = "nog_te_archiveren"
	}
	s.zaken[z.uuid] = z
	return s.zaakURL(s.baseLocked(), z.uuid), nil
}

// DocumentSeed describes the metadata of a seeded document. Empty fields get defaults; Extra may carry any other
// EnkelvoudigInformatieObject request field (validated like a request).
type DocumentSeed struct {
	Titel                       string `json:"titel,omitempty"`           // default "Sim document"
	Bronorganisatie             string `json:"bronorganisatie,omitempty"` // default DefaultRSIN
	Auteur                      string `json:"auteur,omitempty"`          // default "Sim"
	Taal                        string `json:"taal,omitempty"`            // default "dut"
	Creatiedatum                string `json:"creatiedatum,omitempty"`    // default today
	Status                      string `json:"status,omitempty"`
	Formaat                     string `json:"formaat,omitempty"`
	Bestandsnaam                string `json:"bestandsnaam,omitempty"`
	Identificatie               string `json:"identificatie,omitempty"`
	Vertrouwelijkheidaanduiding string `json:"vertrouwelijkheidaanduiding,omitempty"`
	// Informatieobjecttype is a seeded IOT URL; DefaultIOT when empty.
	Informatieobjecttype string         `json:"informatieobjecttype,omitempty"`
	Extra                map[string]any `json:"extra,omitempty"`
	// Zaak, when set, relates the document to this zaak URL (as a zaakinformatieobject), skipping zrc-017.
	Zaak string `json:"zaak,omitempty"`
}

// SeedDocument adds a document (version 1) with content and returns its URL.
func (s *Sim) SeedDocument(content []byte, meta DocumentSeed) (string, error) {
	return s.SeedDocumentFrom(bytes.NewReader(content), meta)
}

// SeedDocumentFrom is SeedDocument with content streamed from r (for large documents).
func (s *Sim) SeedDocumentFrom(r io.Reader, meta DocumentSeed) (string, error) {
	b, err := s.storeContent(r)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vals, err := s.seedMetaLocked(meta)
	if err != nil {
		return "", err
	}
	vals["bestandsomvang"] = b.size
	if vals["identificatie"] == nil || vals["identificatie"] == "" {
		s.seq++
		vals["identificatie"] = fmt.Sprintf("DOCUMENT-%d-%010d", s.now().Year(), s.seq)
	}
	s.seq++
	d := &eio{uuid: newUUID(), seq: s.seq}
	d.versions = []*eioVersion{{versie: 1, begin: s.now(), meta: vals, blob: b}}
	s.docs[d.uuid] = d
	base := s.baseLocked()
	if meta.Zaak != "" {
		zid, ok := s.resolveLocked(meta.Zaak, ZRCPath, "zaken")
		if !ok || s.zaken[zid] == nil {
			return "", fmt.Errorf("sim: unknown zaak %q", meta.Zaak)
		}
		n := &zio{uuid: newUUID(), zaak: zid, doc: d.uuid, registratiedatum: s.now()}
		s.zios[n.uuid] = n
		s.ziosOrd = append(s.ziosOrd, n.uuid)
	}
	return s.eioURL(base, d.uuid), nil
}

func (s *Sim) seedMetaLocked(meta DocumentSeed) (map[string]any, error) {
	body := map[string]any{}
	maps.Copy(body, meta.Extra)
	set := func(k, v, def string) {
		if v == "" {
			v = def
		}
		if v != "" {
			body[k] = v
		}
	}
	set("titel", meta.Titel, "Sim document")
	set("bronorganisatie", meta.Bronorganisatie, DefaultRSIN)
	set("auteur", meta.Auteur, "Sim")
	set("taal", meta.Taal, "dut")
	set("creatiedatum", meta.Creatiedatum, s.now().Format(time.DateOnly))
	set("status", meta.Status, "")
	set("formaat", meta.Formaat, "")
	set("bestandsnaam", meta.Bestandsnaam, "")
	set("identificatie", meta.Identificatie, "")
	iotRef := meta.Informatieobjecttype
	if iotRef == "" {
		iotRef = s.iotURL(s.baseLocked(), s.defaultIOTLocked().uuid)
	}
	body["informatieobjecttype"] = iotRef
	id, ok := s.resolveLocked(iotRef, ZTCPath, "informatieobjecttypen")
	t := s.iots[id]
	if !ok || t == nil {
		return nil, fmt.Errorf("sim: unknown informatieobjecttype %q", iotRef)
	}
	set("vertrouwelijkheidaanduiding", meta.Vertrouwelijkheidaanduiding, t.vertrouwelijkheid)
	raw := map[string]json.RawMessage{}
	for k, v := range body {
		data, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		raw[k] = data
	}
	vals, errs := decodeFields(eioFields, raw, false)
	errs = append(errs, checkMeta(vals)...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("sim: invalid document seed: %v", errs)
	}
	return vals, nil
}

// SeedPendingUpload adds a document as a create with inhoud null and bestandsomvang size leaves it: locked, without
// content, its bestandsdelen waiting to be uploaded (as a client that crashed mid-upload leaves it). It returns the
// URL and the lock.
func (s *Sim) SeedPendingUpload(size int64, meta DocumentSeed) (string, string, error) {
	if size <= 0 {
		return "", "", fmt.Errorf("sim: pending upload of %d bytes", size)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vals, err := s.seedMetaLocked(meta)
	if err != nil {
		return "", "", err
	}
	vals["bestandsomvang"] = size
	if vals["identificatie"] == nil || vals["identificatie"] == "" {
		s.seq++
		vals["identificatie"] = fmt.Sprintf("DOCUMENT-%d-%010d", s.now().Year(), s.seq)
	}
	s.seq++
	d := &eio{uuid: newUUID(), seq: s.seq, lock: newLock()}
	d.versions = []*eioVersion{{versie: 1, begin: s.now(), meta: vals}}
	s.newParts(d, size)
	s.docs[d.uuid] = d
	return s.eioURL(s.baseLocked(), d.uuid), d.lock, nil
}

// SeedVersion adds a new version of a document as another client would (new content when content != nil, and
// metadata changes), ignoring locks. It returns the new version number.
func (s *Sim) SeedVersion(doc string, content []byte, changes map[string]any) (int, error) {
	var b *blob
	if content != nil {
		var err error
		if b, err = s.storeContent(bytes.NewReader(content)); err != nil {
			return 0, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docByRefLocked(doc)
	if d == nil {
		return 0, fmt.Errorf("sim: no document %q", doc)
	}
	raw := map[string]json.RawMessage{}
	for k, v := range changes {
		data, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		raw[k] = data
	}
	fields, errs := decodeFields(eioFields, raw, true)
	cur := d.latest()
	meta := maps.Clone(cur.meta)
	maps.Copy(meta, fields)
	errs = append(errs, checkMeta(meta)...)
	if len(errs) > 0 {
		return 0, fmt.Errorf("sim: invalid version changes: %v", errs)
	}
	if b == nil {
		b = cur.blob
	}
	if b != nil {
		meta["bestandsomvang"] = b.size
	}
	v := &eioVersion{versie: cur.versie + 1, begin: s.now(), meta: meta, blob: b}
	if !v.begin.After(cur.begin) {
		v.begin = cur.begin.Add(time.Microsecond)
	}
	d.versions = append(d.versions, v)
	return v.versie, nil
}

// SeedKanaal registers a kanaal in the NRC (if absent) and returns its URL.
func (s *Sim) SeedKanaal(naam string, filters ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.kanaalByNameLocked(naam)
	if k == nil {
		k = s.addKanaalLocked(naam, "", filters)
	}
	return s.baseLocked() + NRCPath + "/kanaal/" + k.uuid
}

// SeedAbonnement subscribes callbackURL to a kanaal (with optional filters) and returns the abonnement URL.
func (s *Sim) SeedAbonnement(callbackURL, auth, kanaalNaam string, filters map[string]string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kanaalByNameLocked(kanaalNaam) == nil {
		return "", fmt.Errorf("sim: unknown kanaal %q", kanaalNaam)
	}
	a := &abonnement{uuid: newUUID(), callbackURL: callbackURL, auth: auth, kanalen: []filterGroup{{Naam: kanaalNaam, Filters: filters}}}
	s.abos[a.uuid] = a
	s.abosOrd = append(s.abosOrd, a.uuid)
	return s.baseLocked() + NRCPath + "/abonnement/" + a.uuid, nil
}
