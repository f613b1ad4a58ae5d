package docuseal_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/internal/simfault"
	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/signing/providers/docuseal"
	"github.com/signingd/signingd/signing/providers/docuseal/docusealsim"
)

const secret = "whsec_c2lnbmluZ2Qgc2ltdWxhdG9yIHNlY3JldCE="

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type bundle struct {
	sim *docusealsim.Server
	p   *docuseal.Provider
	url string
	clk *clock
}

func setup(t *testing.T, edition string) bundle {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 5, 0, time.UTC)}
	sim, err := docusealsim.New(docusealsim.Options{Edition: edition, Now: clk.Now, RetryScale: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		hs.Close()
		sim.Close()
		if ae := sim.AnswerErrors(); len(ae) != 0 {
			t.Errorf("the simulator's answers do not conform to DocuSeal's OpenAPI document: %v", ae)
		}
	})
	p, err := docuseal.New(docuseal.Config{BaseURL: hs.URL + "/api", APIKey: sim.APIKey(), WebhookSecret: secret, Edition: edition, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return bundle{sim: sim, p: p, url: hs.URL, clk: clk}
}

func pdf(t *testing.T, lines ...string) []byte {
	t.Helper()
	b, err := report.Plain(lines...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func doc(pos int, name string, b []byte) signing.ProviderDocument {
	return signing.ProviderDocument{Position: pos, Bestandsnaam: name, Formaat: "application/pdf", Size: int64(len(b)),
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

// request: two documents, three signers in volgorde 1,2,2; the second with sms codes, the third
// with e-mail codes and no placeholder.
func request(t *testing.T) (signing.CreateRequest, [][]byte) {
	docs := [][]byte{
		pdf(t, "Besluit", "Voor akkoord: {{Signer1}}", "", "Namens de gemeente: {{Signer2}}"),
		pdf(t, "Bijlage", "Gezien: {{Signer2}}"),
	}
	return signing.CreateRequest{TransactionID: uuid.New(), Naam: "Besluit subsidie", Organisation: signing.Organisation{Name: "Gemeente Voorbeeld"},
		Deadline:  time.Date(2026, 3, 30, 17, 0, 0, 0, time.UTC),
		Documents: []signing.ProviderDocument{doc(0, "besluit.pdf", docs[0]), doc(1, "bijlage.pdf", docs[1])},
		Signers: []signing.ProviderSigner{
			{Position: 0, Email: "anna@example.org", Voornaam: "Anna", Achternaam: "Eerst", Identificatie: "Signer1", Volgorde: 1},
			{Position: 1, Email: "bram@example.org", Voornaam: "Bram", Achternaam: "Later", Identificatie: "{{Signer2}}", Volgorde: 2,
				Authenticatie: &signing.Authenticatie{Methode: signing.AuthSMS, Waarde: "+31612345678"}},
			{Position: 2, Email: "cees@example.org", Voornaam: "Cees", Achternaam: "Ook", Volgorde: 2,
				Authenticatie: &signing.Authenticatie{Methode: signing.AuthEmail}},
		}}, docs
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func isStatus(err error, status int) bool {
	var ve *signing.VendorError
	return errors.As(err, &ve) && ve.Status == status
}

func TestCreateSignCollect(t *testing.T) {
	t.Parallel()
	testkit.NeedTool(t, "pdfsig")
	b := setup(t, docuseal.EditionPro)
	ctx := context.Background()
	req, docs := request(t)
	ref, err := b.p.Create(ctx, req)
	must(t, err)
	if se := b.sim.ShapeErrors(); len(se) != 0 {
		t.Fatalf("requests refused by DocuSeal's OpenAPI document: %v", se)
	}
	if id, ok := b.sim.SubmissionByTransaction(req.TransactionID.String()); !ok || id != ref {
		t.Errorf("reference %q, simulator has %q", ref, id)
	}
	subs := b.sim.Submitters(ref)
	if len(subs) != 3 {
		t.Fatalf("%d submitters", len(subs))
	}
	for i, want := range []struct {
		order        int
		phone        string
		sms, mailOTP bool
	}{{0, "", false, false}, {1, "+31612345678", true, false}, {1, "", false, true}} {
		s := subs[i]
		if s.Order != want.order || s.Phone != want.phone || s.Phone2FA != want.sms || s.Email2FA != want.mailOTP ||
			s.ExternalID != req.TransactionID.String()+":"+strconv.Itoa(i) || s.Role != docuseal.Role(i) || !s.SendEmail {
			t.Errorf("submitter %d: %+v; want %+v", i, s, want)
		}
	}
	// fields: at the placeholders where pades finds them, else at the foot of the last page
	fields := b.sim.Fields(ref)
	if len(fields) != 6 {
		t.Fatalf("%d fields, want one per signer and document", len(fields))
	}
	byRole := map[string][]docusealsim.Field{}
	for _, f := range fields {
		if f.Type != "signature" || !f.Required || len(f.Areas) != 1 {
			t.Errorf("field %+v", f)
		}
		byRole[f.Role] = append(byRole[f.Role], f)
	}
	checkAt := func(f docusealsim.Field, d []byte, text string) {
		t.Helper()
		hits, err := pades.FindText(ctx, bytes.NewReader(d), int64(len(d)), text)
		if err != nil || len(hits) == 0 {
			t.Fatalf("%s not found: %v", text, err)
		}
		h, a := hits[0], f.Areas[0]
		x, y := h.Rect[0]/h.PageSize[0], (h.PageSize[1]-h.Rect[3])/h.PageSize[1]
		if a.Page != h.Page || math.Abs(a.X-x) > 1e-4 || math.Abs(a.Y-y) > 1e-4 {
			t.Errorf("%s: area on page %d at %.4f, %.4f; text on page %d at %.4f, %.4f", text, a.Page, a.X, a.Y, h.Page, x, y)
		}
	}
	a, bb, c := byRole[docuseal.Role(0)], byRole[docuseal.Role(1)], byRole[docuseal.Role(2)]
	checkAt(a[0], docs[0], "{{Signer1}}")
	checkAt(bb[0], docs[0], "{{Signer2}}")
	checkAt(bb[1], docs[1], "{{Signer2}}")
	for _, f := range append(c, a[1]) {
		if ar := f.Areas[0]; ar.Page != testkit.Pages(t, docs[f.Document]) || ar.Y < 0.7 || ar.Y+ar.H > 1 || ar.W > 0.5 {
			t.Errorf("field without placeholder: %+v, want the foot of the last page", ar)
		}
	}

	// DocuSeal's order groups: 0 first, then both of group 1 in any order
	if err := b.sim.Sign(ref, "cees@example.org"); !errors.Is(err, docusealsim.ErrNotTurn) {
		t.Errorf("group 1 before group 0: %v", err)
	}
	must(t, b.sim.Sign(ref, "anna@example.org"))
	pr, err := b.p.Status(ctx, ref)
	must(t, err)
	if pr.Status != signing.ProgressPending || pr.Signers[0].Status != signing.SignerSigned || pr.Signers[1].Status != signing.SignerInvited ||
		pr.Signers[2].Status != signing.SignerInvited {
		t.Errorf("progress %+v", pr)
	}
	must(t, b.sim.Sign(ref, "cees@example.org")) // parallel within the group
	must(t, b.sim.Sign(ref, "bram@example.org"))
	pr, err = b.p.Status(ctx, ref)
	if err != nil || pr.Status != signing.ProgressCompleted {
		t.Fatalf("status %+v, %v", pr, err)
	}
	for i, want := range []string{"null", signing.AuthSMS, signing.AuthEmail} {
		if got := pr.Signers[i].Evidence["authenticatie"]; got != signing.AuthWords(want) || pr.Signers[i].At.IsZero() {
			t.Errorf("signer %d: authenticatie %q at %v, want %q", i, got, pr.Signers[i].At, signing.AuthWords(want))
		}
	}
	// the links live a minute: Signed after they expired lists the documents again
	b.clk.Add(2 * docusealsim.LinkLifetime)
	for i := range docs {
		signed := testkit.ReadAll(t)(b.p.Signed(ctx, ref, i))
		if !bytes.HasPrefix(signed, docs[i]) {
			t.Errorf("document %d: the original is not kept before the signature", i)
		}
		rep := testkit.PDFSigBytes(t, signed, b.sim.Root())
		if total, valid := testkit.ValidSignatures(rep); total != 1 || valid != 1 {
			t.Errorf("document %d: %d signatures, %d valid and trusted; want DocuSeal's one:\n%s", i, total, valid, rep)
		}
	}
	ev, err := b.p.Evidence(ctx, ref)
	must(t, err)
	if len(ev.Files) != 1 || !bytes.HasPrefix(ev.Files[0].Content, []byte("%PDF-")) {
		t.Errorf("evidence files %d", len(ev.Files))
	}
	seen := map[string]int{}
	for _, e := range ev.Events {
		seen[e.Type]++
		if e.Type == "complete_form" && (e.Signer < 0 || e.Words == "") {
			t.Errorf("signing event %+v", e)
		}
		if e.Type == "phone_verified" && e.Signer != 1 {
			t.Errorf("sms code of signer %d", e.Signer)
		}
	}
	if seen["complete_form"] != 3 || seen["phone_verified"] != 1 || seen["email_verified"] != 1 || seen["send_email"] != 3 {
		t.Errorf("events %v", seen)
	}
	if se := b.sim.ShapeErrors(); len(se) != 0 {
		t.Errorf("shape errors: %v", se)
	}
}

// TestLinkExpiresBetweenListAndDownload: a link that expires while Signed holds it is listed again.
func TestLinkExpiresBetweenListAndDownload(t *testing.T) {
	t.Parallel()
	b := setup(t, docuseal.EditionPro)
	ctx := context.Background()
	req, _ := request(t)
	ref, err := b.p.Create(ctx, req)
	must(t, err)
	for _, e := range []string{"anna@example.org", "bram@example.org", "cees@example.org"} {
		must(t, b.sim.Sign(ref, e))
	}
	// the first listing's links expire before they are used (the clock jumps on the first download)
	var once sync.Once
	hook := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasPrefix(r.URL.Path, "/file/") {
			once.Do(func() { b.clk.Add(docusealsim.LinkLifetime + time.Second) })
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	p, err := docuseal.New(docuseal.Config{BaseURL: b.url + "/api", APIKey: b.sim.APIKey(), Client: hook, Now: b.clk.Now})
	must(t, err)
	got := testkit.ReadAll(t)(p.Signed(ctx, ref, 1))
	if !bytes.HasPrefix(got, []byte("%PDF-")) {
		t.Errorf("not a PDF")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestEndings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		act   func(b bundle, ref string) error
		want  signing.ProgressStatus
		reden string
		who   int
	}{
		{"decline", func(b bundle, ref string) error {
			if err := b.sim.Sign(ref, "anna@example.org"); err != nil {
				return err
			}
			return b.sim.Decline(ref, "cees@example.org", "Bedrag klopt niet")
		}, signing.ProgressDeclined, "Bedrag klopt niet", 2},
		{"expire", func(b bundle, ref string) error { return b.sim.Expire(ref) }, signing.ProgressExpired, "", -1},
		{"cancel", func(b bundle, ref string) error {
			if err := b.p.Cancel(context.Background(), ref, "Ingetrokken"); err != nil {
				return err
			}
			return b.p.Cancel(context.Background(), ref, "Ingetrokken")
		}, signing.ProgressCancelled, "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, docuseal.EditionPro)
			req, _ := request(t)
			ref, err := b.p.Create(context.Background(), req)
			must(t, err)
			must(t, tc.act(b, ref))
			pr, err := b.p.Status(context.Background(), ref)
			must(t, err)
			if pr.Status != tc.want || pr.Reden != tc.reden {
				t.Errorf("status %s, reden %q; want %s, %q", pr.Status, pr.Reden, tc.want, tc.reden)
			}
			if tc.who >= 0 && (pr.Signers[tc.who].Status != signing.SignerDeclined || pr.Signers[tc.who].Reden != tc.reden) {
				t.Errorf("declining signer: %+v", pr.Signers[tc.who])
			}
			if err := b.sim.Sign(ref, "bram@example.org"); !errors.Is(err, docusealsim.ErrNotActive) {
				t.Errorf("signing after the end: %v", err)
			}
			must(t, b.p.Cancel(context.Background(), ref, "Ingetrokken")) // whatever the end, cancelling again is fine
			ev, err := b.p.Evidence(context.Background(), ref)
			must(t, err)
			if len(ev.Events) == 0 || len(ev.Files) != 0 {
				t.Errorf("evidence of an unfinished submission: %d events, %d files (DocuSeal has no audit log yet)", len(ev.Events), len(ev.Files))
			}
			if tc.reden != "" && !hasReden(ev.Events, tc.reden) {
				t.Errorf("no event with the reason: %+v", ev.Events)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		t.Parallel()
		must(t, setup(t, docuseal.EditionPro).p.Cancel(context.Background(), "999999", "Ingetrokken"))
	})
}

func hasReden(evs []signing.EvidenceEvent, reden string) bool {
	for _, e := range evs {
		if e.Reden == reden && e.Signer >= 0 {
			return true
		}
	}
	return false
}

func TestCreateIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t, docuseal.EditionPro)
	ctx := context.Background()
	req, _ := request(t)
	first, err := b.p.Create(ctx, req)
	must(t, err)
	again, err := b.p.Create(ctx, req)
	must(t, err)
	if first != again || b.sim.Submissions() != 1 {
		t.Errorf("second Create: %s, first %s; %d submissions", again, first, b.sim.Submissions())
	}
	// a create whose answer is lost: the retry finds the submission by external_id
	req2, _ := request(t)
	b.sim.AddFault(simfault.Fault{Kind: simfault.DropAfter, Method: "POST", Path: "/api/submissions/pdf", Times: 1})
	if _, err := b.p.Create(ctx, req2); err == nil {
		t.Fatal("no error for the lost answer")
	}
	ref, err := b.p.Create(ctx, req2)
	must(t, err)
	if id, _ := b.sim.SubmissionByTransaction(req2.TransactionID.String()); id != ref || b.sim.Submissions() != 2 {
		t.Errorf("retry returned %s, simulator has %s; %d submissions", ref, id, b.sim.Submissions())
	}
}

func TestVendorErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, docuseal.EditionPro)
	ctx := context.Background()
	b.sim.AddFault(simfault.Fault{Kind: simfault.Error, Status: 502, Method: "GET", PathPrefix: "/api/submissions/", Times: 1})
	_, err := b.p.Status(ctx, "1")
	if !isStatus(err, 502) || errors.Is(err, signing.ErrPermanent) {
		t.Errorf("5xx: %v, want retryable", err)
	}
	b.sim.AddFault(simfault.Fault{Kind: simfault.RateLimit, RetryAfter: 7, Times: 1})
	_, err = b.p.Status(ctx, "1")
	if d, _ := signing.RetryAfter(err); d != 7*time.Second || errors.Is(err, signing.ErrPermanent) {
		t.Errorf("429: %v, RetryAfter %v", err, d)
	}
	if _, err = b.p.Status(ctx, "1"); !isStatus(err, 404) || !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("404: %v, want permanent", err)
	}
	// a request DocuSeal's OpenAPI document refuses: 400, permanent, and the simulator says why
	req, _ := request(t)
	req.Signers[1].Email = "not an address"
	if _, err := b.p.Create(ctx, req); !isStatus(err, 400) || !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("400: %v, want permanent", err)
	}
	if se := b.sim.ShapeErrors(); len(se) != 1 || !strings.Contains(se[0], "email") {
		t.Errorf("shape errors %v", se)
	}
	// an unknown authentication method
	req, _ = request(t)
	req.Signers[0].Authenticatie = &signing.Authenticatie{Methode: "digid"}
	if _, err := b.p.Create(ctx, req); !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("digid: %v", err)
	}
	p, _ := docuseal.New(docuseal.Config{BaseURL: b.url + "/api", APIKey: "wrong"})
	if _, err := p.Status(ctx, "1"); !isStatus(err, 401) {
		t.Errorf("wrong key: %v", err)
	}
}

func TestRedirectElsewhereRefused(t *testing.T) {
	t.Parallel()
	var leaked sync.Map
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store("token", r.Header.Get("X-Auth-Token"))
		w.Write([]byte(`{"id":1,"status":"pending","submitters":[]}`))
	}))
	t.Cleanup(other.Close)
	redirector := httptest.NewServer(http.RedirectHandler(strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/api/submissions/1", http.StatusFound))
	t.Cleanup(redirector.Close)
	p, err := docuseal.New(docuseal.Config{BaseURL: redirector.URL + "/api", APIKey: "geheim"})
	must(t, err)
	if _, err = p.Status(context.Background(), "1"); !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("redirect to another host: %v", err)
	}
	if _, ok := leaked.Load("token"); ok {
		t.Error("the request reached the other host")
	}
}

// TestDownloadOnlyFromTheAccountsHost: a document link on another host is not followed.
func TestDownloadOnlyFromTheAccountsHost(t *testing.T) {
	t.Parallel()
	var leaked sync.Map
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store("token", r.Header.Get("X-Auth-Token"))
	}))
	t.Cleanup(other.Close)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":1,"documents":[{"name":"a","url":"` + strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + `/file/x/a.pdf"}]}`))
	}))
	t.Cleanup(api.Close)
	p, err := docuseal.New(docuseal.Config{BaseURL: api.URL + "/api", APIKey: "geheim"})
	must(t, err)
	if _, err := p.Signed(context.Background(), "1", 0); !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("link on another host: %v", err)
	}
	if _, ok := leaked.Load("token"); ok {
		t.Error("the download went to the other host")
	}
}

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t, docuseal.EditionPro)
	type got struct {
		r    *http.Request
		body []byte
	}
	hooks := make(chan got, 32)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hooks <- got{r, body}
	}))
	t.Cleanup(hook.Close)
	b.sim.SetWebhook(hook.URL, secret)
	req, _ := request(t)
	ref, err := b.p.Create(context.Background(), req)
	must(t, err)
	must(t, b.sim.Sign(ref, "anna@example.org"))
	var h got
	for range 2 { // submission.created (data.id), form.completed (data.submission_id)
		h = <-hooks
		id, err := b.p.VerifyWebhook(h.r, h.body)
		if err != nil || id != ref {
			t.Errorf("right signature on %s: %q, %v; want %s", h.body[:40], id, err, ref)
		}
		if h.r.Header.Get("User-Agent") != "DocuSeal.com Webhook" {
			t.Errorf("User-Agent %q", h.r.Header.Get("User-Agent"))
		}
	}
	sig := h.r.Header.Get("X-Docuseal-Signature")
	now := b.clk.Now().Unix()
	for name, header := range map[string]string{
		"wrong secret": docusealsim.Sign(secret+"x", now, h.body),
		"other body":   docusealsim.Sign(secret, now, append([]byte(" "), h.body...)),
		"too old":      docusealsim.Sign(secret, now-301, h.body),
		"too new":      docusealsim.Sign(secret, now+301, h.body),
		"no dot":       strings.ReplaceAll(sig, ".", ""),
		"missing":      "",
	} {
		r2 := h.r.Clone(context.Background())
		r2.Header.Set("X-Docuseal-Signature", header)
		if _, err := b.p.VerifyWebhook(r2, h.body); !errors.Is(err, signing.ErrWebhookUnauthorized) {
			t.Errorf("%s: %v", name, err)
		}
	}
	r2 := h.r.Clone(context.Background())
	r2.Header.Set("X-Docuseal-Signature", docusealsim.Sign(secret, now-299, h.body))
	if _, err := b.p.VerifyWebhook(r2, h.body); err != nil {
		t.Errorf("within five minutes: %v", err)
	}
	open, _ := docuseal.New(docuseal.Config{BaseURL: b.url + "/api", APIKey: "k"}) // no secret: refuse all
	if _, err := open.VerifyWebhook(h.r, h.body); !errors.Is(err, signing.ErrWebhookUnauthorized) {
		t.Errorf("no configured secret: %v", err)
	}

	// an older self-hosted DocuSeal: a custom static header
	legacy, _ := docuseal.New(docuseal.Config{BaseURL: b.url + "/api", APIKey: "k", WebhookSecret: "statisch-geheim", LegacyHeader: "X-Webhook-Secret", Now: b.clk.Now})
	b.sim.SetWebhook(hook.URL, "")
	b.sim.SetWebhookHeader("X-Webhook-Secret", "statisch-geheim")
	must(t, b.sim.Decline(ref, "bram@example.org", "Nee"))
	h = <-hooks
	if id, err := legacy.VerifyWebhook(h.r, h.body); err != nil || id != ref {
		t.Errorf("legacy header: %q, %v", id, err)
	}
	r2 = h.r.Clone(context.Background())
	r2.Header.Set("X-Webhook-Secret", "statisch-geheim!")
	if _, err := legacy.VerifyWebhook(r2, h.body); !errors.Is(err, signing.ErrWebhookUnauthorized) {
		t.Errorf("wrong legacy header: %v", err)
	}
	// archived: data is {id, archived_at}
	must(t, b.p.Cancel(context.Background(), ref, "Ingetrokken"))
	h = <-hooks
	if id, err := legacy.VerifyWebhook(h.r, h.body); err != nil || id != ref || !bytes.Contains(h.body, []byte(`"submission.archived"`)) {
		t.Errorf("archived: %q, %v, %s", id, err, h.body)
	}
}

func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	b := setup(t, docuseal.EditionPro)
	var mu sync.Mutex
	var times []time.Time
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(hook.Close)
	b.sim.SetWebhook(hook.URL, secret)
	req, _ := request(t)
	_, err := b.p.Create(context.Background(), req)
	must(t, err)
	want := docusealsim.Attempts("submission.created")
	deadline := time.Now().Add(20 * time.Second)
	for {
		hs := b.sim.Webhooks()
		if len(hs) == 1 && hs[0].Done {
			if hs[0].Attempts != want || hs[0].Status != 503 || hs[0].Event != "submission.created" {
				t.Errorf("delivery %+v", hs[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries %+v", hs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	sent := append([]time.Time(nil), times...)
	mu.Unlock()
	if len(sent) != want {
		t.Fatalf("%d calls, want %d", len(sent), want)
	}
	// 2^n retry minutes (here milliseconds) between attempt n and n+1
	for n := 1; n < len(sent); n++ {
		if gap := sent[n].Sub(sent[n-1]); gap < time.Duration(1<<(n-1))*time.Millisecond {
			t.Errorf("attempt %d after %v, want at least %v", n, gap, time.Duration(1<<(n-1))*time.Millisecond)
		}
	}
	// a webhook lost on purpose is not sent; Redeliver sends one again
	b.sim.DropWebhooks(1)
	must(t, b.sim.Expire(mustRef(t, b, req)))
	hs := b.sim.Webhooks()
	if last := hs[len(hs)-1]; !last.Dropped || last.Attempts != 0 {
		t.Errorf("dropped %+v", last)
	}
	if err := b.sim.Redeliver(0); err == nil {
		t.Error("redeliver to a failing endpoint: no error")
	}
}

func mustRef(t *testing.T, b bundle, req signing.CreateRequest) string {
	t.Helper()
	id, ok := b.sim.SubmissionByTransaction(req.TransactionID.String())
	if !ok {
		t.Fatal("no submission")
	}
	return id
}

func TestFreeEdition(t *testing.T) {
	t.Parallel()
	b := setup(t, docuseal.EditionFree)
	if got := b.p.Info().NoDocuments; got != docuseal.NoDocumentsFree || !strings.Contains(got, "documenten") {
		t.Errorf("NoDocuments %q", got)
	}
	req, _ := request(t)
	if _, err := b.p.Create(context.Background(), req); !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("Create in the free edition: %v", err)
	}
	// the community edition has no POST /submissions/pdf, whatever the body
	r, _ := http.NewRequest(http.MethodPost, b.url+"/api/submissions/pdf", strings.NewReader(`{}`))
	r.Header.Set("X-Auth-Token", b.sim.APIKey())
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /submissions/pdf: %d, want 404", resp.StatusCode)
	}
	// what it has: submissions from a template made in its UI
	tid := b.sim.AddTemplate("Raamovereenkomst", pdf(t, "Raamovereenkomst"), "Eerste partij")
	r, _ = http.NewRequest(http.MethodPost, b.url+"/api/submissions",
		strings.NewReader(`{"template_id":`+strconv.FormatInt(tid, 10)+`,"submitters":[{"email":"anna@example.org","external_id":"x:0"}]}`))
	r.Header.Set("X-Auth-Token", b.sim.APIKey())
	r.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(r)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(body, []byte("[")) {
		t.Errorf("POST /submissions: %d %s", resp.StatusCode, body)
	}
	ref, ok := b.sim.SubmissionByTransaction("x")
	if !ok {
		t.Fatal("no submission from the template")
	}
	must(t, b.sim.Sign(ref, "anna@example.org"))
	if pr, err := b.p.Status(context.Background(), ref); err != nil || pr.Status != signing.ProgressCompleted {
		t.Errorf("status %+v, %v", pr, err)
	}
	if se := b.sim.ShapeErrors(); len(se) != 0 {
		t.Errorf("shape errors %v", se)
	}
}

// TestCloudSiteHost: with DocuSeal Cloud's API (api.docuseal.eu), the file links DocuSeal hands
// out on the site's host (docuseal.eu) are downloaded, with the token; a link to any other host
// is refused before a request reaches it, and an API call is never redirected to the site.
func TestCloudSiteHost(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var reached []string
	cloud := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		reached = append(reached, r.URL.Host+r.URL.Path)
		mu.Unlock()
		rec := httptest.NewRecorder()
		switch {
		case r.Header.Get("X-Auth-Token") != "geheim":
			rec.WriteHeader(http.StatusUnauthorized)
		case r.URL.Host == "api.docuseal.eu" && r.URL.Path == "/submissions/1/documents":
			rec.WriteString(`{"id":1,"documents":[{"name":"a","url":"https://docuseal.eu/file/x/a.pdf"},` +
				`{"name":"b","url":"https://eu.docuseal.eu/file/x/b.pdf"},{"name":"c","url":"https://docuseal.com/file/x/c.pdf"},` +
				`{"name":"d","url":"http://docuseal.eu/file/x/d.pdf"},{"name":"e","url":"https://docuseal.eu.example.org/file/x/e.pdf"}]}`)
		case r.URL.Host == "api.docuseal.eu" && r.URL.Path == "/submissions/2":
			rec.Header().Set("Location", "https://docuseal.eu/api/submissions/2")
			rec.WriteHeader(http.StatusFound)
		case r.URL.Host == "docuseal.eu" && r.URL.Path == "/file/x/a.pdf":
			rec.WriteString("%PDF-1.7 signed")
		default:
			rec.WriteHeader(http.StatusTeapot)
		}
		return rec.Result(), nil
	})}
	p, err := docuseal.New(docuseal.Config{BaseURL: "https://api.docuseal.eu", APIKey: "geheim", Client: cloud})
	must(t, err)
	ctx := context.Background()
	if got := testkit.ReadAll(t)(p.Signed(ctx, "1", 0)); string(got) != "%PDF-1.7 signed" {
		t.Errorf("document on the site's host: %q", got)
	}
	for i := 1; i <= 4; i++ {
		if _, err := p.Signed(ctx, "1", i); !errors.Is(err, signing.ErrPermanent) {
			t.Errorf("link %d on another host: %v", i, err)
		}
	}
	if _, err := p.Status(ctx, "2"); !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("API call redirected to the site's host: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"api.docuseal.eu/submissions/1/documents", "docuseal.eu/file/x/a.pdf"}
	for range 4 {
		want = append(want, "api.docuseal.eu/submissions/1/documents")
	}
	want = append(want, "api.docuseal.eu/submissions/2")
	if strings.Join(reached, " ") != strings.Join(want, " ") {
		t.Errorf("requests\n%v\nwant\n%v", reached, want)
	}
}
