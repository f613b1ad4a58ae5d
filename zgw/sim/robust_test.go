package sim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/signingd/signingd/zgw/sim"
)

// TestMalformedInputNeverFails5xx throws malformed bodies at every write endpoint: each must be answered with a
// 4xx problem (never a 5xx, a panic or a dropped connection), and the response must still conform to the OAS.
func TestMalformedInputNeverFails5xx(t *testing.T) {
	e := newEnv(t, sim.Options{PartSize: 10})
	e.srv.SeedKanaal("documentacties")
	doc := e.seedDoc("x", sim.DocumentSeed{})
	zaak, _ := e.srv.SeedZaak(sim.ZaakSeed{})
	lock := e.lock(doc)
	r := e.mustStatus(e.do("PATCH", doc, map[string]any{"lock": lock, "inhoud": nil, "bestandsomvang": 15}), 200)
	part := delen(t, r)[0].URL
	bodies := []string{
		``, `null`, `[]`, `"x"`, `5`, `{`, `{"lock": 5}`, `{"lock": null}`, `{"lock": "` + lock + `", "inhoud": 5}`,
		`{"lock": "` + lock + `", "bestandsomvang": -1}`, `{"lock": "` + lock + `", "bestandsomvang": 1e40}`,
		`{"lock": "` + lock + `", "ondertekening": "x"}`, `{"lock": "` + lock + `", "ondertekening": {"soort": 5}}`,
		`{"lock": "` + lock + `", "integriteit": []}`, `{"lock": "` + lock + `", "trefwoorden": "x"}`,
		`{"lock": "` + lock + `", "informatieobjecttype": "::"}`, `{"lock": "` + lock + `", "titel": {"a": 1}}`,
		`{"kanaal": 5}`, `{"kenmerken": [1]}`, `{"kanalen": "x"}`, `{"kanalen": [{"naam": 5}]}`, `{"kanalen": [{"naam": "documentacties", "filters": {"a": 1}}]}`,
		`{"zaak": 5, "informatieobject": []}`, `{"zaak": "http://[::1", "informatieobject": "` + doc + `"}`, `{"naam": [], "filters": [1]}`,
		`{"informatieobject": "` + doc + `", "zaak": "` + zaak + `", "vernietigingsdatum": "morgen"}`,
		strings.Repeat(`{"a":`, 1000),
	}
	targets := []struct{ method, url string }{
		{"POST", e.srv.DRC() + "/enkelvoudiginformatieobjecten"},
		{"PATCH", doc}, {"PUT", doc}, {"POST", doc + "/unlock"},
		{"POST", e.srv.ZRC() + "/zaakinformatieobjecten"},
		{"POST", e.srv.NRC() + "/kanaal"}, {"POST", e.srv.NRC() + "/notificaties"}, {"POST", e.srv.NRC() + "/abonnement"},
	}
	bad := e.invalid()
	for _, tg := range targets {
		for _, b := range bodies {
			r := bad.do(tg.method, tg.url, b)
			if r.status >= 500 || r.status < 400 && !(tg.method == "POST" && strings.HasSuffix(tg.url, "/unlock") && r.status == 204) {
				t.Errorf("%s %s %.40q: %d %s", tg.method, tg.url, b, r.status, r.body)
			}
		}
	}
	// malformed parts
	for _, ct := range []string{"multipart/form-data", "multipart/form-data; boundary=xyz", "text/plain", "application/x-www-form-urlencoded"} {
		req, _ := http.NewRequest("PUT", part, strings.NewReader("--xyz\r\nbroken"))
		req.Header.Set("Content-Type", ct)
		res, err := bad.c.Do(req.WithContext(badCtx()))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Errorf("part with %s: %d", ct, res.StatusCode)
		}
	}
}
