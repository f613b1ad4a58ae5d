package onespan_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/internal/simfault"
	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/onespan"
	"github.com/signingd/signingd/signing/providers/onespan/onespansim"
)

const (
	apiKey      = "c2ltdWxhdGVkLWFwaS1rZXk="
	callbackKey = "callback-secret-123"
)

type env struct {
	sim  *onespansim.Server
	prov *onespan.Provider
	url  string

	mu   sync.Mutex
	refs []string // what VerifyWebhook returned for each callback received
}

// setup starts the simulator on loopback, registers a callback that the adapter verifies, and
// returns the adapter.
func setup(t *testing.T) *env {
	t.Helper()
	e := &env{sim: onespansim.New(onespansim.Options{APIKey: apiKey})}
	hs := httptest.NewServer(e.sim.Handler())
	e.url = hs.URL
	p, err := onespan.New(onespan.Config{BaseURL: hs.URL + "/api", APIKey: apiKey, CallbackKey: callbackKey})
	if err != nil {
		t.Fatal(err)
	}
	e.prov = p
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ref, err := p.VerifyWebhook(r, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		e.mu.Lock()
		e.refs = append(e.refs, ref)
		e.mu.Unlock()
	}))
	t.Cleanup(func() { e.sim.Close(); hook.Close(); hs.Close() })
	e.sim.SetCallback(hook.URL, callbackKey, []string{onespansim.EventPackageActivate, onespansim.EventSignerComplete,
		onespansim.EventPackageComplete, onespansim.EventPackageDecline, onespansim.EventPackageExpire,
		onespansim.EventPackageReadyForComplete, onespansim.EventDocumentSigned})
	return e
}

func pdf(t *testing.T, lines ...string) []byte {
	t.Helper()
	b, err := report.Plain(lines...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func doc(pos int, name string, content []byte) signing.ProviderDocument {
	return signing.ProviderDocument{Position: pos, Bestandsnaam: name, Titel: name, Formaat: "application/pdf", Size: int64(len(content)),
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil }}
}

// request is two documents and three signers in volgorde 1, 2, 2; the second authenticates by SMS,
// the third has no identificatie (its signature goes on the page, not at an anchor).
func request(t *testing.T) signing.CreateRequest {
	d0 := pdf(t, "Besluit", "Eerste: {{Signer1}}", "", "Tweede: {{Signer2}}")
	d1 := pdf(t, "Bijlage", "Eerste: {{Signer1}}", "", "Tweede: {{Signer2}}")
	return signing.CreateRequest{TransactionID: uuid.New(), Naam: "Besluit subsidie", Organisation: signing.Organisation{Name: "Gemeente Voorbeeld"},
		Deadline:  time.Now().Add(72 * time.Hour),
		Documents: []signing.ProviderDocument{doc(0, "besluit.pdf", d0), doc(1, "bijlage.pdf", d1)},
		Signers: []signing.ProviderSigner{
			{Position: 0, Email: "anna@example.org", Voornaam: "Anna", Achternaam: "Eerst", Identificatie: "Signer1", Volgorde: 1},
			{Position: 1, Email: "bram@example.org", Voornaam: "Bram", Achternaam: "Later", Identificatie: "{{Signer2}}", Volgorde: 2,
				Authenticatie: &signing.Authenticatie{Methode: signing.AuthSMS, Waarde: "+31612345678"}},
			{Position: 2, Email: "cor@example.org", Voornaam: "Cor", Achternaam: "Ook", Volgorde: 2},
		}}
}

type simPackage struct {
	Status       string `json:"status"`
	Trashed      bool   `json:"trashed"`
	Autocomplete bool   `json:"autocomplete"`
	Data         map[string]string
	Roles        []struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Index   int    `json:"index"`
		Signers []struct {
			Auth struct {
				Scheme     string `json:"scheme"`
				Challenges []struct {
					Question string `json:"question"`
				} `json:"challenges"`
			} `json:"auth"`
		} `json:"signers"`
	} `json:"roles"`
	Documents []struct {
		ID        string `json:"id"`
		Approvals []struct {
			Role   string `json:"role"`
			Fields []struct {
				ExtractAnchor *struct {
					Text string `json:"text"`
				} `json:"extractAnchor"`
				Page *int `json:"page"`
			} `json:"fields"`
		} `json:"approvals"`
	} `json:"documents"`
}

func (e *env) pkg(t *testing.T, id string) simPackage {
	t.Helper()
	raw, ok := e.sim.Package(id)
	if !ok {
		t.Fatalf("no package %s at the simulator", id)
	}
	var p simPackage
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) status(t *testing.T, ref string) signing.Progress {
	t.Helper()
	pr, err := e.prov.Status(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func signerStates(pr signing.Progress) string {
	var s []string
	for _, sp := range pr.Signers {
		s = append(s, sp.Status)
	}
	return strings.Join(s, ",")
}

// TestCreateSignCollect runs a whole signing: the package has the vendor's shapes, the order and
// the SMS challenge; signers are invited by index; the signed PDFs carry one valid PAdES signature
// per signer; the evidence has the audit trail and the summary PDF; callbacks verify.
func TestCreateSignCollect(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	req := request(t)
	ref, err := e.prov.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if errs := e.sim.ShapeErrors(); len(errs) > 0 {
		t.Fatalf("shape errors: %v", errs)
	}
	if !strings.Contains(ref, "=") {
		t.Errorf("package id %q has no '=': the test does not exercise path escaping", ref)
	}
	p := e.pkg(t, ref)
	if p.Status != "SENT" || p.Data[onespan.TransactionKey] != req.TransactionID.String() {
		t.Errorf("package is %s with data %v", p.Status, p.Data)
	}
	index := map[string]int{}
	for _, r := range p.Roles {
		if r.Type == "SIGNER" {
			index[r.ID] = r.Index
		}
	}
	if index["signer0"] != 0 || index["signer1"] != 1 || index["signer2"] != 1 || len(index) != 3 {
		t.Errorf("role indexes %v; want signer0 0, signer1 1, signer2 1", index)
	}
	for _, r := range p.Roles {
		if r.ID == "signer1" {
			a := r.Signers[0].Auth
			if a.Scheme != "SMS" || len(a.Challenges) != 1 || a.Challenges[0].Question != "+31612345678" {
				t.Errorf("signer1 auth %+v; want SMS with the phone as question", a)
			}
		}
		if r.ID == "signer0" && r.Signers[0].Auth.Scheme != "NONE" {
			t.Errorf("signer0 auth %s; want NONE", r.Signers[0].Auth.Scheme)
		}
	}
	if len(p.Documents) != 2 || len(p.Documents[0].Approvals) != 3 {
		t.Fatalf("documents/approvals: %+v", p.Documents)
	}
	for _, a := range p.Documents[0].Approvals {
		f := a.Fields[0]
		switch {
		case a.Role == "signer0" && (f.ExtractAnchor == nil || f.ExtractAnchor.Text != "{{Signer1}}"),
			a.Role == "signer1" && (f.ExtractAnchor == nil || f.ExtractAnchor.Text != "{{Signer2}}"),
			a.Role == "signer2" && (f.ExtractAnchor != nil || f.Page == nil):
			t.Errorf("approval of %s: field %+v", a.Role, f)
		}
	}

	if pr := e.status(t, ref); pr.Status != signing.ProgressPending || signerStates(pr) != "invited,pending,pending" {
		t.Fatalf("after create: %s %s", pr.Status, signerStates(pr))
	}
	if err := e.sim.Sign(ref, "bram@example.org"); !errors.Is(err, onespansim.ErrConflict) {
		t.Errorf("second in order signed first: %v", err)
	}
	must(t, e.sim.Sign(ref, "anna@example.org"))
	if pr := e.status(t, ref); signerStates(pr) != "signed,invited,invited" || pr.Signers[0].At.IsZero() {
		t.Fatalf("after the first: %s %+v", signerStates(pr), pr.Signers[0])
	}
	must(t, e.sim.Sign(ref, "bram@example.org"))
	e.sim.DropCallbacks(100) // the last callbacks are lost: the poll still finds the end
	must(t, e.sim.Sign(ref, "cor@example.org"))
	pr := e.status(t, ref)
	if pr.Status != signing.ProgressCompleted || signerStates(pr) != "signed,signed,signed" {
		t.Fatalf("after all: %s %s", pr.Status, signerStates(pr))
	}
	if got := pr.Signers[1].Evidence["authenticatie"]; got != signing.AuthWords(signing.AuthSMS) {
		t.Errorf("signer1 evidence authenticatie %q", got)
	}

	for i, d := range req.Documents {
		signed := testkit.ReadAll(t)(e.prov.Signed(ctx, ref, i))
		orig := testkit.ReadAll(t)(d.Open(ctx))
		if !bytes.HasPrefix(signed, orig) {
			t.Errorf("document %d: the original bytes are not kept", i)
		}
		rep := testkit.PDFSigBytes(t, signed, e.sim.Root())
		if total, valid := testkit.ValidSignatures(rep); total != 3 || valid != 3 {
			t.Errorf("document %d: %d signatures, %d valid and trusted; want 3:\n%s", i, total, valid, rep)
		}
	}

	ev, err := e.prov.Evidence(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	signs := 0
	for _, x := range ev.Events {
		if x.Type == "Sign" && x.Signer >= 0 {
			signs++
		}
		if x.At.IsZero() || x.Words == "" {
			t.Errorf("event %+v lacks time or words", x)
		}
	}
	if signs != 6 {
		t.Errorf("%d sign events of signers; want 6 (3 signers × 2 documents): %+v", signs, ev.Events)
	}
	if len(ev.Files) != 1 || ev.Files[0].Name != "evidence-summary.pdf" || !bytes.HasPrefix(ev.Files[0].Content, []byte("%PDF-")) {
		t.Errorf("evidence files %+v", ev.Files)
	}

	// Callbacks: the delivered ones verified and named the package; the dropped ones were lost.
	e.sim.Flush()
	dropped, delivered := 0, 0
	for _, d := range e.sim.Callbacks() {
		switch {
		case d.Dropped:
			dropped++
		case d.Status != http.StatusOK:
			t.Errorf("callback %s answered %d %s", d.Name, d.Status, d.Err)
		default:
			delivered++
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if dropped == 0 || delivered == 0 || len(e.refs) != delivered {
		t.Errorf("%d dropped, %d delivered, %d verified", dropped, delivered, len(e.refs))
	}
	for _, r := range e.refs {
		if r != ref {
			t.Errorf("callback named %q; want %q", r, ref)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestEndings: a decline (with its reason and signer), an expiry and a cancel each end the
// signing as the workflow must learn it; a second cancel succeeds.
func TestEndings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		act  func(e *env, ref string) error
		want signing.ProgressStatus
		then func(t *testing.T, e *env, ref string, pr signing.Progress)
	}{
		{"declined", func(e *env, ref string) error {
			if err := e.sim.Sign(ref, "anna@example.org"); err != nil {
				return err
			}
			return e.sim.Decline(ref, "cor@example.org", "Bedrag klopt niet")
		}, signing.ProgressDeclined, func(t *testing.T, _ *env, _ string, pr signing.Progress) {
			if pr.Reden != "Bedrag klopt niet" || signerStates(pr) != "signed,pending,declined" || pr.Signers[2].Reden != pr.Reden {
				t.Errorf("reden %q, signers %s", pr.Reden, signerStates(pr))
			}
		}},
		{"expired", func(e *env, ref string) error { return e.sim.Expire(ref) }, signing.ProgressExpired, nil},
		{"cancelled", func(e *env, ref string) error { return e.prov.Cancel(context.Background(), ref, "Ingetrokken") },
			signing.ProgressCancelled, func(t *testing.T, e *env, ref string, _ signing.Progress) {
				if p := e.pkg(t, ref); p.Status != "DRAFT" || !p.Trashed {
					t.Errorf("package %s trashed %v; want DRAFT and trashed", p.Status, p.Trashed)
				}
				if err := e.prov.Cancel(context.Background(), ref, "Ingetrokken"); err != nil {
					t.Errorf("second cancel: %v", err)
				}
				if err := e.prov.Cancel(context.Background(), "bm9uZQ==", "Ingetrokken"); err != nil {
					t.Errorf("cancel of an unknown package: %v", err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			ref, err := e.prov.Create(context.Background(), request(t))
			must(t, err)
			must(t, tc.act(e, ref))
			pr := e.status(t, ref)
			if pr.Status != tc.want {
				t.Fatalf("status %s; want %s", pr.Status, tc.want)
			}
			if tc.then != nil {
				tc.then(t, e, ref, pr)
			}
			if tc.name != "cancelled" {
				if err := e.prov.Cancel(context.Background(), ref, "Ingetrokken"); err != nil {
					t.Errorf("cancel of an ended package: %v", err)
				}
			}
			if errs := e.sim.ShapeErrors(); len(errs) > 0 {
				t.Errorf("shape errors: %v", errs)
			}
		})
	}
}

// TestCompletesWaitingPackage: a package made with autocomplete false (in two steps, as another
// client might) waits after the last signature; Status completes it and reports completed.
func TestCompletesWaitingPackage(t *testing.T) {
	t.Parallel()
	e := setup(t)
	call := func(method, path, ct string, body io.Reader) []byte {
		req, _ := http.NewRequest(method, e.url+"/api"+path, body)
		req.Header.Set("Authorization", "Basic "+apiKey)
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b
	}
	b := call(http.MethodPost, "/packages", "application/json; esl-api-version=11.68.0",
		strings.NewReader(`{"name":"Wacht","autocomplete":false,"roles":[{"id":"signer0","type":"SIGNER","index":0,
		"signers":[{"id":"signer0","email":"anna@example.org","firstName":"Anna","lastName":"Eerst","auth":{"scheme":"NONE","challenges":[]}}]}]}`))
	var id struct{ ID string }
	must(t, json.Unmarshal(b, &id))
	var body bytes.Buffer
	mw := newMultipart(&body, `{"id":"doc0","name":"a.pdf","approvals":[{"role":"signer0","fields":[{"type":"SIGNATURE","subtype":"FULLNAME",
		"extractAnchor":{"text":"{{Signer1}}","index":0,"width":200,"height":50,"anchorPoint":"TOPLEFT","characterIndex":0,"leftOffset":0,"topOffset":0}}]}]}`,
		pdf(t, "Hier: {{Signer1}}"))
	call(http.MethodPost, "/packages/"+id.ID+"/documents", mw, &body)
	call(http.MethodPut, "/packages/"+id.ID, "application/json", strings.NewReader(`{"status":"SENT"}`))
	must(t, e.sim.Sign(id.ID, "anna@example.org"))
	if p := e.pkg(t, id.ID); p.Status != "SENT" || p.Autocomplete {
		t.Fatalf("package %s autocomplete %v; want it waiting", p.Status, p.Autocomplete)
	}
	if pr := e.status(t, id.ID); pr.Status != signing.ProgressCompleted {
		t.Fatalf("status %s", pr.Status)
	}
	if p := e.pkg(t, id.ID); p.Status != "COMPLETED" {
		t.Errorf("package %s; the adapter did not complete it", p.Status)
	}
	e.sim.Flush()
	ready := false
	for _, d := range e.sim.Callbacks() {
		ready = ready || d.Name == onespansim.EventPackageReadyForComplete
	}
	if !ready {
		t.Error("no PACKAGE_READY_FOR_COMPLETE callback")
	}
	if errs := e.sim.ShapeErrors(); len(errs) > 0 {
		t.Errorf("shape errors: %v", errs)
	}
}

// TestCreateIdempotent: a second Create for the same transaction returns the first package, also
// when the first answer was lost on the way back.
func TestCreateIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	req := request(t)
	e.sim.AddFault(simfault.Fault{Kind: simfault.DropAfter, Method: http.MethodPost, Path: "/api/packages", Times: 1})
	if _, err := e.prov.Create(ctx, req); err == nil || errors.Is(err, signing.ErrPermanent) {
		t.Fatalf("a lost answer gave %v; want a retryable error", err)
	}
	ref, err := e.prov.Create(ctx, req)
	must(t, err)
	again, err := e.prov.Create(ctx, req)
	must(t, err)
	if id, ok := e.sim.PackageByTransaction(req.TransactionID.String()); !ok || id != ref || again != ref || e.sim.Packages() != 1 {
		t.Errorf("refs %s, %s; simulator %s; %d packages", ref, again, id, e.sim.Packages())
	}
	// Signed and completed meanwhile: still found.
	e.sim.SetAutoSign(true)
	if third, err := e.prov.Create(ctx, req); err != nil || third != ref || e.sim.Packages() != 1 {
		t.Errorf("after completion: %s %v, %d packages", third, err, e.sim.Packages())
	}
}

// TestVerifyWebhook accepts the raw callback key and the user:key form, and nothing else.
func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	p, err := onespan.New(onespan.Config{BaseURL: "https://my.validsign.nl/api", APIKey: "k", CallbackKey: callbackKey})
	must(t, err)
	body := []byte(`{"@class":"com.silanis.esl.packages.event.ESLProcessEvent","name":"PACKAGE_COMPLETE","sessionUser":"signer0",` +
		`"packageId":"xT9OeZ-j2jIynQBaLeLdgp9CtZk=","message":null,"documentId":null,"createdDate":"2019-10-09T19:32:12.255Z"}`)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name, auth string
		body       []byte
		want       error
	}{
		{"raw key", "Basic " + callbackKey, body, nil},
		{"user:key", "Basic " + b64("validsign:"+callbackKey), body, nil},
		{"unknown event", "Basic " + callbackKey, []byte(`{"name":"SOMETHING_NEW","packageId":"xT9OeZ-j2jIynQBaLeLdgp9CtZk="}`), nil},
		{"wrong key", "Basic wrong", body, signing.ErrWebhookUnauthorized},
		{"wrong password", "Basic " + b64("validsign:wrong"), body, signing.ErrWebhookUnauthorized},
		{"bearer", "Bearer " + callbackKey, body, signing.ErrWebhookUnauthorized},
		{"missing", "", body, signing.ErrWebhookUnauthorized},
		{"no packageId", "Basic " + callbackKey, []byte(`{"name":"PACKAGE_COMPLETE"}`), signing.ErrPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/providers/onespan/webhook", bytes.NewReader(tc.body))
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			ref, err := p.VerifyWebhook(r, tc.body)
			if !errors.Is(err, tc.want) || (tc.want == nil && ref != "xT9OeZ-j2jIynQBaLeLdgp9CtZk=") {
				t.Errorf("ref %q, err %v; want %v", ref, err, tc.want)
			}
		})
	}
}

// TestErrors: vendor failures are retryable or permanent as retrying can help, a Retry-After
// reaches the workflow, and a redirect to another host is refused.
func TestErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		fault      simfault.Fault
		permanent  bool
		retryAfter time.Duration
	}{
		{"500", simfault.Fault{Kind: simfault.Error, Status: 500}, false, 0},
		{"503 with Retry-After", simfault.Fault{Kind: simfault.Error, Status: 503, RetryAfter: 30}, false, 30 * time.Second},
		{"429", simfault.Fault{Kind: simfault.RateLimit, RetryAfter: 7}, false, 7 * time.Second},
		{"400", simfault.Fault{Kind: simfault.Error, Status: 400}, true, 0},
		{"404", simfault.Fault{Kind: simfault.Error, Status: 404}, true, 0},
		{"dropped connection", simfault.Fault{Kind: simfault.Drop}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			tc.fault.Method, tc.fault.PathPrefix = http.MethodGet, "/api/packages/"
			e.sim.AddFault(tc.fault)
			_, err := e.prov.Status(context.Background(), "VMvbq5C0BIQaxCtG_8LlppDdj08=")
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, signing.ErrPermanent) != tc.permanent {
				t.Errorf("permanent %v; want %v: %v", errors.Is(err, signing.ErrPermanent), tc.permanent, err)
			}
			if ra, _ := signing.RetryAfter(err); ra != tc.retryAfter {
				t.Errorf("retry after %s; want %s", ra, tc.retryAfter)
			}
		})
	}
	t.Run("unauthorized", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		p, err := onespan.New(onespan.Config{BaseURL: e.url + "/api", APIKey: "wrong", CallbackKey: "x"})
		must(t, err)
		if _, err := p.Status(context.Background(), "x="); !errors.Is(err, signing.ErrPermanent) {
			t.Errorf("401: %v", err)
		}
	})
	t.Run("redirect elsewhere", func(t *testing.T) {
		t.Parallel()
		var called bool
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }))
		defer other.Close()
		redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+r.URL.Path, http.StatusFound)
		}))
		defer redir.Close()
		p, err := onespan.New(onespan.Config{BaseURL: redir.URL + "/api", APIKey: apiKey, CallbackKey: "x"})
		must(t, err)
		if _, err := p.Status(context.Background(), "x="); !errors.Is(err, signing.ErrPermanent) || called {
			t.Errorf("redirect: %v, other host called %v", err, called)
		}
	})
}

// TestNewValidates refuses a configuration the adapter cannot work with.
func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, c := range []onespan.Config{
		{BaseURL: "my.validsign.nl/api", APIKey: "k", CallbackKey: "c"},
		{BaseURL: "ftp://my.validsign.nl/api", APIKey: "k", CallbackKey: "c"},
		{BaseURL: "https://my.validsign.nl/api", CallbackKey: "c"},
		{BaseURL: "https://my.validsign.nl/api", APIKey: "k"},
	} {
		if _, err := onespan.New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	p, err := onespan.New(onespan.Config{BaseURL: "https://my.validsign.nl/api", APIKey: "k", CallbackKey: "c", CallsPerMinute: 60})
	must(t, err)
	if i := p.Info(); i.Name != "onespan" || len(i.AuthMethods) != 1 || i.AuthMethods[0] != "sms" || !i.Parallel || !i.SignsDigitally ||
		i.LongTerm || i.PollInterval != 5*time.Minute || i.CallsPerMinute != 60 {
		t.Errorf("info %+v", i)
	}
}
