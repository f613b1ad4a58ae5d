package sim

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

type zaak struct {
	uuid                         string
	seq                          int
	identificatie                string
	bronorganisatie              string
	omschrijving                 string
	zaaktype                     string // uuid
	verantwoordelijkeOrganisatie string
	startdatum                   string
	registratiedatum             string
	einddatum                    string // "" when open
	vertrouwelijkheid            string
	archiefstatus                string
}

type zio struct {
	uuid             string
	zaak             string // uuid
	doc              string // uuid
	titel            string
	beschrijving     string
	registratiedatum time.Time
}

type iot struct {
	uuid              string
	omschrijving      string
	vertrouwelijkheid string
	concept           bool
	beginGeldigheid   string
}

type zaaktype struct {
	uuid                  string
	identificatie         string
	omschrijving          string
	vertrouwelijkheid     string
	informatieobjecttypen []string // iot uuids (zrc-017)
	concept               bool
	versiedatum           string
}

func (s *Sim) zaakURL(base, id string) string { return base + ZRCPath + "/zaken/" + id }
func (s *Sim) zioURL(base, id string) string  { return base + ZRCPath + "/zaakinformatieobjecten/" + id }
func (s *Sim) iotURL(base, id string) string  { return base + ZTCPath + "/informatieobjecttypen/" + id }
func (s *Sim) zaaktypeURL(base, id string) string {
	return base + ZTCPath + "/zaaktypen/" + id
}

func (s *Sim) renderZaak(base string, z *zaak) map[string]any {
	var einddatum any
	if z.einddatum != "" {
		einddatum = z.einddatum
	}
	zios := []string{}
	for _, id := range s.ziosOrd {
		if s.zios[id].zaak == z.uuid {
			zios = append(zios, s.zioURL(base, id))
		}
	}
	return map[string]any{
		"url": s.zaakURL(base, z.uuid), "uuid": z.uuid, "identificatie": z.identificatie,
		"bronorganisatie": z.bronorganisatie, "omschrijving": z.omschrijving, "toelichting": "",
		"zaaktype": s.zaaktypeURL(base, z.zaaktype), "registratiedatum": z.registratiedatum,
		"verantwoordelijkeOrganisatie": z.verantwoordelijkeOrganisatie, "startdatum": z.startdatum,
		"einddatum": einddatum, "einddatumGepland": nil, "uiterlijkeEinddatumAfdoening": nil, "publicatiedatum": nil,
		"productenOfDiensten": []string{}, "vertrouwelijkheidaanduiding": z.vertrouwelijkheid,
		"betalingsindicatie": "", "betalingsindicatieWeergave": "", "laatsteBetaaldatum": nil, "zaakgeometrie": nil,
		"verlenging": nil, "opschorting": nil, "hoofdzaak": nil, "deelzaken": []string{},
		"relevanteAndereZaken": []any{}, "eigenschappen": []string{}, "rollen": []string{}, "status": nil,
		"zaakinformatieobjecten": zios, "zaakobjecten": []string{}, "kenmerken": []any{}, "archiefnominatie": nil,
		"archiefstatus": z.archiefstatus, "archiefactiedatum": nil, "resultaat": nil, "opdrachtgevendeOrganisatie": "",
		"processobjectaard": nil, "startdatumBewaartermijn": nil, "processobject": nil,
	}
}

// zaakRetrieve requires Accept-Crs like Open Zaak: missing → 412, anything but EPSG:4326 → 406.
func (s *Sim) zaakRetrieve(w http.ResponseWriter, r *http.Request, _ *principal) error {
	switch crs := r.Header.Get("Accept-Crs"); crs {
	case "":
		return &problem{Status: 412, Code: "precondition_failed", Title: "Precondition failed", Detail: "'Accept-Crs' header ontbreekt"}
	case "EPSG:4326":
	default:
		return &problem{Status: 406, Code: "not_acceptable", Title: "CRS not acceptable", Detail: "CRS '" + crs + "' is niet ondersteund"}
	}
	s.mu.Lock()
	z := s.zaken[r.PathValue("uuid")]
	if z == nil {
		s.mu.Unlock()
		return notFound()
	}
	body := s.renderZaak(s.baseLocked(), z)
	s.mu.Unlock()
	w.Header().Set("Content-Crs", "EPSG:4326")
	return writeWithETag(w, r, body)
}

func (s *Sim) renderZIO(base string, z *zio) map[string]any {
	return map[string]any{
		"url": s.zioURL(base, z.uuid), "uuid": z.uuid, "informatieobject": s.eioURL(base, z.doc),
		"zaak": s.zaakURL(base, z.zaak), "aardRelatieWeergave": "Hoort bij, omgekeerd: kent",
		"titel": z.titel, "beschrijving": z.beschrijving, "registratiedatum": fmtTime(z.registratiedatum),
		"vernietigingsdatum": nil, "status": nil,
	}
}

func (s *Sim) zioList(w http.ResponseWriter, r *http.Request, _ *principal) error {
	q := r.URL.Query()
	s.mu.Lock()
	base := s.baseLocked()
	out := []map[string]any{}
	for _, id := range s.ziosOrd {
		z := s.zios[id]
		if v := q.Get("zaak"); v != "" && v != s.zaakURL(base, z.zaak) {
			continue
		}
		if v := q.Get("informatieobject"); v != "" && v != s.eioURL(base, z.doc) {
			continue
		}
		out = append(out, s.renderZIO(base, z))
	}
	s.mu.Unlock()
	writeJSON(w, 200, out)
	return nil
}

func (s *Sim) zioRetrieve(w http.ResponseWriter, r *http.Request, _ *principal) error {
	s.mu.Lock()
	z := s.zios[r.PathValue("uuid")]
	if z == nil {
		s.mu.Unlock()
		return notFound()
	}
	body := s.renderZIO(s.baseLocked(), z)
	s.mu.Unlock()
	return writeWithETag(w, r, body)
}

var zioFields = []field{
	{name: "informatieobject", kind: kURI, max: 1000, required: true, min: 1},
	{name: "zaak", kind: kURI, min: 1, max: 1000, required: true},
	{name: "titel", kind: kString, max: 200},
	{name: "beschrijving", kind: kString},
	{name: "vernietigingsdatum", kind: kDateTime, nullable: true},
}

// zioCreate relates a document to a zaak: both must exist (zrc-003), the combination is unique, the zaak must not
// be archived or closed (without zaken.geforceerd-bijwerken, zrc-007) and the document's informatieobjecttype must
// be one of the zaaktype's informatieobjecttypen (zrc-017).
func (s *Sim) zioCreate(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readJSONObject(r)
	if err != nil {
		return err
	}
	vals, errs := decodeFields(zioFields, body, false)
	if len(errs) > 0 {
		return validation(errs...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	base := s.baseLocked()
	zid, ok := s.resolveLocked(vals["zaak"].(string), ZRCPath, "zaken")
	z := s.zaken[zid]
	if !ok || z == nil {
		errs = append(errs, InvalidParam{"zaak", "bad-url", "De zaak-URL resolvet niet naar een zaak."})
	}
	did, ok := s.resolveLocked(vals["informatieobject"].(string), DRCPath, "enkelvoudiginformatieobjecten")
	d := s.docs[did]
	if !ok || d == nil {
		errs = append(errs, InvalidParam{"informatieobject", "bad-url", "De informatieobject-URL resolvet niet naar een informatieobject."})
	}
	if len(errs) > 0 {
		return validation(errs...)
	}
	for _, other := range s.zios {
		if other.zaak == z.uuid && other.doc == d.uuid {
			return invalid("nonFieldErrors", "unique", "De velden zaak, informatieobject moeten een unieke set zijn.")
		}
	}
	if z.archiefstatus != "nog_te_archiveren" {
		return invalid("nonFieldErrors", "zaak-archiefstatus", "De archiefstatus van de zaak moet 'nog_te_archiveren' zijn.")
	}
	if z.einddatum != "" && !p.has("zaken.geforceerd-bijwerken") {
		return permissionDenied("De zaak is afgesloten; scope zaken.geforceerd-bijwerken vereist.")
	}
	zt := s.zaaktyps[z.zaaktype]
	iotID, _ := s.resolveLocked(str(d.latest().meta["informatieobjecttype"]), ZTCPath, "informatieobjecttypen")
	if zt == nil || !slices.Contains(zt.informatieobjecttypen, iotID) {
		return invalid("nonFieldErrors", "missing-zaaktype-informatieobjecttype-relation",
			"Het informatieobjecttype van het informatieobject hoort niet bij het zaaktype van de zaak (zrc-017).")
	}
	n := &zio{uuid: newUUID(), zaak: z.uuid, doc: d.uuid, titel: str(vals["titel"]), beschrijving: str(vals["beschrijving"]), registratiedatum: s.now()}
	s.zios[n.uuid] = n
	s.ziosOrd = append(s.ziosOrd, n.uuid)
	w.Header().Set("Location", s.zioURL(base, n.uuid))
	writeJSON(w, 201, s.renderZIO(base, n))
	s.publishInternalLocked("zaken", "zaakinformatieobject", "create", s.zaakURL(base, z.uuid), s.zioURL(base, n.uuid),
		map[string]string{"bronorganisatie": z.bronorganisatie, "zaaktype": s.zaaktypeURL(base, z.zaaktype), "vertrouwelijkheidaanduiding": z.vertrouwelijkheid})
	return nil
}

func (s *Sim) iotRetrieve(w http.ResponseWriter, r *http.Request, _ *principal) error {
	s.mu.Lock()
	t := s.iots[r.PathValue("uuid")]
	if t == nil {
		s.mu.Unlock()
		return notFound()
	}
	base := s.baseLocked()
	body := map[string]any{
		"url": s.iotURL(base, t.uuid), "catalogus": base + ZTCPath + "/catalogussen/" + catalogusUUID,
		"omschrijving": t.omschrijving, "vertrouwelijkheidaanduiding": t.vertrouwelijkheid,
		"beginGeldigheid": t.beginGeldigheid, "eindeGeldigheid": nil, "beginObject": nil, "eindeObject": nil,
		"concept": t.concept, "besluittypen": []string{}, "informatieobjectcategorie": "Document", "trefwoord": []string{},
		// ZTC 1.3.1 declares zaaktypen as a string (a generator quirk); we give the filtered list URL.
		"zaaktypen": base + ZTCPath + "/zaaktype-informatieobjecttypen?informatieobjecttype=" + s.iotURL(base, t.uuid),
	}
	s.mu.Unlock()
	return writeWithETag(w, r, body)
}

const catalogusUUID = "5f9c1d2e-3b4a-4c6d-8e7f-9a0b1c2d3e4f"

// ztiotList lists the zaaktype-informatieobjecttype relations (Catalogi 1.3.1), filtered by
// zaaktype (URL) and informatieobjecttype. As in Catalogi 1.3, a relation names the
// informatieobjecttype by its omschrijving; the filter takes that or the type's URL.
func (s *Sim) ztiotList(w http.ResponseWriter, r *http.Request, _ *principal) error {
	q := r.URL.Query()
	page, err := pageOf(q)
	if err != nil {
		return err
	}
	s.mu.Lock()
	base := s.baseLocked()
	types := slices.SortedFunc(maps.Values(s.zaaktyps), func(a, b *zaaktype) int { return strings.Compare(a.uuid, b.uuid) })
	var results []map[string]any
	for _, zt := range types {
		ztURL := s.zaaktypeURL(base, zt.uuid)
		if v := q.Get("zaaktype"); v != "" && v != ztURL {
			continue
		}
		for i, id := range zt.informatieobjecttypen {
			t := s.iots[id]
			if t == nil {
				continue
			}
			if v := q.Get("informatieobjecttype"); v != "" && v != t.omschrijving && v != s.iotURL(base, id) {
				continue
			}
			results = append(results, map[string]any{
				"url":      base + ZTCPath + "/zaaktype-informatieobjecttypen/" + zt.uuid[:8] + id[8:],
				"zaaktype": ztURL, "zaaktypeIdentificatie": zt.identificatie,
				"catalogus":            base + ZTCPath + "/catalogussen/" + catalogusUUID,
				"informatieobjecttype": t.omschrijving, "volgnummer": i + 1, "richting": "intern", "statustype": nil,
			})
		}
	}
	s.mu.Unlock()
	writeJSON(w, 200, paginate(r, base+ZTCPath+"/zaaktype-informatieobjecttypen", results, page))
	return nil
}

func (s *Sim) zaaktypeRetrieve(w http.ResponseWriter, r *http.Request, _ *principal) error {
	s.mu.Lock()
	zt := s.zaaktyps[r.PathValue("uuid")]
	if zt == nil {
		s.mu.Unlock()
		return notFound()
	}
	base := s.baseLocked()
	body := map[string]any{
		"url": s.zaaktypeURL(base, zt.uuid), "identificatie": zt.identificatie, "omschrijving": zt.omschrijving,
		"omschrijvingGeneriek": "", "vertrouwelijkheidaanduiding": zt.vertrouwelijkheid, "doel": "Simulatie",
		"aanleiding": "Simulatie", "toelichting": "", "indicatieInternOfExtern": "intern", "handelingInitiator": "aanvragen",
		"onderwerp": "Simulatie", "handelingBehandelaar": "behandelen", "doorlooptijd": "P30D", "servicenorm": nil,
		"opschortingEnAanhoudingMogelijk": false, "verlengingMogelijk": false, "verlengingstermijn": nil,
		"trefwoorden": []string{}, "publicatieIndicatie": false, "publicatietekst": "", "verantwoordingsrelatie": []string{},
		"productenOfDiensten": []string{}, "referentieproces": map[string]any{"naam": "Simulatie"},
		"verantwoordelijke": "Simulatie", "zaakobjecttypen": []string{},
		"catalogus": base + ZTCPath + "/catalogussen/" + catalogusUUID, "statustypen": []string{},
		"resultaattypen": []string{}, "eigenschappen": []string{}, "roltypen": []string{}, "besluittypen": []string{},
		"deelzaaktypen": []string{}, "gerelateerdeZaaktypen": []any{}, "beginGeldigheid": zt.versiedatum,
		"eindeGeldigheid": nil, "beginObject": nil, "eindeObject": nil, "versiedatum": zt.versiedatum, "concept": zt.concept,
		// ZTC 1.3.1 declares informatieobjecttypen as a string (a generator quirk); we give the filtered list URL.
		"informatieobjecttypen": base + ZTCPath + "/zaaktype-informatieobjecttypen?zaaktype=" + s.zaaktypeURL(base, zt.uuid),
	}
	s.mu.Unlock()
	return writeWithETag(w, r, body)
}
