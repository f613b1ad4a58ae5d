package onespansim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/report"
)

const key = "a2V5"

func start(t *testing.T, now func() time.Time) (*Server, string) {
	t.Helper()
	s := New(Options{APIKey: key, Now: now})
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.Close(); hs.Close() })
	return s, hs.URL
}

func do(t *testing.T, method, u, auth, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json; esl-api-version=11.68.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

const signer = `{"id":"s0","type":"SIGNER","index":0,"signers":[{"email":"a@example.org","firstName":"A","lastName":"B"}]}`

// TestShapeChecks: unknown fields, wrong kinds and missing required fields are refused with 400
// and recorded; a well-formed package is accepted; the API key is required.
func TestShapeChecks(t *testing.T) {
	t.Parallel()
	s, base := start(t, nil)
	if st, _ := do(t, "POST", base+"/api/packages", "", `{"name":"x"}`); st != http.StatusUnauthorized {
		t.Errorf("without key: %d", st)
	}
	if st, _ := do(t, "POST", base+"/api/packages", "Basic wrong", `{"name":"x"}`); st != http.StatusUnauthorized {
		t.Errorf("wrong key: %d", st)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"name":"x","externalId":"1"}`, "package.externalId: unknown field"},
		{`{"name":"x","roles":[{"signers":[{"email":"a@example.org","firstName":"A","lastName":"B","mail":"x"}]}]}`, "signers[0].mail: unknown field"},
		{`{"name":"x","roles":[` + signer + `],"documents":[{"name":"d","approvals":[{"role":"s0","fields":[{"type":"SIGNATURE","extractAnchor":{"text":"{{a}}","anchorPoint":"TOPLEFT","width":1,"height":1,"pos":1}}]}]}]}`, "extractAnchor.pos: unknown field"},
		{`{"name":"x","roles":[` + signer + `],"documents":[{"name":"d","approvals":[{"role":"s0","fields":[{"type":"SIGNATURE"}]}]}]}`, "needs page, top, left, width and height"},
		{`{"name":"x","autocomplete":"yes"}`, "package.autocomplete: want boolean"},
		{`{"description":"no name"}`, "package.name: required"},
		{`{"name":"x","roles":[{"index":0,"signers":[{"email":"a@example.org","firstName":"A","lastName":"B","auth":{"scheme":"SMS","challenges":[{"question":"0612345678"}]}}]}]}`, "E.164"},
		{`{"name":"x","roles":[{"index":"1","signers":[]}]}`, "roles[0].index: want integer"},
	} {
		st, b := do(t, "POST", base+"/api/packages", "Basic "+key, tc.body)
		if st != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %s; want 400 naming %q", tc.body, st, b, tc.want)
		}
	}
	if n := len(s.ShapeErrors()); n < 8 {
		t.Errorf("%d shape errors recorded; want at least 8", n)
	}
	st, b := do(t, "POST", base+"/api/packages", "Basic "+key, `{"name":"ok","roles":[`+signer+`]}`)
	var id struct{ ID string }
	if st != http.StatusOK || json.Unmarshal(b, &id) != nil || !strings.HasSuffix(id.ID, "=") {
		t.Fatalf("create: %d %s", st, b)
	}
	if st, b := do(t, "GET", base+"/api/packages/"+url.PathEscape(id.ID), "Basic "+key, ""); st != http.StatusOK || !strings.Contains(string(b), `"status":"DRAFT"`) {
		t.Errorf("get: %d %s", st, b)
	}
	if st, _ := do(t, "PUT", base+"/api/packages/"+id.ID, "Basic "+key, `{"status":"SENT"}`); st != http.StatusBadRequest {
		t.Errorf("sending a package without documents: %d", st)
	}
}

// TestCallbacksOnceAndDue: only registered events are sent, each once even when the receiver
// fails; Redeliver sends the same bytes again; a package past its due date expires when touched;
// the list finds packages by status.
func TestCallbacksOnceAndDue(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, base := start(t, clock)
	var got [][]byte
	var auths []string
	fail := true
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got, auths = append(got, b), append(auths, r.Header.Get("Authorization"))
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer hook.Close()
	if st, b := do(t, "POST", base+"/api/callback", "Basic "+key, `{"url":"`+hook.URL+`","key":"cbkey","events":["PACKAGE_ACTIVATE","PACKAGE_EXPIRE"]}`); st != http.StatusOK {
		t.Fatalf("register: %d %s", st, b)
	}
	doc, err := report.Plain("Hier: {{a}}")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipartWriter(&body, `{"name":"p","status":"SENT","due":"`+now.Add(time.Hour).UTC().Format(dateLayout)+`","roles":[`+signer+`],
		"documents":[{"id":"d0","name":"d.pdf","approvals":[{"role":"s0","fields":[{"type":"SIGNATURE","subtype":"FULLNAME","extractAnchor":{"text":"{{a}}","index":0,"width":200,"height":50,"anchorPoint":"TOPLEFT","characterIndex":0,"leftOffset":0,"topOffset":0}}]}]}]}`, "d.pdf", doc)
	req, _ := http.NewRequest("POST", base+"/api/packages", &body)
	req.Header.Set("Authorization", "Basic "+key)
	req.Header.Set("Content-Type", mw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var id struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&id)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || id.ID == "" {
		t.Fatalf("create: %d; shape errors %v", resp.StatusCode, s.ShapeErrors())
	}
	if st, b := do(t, "GET", base+"/api/packages?query=SENT&from=1&to=10", "Basic "+key, ""); st != http.StatusOK || !strings.Contains(string(b), id.ID) || !strings.Contains(string(b), `"count":1`) {
		t.Errorf("list SENT: %d %s", st, b)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if st, b := do(t, "GET", base+"/api/packages/"+id.ID, "Basic "+key, ""); !strings.Contains(string(b), `"status":"EXPIRED"`) {
		t.Errorf("past due: %d %s", st, b)
	}
	s.Flush()
	d := s.Callbacks()
	if len(d) != 2 || d[0].Name != EventPackageActivate || d[1].Name != EventPackageExpire || d[0].Status != 500 || d[0].Err == "" {
		t.Fatalf("deliveries %+v", d)
	}
	mu.Lock()
	if len(got) != 2 || auths[0] != "Basic cbkey" {
		t.Errorf("received %d callbacks (not retried: want 2), auth %q", len(got), auths)
	}
	var ev map[string]any
	_ = json.Unmarshal(got[0], &ev)
	if _, ok := ev["message"]; !ok || ev["documentId"] != nil || ev["@class"] == nil || ev["packageId"] != id.ID {
		t.Errorf("callback body %s", got[0])
	}
	fail = false
	mu.Unlock()
	if err := s.Redeliver(0); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// The two callbacks went out at once, in either order: the redelivery of the first recorded
	// one must equal the body that arrived for that event.
	var again map[string]any
	_ = json.Unmarshal(got[len(got)-1], &again)
	if len(got) != 3 || again["name"] != d[0].Name || (!bytes.Equal(got[2], got[0]) && !bytes.Equal(got[2], got[1])) {
		t.Errorf("redelivery is not the same bytes")
	}
}
