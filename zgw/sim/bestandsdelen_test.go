package sim_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/zgw/sim"
)

// putPart uploads one bestandsdeel as multipart/form-data (inhoud before lock, as clients usually stream).
func (e *env) putPart(partURL, lock string, data []byte) resp {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("inhoud", "part.bin")
	_, _ = fw.Write(data)
	_ = mw.WriteField("lock", lock)
	_ = mw.Close()
	req, _ := http.NewRequest("PUT", partURL, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if e.tok != "" {
		req.Header.Set("Authorization", e.tok)
	}
	res, err := e.c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: body}
}

type deel struct {
	URL        string `json:"url"`
	Volgnummer int    `json:"volgnummer"`
	Omvang     int64  `json:"omvang"`
	Voltooid   bool   `json:"voltooid"`
	Lock       string `json:"lock"`
}

func delen(t *testing.T, r resp) []deel {
	t.Helper()
	var m struct {
		Bestandsdelen []deel `json:"bestandsdelen"`
	}
	if err := jsonUnmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	return m.Bestandsdelen
}

func content(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestBestandsdelenCreate(t *testing.T) {
	e := newEnv(t, sim.Options{PartSize: 1000})
	data := content(2500)
	r := e.mustStatus(e.do("POST", e.srv.DRC()+"/enkelvoudiginformatieobjecten", map[string]any{
		"bronorganisatie": "002220647", "creatiedatum": "2025-03-27", "titel": "Groot", "auteur": "sim", "taal": "dut",
		"informatieobjecttype": e.srv.DefaultIOT(), "inhoud": nil, "bestandsomvang": len(data), "bestandsnaam": "groot.pdf",
	}), 201)
	m := r.json(t)
	lock, _ := m["lock"].(string)
	doc := m["url"].(string)
	parts := delen(t, r)
	if lock == "" || m["locked"] != true || m["inhoud"] != nil {
		t.Fatalf("create chunked: %s", r.body)
	}
	var sizes []int64
	for i, p := range parts {
		sizes = append(sizes, p.Omvang)
		if p.Volgnummer != i+1 || p.Voltooid || p.Lock != lock {
			t.Errorf("part %d: %+v", i, p)
		}
	}
	if !slices.Equal(sizes, []int64{1000, 1000, 500}) {
		t.Fatalf("part sizes %v", sizes)
	}
	// wrong lock, wrong size, unknown part
	if r := e.putPart(parts[0].URL, "0123456789abcdef0123456789abcdef", data[:1000]); r.status != 400 || !slices.Contains(r.invalidCodes(t), "incorrect-lock-id") {
		t.Errorf("wrong lock: %d %s", r.status, r.body)
	}
	if r := e.putPart(parts[0].URL, lock, data[:999]); r.status != 400 || !slices.Contains(r.invalidCodes(t), "file-size") {
		t.Errorf("short part: %d %s", r.status, r.body)
	}
	if r := e.putPart(parts[0].URL, lock, data[:1001]); r.status != 400 || !slices.Contains(r.invalidCodes(t), "file-size") {
		t.Errorf("long part: %d %s", r.status, r.body)
	}
	e.mustStatus(e.putPart(e.srv.DRC()+"/bestandsdelen/7d4a0e8c-1111-4222-8333-944445555666", lock, data[:10]), 404)

	pr := e.mustStatus(e.putPart(parts[0].URL, lock, data[:1000]), 200).json(t)
	if pr["voltooid"] != true || pr["volgnummer"] != 1.0 {
		t.Errorf("part response %v", pr)
	}
	r = e.mustStatus(e.do("POST", doc+"/unlock", map[string]string{"lock": lock}), 400)
	if !slices.Contains(r.invalidCodes(t), "incomplete-upload") {
		t.Errorf("unlock incomplete: %s", r.body)
	}
	// the retrieve shows progress
	if got := delen(t, e.mustStatus(e.do("GET", doc, nil), 200)); len(got) != 3 || !got[0].Voltooid || got[1].Voltooid {
		t.Errorf("progress %+v", got)
	}
	e.mustStatus(e.putPart(parts[2].URL, lock, data[2000:]), 200) // any order
	// urlencoded is allowed too
	form := url.Values{"lock": {lock}, "inhoud": {string(data[1000:2000])}}
	req, _ := http.NewRequest("PUT", parts[1].URL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := e.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("urlencoded part: %d", res.StatusCode)
	}
	e.mustStatus(e.do("POST", doc+"/unlock", map[string]string{"lock": lock}), 204)
	got := e.mustStatus(e.do("GET", doc, nil), 200)
	if m := got.json(t); m["locked"] != false || m["bestandsomvang"] != 2500.0 || m["inhoud"] != doc+"/download?versie=1" || len(delen(t, got)) != 0 {
		t.Errorf("after unlock: %s", got.body)
	}
	if dl := e.mustStatus(e.do("GET", doc+"/download", nil), 200); !bytes.Equal(dl.body, data) {
		t.Errorf("assembled content differs (%d bytes)", len(dl.body))
	}
	vs, _ := e.srv.Versions(doc)
	sum := sha256.Sum256(data)
	if len(vs) != 1 || vs[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("versions %+v", vs)
	}
}

func TestBestandsdelenPatch(t *testing.T) {
	e := newEnv(t, sim.Options{PartSize: 100})
	doc := e.seedDoc("origineel", sim.DocumentSeed{Status: "in_bewerking"})
	data := content(250)
	lock := e.lock(doc)
	r := e.mustStatus(e.do("PATCH", doc, map[string]any{"lock": lock, "inhoud": nil, "bestandsomvang": len(data),
		"status": "definitief", "ondertekening": map[string]string{"soort": "digitaal", "datum": "2025-03-27"}}), 200)
	parts := delen(t, r)
	if len(parts) != 3 || r.json(t)["versie"] != 2.0 {
		t.Fatalf("patch chunked: %s", r.body)
	}
	for i, p := range parts {
		end := min((i+1)*100, len(data))
		e.mustStatus(e.putPart(p.URL, lock, data[i*100:end]), 200)
	}
	e.mustStatus(e.do("POST", doc+"/unlock", map[string]string{"lock": lock}), 204)
	if dl := e.mustStatus(e.do("GET", doc+"/download?versie=2", nil), 200); !bytes.Equal(dl.body, data) {
		t.Error("version 2 content differs")
	}
	if dl := e.mustStatus(e.do("GET", doc+"/download?versie=1", nil), 200); string(dl.body) != "origineel" {
		t.Error("version 1 content changed")
	}

	// a forced unlock abandons an incomplete upload; the version has no content
	admin := newEnv(t, sim.Options{PartSize: 100, Tokens: sim.TokensOpenZaak, Clients: clients, Now: func() time.Time { return clock }})
	admin.tok = hs256(t, "adm1n", claims(0, "client_id", "admin"))
	doc2 := admin.seedDoc("x", sim.DocumentSeed{})
	lock2 := admin.lock(doc2)
	r = admin.mustStatus(admin.do("PATCH", doc2, map[string]any{"lock": lock2, "inhoud": nil, "bestandsomvang": 150}), 200)
	admin.mustStatus(admin.putPart(delen(t, r)[0].URL, lock2, data[:100]), 200)
	admin.mustStatus(admin.do("POST", doc2+"/unlock", map[string]any{}), 204)
	if m := admin.mustStatus(admin.do("GET", doc2, nil), 200).json(t); m["inhoud"] != nil || m["locked"] != false {
		t.Errorf("after forced unlock: %v", m)
	}
	admin.mustStatus(admin.do("GET", doc2+"/download", nil), 404)
	admin.mustStatus(admin.putPart(delen(t, r)[1].URL, lock2, data[:50]), 404)
}

func TestBestandsdelenOneGroundPending(t *testing.T) {
	e := newEnv(t, sim.Options{PartSize: 100, OneGroundDRC: true})
	doc := e.seedDoc("x", sim.DocumentSeed{})
	lock := e.lock(doc)
	e.mustStatus(e.do("PATCH", doc, map[string]any{"lock": lock, "inhoud": nil, "bestandsomvang": 150}), 200)
	r := e.do("PATCH", doc, map[string]any{"lock": lock, "titel": "nog een"})
	if r.status != 400 || !slices.Contains(r.invalidCodes(t), "upload-pending") {
		t.Errorf("OneGround PATCH during upload: %d %s", r.status, r.body)
	}
}
