package sim_test

import (
	"slices"
	"testing"

	"github.com/signingd/signingd/zgw/sim"
)

func TestZaakRetrieveCrs(t *testing.T) {
	e := newEnv(t, sim.Options{})
	zaak, err := e.srv.SeedZaak(sim.ZaakSeed{Bronorganisatie: "123456782", Omschrijving: "Vergunning"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		headers []string
		want    int
	}{
		{"no Accept-Crs", nil, 412},
		{"wrong crs", []string{"Accept-Crs: EPSG:28992"}, 406},
		{"EPSG:4326", []string{"Accept-Crs: EPSG:4326", "Content-Crs: EPSG:4326"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.invalid().do("GET", zaak, nil, tc.headers...)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.want != 200 {
				return
			}
			if r.header.Get("Content-Crs") != "EPSG:4326" || r.header.Get("API-version") != "1.5.1" {
				t.Errorf("headers %v", r.header)
			}
			m := r.json(t)
			if m["url"] != zaak || m["bronorganisatie"] != "123456782" || m["archiefstatus"] != "nog_te_archiveren" || m["einddatum"] != nil {
				t.Errorf("zaak %v", m)
			}
			if zt := e.mustStatus(e.do("GET", m["zaaktype"].(string), nil), 200).json(t); zt["url"] != m["zaaktype"] {
				t.Errorf("zaaktype %v", zt)
			}
		})
	}
	e.mustStatus(e.do("GET", e.srv.ZRC()+"/zaken/7d4a0e8c-1111-4222-8333-944445555666", nil, "Accept-Crs: EPSG:4326", "Content-Crs: EPSG:4326"), 404)
}

func TestZaakInformatieObjectCreate(t *testing.T) {
	e := newEnv(t, sim.Options{})
	bewijs := e.srv.SeedInformatieobjecttype(sim.IOTSeed{Omschrijving: "Bewijs"})
	vreemd := e.srv.SeedInformatieobjecttype(sim.IOTSeed{Omschrijving: "Niet toegestaan"})
	zaak, _ := e.srv.SeedZaak(sim.ZaakSeed{Informatieobjecttypen: []string{bewijs}})
	closed, _ := e.srv.SeedZaak(sim.ZaakSeed{Informatieobjecttypen: []string{bewijs}, Einddatum: "2025-01-01"})
	archived, _ := e.srv.SeedZaak(sim.ZaakSeed{Informatieobjecttypen: []string{bewijs}, Archiefstatus: "gearchiveerd"})
	ok := e.seedDoc("bewijs", sim.DocumentSeed{Informatieobjecttype: bewijs})
	wrong := e.seedDoc("anders", sim.DocumentSeed{Informatieobjecttype: vreemd})
	ziosURL := e.srv.ZRC() + "/zaakinformatieobjecten"

	r := e.mustStatus(e.do("POST", ziosURL, map[string]string{"informatieobject": ok, "zaak": zaak, "titel": "Bewijs", "beschrijving": ""}), 201)
	m := r.json(t)
	if r.header.Get("Location") != m["url"] || m["zaak"] != zaak || m["informatieobject"] != ok || m["aardRelatieWeergave"] == "" {
		t.Fatalf("zio %v %v", r.header, m)
	}
	if docs := e.srv.ZaakDocuments(zaak); len(docs) != 1 || docs[0] != ok {
		t.Errorf("ZaakDocuments %v", docs)
	}
	tests := []struct {
		name      string
		body      map[string]string
		status    int
		wantCode  string
		wantField string
	}{
		{"duplicate", map[string]string{"informatieobject": ok, "zaak": zaak}, 400, "unique", "nonFieldErrors"},
		{"zrc-017 IOT not on zaaktype", map[string]string{"informatieobject": wrong, "zaak": zaak}, 400, "missing-zaaktype-informatieobjecttype-relation", "nonFieldErrors"},
		{"unknown zaak", map[string]string{"informatieobject": ok, "zaak": zaak + "0"}, 400, "bad-url", "zaak"},
		{"unknown document", map[string]string{"informatieobject": ok + "0", "zaak": zaak}, 400, "bad-url", "informatieobject"},
		{"zaak missing", map[string]string{"informatieobject": ok}, 400, "required", "zaak"},
		{"archived zaak", map[string]string{"informatieobject": ok, "zaak": archived}, 400, "zaak-archiefstatus", "nonFieldErrors"},
		{"closed zaak needs geforceerd-bijwerken", map[string]string{"informatieobject": ok, "zaak": closed}, 403, "permission_denied", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.invalid().do("POST", ziosURL, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 403 {
				if r.code(t) != tc.wantCode {
					t.Errorf("code %s", r.body)
				}
				return
			}
			var p struct {
				InvalidParams []struct{ Name, Code string } `json:"invalidParams"`
			}
			_ = jsonUnmarshal(r.body, &p)
			if !slices.ContainsFunc(p.InvalidParams, func(ip struct{ Name, Code string }) bool {
				return ip.Name == tc.wantField && ip.Code == tc.wantCode
			}) {
				t.Errorf("want %s/%s: %s", tc.wantField, tc.wantCode, r.body)
			}
		})
	}
	// list filters (plain array in ZRC 1.x)
	var list []map[string]any
	_ = jsonUnmarshal(e.mustStatus(e.do("GET", ziosURL+"?zaak="+zaak, nil), 200).body, &list)
	if len(list) != 1 || list[0]["informatieobject"] != ok {
		t.Errorf("list %v", list)
	}
	_ = jsonUnmarshal(e.mustStatus(e.do("GET", ziosURL+"?informatieobject="+wrong, nil), 200).body, &list)
	if len(list) != 0 {
		t.Errorf("filtered list %v", list)
	}
	e.mustStatus(e.do("GET", m["url"].(string), nil), 200)
	// the zaak lists its zaakinformatieobjecten
	z := e.mustStatus(e.do("GET", zaak, nil, "Accept-Crs: EPSG:4326", "Content-Crs: EPSG:4326"), 200).json(t)
	if zios, _ := z["zaakinformatieobjecten"].([]any); len(zios) != 1 || zios[0] != m["url"] {
		t.Errorf("zaak.zaakinformatieobjecten %v", z["zaakinformatieobjecten"])
	}
	// after allowing the IOT on the zaaktype the relation is accepted
	if err := e.srv.AllowIOT(z["zaaktype"].(string), vreemd); err != nil {
		t.Fatal(err)
	}
	e.mustStatus(e.do("POST", ziosURL, map[string]string{"informatieobject": wrong, "zaak": zaak}), 201)
}

func TestCatalogi(t *testing.T) {
	e := newEnv(t, sim.Options{})
	iot := e.srv.SeedInformatieobjecttype(sim.IOTSeed{Omschrijving: "Bewijs", Vertrouwelijkheidaanduiding: "intern"})
	m := e.mustStatus(e.do("GET", iot, nil), 200).json(t)
	if m["url"] != iot || m["omschrijving"] != "Bewijs" || m["concept"] != false || m["vertrouwelijkheidaanduiding"] != "intern" {
		t.Errorf("iot %v", m)
	}
	if r := e.do("GET", iot, nil); r.header.Get("API-version") != "1.3.1" {
		t.Errorf("API-version %q", r.header.Get("API-version"))
	}
	e.mustStatus(e.do("GET", e.srv.ZTC()+"/informatieobjecttypen/7d4a0e8c-1111-4222-8333-944445555666", nil), 404)
}
