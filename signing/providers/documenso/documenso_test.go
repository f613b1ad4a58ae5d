package documenso

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/signing/providers/documenso/documensosim"
	"github.com/signingd/signingd/signing/providers/vendorapi"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

type bundle struct {
	sim *documensosim.Server
	p   *Provider
	url string
	clk *clock
}

func setup(t *testing.T) bundle {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 5, 0, time.UTC)}
	sim, err := documensosim.New(documensosim.Options{Now: clk.Now, RetryDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { hs.Close(); sim.Close() })
	p, err := New(Config{BaseURL: hs.URL, APIKey: sim.APIKey(), WebhookSecret: "geheim", Now: clk.Now})
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

// request: two documents, three signers in volgorde 1,2,2, the second with e-mail codes; the
// third has no placeholder.
func request(t *testing.T) (signing.CreateRequest, [][]byte) {
	docs := [][]byte{
		pdf(t, "Besluit", "Voor akkoord: {{Signer1}}", "", "Namens de gemeente: {{Signer2}}"),
		pdf(t, "Bijlage", "Gezien: {{Signer2}}"),
	}
	return signing.CreateRequest{TransactionID: uuid.New(), Naam: "Besluit subsidie", Organisation: signing.Organisation{Name: "Gemeente Voorbeeld"},
		Documents: []signing.ProviderDocument{doc(0, "besluit.pdf", docs[0]), doc(1, "bijlage.pdf", docs[1])},
		Signers: []signing.ProviderSigner{
			{Position: 0, Email: "anna@example.org", Voornaam: "Anna", Achternaam: "Eerst", Identificatie: "Signer1", Volgorde: 1},
			{Position: 1, Email: "bram@example.org", Voornaam: "Bram", Achternaam: "Later", Identificatie: "{{Signer2}}", Volgorde: 2,
				Authenticatie: &signing.Authenticatie{Methode: signing.AuthEmail}},
			{Position: 2, Email: "cees@example.org", Voornaam: "Cees", Achternaam: "Ook", Volgorde: 2},
		}}, docs
}

func TestCreateSignCollect(t *testing.T) {
	t.Parallel()
	testkit.NeedTool(t, "pdfsig")
	b := setup(t)
	ctx := context.Background()
	req, docs := request(t)
	ref, err := b.p.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if se := b.sim.ShapeErrors(); len(se) != 0 {
		t.Fatalf("shape errors: %v", se)
	}
	if !strings.HasPrefix(ref, "envelope_") || len(ref) != len("envelope_")+16 {
		t.Errorf("reference %q", ref)
	}
	recips := b.sim.Recipients(ref)
	if len(recips) != 3 {
		t.Fatalf("%d recipients", len(recips))
	}
	for i, want := range []struct {
		order int
		auth  string
	}{{1, ""}, {2, "TWO_FACTOR_AUTH"}, {2, ""}} {
		r := recips[i]
		if r.SigningOrder == nil || *r.SigningOrder != want.order || strings.Join(r.AccessAuth, ",") != want.auth || r.Role != "SIGNER" {
			t.Errorf("recipient %d: order %v, accessAuth %v, role %s; want %d, %q", i, r.SigningOrder, r.AccessAuth, r.Role, want.order, want.auth)
		}
	}

	// fields: at the placeholders where pades finds them, else at the foot of the last page
	fields := b.sim.Fields(ref)
	if len(fields) != 6 {
		t.Fatalf("%d fields, want one per signer and document", len(fields))
	}
	checkAt := func(f documensosim.Field, d []byte, text string) {
		t.Helper()
		hits, err := pades.FindText(ctx, bytes.NewReader(d), int64(len(d)), text)
		if err != nil || len(hits) == 0 {
			t.Fatalf("%s not found: %v", text, err)
		}
		h := hits[0]
		x, y := h.Rect[0]/h.PageSize[0]*100, (h.PageSize[1]-h.Rect[3])/h.PageSize[1]*100
		if f.Page != h.Page || math.Abs(f.PositionX-x) > 0.01 || math.Abs(f.PositionY-y) > 0.01 || f.Type != "SIGNATURE" {
			t.Errorf("%s: field on page %d at %.2f%%, %.2f%%; text on page %d at %.2f%%, %.2f%%", text, f.Page, f.PositionX, f.PositionY, h.Page, x, y)
		}
	}
	byRecipient := map[int][]documensosim.Field{}
	for _, f := range fields {
		byRecipient[f.RecipientID] = append(byRecipient[f.RecipientID], f)
	}
	a, bb, c := byRecipient[recips[0].ID], byRecipient[recips[1].ID], byRecipient[recips[2].ID]
	checkAt(a[0], docs[0], "{{Signer1}}")
	checkAt(bb[0], docs[0], "{{Signer2}}")
	checkAt(bb[1], docs[1], "{{Signer2}}")
	for _, f := range append(c, a[1]) {
		if f.Page != testkit.Pages(t, docs[0]) || f.PositionY < 70 {
			t.Errorf("field without placeholder on page %d at y %.1f%%, want the foot of the last page", f.Page, f.PositionY)
		}
	}

	// Documenso's sequential order: one at a time, equal numbers in creation order
	if err := b.sim.Sign(ref, "bram@example.org"); !errors.Is(err, documensosim.ErrNotTurn) {
		t.Errorf("second signer before the first: %v", err)
	}
	must(t, b.sim.Sign(ref, "anna@example.org"))
	if err := b.sim.Sign(ref, "cees@example.org"); !errors.Is(err, documensosim.ErrNotTurn) {
		t.Errorf("third signer before the second with the same volgorde: %v", err)
	}
	pr, err := b.p.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Status != signing.ProgressPending || pr.Signers[0].Status != signing.SignerSigned || pr.Signers[1].Status != signing.SignerInvited || pr.Signers[2].Status != signing.SignerPending {
		t.Errorf("progress %+v", pr)
	}
	must(t, b.sim.Sign(ref, "bram@example.org"))
	must(t, b.sim.Sign(ref, "cees@example.org"))
	pr, err = b.p.Status(ctx, ref)
	if err != nil || pr.Status != signing.ProgressCompleted {
		t.Fatalf("status %+v, %v", pr, err)
	}
	if pr.Signers[1].Evidence["authenticatie"] != signing.AuthWords(signing.AuthEmail) {
		t.Errorf("evidence of the e-mail signer: %v", pr.Signers[1].Evidence)
	}
	for i := range docs {
		signed := testkit.ReadAll(t)(b.p.Signed(ctx, ref, i))
		if !bytes.HasPrefix(signed, docs[i]) {
			t.Errorf("document %d: the original is not kept before the seal", i)
		}
		rep := testkit.PDFSigBytes(t, signed, b.sim.Root())
		if total, valid := testkit.ValidSignatures(rep); total != 1 || valid != 1 {
			t.Errorf("document %d: %d signatures, %d valid and trusted; want Documenso's one seal:\n%s", i, total, valid, rep)
		}
	}
	ev, err := b.p.Evidence(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Files) != 2 || !bytes.HasPrefix(ev.Files[0].Content, []byte("%PDF")) || !bytes.HasPrefix(ev.Files[1].Content, []byte("%PDF")) {
		t.Errorf("evidence files %d", len(ev.Files))
	}
	seen := map[string]int{}
	for _, e := range ev.Events {
		seen[e.Type]++
		if e.Type == "DOCUMENT_RECIPIENT_COMPLETED" && (e.Signer < 0 || e.Words == "" || e.IP == "") {
			t.Errorf("signing event %+v", e)
		}
	}
	if seen["DOCUMENT_RECIPIENT_COMPLETED"] != 3 || seen["DOCUMENT_COMPLETED"] != 1 || seen["DOCUMENT_ACCESS_AUTH_2FA_VALIDATED"] != 1 {
		t.Errorf("events %v", seen)
	}
	if se := b.sim.ShapeErrors(); len(se) != 0 {
		t.Errorf("shape errors: %v", se)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestParallelWhenVolgordeEqual(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req, _ := request(t)
	for i := range req.Signers {
		req.Signers[i].Volgorde = 1
	}
	ref, err := b.p.Create(context.Background(), req)
	must(t, err)
	must(t, b.sim.Sign(ref, "cees@example.org")) // anyone first
	for _, r := range b.sim.Recipients(ref) {
		if r.SigningOrder != nil {
			t.Errorf("signingOrder %d sent in PARALLEL", *r.SigningOrder)
		}
	}
}

func TestEndings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		act   func(b bundle, ref string) error
		want  signing.ProgressStatus
		reden string
		who   int
	}{
		{"reject", func(b bundle, ref string) error {
			if err := b.sim.Sign(ref, "anna@example.org"); err != nil {
				return err
			}
			return b.sim.Reject(ref, "bram@example.org", "Bedrag klopt niet")
		}, signing.ProgressDeclined, "Bedrag klopt niet", 1},
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
			b := setup(t)
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
			must(t, b.p.Cancel(context.Background(), ref, "Ingetrokken")) // whatever the end, cancelling again is fine
			ev, err := b.p.Evidence(context.Background(), ref)
			must(t, err)
			if len(ev.Events) == 0 || len(ev.Files) != 1 {
				t.Errorf("evidence of an unfinished envelope: %d events, %d files (the audit log only)", len(ev.Events), len(ev.Files))
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		t.Parallel()
		must(t, setup(t).p.Cancel(context.Background(), "envelope_nonexistent00000", "Ingetrokken"))
	})
}

func TestCreateIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req, _ := request(t)
	first, err := b.p.Create(context.Background(), req)
	must(t, err)
	again, err := b.p.Create(context.Background(), req)
	must(t, err)
	if first != again || b.sim.Envelopes() != 1 {
		t.Errorf("second Create: %s, first %s; %d envelopes", again, first, b.sim.Envelopes())
	}
	// a create answered to nobody: the envelope exists as a draft, the retry distributes it
	req2, _ := request(t)
	b.sim.AddFault(documensosim.Fault{Kind: documensosim.FaultError, Status: 503, Method: "POST", PathPrefix: "/envelope/distribute", Times: 1})
	if _, err := b.p.Create(context.Background(), req2); err == nil {
		t.Fatal("no error for the failed distribute")
	}
	ref, err := b.p.Create(context.Background(), req2)
	must(t, err)
	if id, _ := b.sim.EnvelopeByExternalID(req2.TransactionID.String()); id != ref || b.sim.Envelopes() != 2 {
		t.Errorf("retry made %s, %d envelopes", ref, b.sim.Envelopes())
	}
	must(t, b.sim.Sign(ref, "anna@example.org")) // distributed: pending
}

func TestUploadRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var err error
	for i := 0; i <= documensosim.UploadsPerMinute && err == nil; i++ {
		req, _ := request(t)
		_, err = b.p.Create(ctx, req)
		if err != nil && i < documensosim.UploadsPerMinute {
			t.Fatalf("upload %d refused: %v", i+1, err)
		}
	}
	var ve *signing.VendorError
	if !errors.As(err, &ve) || ve.Status != http.StatusTooManyRequests || errors.Is(err, signing.ErrPermanent) {
		t.Fatalf("upload %d: %v, want a retryable 429", documensosim.UploadsPerMinute+1, err)
	}
	if d, ok := signing.RetryAfter(err); !ok || d != 55*time.Second { // the minute's window ends in 55 s
		t.Errorf("RetryAfter %v, %v", d, ok)
	}
	b.clk.mu.Lock()
	b.clk.t = b.clk.t.Add(time.Minute)
	b.clk.mu.Unlock()
	req, _ := request(t)
	if _, err := b.p.Create(ctx, req); err != nil {
		t.Errorf("next minute: %v", err)
	}
}

func TestVendorErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.sim.AddFault(documensosim.Fault{Kind: documensosim.FaultError, Status: 502, Method: "GET", PathPrefix: "/envelope/", Times: 1})
	_, err := b.p.Status(ctx, "envelope_aaaaaaaaaaaaaaaa")
	var ve *signing.VendorError
	if !errors.As(err, &ve) || ve.Status != 502 || errors.Is(err, signing.ErrPermanent) {
		t.Errorf("5xx: %v, want retryable", err)
	}
	b.sim.AddFault(documensosim.Fault{Kind: documensosim.FaultRateLimit, RetryAfter: 7, Times: 1})
	_, err = b.p.Status(ctx, "envelope_aaaaaaaaaaaaaaaa")
	if d, _ := signing.RetryAfter(err); d != 7*time.Second || errors.Is(err, signing.ErrPermanent) {
		t.Errorf("429: %v, RetryAfter %v", err, d)
	}
	_, err = b.p.Status(ctx, "envelope_aaaaaaaaaaaaaaaa") // unknown envelope: 404
	if !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("404: %v, want permanent", err)
	}
	// a payload Documenso refuses: 400, permanent, and the simulator says why
	req, _ := request(t)
	req.Signers[1].Email = "not an address"
	if _, err := b.p.Create(ctx, req); !errors.Is(err, signing.ErrPermanent) || vendorapi.Status(err) != 400 {
		t.Errorf("400: %v, want permanent", err)
	}
	if se := b.sim.ShapeErrors(); len(se) != 1 || !strings.Contains(se[0], "recipients[1].email") {
		t.Errorf("shape errors %v", se)
	}
	// sms is not offered
	req, _ = request(t)
	req.Signers[0].Authenticatie = &signing.Authenticatie{Methode: signing.AuthSMS}
	if _, err := b.p.Create(ctx, req); !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("sms: %v", err)
	}
	// a wrong API key
	p, _ := New(Config{BaseURL: b.url, APIKey: "api_wrongwrongwrong1"})
	if _, err := p.Status(ctx, "envelope_aaaaaaaaaaaaaaaa"); vendorapi.Status(err) != 401 {
		t.Errorf("wrong key: %v", err)
	}
}

func TestRedirectElsewhereRefused(t *testing.T) {
	t.Parallel()
	var leaked sync.Map
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store("auth", r.Header.Get("Authorization"))
		w.Write([]byte(`{"id":"envelope_x","status":"PENDING","recipients":[]}`))
	}))
	t.Cleanup(other.Close)
	redirector := httptest.NewServer(http.RedirectHandler(strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/api/v2/envelope/x", http.StatusFound))
	t.Cleanup(redirector.Close)
	p, err := New(Config{BaseURL: redirector.URL, APIKey: "api_aaaaaaaaaaaaaaaa"})
	must(t, err)
	_, err = p.Status(context.Background(), "x")
	if !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("redirect to another host: %v", err)
	}
	if _, ok := leaked.Load("auth"); ok {
		t.Error("the request reached the other host")
	}
}

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got := make(chan *http.Request, 16)
	bodies := make(chan []byte, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- body
	}))
	t.Cleanup(hook.Close)
	b.sim.SetWebhook(hook.URL, "geheim")
	req, _ := request(t)
	ref, err := b.p.Create(context.Background(), req)
	must(t, err)
	r, body := <-got, <-bodies // DOCUMENT_CREATED
	id, err := b.p.VerifyWebhook(r, body)
	if err != nil || id != ref {
		t.Errorf("right secret: %q, %v; want %s", id, err, ref)
	}
	for name, secret := range map[string]*string{"wrong": ptr("geheim!"), "missing": nil, "empty": ptr("")} {
		r2 := r.Clone(context.Background())
		r2.Header.Del("X-Documenso-Secret")
		if secret != nil {
			r2.Header.Set("X-Documenso-Secret", *secret)
		}
		if _, err := b.p.VerifyWebhook(r2, body); !errors.Is(err, signing.ErrWebhookUnauthorized) {
			t.Errorf("%s secret: %v", name, err)
		}
	}
	open, _ := New(Config{BaseURL: b.url, APIKey: b.sim.APIKey()}) // no secret configured: refuse all
	if _, err := open.VerifyWebhook(r, body); !errors.Is(err, signing.ErrWebhookUnauthorized) {
		t.Errorf("no configured secret: %v", err)
	}
	// a lenient body: only the external id
	if id, err := b.p.VerifyWebhook(r.Clone(context.Background()), []byte(`{"event":"DOCUMENT_SIGNED","payload":{"externalId":"`+req.TransactionID.String()+`"},"extra":1}`)); err != nil || id != ref {
		t.Errorf("by externalId: %q, %v", id, err)
	}
}

func ptr(s string) *string { return &s }

func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var mu sync.Mutex
	calls := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(hook.Close)
	b.sim.SetWebhook(hook.URL, "geheim")
	b.sim.DropWebhooks(1) // DOCUMENT_CREATED is lost
	req, _ := request(t)
	_, err := b.p.Create(context.Background(), req)
	must(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for {
		hs := b.sim.Webhooks()
		if len(hs) == 2 && hs[1].Attempts == documensosim.Attempts {
			if !hs[0].Dropped || hs[0].Attempts != 0 || hs[1].Event != "DOCUMENT_SENT" || hs[1].Status != 503 {
				t.Errorf("deliveries %+v", hs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries %+v", hs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != documensosim.Attempts {
		t.Errorf("%d calls, want %d", calls, documensosim.Attempts)
	}
}
