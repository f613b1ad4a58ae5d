package sim

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// blob is stored content: an immutable file shared by every version that has the same content.
type blob struct {
	path   string
	size   int64
	sha256 string
}

type eioVersion struct {
	versie int
	begin  time.Time
	meta   map[string]any // writable metadata, normalised (see eioFields)
	blob   *blob          // nil: no content (yet)
}

type eio struct {
	uuid     string
	seq      int
	versions []*eioVersion
	lock     string
	parts    []*part // pending chunked upload of the latest version
}

type part struct {
	uuid       string
	doc        *eio
	volgnummer int
	omvang     int64
	file       string
	done       bool
}

func (d *eio) latest() *eioVersion { return d.versions[len(d.versions)-1] }

func (s *Sim) eioURL(base, id string) string {
	return base + DRCPath + "/enkelvoudiginformatieobjecten/" + id
}

// renderEIO renders one version in the EnkelvoudigInformatieObject response shape. s.mu must be held.
func (s *Sim) renderEIO(base string, d *eio, v *eioVersion) map[string]any {
	out := map[string]any{
		"identificatie": "", "vertrouwelijkheidaanduiding": "", "status": "", "inhoudIsVervallen": false,
		"formaat": "", "bestandsnaam": "", "bestandsomvang": nil, "link": "", "beschrijving": "",
		"ontvangstdatum": nil, "verzenddatum": nil, "indicatieGebruiksrecht": nil, "verschijningsvorm": "",
		"ondertekening": nil, "integriteit": nil, "trefwoorden": []string{},
	}
	maps.Copy(out, v.meta)
	out["url"] = s.eioURL(base, d.uuid)
	out["versie"] = v.versie
	out["beginRegistratie"] = fmtTime(v.begin)
	out["locked"] = d.lock != ""
	out["inhoud"] = nil
	if v.blob != nil {
		out["inhoud"] = s.eioURL(base, d.uuid) + "/download?versie=" + strconv.Itoa(v.versie)
	}
	delen := []map[string]any{}
	if v == d.latest() {
		for _, p := range d.parts {
			delen = append(delen, map[string]any{
				"url": base + DRCPath + "/bestandsdelen/" + p.uuid, "volgnummer": p.volgnummer,
				"omvang": p.omvang, "voltooid": p.done, "lock": d.lock,
			})
		}
	}
	out["bestandsdelen"] = delen
	return out
}

// findVersion picks the version asked for by ?versie= or ?registratieOp=, the latest otherwise.
func findVersion(d *eio, q url.Values) (*eioVersion, error) {
	if vs := q.Get("versie"); vs != "" {
		n, err := strconv.Atoi(vs)
		if err != nil {
			return nil, invalid("versie", "invalid", "Een geldig geheel getal is vereist.")
		}
		if n < 1 || n > len(d.versions) {
			return nil, notFound()
		}
		return d.versions[n-1], nil
	}
	if rs := q.Get("registratieOp"); rs != "" {
		t, err := parseLooseTime(rs)
		if err != nil {
			return nil, invalid("registratieOp", "invalid", "Datetime heeft het verkeerde formaat.")
		}
		var found *eioVersion
		for _, v := range d.versions {
			if !v.begin.After(t) {
				found = v
			}
		}
		if found == nil {
			return nil, notFound()
		}
		return found, nil
	}
	return d.latest(), nil
}

func parseLooseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad time")
}

func (s *Sim) eioRetrieve(w http.ResponseWriter, r *http.Request, _ *principal) error {
	s.mu.Lock()
	d := s.docs[r.PathValue("uuid")]
	if d == nil {
		s.mu.Unlock()
		return notFound()
	}
	v, err := findVersion(d, r.URL.Query())
	if err != nil {
		s.mu.Unlock()
		return err
	}
	body := s.renderEIO(s.baseLocked(), d, v)
	s.mu.Unlock()
	return writeWithETag(w, r, body)
}

// writeWithETag writes body as JSON with an ETag and answers If-None-Match with 304; HEAD gets headers only.
func writeWithETag(w http.ResponseWriter, r *http.Request, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	sum := md5.Sum(data)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	w.Header().Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == "*" || strings.Contains(inm, etag)) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(200)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
	return nil
}

func (s *Sim) eioDownload(w http.ResponseWriter, r *http.Request, _ *principal) error {
	s.mu.Lock()
	d := s.docs[r.PathValue("uuid")]
	if d == nil {
		s.mu.Unlock()
		return notFound()
	}
	v, err := findVersion(d, r.URL.Query())
	if err != nil {
		s.mu.Unlock()
		return err
	}
	b := v.blob
	name, _ := v.meta["bestandsnaam"].(string)
	s.mu.Unlock()
	if b == nil {
		return &problem{Status: 404, Code: "not_found", Title: "Niet gevonden.", Detail: "Deze versie heeft geen inhoud."}
	}
	f, err := os.Open(b.path)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	if name != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}

func (s *Sim) eioList(w http.ResponseWriter, r *http.Request, _ *principal) error {
	q := r.URL.Query()
	page, err := pageOf(q)
	if err != nil {
		return err
	}
	s.mu.Lock()
	base := s.baseLocked()
	all := slices.SortedFunc(maps.Values(s.docs), func(a, b *eio) int { return a.seq - b.seq })
	var results []map[string]any
	for _, d := range all {
		m := d.latest().meta
		if v := q.Get("identificatie"); v != "" && m["identificatie"] != v {
			continue
		}
		if v := q.Get("bronorganisatie"); v != "" && m["bronorganisatie"] != v {
			continue
		}
		results = append(results, s.renderEIO(base, d, d.latest()))
	}
	s.mu.Unlock()
	writeJSON(w, 200, paginate(r, base+DRCPath+"/enkelvoudiginformatieobjecten", results, page))
	return nil
}

const pageSize = 100

// pageOf reads a list's page parameter: 1 when absent, a 404 (as DRF answers) when not a page.
func pageOf(q url.Values) (int, error) {
	ps := q.Get("page")
	if ps == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(ps)
	if err != nil || n < 1 {
		return 0, notFound()
	}
	return n, nil
}

func paginate(r *http.Request, listURL string, results []map[string]any, page int) map[string]any {
	count := len(results)
	start := min((page-1)*pageSize, count)
	end := min(start+pageSize, count)
	link := func(p int) any {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		return listURL + "?" + q.Encode()
	}
	out := map[string]any{"count": count, "next": nil, "previous": nil, "results": append([]map[string]any{}, results[start:end]...)}
	if end < count {
		out["next"] = link(page + 1)
	}
	if page > 1 {
		out["previous"] = link(page - 1)
	}
	return out
}

// contentInput is what a create/update says about content.
type contentInput struct {
	present bool   // inhoud key present
	data    []byte // decoded base64 (nil when inhoud is null)
	null    bool
}

func decodeInhoud(body map[string]json.RawMessage) (contentInput, *InvalidParam) {
	raw, ok := body["inhoud"]
	if !ok {
		return contentInput{}, nil
	}
	if isNull(raw) {
		return contentInput{present: true, null: true}, nil
	}
	var data []byte
	if err := json.Unmarshal(raw, &data); err != nil {
		return contentInput{}, &InvalidParam{"inhoud", "invalid", "Het bestand is ongeldig (geen geldige base64)."}
	}
	return contentInput{present: true, data: data}, nil
}

// storeContent writes r to a new content file and returns its blob.
func (s *Sim) storeContent(r io.Reader) (*blob, error) {
	f, err := os.CreateTemp(s.dir, "content-")
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, err
	}
	return &blob{path: f.Name(), size: n, sha256: hex.EncodeToString(h.Sum(nil))}, nil
}

// newParts splits size into bestandsdelen of the configured part size. s.mu must be held.
func (s *Sim) newParts(d *eio, size int64) {
	s.dropParts(d)
	for i, off := 1, int64(0); off < size; i, off = i+1, off+s.opts.PartSize {
		p := &part{uuid: newUUID(), doc: d, volgnummer: i, omvang: min(s.opts.PartSize, size-off)}
		d.parts = append(d.parts, p)
		s.parts[p.uuid] = p
	}
}

func (s *Sim) dropParts(d *eio) {
	for _, p := range d.parts {
		if p.file != "" {
			_ = os.Remove(p.file)
		}
		delete(s.parts, p.uuid)
	}
	d.parts = nil
}

// checkIOT enforces drc-001: the informatieobjecttype must be a published IOT of this sim. s.mu must be held.
func (s *Sim) checkIOTLocked(ref string) (*iot, *InvalidParam) {
	id, ok := s.resolveLocked(ref, ZTCPath, "informatieobjecttypen")
	t := s.iots[id]
	if !ok || t == nil {
		return nil, &InvalidParam{"informatieobjecttype", "bad-url", "De URL " + ref + " resolvet niet naar een informatieobjecttype."}
	}
	if t.concept {
		return nil, &InvalidParam{"informatieobjecttype", "not-published", "Het informatieobjecttype is niet gepubliceerd (concept)."}
	}
	return t, nil
}

// checkMeta applies the rules that look at the resulting metadata of a version.
func checkMeta(meta map[string]any) []InvalidParam {
	var errs []InvalidParam
	status, _ := meta["status"].(string)
	if meta["ondertekening"] != nil && (status == "in_bewerking" || status == "ter_vaststelling") {
		errs = append(errs, InvalidParam{"ondertekening", "incorrect-status",
			"Ondertekening mag niet gezet zijn als de status 'in_bewerking' of 'ter_vaststelling' is."})
	}
	if meta["ontvangstdatum"] != nil && (status == "in_bewerking" || status == "ter_vaststelling") {
		errs = append(errs, InvalidParam{"status", "invalid_for_received",
			"De statuswaarden 'in_bewerking' en 'ter_vaststelling' zijn niet van toepassing op ontvangen informatieobjecten."})
	}
	if meta["indicatieGebruiksrecht"] == true {
		errs = append(errs, InvalidParam{"indicatieGebruiksrecht", "missing-gebruiksrechten",
			"Er zijn nog geen gebruiksrechten vastgelegd; indicatieGebruiksrecht kan niet true zijn."})
	}
	return errs
}

func (s *Sim) verifyIntegriteit(meta map[string]any, b *blob) *InvalidParam {
	if !s.opts.VerifyIntegriteit {
		return nil
	}
	return checkIntegriteit(meta, b)
}

// checkIntegriteit verifies a sha/md5 checksum against content, when both are known.
func checkIntegriteit(meta map[string]any, b *blob) *InvalidParam {
	integ, ok := meta["integriteit"].(map[string]any)
	if !ok || b == nil {
		return nil
	}
	var h hash.Hash
	switch integ["algoritme"] {
	case "sha_256":
		h = sha256.New()
	case "sha_512":
		h = sha512.New()
	case "sha_1":
		h = sha1.New()
	case "md5":
		h = md5.New()
	default:
		return nil
	}
	f, err := os.Open(b.path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return nil
	}
	want, _ := integ["waarde"].(string)
	if !strings.EqualFold(hex.EncodeToString(h.Sum(nil)), want) {
		return &InvalidParam{"integriteit.waarde", "integriteit-mismatch", "De checksum komt niet overeen met de inhoud."}
	}
	return nil
}

func (s *Sim) eioCreate(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readJSONObject(r)
	if err != nil {
		return err
	}
	meta, errs := decodeFields(eioFields, body, false)
	if _, ok := body["lock"]; ok {
		errs = append(errs, InvalidParam{"lock", "invalid", "Bij het aanmaken mag geen lock opgegeven worden."})
	}
	in, ip := decodeInhoud(body)
	if ip != nil {
		errs = append(errs, *ip)
	}
	if len(errs) > 0 {
		return validation(errs...)
	}
	var b *blob
	if in.data != nil {
		if b, err = s.storeContent(bytes.NewReader(in.data)); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ip := s.checkIOTLocked(meta["informatieobjecttype"].(string))
	if ip != nil {
		errs = append(errs, *ip)
	}
	if t != nil && (meta["vertrouwelijkheidaanduiding"] == nil || meta["vertrouwelijkheidaanduiding"] == "") {
		meta["vertrouwelijkheidaanduiding"] = t.vertrouwelijkheid // drc-007
	}
	errs = append(errs, checkMeta(meta)...)
	chunked, perr := s.applyContent(meta, meta, in, b, nil)
	if perr != nil {
		errs = append(errs, *perr)
	}
	if ip := s.verifyIntegriteit(meta, b); ip != nil {
		errs = append(errs, *ip)
	}
	if len(errs) > 0 {
		return validation(errs...)
	}
	if meta["identificatie"] == nil || meta["identificatie"] == "" {
		s.seq++
		meta["identificatie"] = fmt.Sprintf("DOCUMENT-%d-%010d", s.now().Year(), s.seq)
	} else if s.identificatieTakenLocked(meta["bronorganisatie"], meta["identificatie"]) {
		// As Open Zaak (vng-api-common's UniekeIdentificatieValidator): the pair is unique.
		return validation(InvalidParam{"identificatie", "identificatie-niet-uniek",
			fmt.Sprintf("Deze identificatie (%s) bestaat al voor deze bronorganisatie", meta["identificatie"])})
	}
	s.seq++
	d := &eio{uuid: newUUID(), seq: s.seq}
	d.versions = []*eioVersion{{versie: 1, begin: s.now(), meta: meta, blob: b}}
	if chunked > 0 {
		d.lock = newLock()
		s.newParts(d, chunked)
	}
	s.docs[d.uuid] = d
	base := s.baseLocked()
	out := s.renderEIO(base, d, d.latest())
	out["lock"] = d.lock
	w.Header().Set("Location", s.eioURL(base, d.uuid))
	writeJSON(w, 201, out)
	s.publishInternalLocked("documenten", "enkelvoudiginformatieobject", "create", s.eioURL(base, d.uuid), s.eioURL(base, d.uuid),
		map[string]string{"bronorganisatie": str(meta["bronorganisatie"]), "informatieobjecttype": str(meta["informatieobjecttype"]), "vertrouwelijkheidaanduiding": str(meta["vertrouwelijkheidaanduiding"])})
	return nil
}

// identificatieTakenLocked reports whether a document with this bronorganisatie and identificatie exists.
func (s *Sim) identificatieTakenLocked(bron, ident any) bool {
	for _, d := range s.docs {
		m := d.latest().meta
		if m["bronorganisatie"] == bron && m["identificatie"] == ident {
			return true
		}
	}
	return false
}

// eioDelete removes a document with all its versions, as Open Zaak does: not while a zaak (or besluit) relates
// to it (drc-008; the ZRC mirrors every zaakinformatieobject as an objectinformatieobject, zrc-005), and not
// while it is locked (since DRC 1.3.0); both are 400. The OAS lists no 400 for the destroy, but the standard's
// drc-008 demands it and Open Zaak and OneGround answer so.
func (s *Sim) eioDelete(w http.ResponseWriter, r *http.Request, _ *principal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("uuid")
	d := s.docs[id]
	if d == nil {
		return notFound()
	}
	for _, z := range s.zios {
		if z.doc == id {
			return invalid("nonFieldErrors", "pending-relations",
				"All relations to the document must be destroyed before destroying the document")
		}
	}
	if d.lock != "" {
		return invalid("nonFieldErrors", "destroy-locked", "Locked objects cannot be destroyed")
	}
	s.dropParts(d)
	delete(s.docs, id)
	meta := d.latest().meta
	base := s.baseLocked()
	w.WriteHeader(http.StatusNoContent)
	s.publishInternalLocked("documenten", "enkelvoudiginformatieobject", "destroy", s.eioURL(base, id), s.eioURL(base, id),
		map[string]string{"bronorganisatie": str(meta["bronorganisatie"]), "informatieobjecttype": str(meta["informatieobjecttype"]), "vertrouwelijkheidaanduiding": str(meta["vertrouwelijkheidaanduiding"])})
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// applyContent sets bestandsomvang from the content input and reports the size of a chunked upload to start
// (0: none). prev is the content of the previous version, kept when inhoud is absent.
func (s *Sim) applyContent(meta, req map[string]any, in contentInput, b, prev *blob) (int64, *InvalidParam) {
	size, hasSize := req["bestandsomvang"].(int64)
	switch {
	case in.data != nil:
		if hasSize && size != b.size {
			return 0, &InvalidParam{"bestandsomvang", "file-size", fmt.Sprintf("bestandsomvang %d komt niet overeen met de grootte van de inhoud (%d).", size, b.size)}
		}
		meta["bestandsomvang"] = b.size
	case in.null:
		if hasSize && size > 0 {
			return size, nil
		}
		meta["bestandsomvang"] = int64(0)
		if !hasSize {
			meta["bestandsomvang"] = nil
		}
	case prev != nil:
		if hasSize && size != prev.size {
			return 0, &InvalidParam{"bestandsomvang", "file-size", "bestandsomvang wijzigen vereist nieuwe inhoud (of inhoud: null voor bestandsdelen)."}
		}
		meta["bestandsomvang"] = prev.size
	default:
		if hasSize && size > 0 {
			return 0, &InvalidParam{"inhoud", "file-size", "bestandsomvang > 0 zonder inhoud; geef inhoud of inhoud: null voor bestandsdelen."}
		}
	}
	return 0, nil
}

// checkLock enforces drc-009 on a write: the document must be locked and the body must carry that lock.
func checkLock(d *eio, body map[string]json.RawMessage) *problem {
	if d.lock == "" {
		return invalid("nonFieldErrors", "unlocked", "Het document is niet gelocked; lock het document eerst.")
	}
	raw, ok := body["lock"]
	var lock string
	if !ok || isNull(raw) || json.Unmarshal(raw, &lock) != nil || lock == "" {
		return invalid("nonFieldErrors", "missing-lock-id", "Dit document is gelocked; geef het lock-id mee.")
	}
	if lock != d.lock {
		return invalid("nonFieldErrors", "incorrect-lock-id", "Incorrect lock ID.")
	}
	return nil
}

func (s *Sim) eioPatch(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.eioUpdate(w, r, p, true)
}

func (s *Sim) eioPut(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.eioUpdate(w, r, p, false)
}

// eioUpdate handles PUT and PATCH: every successful one creates a new version (drc-010).
func (s *Sim) eioUpdate(w http.ResponseWriter, r *http.Request, p *principal, partial bool) error {
	id := r.PathValue("uuid")
	s.mu.Lock()
	exists := s.docs[id] != nil
	s.mu.Unlock()
	if !exists {
		return notFound()
	}
	body, err := s.readJSONObject(r)
	if err != nil {
		return err
	}
	fields, errs := decodeFields(eioFields, body, partial)
	in, ip := decodeInhoud(body)
	if ip != nil {
		errs = append(errs, *ip)
	}
	if !partial {
		if _, ok := body["lock"]; !ok {
			errs = append(errs, InvalidParam{"lock", "required", "Dit veld is vereist."})
		}
	}
	var b *blob
	if len(errs) == 0 && in.data != nil {
		if b, err = s.storeContent(bytes.NewReader(in.data)); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[id]
	if d == nil {
		return notFound()
	}
	if perr := checkLock(d, body); perr != nil {
		return perr
	}
	if len(errs) > 0 {
		return validation(errs...)
	}
	cur := d.latest()
	if s.opts.OneGroundDRC {
		if cur.meta["status"] == "definitief" && !p.has("documenten.geforceerd-bijwerken") {
			return invalid("nonFieldErrors", "status-definitief",
				"Een informatieobject met status 'definitief' kan niet gewijzigd worden (drc-010); scope documenten.geforceerd-bijwerken vereist.")
		}
		if t, ok := fields["informatieobjecttype"]; ok && t != cur.meta["informatieobjecttype"] {
			errs = append(errs, InvalidParam{"informatieobjecttype", "wijzigen-niet-toegelaten", "Het informatieobjecttype mag niet gewijzigd worden."})
		}
		if len(d.parts) > 0 {
			return invalid("nonFieldErrors", "upload-pending", "Er loopt nog een upload in bestandsdelen voor de huidige versie; unlock eerst.")
		}
	}
	meta := maps.Clone(cur.meta)
	maps.Copy(meta, fields)
	if t, ok := fields["informatieobjecttype"].(string); ok {
		if _, ip := s.checkIOTLocked(t); ip != nil {
			errs = append(errs, *ip)
		}
	}
	errs = append(errs, checkMeta(meta)...)
	prev := cur.blob
	chunked, perr := s.applyContent(meta, fields, in, b, prev)
	if perr != nil {
		errs = append(errs, *perr)
	}
	newBlob := b
	if !in.present {
		newBlob = prev
	}
	if ip := s.verifyIntegriteit(meta, newBlob); ip != nil {
		errs = append(errs, *ip)
	}
	if len(errs) > 0 {
		return validation(errs...)
	}
	v := &eioVersion{versie: cur.versie + 1, begin: s.now(), meta: meta, blob: newBlob}
	if !v.begin.After(cur.begin) {
		v.begin = cur.begin.Add(time.Microsecond) // registratieOp must tell versions apart
	}
	d.versions = append(d.versions, v)
	s.dropParts(d)
	if chunked > 0 {
		s.newParts(d, chunked)
	}
	base := s.baseLocked()
	writeJSON(w, 200, s.renderEIO(base, d, v))
	s.publishInternalLocked("documenten", "enkelvoudiginformatieobject", map[bool]string{true: "partial_update", false: "update"}[partial],
		s.eioURL(base, d.uuid), s.eioURL(base, d.uuid),
		map[string]string{"bronorganisatie": str(meta["bronorganisatie"]), "informatieobjecttype": str(meta["informatieobjecttype"]), "vertrouwelijkheidaanduiding": str(meta["vertrouwelijkheidaanduiding"])})
	return nil
}

func (s *Sim) eioLock(w http.ResponseWriter, r *http.Request, _ *principal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[r.PathValue("uuid")]
	if d == nil {
		return notFound()
	}
	if d.lock != "" {
		return invalid("nonFieldErrors", "existing-lock", "Het document is al gelocked.")
	}
	d.lock = newLock()
	writeJSON(w, 200, map[string]string{"lock": d.lock})
	return nil
}

func (s *Sim) eioUnlock(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readJSONObject(r)
	if err != nil {
		return err
	}
	var lock string
	if raw, ok := body["lock"]; ok && !isNull(raw) {
		if json.Unmarshal(raw, &lock) != nil {
			return invalid("lock", "invalid", "Not a valid string.")
		}
	}
	forced := p.has("documenten.geforceerd-unlock")
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[r.PathValue("uuid")]
	if d == nil {
		return notFound()
	}
	if !forced && !p.has("documenten.lock") {
		return permissionDenied("Scope documenten.lock vereist.")
	}
	switch {
	case d.lock == "" && forced:
		w.WriteHeader(http.StatusNoContent)
		return nil
	case d.lock == "":
		return invalid("nonFieldErrors", "unlocked", "Het document is niet gelocked.")
	case forced:
		// geforceerd-unlock needs no (correct) lock
	case lock == "":
		return invalid("nonFieldErrors", "missing-lock-id", "Geef het lock-id mee (of gebruik scope documenten.geforceerd-unlock).")
	case lock != d.lock:
		return invalid("nonFieldErrors", "incorrect-lock-id", "Incorrect lock ID.")
	}
	if len(d.parts) > 0 {
		complete := true
		for _, pt := range d.parts {
			complete = complete && pt.done
		}
		switch {
		case complete:
			if err := s.assembleLocked(d); err != nil {
				return err
			}
		case forced:
			// A forced unlock abandons the upload: the version keeps no content, and, as in Open Zaak, no size.
			s.dropParts(d)
			d.latest().meta["bestandsomvang"] = nil
		default:
			return invalid("nonFieldErrors", "incomplete-upload", "Niet alle bestandsdelen zijn volledig geüpload.")
		}
	}
	d.lock = ""
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// assembleLocked merges the completed parts into the content of the latest version.
func (s *Sim) assembleLocked(d *eio) error {
	readers := make([]io.Reader, 0, len(d.parts))
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, pt := range d.parts {
		f, err := os.Open(pt.file)
		if err != nil {
			return err
		}
		files = append(files, f)
		readers = append(readers, f)
	}
	b, err := s.storeContent(io.MultiReader(readers...))
	if err != nil {
		return err
	}
	v := d.latest()
	if ip := s.verifyIntegriteit(v.meta, b); ip != nil {
		_ = os.Remove(b.path)
		return validation(*ip)
	}
	v.blob = b
	v.meta["bestandsomvang"] = b.size
	s.dropParts(d)
	return nil
}

// bestandsdeelPut receives one part as multipart/form-data (or urlencoded) with fields inhoud and lock. The part is
// streamed to a file without holding the Sim's mutex, then checked against the lock and its size.
func (s *Sim) bestandsdeelPut(w http.ResponseWriter, r *http.Request, _ *principal) error {
	id := r.PathValue("uuid")
	s.mu.Lock()
	pt := s.parts[id]
	var omvang int64
	if pt != nil {
		omvang = pt.omvang
	}
	s.mu.Unlock()
	if pt == nil {
		return notFound()
	}
	lock, file, size, err := s.readPart(r, omvang)
	if file != "" {
		defer func() {
			if file != "" {
				_ = os.Remove(file)
			}
		}()
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parts[id] != pt {
		return notFound()
	}
	d := pt.doc
	var errs []InvalidParam
	switch {
	case d.lock == "":
		return invalid("nonFieldErrors", "unlocked", "Het document is niet gelocked.")
	case lock == "":
		return invalid("lock", "required", "Dit veld is vereist.")
	case lock != d.lock:
		return invalid("nonFieldErrors", "incorrect-lock-id", "Incorrect lock ID.")
	}
	if file == "" {
		errs = append(errs, InvalidParam{"inhoud", "required", "Er is geen bestand opgestuurd."})
	} else if size != pt.omvang {
		errs = append(errs, InvalidParam{"inhoud", "file-size", fmt.Sprintf("Het bestandsdeel moet precies %d bytes zijn, ontvangen: %d.", pt.omvang, size)})
	}
	if len(errs) > 0 {
		return validation(errs...)
	}
	if pt.file != "" {
		_ = os.Remove(pt.file)
	}
	pt.file, pt.done = file, true
	file = "" // kept
	writeJSON(w, 200, map[string]any{
		"url": s.baseLocked() + DRCPath + "/bestandsdelen/" + pt.uuid, "lock": d.lock, "omvang": pt.omvang,
		"voltooid": true, "volgnummer": pt.volgnummer,
	})
	return nil
}

// readPart parses the part request. It reads at most omvang+1 bytes of content so a wrong size is detected without
// storing an unbounded body.
func (s *Sim) readPart(r *http.Request, omvang int64) (lock, file string, size int64, err error) {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	save := func(src io.Reader) error {
		f, err := os.CreateTemp(s.dir, "part-")
		if err != nil {
			return err
		}
		file = f.Name()
		size, err = io.Copy(f, io.LimitReader(src, omvang+1))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	switch ct {
	case "multipart/form-data":
		if params["boundary"] == "" {
			return "", "", 0, invalid("inhoud", "parse_error", "Multipart zonder boundary.")
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, perr := mr.NextPart()
			if perr == io.EOF {
				break
			}
			if perr != nil {
				return "", file, 0, invalid("inhoud", "parse_error", "Ongeldige multipart body: "+perr.Error())
			}
			switch p.FormName() {
			case "lock":
				b, _ := io.ReadAll(io.LimitReader(p, 1000))
				lock = strings.TrimSpace(string(b))
			case "inhoud":
				if file != "" {
					_ = os.Remove(file)
					file = ""
				}
				if err := save(p); err != nil {
					return "", file, 0, invalid("inhoud", "parse_error", "Kon bestandsdeel niet lezen: "+err.Error())
				}
				_, _ = io.Copy(io.Discard, p)
			}
			p.Close()
		}
	case "application/x-www-form-urlencoded":
		r.Body = http.MaxBytesReader(nil, r.Body, 2*omvang+64<<10)
		if err := r.ParseForm(); err != nil {
			return "", "", 0, invalid("inhoud", "parse_error", "Ongeldige form body.")
		}
		lock = r.PostForm.Get("lock")
		if vals, ok := r.PostForm["inhoud"]; ok && len(vals) > 0 {
			if err := save(strings.NewReader(vals[0])); err != nil {
				return "", file, 0, err
			}
		}
	default:
		return "", "", 0, &problem{Status: 415, Code: "unsupported_media_type", Title: "Unsupported media type.",
			Detail: fmt.Sprintf("Ongeldige media type %q; gebruik multipart/form-data.", ct)}
	}
	return lock, file, size, nil
}
