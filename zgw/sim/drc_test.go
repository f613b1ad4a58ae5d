package sim_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/zgw/sim"
)

func TestRetrieveAndDownloadVersions(t *testing.T) {
	e := newEnv(t, sim.Options{})
	doc := e.seedDoc("version one", sim.DocumentSeed{Titel: "Besluit", Bestandsnaam: "besluit.docx", Status: "in_bewerking"})

	got := e.mustStatus(e.do("GET", doc, nil), 200).json(t)
	if got["versie"] != 1.0 || got["url"] != doc || got["locked"] != false || got["titel"] != "Besluit" {
		t.Fatalf("retrieve v1: %v", got)
	}
	if got["inhoud"] != doc+"/download?versie=1" {
		t.Fatalf("inhoud must be the download URL, got %v", got["inhoud"])
	}
	lock := e.lock(doc)
	pdf := []byte("%PDF-1.7 signed")
	patched := e.mustStatus(e.do("PATCH", doc, map[string]any{
		"lock": lock, "inhoud": base64.StdEncoding.EncodeToString(pdf), "bestandsnaam": "besluit.pdf",
		"formaat": "application/pdf", "status": "definitief",
		"ondertekening": map[string]string{"soort": "digitaal", "datum": "2025-03-27"},
	}), 200).json(t)
	if patched["versie"] != 2.0 || patched["bestandsomvang"] != float64(len(pdf)) || patched["locked"] != true {
		t.Fatalf("patch response: %v", patched)
	}
	e.mustStatus(e.do("POST", doc+"/unlock", map[string]string{"lock": lock}), 204)
	// metadata-only update also makes a version
	lock = e.lock(doc)
	e.mustStatus(e.do("PATCH", doc, map[string]any{"lock": lock, "beschrijving": "x"}), 200)
	e.mustStatus(e.do("POST", doc+"/unlock", map[string]string{"lock": lock}), 204)

	tests := []struct {
		query, wantContent, wantName string
		wantVersie                   float64
	}{
		{"", "%PDF-1.7 signed", "besluit.pdf", 3},
		{"?versie=1", "version one", "besluit.docx", 1},
		{"?versie=2", "%PDF-1.7 signed", "besluit.pdf", 2},
		{"?versie=3", "%PDF-1.7 signed", "besluit.pdf", 3},
	}
	for _, tc := range tests {
		m := e.mustStatus(e.do("GET", doc+tc.query, nil), 200).json(t)
		if m["versie"] != tc.wantVersie || m["bestandsnaam"] != tc.wantName {
			t.Errorf("GET %s: versie %v bestandsnaam %v", tc.query, m["versie"], m["bestandsnaam"])
		}
		dl := e.mustStatus(e.do("GET", doc+"/download"+tc.query, nil), 200)
		if string(dl.body) != tc.wantContent {
			t.Errorf("download %s = %q, want %q", tc.query, dl.body, tc.wantContent)
		}
		if ct := dl.header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("download Content-Type %q", ct)
		}
	}
	e.mustStatus(e.do("GET", doc+"?versie=4", nil), 404)
	e.mustStatus(e.do("GET", doc+"/download?versie=9", nil), 404)
	if r := e.invalid().do("GET", doc+"?versie=abc", nil); r.status != 400 {
		t.Errorf("versie=abc: %d", r.status)
	}

	vs, err := e.srv.Versions(doc)
	if err != nil || len(vs) != 3 {
		t.Fatalf("Versions: %v %v", vs, err)
	}
	sum := sha256.Sum256(pdf)
	if vs[1].SHA256 != hex.EncodeToString(sum[:]) || vs[1].Size != int64(len(pdf)) || vs[2].SHA256 != vs[1].SHA256 {
		t.Errorf("version hashes: %+v", vs)
	}
	// registratieOp picks the version registered at that moment
	at := vs[0].BeginRegistratie.Add(time.Microsecond / 2).Format(time.RFC3339Nano)
	if m := e.mustStatus(e.do("GET", doc+"?registratieOp="+at, nil), 200).json(t); m["versie"] != 1.0 {
		t.Errorf("registratieOp %s: versie %v", at, m["versie"])
	}
	e.mustStatus(e.do("GET", doc+"?registratieOp=2000-01-01T00:00:00Z", nil), 404)
	if r := e.do("GET", doc+"/download?registratieOp="+vs[2].BeginRegistratie.Format(time.RFC3339Nano), nil); string(r.body) != "%PDF-1.7 signed" {
		t.Errorf("download registratieOp: %d %q", r.status, r.body)
	}
}

func TestHeadersAndETag(t *testing.T) {
	e := newEnv(t, sim.Options{})
	doc := e.seedDoc("x", sim.DocumentSeed{})
	r := e.mustStatus(e.do("GET", doc, nil), 200)
	if r.header.Get("API-version") != "1.5.0" || r.header.Get("ETag") == "" {
		t.Fatalf("headers: %v", r.header)
	}
	e.mustStatus(e.do("GET", doc, nil, "If-None-Match: "+r.header.Get("ETag")), 304)
	e.mustStatus(e.do("GET", e.srv.DRC()+"/enkelvoudiginformatieobjecten/7d4a0e8c-1111-4222-8333-944445555666", nil), 404)
	zaak, err := e.srv.SeedZaak(sim.ZaakSeed{})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("DELETE", zaak, nil, "Accept-Crs: EPSG:4326"); r.status != 404 || r.code(t) != "not_found" || r.header.Get("API-version") != "1.5.1" {
		t.Errorf("DELETE zaak (not simulated): %d %v %s", r.status, r.header, r.body)
	}
	e.mustStatus(e.do("GET", e.srv.DRC()+"/enkelvoudiginformatieobjecten/7d4a0e8c-1111-4222-8333-944445555666/download", nil), 404)
}

func TestLockRules(t *testing.T) {
	e := newEnv(t, sim.Options{})
	doc := e.seedDoc("x", sim.DocumentSeed{})
	lock := e.lock(doc)
	if len(lock) != 32 {
		t.Errorf("lock %q is not 128-bit hex", lock)
	}
	if _, err := hex.DecodeString(lock); err != nil {
		t.Errorf("lock %q is not hex", lock)
	}
	r := e.mustStatus(e.do("POST", doc+"/lock", nil), 400)
	if !slices.Contains(r.invalidCodes(t), "existing-lock") {
		t.Errorf("second lock: %s", r.body)
	}
	other := e.seedDoc("y", sim.DocumentSeed{})
	if l2 := e.lock(other); l2 == lock {
		t.Error("locks are not random")
	}
	if got := e.srv.Locks(); len(got) != 2 || got[0].Lock != lock {
		t.Errorf("Locks() = %+v", got)
	}

	tests := []struct {
		name     string
		method   string
		body     map[string]any
		wantCode string
	}{
		{"patch without lock", "PATCH", map[string]any{"titel": "a"}, "missing-lock-id"},
		{"patch wrong lock", "PATCH", map[string]any{"titel": "a", "lock": "0123456789abcdef0123456789abcdef"}, "incorrect-lock-id"},
		{"patch empty lock", "PATCH", map[string]any{"titel": "a", "lock": ""}, "missing-lock-id"},
		{"unlock wrong lock", "UNLOCK", map[string]any{"lock": "nope"}, "incorrect-lock-id"},
		{"unlock no lock", "UNLOCK", map[string]any{}, "missing-lock-id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r resp
			e := e.invalid() // some cases (empty lock) violate the OAS on purpose
			if tc.method == "UNLOCK" {
				r = e.do("POST", doc+"/unlock", tc.body)
			} else {
				r = e.do(tc.method, doc, tc.body)
			}
			if r.status != 400 || !slices.Contains(r.invalidCodes(t), tc.wantCode) {
				t.Errorf("got %d %s, want 400 %s", r.status, r.body, tc.wantCode)
			}
		})
	}
	if vs, _ := e.srv.Versions(doc); len(vs) != 1 {
		t.Errorf("refused updates made versions: %d", len(vs))
	}
	e.mustStatus(e.do("POST", doc+"/unlock", map[string]any{"lock": lock}), 204)
	r = e.mustStatus(e.do("PATCH", doc, map[string]any{"titel": "a", "lock": lock}), 400)
	if !slices.Contains(r.invalidCodes(t), "unlocked") {
		t.Errorf("patch unlocked doc: %s", r.body)
	}
	r = e.mustStatus(e.do("POST", doc+"/unlock", map[string]any{"lock": lock}), 400)
	if !slices.Contains(r.invalidCodes(t), "unlocked") {
		t.Errorf("unlock unlocked doc: %s", r.body)
	}
	// a user elsewhere locks the document
	if _, err := e.srv.LockDocument(doc); err != nil {
		t.Fatal(err)
	}
	e.mustStatus(e.do("POST", doc+"/lock", nil), 400)
}

func TestPutNeedsRequiredFieldsAndLock(t *testing.T) {
	e := newEnv(t, sim.Options{})
	doc := e.seedDoc("x", sim.DocumentSeed{})
	lock := e.lock(doc)
	r := e.mustStatus(e.invalid().do("PUT", doc, map[string]any{"lock": lock, "titel": "b"}), 400)
	for _, want := range []string{"required"} {
		if !slices.Contains(r.invalidCodes(t), want) {
			t.Errorf("PUT missing fields: %s", r.body)
		}
	}
	cur := e.mustStatus(e.do("GET", doc, nil), 200).json(t)
	full := map[string]any{"lock": lock}
	for _, k := range []string{"bronorganisatie", "creatiedatum", "titel", "auteur", "taal", "informatieobjecttype"} {
		full[k] = cur[k]
	}
	full["titel"] = "Nieuw"
	m := e.mustStatus(e.do("PUT", doc, full), 200).json(t)
	if m["versie"] != 2.0 || m["titel"] != "Nieuw" {
		t.Errorf("PUT: %v", m)
	}
}

func TestOndertekeningAndStatusRules(t *testing.T) {
	tests := []struct {
		name       string
		seedStatus string
		patch      map[string]any
		wantCode   string // "" = accepted
	}{
		{"ondertekening with in_bewerking", "in_bewerking", map[string]any{"ondertekening": map[string]string{"soort": "digitaal", "datum": "2025-03-27"}}, "incorrect-status"},
		{"ondertekening with ter_vaststelling", "", map[string]any{"status": "ter_vaststelling", "ondertekening": map[string]string{"soort": "pki", "datum": "2025-03-27"}}, "incorrect-status"},
		{"ondertekening with definitief", "in_bewerking", map[string]any{"status": "definitief", "ondertekening": map[string]string{"soort": "digitaal", "datum": "2025-03-27"}}, ""},
		{"ondertekening without status", "", map[string]any{"ondertekening": map[string]string{"soort": "digitaal", "datum": "2025-03-27"}}, ""},
		{"bad soort", "definitief", map[string]any{"ondertekening": map[string]string{"soort": "nat", "datum": "2025-03-27"}}, "invalid_choice"},
		{"bad datum", "definitief", map[string]any{"ondertekening": map[string]string{"soort": "pki", "datum": "27-03-2025"}}, "invalid"},
		{"bad status", "", map[string]any{"status": "klaar"}, "invalid_choice"},
		{"indicatieGebruiksrecht true", "", map[string]any{"indicatieGebruiksrecht": true}, "missing-gebruiksrechten"},
		{"titel too long", "", map[string]any{"titel": strings.Repeat("x", 201)}, "max_length"},
		{"taal wrong length", "", map[string]any{"taal": "nl"}, "min_length"},
		{"bad base64", "", map[string]any{"inhoud": "%%%"}, "invalid"},
		{"bestandsomvang mismatch", "", map[string]any{"inhoud": "YWJj", "bestandsomvang": 4}, "file-size"},
		{"integriteit ok", "", map[string]any{"integriteit": map[string]string{"algoritme": "sha_256", "waarde": "abc", "datum": "2025-03-27"}}, ""},
		{"integriteit bad algoritme", "", map[string]any{"integriteit": map[string]string{"algoritme": "sha_999", "waarde": "abc", "datum": "2025-03-27"}}, "invalid_choice"},
		{"integriteit waarde too long", "", map[string]any{"integriteit": map[string]string{"algoritme": "md5", "waarde": strings.Repeat("a", 129), "datum": "2025-03-27"}}, "invalid"},
		{"unknown IOT", "", map[string]any{"informatieobjecttype": "http://elders.example/catalogi/api/v1/informatieobjecttypen/1"}, "bad-url"},
	}
	e := newEnv(t, sim.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := e.seedDoc("x", sim.DocumentSeed{Status: tc.seedStatus})
			tc.patch["lock"] = e.lock(doc)
			r := e.invalid().do("PATCH", doc, tc.patch)
			if tc.wantCode == "" {
				e.mustStatus(r, 200)
				return
			}
			if r.status != 400 || !slices.Contains(r.invalidCodes(t), tc.wantCode) {
				t.Errorf("got %d %s, want 400 %s", r.status, r.body, tc.wantCode)
			}
		})
	}
}

func TestVerifyIntegriteit(t *testing.T) {
	e := newEnv(t, sim.Options{VerifyIntegriteit: true})
	doc := e.seedDoc("x", sim.DocumentSeed{})
	content := []byte("signed pdf")
	sum := sha256.Sum256(content)
	for _, tc := range []struct {
		waarde string
		want   int
	}{{"00", 400}, {hex.EncodeToString(sum[:]), 200}} {
		lock := e.lock(doc)
		r := e.do("PATCH", doc, map[string]any{"lock": lock, "inhoud": base64.StdEncoding.EncodeToString(content),
			"integriteit": map[string]string{"algoritme": "sha_256", "waarde": tc.waarde, "datum": "2025-03-27"}})
		if r.status != tc.want {
			t.Errorf("waarde %s: %d %s", tc.waarde, r.status, r.body)
		}
		e.mustStatus(e.do("POST", doc+"/unlock", map[string]any{"lock": lock}), 204)
	}
}

func TestDrc010Switch(t *testing.T) {
	for _, tc := range []struct {
		oneGround bool
		want      int
	}{{false, 200}, {true, 400}} {
		e := newEnv(t, sim.Options{OneGroundDRC: tc.oneGround})
		doc := e.seedDoc("x", sim.DocumentSeed{Status: "definitief"})
		lock := e.lock(doc)
		r := e.do("PATCH", doc, map[string]any{"lock": lock, "inhoud": base64.StdEncoding.EncodeToString([]byte("signed"))})
		if r.status != tc.want {
			t.Errorf("OneGroundDRC=%v: %d %s", tc.oneGround, r.status, r.body)
		}
		if tc.want == 400 && !slices.Contains(r.invalidCodes(t), "status-definitief") {
			t.Errorf("code: %s", r.body)
		}
	}
	// OneGround also refuses an informatieobjecttype change
	e := newEnv(t, sim.Options{OneGroundDRC: true})
	doc := e.seedDoc("x", sim.DocumentSeed{})
	other := e.srv.SeedInformatieobjecttype(sim.IOTSeed{Omschrijving: "Ander"})
	r := e.do("PATCH", doc, map[string]any{"lock": e.lock(doc), "informatieobjecttype": other})
	if r.status != 400 || !slices.Contains(r.invalidCodes(t), "wijzigen-niet-toegelaten") {
		t.Errorf("IOT change OneGround: %d %s", r.status, r.body)
	}
	e2 := newEnv(t, sim.Options{})
	doc2 := e2.seedDoc("x", sim.DocumentSeed{})
	other2 := e2.srv.SeedInformatieobjecttype(sim.IOTSeed{Omschrijving: "Ander"})
	e2.mustStatus(e2.do("PATCH", doc2, map[string]any{"lock": e2.lock(doc2), "informatieobjecttype": other2}), 200)
}

func TestCreateEIO(t *testing.T) {
	e := newEnv(t, sim.Options{})
	iot := e.srv.SeedInformatieobjecttype(sim.IOTSeed{Vertrouwelijkheidaanduiding: "intern"})
	concept := e.srv.SeedInformatieobjecttype(sim.IOTSeed{Concept: true})
	valid := func() map[string]any {
		return map[string]any{
			"bronorganisatie": "002220647", "creatiedatum": "2025-03-27", "titel": "Bewijs", "auteur": "Ondertekenservice",
			"taal": "dut", "informatieobjecttype": iot, "status": "definitief", "formaat": "application/pdf",
			"bestandsnaam": "bewijs.pdf", "inhoud": base64.StdEncoding.EncodeToString([]byte("%PDF bewijs")),
			"indicatieGebruiksrecht": false,
		}
	}
	r := e.mustStatus(e.do("POST", e.srv.DRC()+"/enkelvoudiginformatieobjecten", valid()), 201)
	m := r.json(t)
	if r.header.Get("Location") != m["url"] || m["versie"] != 1.0 || m["lock"] != "" || m["locked"] != false {
		t.Fatalf("create: %v %v", r.header, m)
	}
	if m["vertrouwelijkheidaanduiding"] != "intern" {
		t.Errorf("drc-007 default from IOT: %v", m["vertrouwelijkheidaanduiding"])
	}
	if m["bestandsomvang"] != 11.0 || m["identificatie"] == "" {
		t.Errorf("create: %v", m)
	}
	if c, _ := e.srv.Content(m["url"].(string), 1); string(c) != "%PDF bewijs" {
		t.Errorf("content %q", c)
	}

	tests := []struct {
		name     string
		mutate   func(map[string]any)
		wantName string
		wantCode string
	}{
		{"missing titel", func(b map[string]any) { delete(b, "titel") }, "titel", "required"},
		{"missing bronorganisatie", func(b map[string]any) { delete(b, "bronorganisatie") }, "bronorganisatie", "required"},
		{"empty auteur", func(b map[string]any) { b["auteur"] = "" }, "auteur", "blank"},
		{"bronorganisatie too long", func(b map[string]any) { b["bronorganisatie"] = "1234567890" }, "bronorganisatie", "max_length"},
		{"bad creatiedatum", func(b map[string]any) { b["creatiedatum"] = "gisteren" }, "creatiedatum", "invalid"},
		{"missing IOT", func(b map[string]any) { delete(b, "informatieobjecttype") }, "informatieobjecttype", "required"},
		{"unknown IOT", func(b map[string]any) { b["informatieobjecttype"] = iot + "x" }, "informatieobjecttype", "bad-url"},
		{"concept IOT (drc-001)", func(b map[string]any) { b["informatieobjecttype"] = concept }, "informatieobjecttype", "not-published"},
		{"lock not allowed", func(b map[string]any) { b["lock"] = "abc" }, "lock", "invalid"},
		{"null titel", func(b map[string]any) { b["titel"] = nil }, "titel", "null"},
		{"vertrouwelijkheid bad", func(b map[string]any) { b["vertrouwelijkheidaanduiding"] = "topgeheim" }, "vertrouwelijkheidaanduiding", "invalid_choice"},
		{"ondertekening while in_bewerking", func(b map[string]any) {
			b["status"] = "in_bewerking"
			b["ondertekening"] = map[string]string{"soort": "digitaal", "datum": "2025-03-27"}
		}, "ondertekening", "incorrect-status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := valid()
			tc.mutate(b)
			r := e.mustStatus(e.invalid().do("POST", e.srv.DRC()+"/enkelvoudiginformatieobjecten", b), 400)
			var found bool
			var p struct {
				InvalidParams []struct{ Name, Code string } `json:"invalidParams"`
			}
			_ = jsonUnmarshal(r.body, &p)
			for _, ip := range p.InvalidParams {
				found = found || (ip.Name == tc.wantName && ip.Code == tc.wantCode)
			}
			if !found {
				t.Errorf("want %s/%s in %s", tc.wantName, tc.wantCode, r.body)
			}
		})
	}
	for _, body := range []string{"", "[1,2]", "{not json", "null"} {
		r := e.invalid().do("POST", e.srv.DRC()+"/enkelvoudiginformatieobjecten", body)
		if r.status != 400 {
			t.Errorf("body %q: %d %s", body, r.status, r.body)
		}
	}
	r = e.invalid().do("POST", e.srv.DRC()+"/enkelvoudiginformatieobjecten", "{}", "Content-Type: text/plain")
	if r.status != 415 {
		t.Errorf("text/plain: %d", r.status)
	}
}
