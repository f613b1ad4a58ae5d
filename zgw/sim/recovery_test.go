package sim_test

import (
	"bytes"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/signingd/signingd/zgw/sim"
)

// The behaviours a client needs to recover an interrupted chunked upload, as Open Zaak has them: a part can be
// PUT again (it is replaced), an unlock with incomplete parts is refused, a forced unlock abandons the upload, a
// document can be deleted only unlocked and unrelated, and bronorganisatie + identificatie stay unique.
func TestRecoveryBehaviours(t *testing.T) {
	e := newEnv(t, sim.Options{PartSize: 100})
	data := content(250)
	create := func(ident string) resp {
		return e.do("POST", e.srv.DRC()+"/enkelvoudiginformatieobjecten", map[string]any{
			"identificatie": ident, "bronorganisatie": "002220647", "creatiedatum": "2025-03-27", "titel": "Bewijs",
			"auteur": "sim", "taal": "dut", "informatieobjecttype": e.srv.DefaultIOT(), "inhoud": nil, "bestandsomvang": len(data),
		})
	}
	r := e.mustStatus(create("sd-1"), 201)
	doc, lock, parts := r.json(t)["url"].(string), r.json(t)["lock"].(string), delen(t, r)

	// identificatie is unique per bronorganisatie
	dup := e.invalid().do("POST", e.srv.DRC()+"/enkelvoudiginformatieobjecten", map[string]any{
		"identificatie": "sd-1", "bronorganisatie": "002220647", "creatiedatum": "2025-03-27", "titel": "Bewijs",
		"auteur": "sim", "taal": "dut", "informatieobjecttype": e.srv.DefaultIOT(), "inhoud": "eA==",
	})
	if dup.status != 400 || !slices.Contains(dup.invalidCodes(t), "identificatie-niet-uniek") {
		t.Errorf("duplicate identificatie: %d %s", dup.status, dup.body)
	}

	// a part PUT twice is replaced; the unlock waits for all parts
	e.mustStatus(e.putPart(parts[0].URL, lock, bytes.Repeat([]byte{'x'}, 100)), 200)
	e.mustStatus(e.putPart(parts[0].URL, lock, data[:100]), 200)
	if r := e.do("POST", doc+"/unlock", map[string]string{"lock": lock}); r.status != 400 || !slices.Contains(r.invalidCodes(t), "incomplete-upload") {
		t.Errorf("unlock with incomplete parts: %d %s", r.status, r.body)
	}
	// a locked document cannot be deleted
	if r := e.do("DELETE", doc, nil); r.status != 400 || !slices.Contains(r.invalidCodes(t), "destroy-locked") {
		t.Errorf("delete locked: %d %s", r.status, r.body)
	}
	e.mustStatus(e.putPart(parts[1].URL, lock, data[100:200]), 200)
	e.mustStatus(e.putPart(parts[2].URL, lock, data[200:]), 200)
	e.mustStatus(e.do("POST", doc+"/unlock", map[string]string{"lock": lock}), 204)
	if dl := e.mustStatus(e.do("GET", doc+"/download", nil), 200); !bytes.Equal(dl.body, data) {
		t.Error("content of the replaced part is not the last one sent")
	}

	// a document a zaak relates to cannot be deleted (drc-008)
	zaak, err := e.srv.SeedZaak(sim.ZaakSeed{})
	if err != nil {
		t.Fatal(err)
	}
	related := e.seedDoc("x", sim.DocumentSeed{Zaak: zaak})
	if r := e.do("DELETE", related, nil); r.status != 400 || !slices.Contains(r.invalidCodes(t), "pending-relations") {
		t.Errorf("delete related: %d %s", r.status, r.body)
	}

	// deleted: gone, its identificatie free again
	e.mustStatus(e.do("DELETE", doc, nil), 204)
	e.mustStatus(e.do("GET", doc, nil), 404)
	e.mustStatus(e.do("DELETE", doc, nil), 404)
	e.mustStatus(create("sd-1"), 201)
}

func TestDeleteNeedsScope(t *testing.T) {
	e := newEnv(t, sim.Options{Tokens: sim.TokensOpenZaak, Clients: clients, Now: func() time.Time { return clock }})
	e.tok = hs256(t, "s3cret", claims(0))
	doc := e.seedDoc("x", sim.DocumentSeed{})
	e.mustStatus(e.do("DELETE", doc, nil), 403)
	e.tok = hs256(t, "adm1n", claims(0, "client_id", "admin"))
	e.mustStatus(e.do("DELETE", doc, nil), 204)
}

// A forced unlock abandons an incomplete upload as Open Zaak does: no content and no size.
func TestForcedUnlockClearsSize(t *testing.T) {
	e := newEnv(t, sim.Options{PartSize: 100, Tokens: sim.TokensOpenZaak, Clients: clients, Now: func() time.Time { return clock }})
	e.tok = hs256(t, "adm1n", claims(0, "client_id", "admin"))
	r := e.mustStatus(e.do("POST", e.srv.DRC()+"/enkelvoudiginformatieobjecten", map[string]any{
		"bronorganisatie": "002220647", "creatiedatum": "2025-03-27", "titel": "Bewijs", "auteur": "sim", "taal": "dut",
		"informatieobjecttype": e.srv.DefaultIOT(), "inhoud": nil, "bestandsomvang": 150,
	}), 201)
	doc := r.json(t)["url"].(string)
	e.mustStatus(e.do("POST", doc+"/unlock", map[string]any{}), 204)
	got := e.mustStatus(e.do("GET", doc, nil), 200)
	if m := got.json(t); m["locked"] != false || m["inhoud"] != nil || m["bestandsomvang"] != nil || len(delen(t, got)) != 0 {
		t.Errorf("after forced unlock: %s", got.body)
	}
	e.mustStatus(e.do("DELETE", doc, nil), 204)
}

// FaultDropAfter executes the request and drops the connection instead of answering; Skip lets the first
// matching requests through.
func TestFaultDropAfterAndSkip(t *testing.T) {
	e := newEnv(t, sim.Options{})
	doc := e.seedDoc("x", sim.DocumentSeed{})
	e.srv.AddFault(sim.Fault{Kind: sim.FaultDropAfter, Method: "POST", PathPrefix: sim.DRCPath, Skip: 1, Times: 1})
	lock := e.lock(doc) // skipped
	req, _ := http.NewRequest("POST", doc+"/unlock", bytes.NewReader([]byte(`{"lock":"`+lock+`"}`)))
	req.Header.Set("Content-Type", "application/json")
	if res, err := e.c.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("dropped connection gave a response: %d", res.StatusCode)
	}
	if len(e.srv.Locks()) != 0 {
		t.Error("the unlock whose answer was dropped was not executed")
	}
	if rs := e.srv.RequestsTo("POST", "/unlock"); len(rs) != 1 || rs[0].Status != 204 {
		t.Errorf("request log %+v", rs)
	}
	if e.srv.FaultsFired() != 1 {
		t.Errorf("%d faults fired", e.srv.FaultsFired())
	}
}

// SeedPendingUpload leaves a document as an interrupted chunked create does; a Path fault matches that path only.
func TestSeedPendingUploadAndPathFault(t *testing.T) {
	e := newEnv(t, sim.Options{PartSize: 100})
	doc, lock, err := e.srv.SeedPendingUpload(150, sim.DocumentSeed{Identificatie: "sd-2"})
	if err != nil {
		t.Fatal(err)
	}
	got := e.mustStatus(e.do("GET", doc, nil), 200)
	parts := delen(t, got)
	if m := got.json(t); m["locked"] != true || m["inhoud"] != nil || m["bestandsomvang"] != 150.0 || len(parts) != 2 ||
		parts[0].Lock != lock || parts[1].Omvang != 50 {
		t.Fatalf("pending upload: %s", got.body)
	}
	e.srv.AddFault(sim.Fault{Kind: sim.FaultError, Status: 503, Path: sim.DRCPath + "/enkelvoudiginformatieobjecten"})
	e.mustStatus(e.putPart(parts[0].URL, lock, content(100)), 200)
	e.mustStatus(e.putPart(parts[1].URL, lock, content(50)), 200)
	e.mustStatus(e.do("POST", doc+"/unlock", map[string]string{"lock": lock}), 204) // under the path, not at it
	e.mustStatus(e.do("GET", e.srv.DRC()+"/enkelvoudiginformatieobjecten", nil), 503)
}
