package builtin

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ocsp"

	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
)

// Two signers in volgorde order: the second is invited only after the first signed; the first
// authenticates with an SMS code. Both signatures are valid in pdfsig, and the evidence report is
// signed and lists every hash and event.
func TestTwoSignersInOrder(t *testing.T) {
	t.Parallel()
	e := setup(t)
	doc := makePDF([]string{"Besluit omgevingsvergunning", "Handtekening burgemeester: {{Signer1}}", "Handtekening secretaris: {{Signer2}}"})
	ref := e.create(t, []signing.ProviderDocument{pdfDoc(0, "Besluit", doc)},
		signer(0, 1, "burgemeester@example.nl", "sms", "+31612345678", "Signer1"),
		signer(1, 2, "secretaris@example.nl", "", "", "Signer2"))
	if _, ok := e.lastMessage(t, "email", "secretaris@example.nl"); ok {
		t.Fatal("second group invited before the first signed")
	}
	pr, err := e.p.Status(context.Background(), ref)
	if err != nil || pr.Status != signing.ProgressPending || pr.Signers[0].Status != signing.SignerInvited || pr.Signers[1].Status != signing.SignerPending {
		t.Fatalf("status after create = %+v, %v", pr, err)
	}

	b := newBrowser(t)
	link := e.link(t, "burgemeester@example.nl")
	code, page := b.get(link)
	if code != http.StatusOK || !strings.Contains(page, "Omgevingsvergunning Dorpsstraat 1") || !strings.Contains(page, "••••••••678") {
		t.Fatalf("auth page: %d %s", code, page)
	}
	if c, _ := b.get(link + "/documents/0"); c != http.StatusForbidden {
		t.Fatalf("document before authentication: %d, want 403", c)
	}
	if _, page = b.post(link, "/code", nil); !strings.Contains(page, "We hebben een code van 6 cijfers per") {
		t.Fatalf("after sending a code: %s", page)
	}
	if _, page = b.post(link, "/verify", url.Values{"code": {e.code(t, "sms", "+31612345678")}}); !strings.Contains(page, `id="sign-form"`) {
		t.Fatalf("after the right code: %s", page)
	}
	if c, pdf := b.get(link + "/documents/0"); c != http.StatusOK || !strings.HasPrefix(pdf, "%PDF-") {
		t.Fatalf("document preview: %d", c)
	}
	if _, page = b.post(link, "/sign", url.Values{"consent": {"yes"}}); !strings.Contains(page, "U heeft de documenten ondertekend") {
		t.Fatalf("after signing: %s", page)
	}
	<-e.progress

	link2 := e.link(t, "secretaris@example.nl") // invited now
	b2 := newBrowser(t)
	if _, page = b2.get(link2); !strings.Contains(page, `id="sign-form"`) {
		t.Fatalf("null authentication should go straight to signing: %s", page)
	}
	if _, page = b2.post(link2, "/sign", url.Values{"consent": {"yes"}, "lang": {"en"}}); !strings.Contains(page, "You have signed") {
		t.Fatalf("after signing (en): %s", page)
	}
	pr, err = e.p.Status(context.Background(), ref)
	if err != nil || pr.Status != signing.ProgressCompleted {
		t.Fatalf("status = %+v, %v", pr, err)
	}
	if ev := pr.Signers[0].Evidence; ev["authenticatie"] != "sms-code" || ev["ip"] != "127.0.0.1" || ev["user_agent"] != "signingd-test/1.0" {
		t.Errorf("evidence of signer 1 = %v", ev)
	}
	if ev := pr.Signers[1].Evidence; ev["authenticatie"] != "link per e-mail" {
		t.Errorf("evidence of signer 2 (authenticatie null) = %v", ev)
	}

	signed := testkit.ReadAll(t)(e.p.Signed(context.Background(), ref, 0))
	report := testkit.PDFSigBytes(t, signed, testCA)
	if total, valid := testkit.ValidSignatures(report); total != 2 || valid != 2 {
		t.Fatalf("signed document: %d signatures, %d valid:\n%s", total, valid, report)
	}
	// Words a person reads: the method, never "null"; the time in Amsterdam with its offset.
	offset := e.clock.Now().In(amsterdam(t)).Format("-07'00'")
	for _, want := range []string{`\(sms-code\)`, `\(link per e-mail\)`, offset + ")", "namens Gemeente Testdorp"} {
		if !strings.Contains(string(signed), want) {
			t.Errorf("signature dictionaries lack %q", want)
		}
	}
	if strings.Contains(string(signed), "null") {
		t.Error(`the signed document says "null"`)
	}
	// The audit trail the workflow's evidence report is written from: every event in Dutch words,
	// the signature with where it came from.
	evidence, err := e.p.Evidence(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, ev := range evidence.Events {
		types[ev.Type] = true
		if ev.Words == "" {
			t.Errorf("event %s has no words", ev.Type)
		}
		if ev.Type == "signed" && ev.Signer == 0 && (ev.IP != "127.0.0.1" || ev.UserAgent != "signingd-test/1.0") {
			t.Errorf("signature of signer 1 = %+v, want the IP address and browser", ev)
		}
	}
	for _, want := range []string{"invited", "opened", "code_sent", "authenticated", "signed"} {
		if !types[want] {
			t.Errorf("no %s event", want)
		}
	}
}

// The 6th code is refused even when it is right; after the lock a new code works. An expired code
// is refused.
func TestCodeAttemptsAndExpiry(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ref := e.create(t, []signing.ProviderDocument{pdfDoc(0, "Brief", makePDF([]string{"Brief"}))},
		signer(0, 1, "a@example.nl", "email", "", ""))
	b := newBrowser(t)
	link := e.link(t, "a@example.nl")
	b.post(link, "/code", nil)
	right := e.code(t, "email", "a@example.nl")
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	for i := 0; i < MaxCodeAttempts; i++ {
		if _, page := b.post(link, "/verify", url.Values{"code": {wrong}}); !strings.Contains(page, "niet juist") && !strings.Contains(page, "geblokkeerd") {
			t.Fatalf("wrong code %d: %s", i+1, page)
		}
	}
	if _, page := b.post(link, "/verify", url.Values{"code": {right}}); !strings.Contains(page, "tijdelijk geblokkeerd") || strings.Contains(page, `id="sign-form"`) {
		t.Fatalf("6th code (right) was not refused: %s", page)
	}
	if c, _ := b.get(link + "/documents/0"); c != http.StatusForbidden {
		t.Fatalf("document while locked: %d", c)
	}
	// A new code cannot be had during the lock.
	if _, page := b.post(link, "/code", nil); !strings.Contains(page, "geblokkeerd") {
		t.Fatalf("code during lock: %s", page)
	}
	e.clock.Add(16 * time.Minute) // the lock (15 min) is over
	b.post(link, "/code", nil)
	code := e.code(t, "email", "a@example.nl")
	e.clock.Add(CodeValidity + time.Second)
	if _, page := b.post(link, "/verify", url.Values{"code": {code}}); !strings.Contains(page, "verlopen") {
		t.Fatalf("expired code was not refused: %s", page)
	}
	e.clock.Add(time.Minute)
	b.post(link, "/code", nil)
	if _, page := b.post(link, "/verify", url.Values{"code": {e.code(t, "email", "a@example.nl")}}); !strings.Contains(page, `id="sign-form"`) {
		t.Fatalf("fresh code after the lock: %s", page)
	}
	if pr, _ := e.p.Status(context.Background(), ref); pr.Status != signing.ProgressPending {
		t.Fatalf("status = %v", pr.Status)
	}
}

// Links: an expired link, an unknown link and a link of a closed signing are refused; a session of
// one signer is worthless on another signer's link.
func TestLinksRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.create(t, []signing.ProviderDocument{pdfDoc(0, "Contract", makePDF([]string{"Contract"}))},
		signer(0, 1, "x@example.nl", "", "", ""), signer(1, 1, "y@example.nl", "sms", "0612345678", ""))
	bx, by := newBrowser(t), newBrowser(t)
	lx, ly := e.link(t, "x@example.nl"), e.link(t, "y@example.nl")
	_, page := bx.get(lx)
	csrfX := csrfRE.FindStringSubmatch(page)[1]
	// x's cookie is scoped to x's link; sending it with y's link (and x's CSRF token) is refused.
	ck := bx.c.Jar.Cookies(mustURL(t, lx))
	if len(ck) != 1 {
		t.Fatalf("cookies for x: %v", ck)
	}
	req, _ := http.NewRequest(http.MethodPost, ly+"/sign", strings.NewReader(url.Values{"csrf": {csrfX}, "consent": {"yes"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(ck[0])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("x's session on y's link: %d, want 403", resp.StatusCode)
	}
	// y's own page still asks y for a code.
	if _, page := by.get(ly); !strings.Contains(page, "Bevestig dat u het bent") {
		t.Fatalf("y's page: %s", page)
	}
	// No CSRF token: refused.
	if c, _, _ := bx.do(http.MethodPost, lx+"/sign", url.Values{"consent": {"yes"}}); c != http.StatusForbidden {
		t.Fatalf("post without csrf: %d", c)
	}
	// Foreign Origin: refused.
	req, _ = http.NewRequest(http.MethodPost, lx+"/sign", strings.NewReader(url.Values{"csrf": {csrfX}, "consent": {"yes"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := bx.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin post: %v %v", resp.StatusCode, err)
	}
	// Unknown, malformed links and paths: clear 4xx pages.
	for _, u := range []string{e.url + "/sign/" + strings.Repeat("A", 43), e.url + "/sign/short", e.url + "/sign/%00%ff",
		lx + "/documents/abc", lx + "/documents/99"} {
		if c, body := bx.get(u); c/100 != 4 || !strings.Contains(body, "<html") {
			t.Errorf("GET %s = %d", u, c)
		}
	}
	// Expired link.
	e.clock.Add(7*24*time.Hour + time.Minute)
	if c, page := by.get(ly); c != http.StatusGone || !strings.Contains(page, "verlopen") {
		t.Fatalf("expired link: %d %s", c, page)
	}
	if c, page := by.get(ly + "?lang=en"); c != http.StatusGone || !strings.Contains(page, "expired") {
		t.Fatalf("expired link (en): %d", c)
	}
}

// A decline ends the signing with the signer's reason; the other signers' links close.
func TestDecline(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ref := e.create(t, []signing.ProviderDocument{pdfDoc(0, "Contract", makePDF([]string{"Contract"}))},
		signer(0, 1, "x@example.nl", "", "", ""), signer(1, 1, "y@example.nl", "", "", ""))
	b := newBrowser(t)
	lx := e.link(t, "x@example.nl")
	for _, bad := range []string{"", "a\x00b", "a\x80b"} {
		if _, page := b.post(lx, "/decline", url.Values{"reason": {bad}}); !strings.Contains(page, "Vul een reden in") {
			t.Fatalf("reason %q: %s", bad, page)
		}
	}
	if _, page := b.post(lx, "/decline", url.Values{"reason": {"Het bedrag klopt niet"}}); !strings.Contains(page, "Ja, weiger ondertekenen") ||
		!strings.Contains(page, "Het bedrag klopt niet") {
		t.Fatalf("declining asks for a confirmation with the reason: %s", page)
	}
	if _, page := b.post(lx, "/decline", url.Values{"reason": {"Het bedrag klopt niet"}, "confirm": {"yes"}}); !strings.Contains(page, "geweigerd") {
		t.Fatalf("after declining: %s", page)
	}
	pr, err := e.p.Status(context.Background(), ref)
	if err != nil || pr.Status != signing.ProgressDeclined || pr.Reden != "Het bedrag klopt niet" || pr.Signers[0].Status != signing.SignerDeclined {
		t.Fatalf("status = %+v, %v", pr, err)
	}
	if c, _ := newBrowser(t).get(e.link(t, "y@example.nl")); c != http.StatusGone {
		t.Fatalf("other signer's link after decline: %d, want 410", c)
	}
	if _, err := e.p.Signed(context.Background(), ref, 0); err == nil {
		t.Fatal("Signed of a declined signing succeeded")
	}
	evidence, err := e.p.Evidence(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(evidence.Events, func(ev signing.EvidenceEvent) bool { return ev.Type == "declined" }); i < 0 ||
		evidence.Events[i].Reden != "Het bedrag klopt niet" || evidence.Events[i].Words != "geweigerd" {
		t.Errorf("evidence of a decline lacks the reason or event: %+v", evidence.Events)
	}
}

// Create is idempotent per transaction; Cancel closes the links and is idempotent too.
func TestCreateIdempotentAndCancel(t *testing.T) {
	t.Parallel()
	e := setup(t)
	req := signing.CreateRequest{TransactionID: mustUUID(t, "5b0c7a8e-8d57-4a4e-9a53-0e0d3a0c0001"), Naam: "Idempotent", Deadline: e.clock.Now().Add(time.Hour),
		Documents: []signing.ProviderDocument{pdfDoc(0, "D", makePDF([]string{"D"}))}, Signers: []signing.ProviderSigner{signer(0, 1, "i@example.nl", "", "", "")}}
	ref1, err := e.p.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	ref2, err := e.p.Create(context.Background(), req)
	if err != nil || ref1 != ref2 {
		t.Fatalf("second create: %s, %v; want %s", ref2, err, ref1)
	}
	n := 0
	for _, m := range e.outbox.Messages() {
		if m.To == "i@example.nl" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d invitations after a retried create, want 1", n)
	}
	link := e.link(t, "i@example.nl")
	if err := e.p.Cancel(context.Background(), ref1, "Ingetrokken"); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Cancel(context.Background(), ref1, "Ingetrokken"); err != nil {
		t.Fatal(err)
	}
	if c, _ := newBrowser(t).get(link); c != http.StatusGone {
		t.Fatalf("link after cancel: %d", c)
	}
	if pr, _ := e.p.Status(context.Background(), ref1); pr.Status != signing.ProgressCancelled {
		t.Fatalf("status after cancel: %v", pr.Status)
	}
	// Not a PDF and not convertible: a permanent error.
	bad := req
	bad.TransactionID = mustUUID(t, "5b0c7a8e-8d57-4a4e-9a53-0e0d3a0c0002")
	bad.Documents = []signing.ProviderDocument{pdfDoc(0, "D", []byte("hello"))}
	if _, err := e.p.Create(context.Background(), bad); err == nil || !errorsIs(err, signing.ErrPermanent) {
		t.Fatalf("create with a non-PDF: %v", err)
	}
}

// Reminders and expiry warnings go out once per interval, each with a link of its own; the links of
// the earlier mails keep working, and once the signing has expired every one of them is refused.
// Not parallel: Tick works on every signing in the database, as it does in production.
func TestRemindersAndExpiry(t *testing.T) {
	e := setup(t)
	ref := e.create(t, []signing.ProviderDocument{pdfDoc(0, "D", makePDF([]string{"D"}))}, signer(0, 1, "r@example.nl", "", "", ""))
	ctx := context.Background()
	count := func(subject string) int {
		n := 0
		for _, m := range e.outbox.Messages() {
			if m.To == "r@example.nl" && strings.HasPrefix(m.Subject, subject) {
				n++
			}
		}
		return n
	}
	opens := func(when string, links ...string) {
		t.Helper()
		for i, l := range links {
			if c, page := newBrowser(t).get(l); c != http.StatusOK || !strings.Contains(page, `id="sign-form"`) {
				t.Fatalf("%s: link of mail %d answers %d:\n%.300s", when, i+1, c, page)
			}
		}
	}
	invitation := e.link(t, "r@example.nl")
	e.clock.Add(49 * time.Hour)
	if err := e.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count("Herinnering"); n != 1 {
		t.Fatalf("%d reminders, want 1", n)
	}
	reminder := e.link(t, "r@example.nl")
	if reminder == invitation {
		t.Fatal("the reminder carries the invitation's link")
	}
	opens("after the reminder", invitation, reminder)
	e.clock.Add(4*24*time.Hour + time.Hour) // day 6: within 24 h of the 7-day link expiry
	if err := e.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count("Laatste kans"); n != 1 {
		t.Fatalf("%d expiry warnings, want 1", n)
	}
	warning := e.link(t, "r@example.nl")
	opens("after the expiry warning", invitation, reminder, warning)
	e.clock.Add(30 * 24 * time.Hour) // past the deadline
	if err := e.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if pr, _ := e.p.Status(ctx, ref); pr.Status != signing.ProgressExpired {
		t.Fatalf("status after the deadline: %v", pr.Status)
	}
	for i, l := range []string{invitation, reminder, warning} {
		if c, page := newBrowser(t).get(l); c != http.StatusGone || strings.Contains(page, `id="sign-form"`) {
			t.Fatalf("link of mail %d after expiry: %d, want 410", i+1, c)
		}
	}
}

// After a reminder a signer may act through either link; once the signing is signed, declined or
// cancelled, no link lets anyone act: the signer's own links only say what was done, the links of a
// cancelled signing are gone. Not parallel: Tick works on every signing in the database.
func TestEarlierLinksUntilTheSigningEnds(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	doc := []signing.ProviderDocument{pdfDoc(0, "D", makePDF([]string{"D"}))}
	signedRef := e.create(t, doc, signer(0, 1, "old-link@example.nl", "", "", ""))
	declinedRef := e.create(t, doc, signer(0, 1, "new-link@example.nl", "", "", ""))
	cancelledRef := e.create(t, doc, signer(0, 1, "cancelled@example.nl", "", "", ""))
	type links struct{ invitation, reminder string }
	var l = map[string]*links{}
	for _, to := range []string{"old-link@example.nl", "new-link@example.nl", "cancelled@example.nl"} {
		l[to] = &links{invitation: e.link(t, to)}
	}
	e.clock.Add(49 * time.Hour)
	if err := e.p.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	for to, x := range l {
		if x.reminder = e.link(t, to); x.reminder == x.invitation {
			t.Fatalf("no reminder with a link of its own to %s", to)
		}
	}

	// Signed through the invitation's link, after the reminder came.
	b := newBrowser(t)
	if _, page := b.post(l["old-link@example.nl"].invitation, "/sign", url.Values{"consent": {"yes"}}); !strings.Contains(page, "U heeft de documenten ondertekend") {
		t.Fatalf("signing through the first link after a reminder: %.300s", page)
	}
	// Declined through the reminder's link.
	if _, page := newBrowser(t).post(l["new-link@example.nl"].reminder, "/decline", url.Values{"reason": {"Verkeerde adres"}, "confirm": {"yes"}}); !strings.Contains(page, "geweigerd") {
		t.Fatalf("declining through the reminder's link: %.300s", page)
	}
	if err := e.p.Cancel(ctx, cancelledRef, "Ingetrokken"); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]signing.ProgressStatus{signedRef: signing.ProgressCompleted, declinedRef: signing.ProgressDeclined,
		cancelledRef: signing.ProgressCancelled} {
		if pr, err := e.p.Status(ctx, ref); err != nil || pr.Status != want {
			t.Fatalf("status = %v, %v; want %v", pr.Status, err, want)
		}
	}

	for to, done := range map[string]string{"old-link@example.nl": "U heeft de documenten ondertekend", "new-link@example.nl": "U heeft het ondertekenen geweigerd"} {
		for _, link := range []string{l[to].invitation, l[to].reminder} {
			c, page := newBrowser(t).get(link)
			if c != http.StatusOK || !strings.Contains(page, done) || strings.Contains(page, "<form") {
				t.Fatalf("%s after the signing ended: %d, want the page saying %q without a form:\n%.300s", to, c, done, page)
			}
			for _, action := range []string{"/sign", "/decline", "/code"} {
				if c, _, _ := newBrowser(t).do(http.MethodPost, link+action, url.Values{"consent": {"yes"}, "reason": {"x"}}); c/100 != 4 {
					t.Fatalf("%s: POST %s after the signing ended: %d", to, action, c)
				}
			}
		}
	}
	// The browser that signed keeps its session, but its form is refused all the same.
	if c, _, _ := b.do(http.MethodPost, l["old-link@example.nl"].reminder+"/sign", url.Values{"consent": {"yes"}}); c/100 != 4 {
		t.Fatalf("signing again: %d", c)
	}
	for _, link := range []string{l["cancelled@example.nl"].invitation, l["cancelled@example.nl"].reminder} {
		if c, page := newBrowser(t).get(link); c != http.StatusGone || strings.Contains(page, "<form") {
			t.Fatalf("link of a cancelled signing: %d, want 410", c)
		}
	}
}

// The operator's settings come in whole from the configuration: a signer without a link expiry or
// a code lockout is refused rather than given a second default, and so is a signing without a
// deadline.
func TestSettingsRequired(t *testing.T) {
	e := setup(t)
	o := e.p.o
	for name, change := range map[string]func(*Options){
		"link expiry":  func(o *Options) { o.LinkExpiry = 0 },
		"code lockout": func(o *Options) { o.OTPLockout = 0 },
	} {
		bad := o
		change(&bad)
		if _, err := New(bad); err == nil {
			t.Errorf("New without %s: accepted", name)
		}
	}
	_, err := e.p.Create(context.Background(), signing.CreateRequest{TransactionID: uuid.New(), Naam: "Zonder termijn",
		Documents: []signing.ProviderDocument{pdfDoc(0, "Besluit", makePDF([]string{"Besluit"}))},
		Signers:   []signing.ProviderSigner{signer(0, 1, "a@example.nl", "", "", "")}})
	if !errors.Is(err, signing.ErrPermanent) {
		t.Errorf("Create without a deadline: %v, want a permanent error", err)
	}
}

// TestPlaceholderNotFoundIsSaid: a signer whose placeholder is not in the document is signed on the
// signature page, and the status says so (the workflow records it in the transaction's events).
func TestPlaceholderNotFoundIsSaid(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ref := e.create(t, []signing.ProviderDocument{pdfDoc(0, "Besluit", makePDF([]string{"Besluit", "Handtekening: {{Signer1}}"}))},
		signer(0, 1, "zonder@example.nl", "", "", "Signer9"))
	b := newBrowser(t)
	if _, page := b.post(e.link(t, "zonder@example.nl"), "/sign", url.Values{"consent": {"yes"}}); !strings.Contains(page, "ondertekend") {
		t.Fatalf("after signing: %s", page)
	}
	pr, err := e.p.Status(context.Background(), ref)
	if err != nil || pr.Status != signing.ProgressCompleted {
		t.Fatalf("status %+v, %v", pr, err)
	}
	if got := pr.Signers[0].Evidence["plaatsing"]; got != `{{Signer9}} in "Besluit" niet gevonden: op de ondertekeningspagina` {
		t.Errorf("plaatsing %q", got)
	}
}

// TestLongTermWithTSA: with a time-stamping authority for the organisation, the signature is
// time-stamped and the completed document gets its validation data — the certificates and an
// OCSP response for each, from the CA's responder on an allowed host — and a document time-stamp
// (PAdES B-LTA); with the TSA down the signature fails, and nothing is signed without it; a
// revoked certificate fails it too.
func TestLongTermWithTSA(t *testing.T) {
	t.Parallel()
	ca, err := pades.NewDemoOCSP("Testdorp demo CA")
	if err != nil {
		t.Fatal(err)
	}
	responder := httptest.NewServer(ca)
	t.Cleanup(responder.Close)
	key, chain, err := ca.Certificate("Gemeente Testdorp ondertekening", responder.URL)
	if err != nil {
		t.Fatal(err)
	}
	tsa, err := ca.TSA("Testdorp TSA", responder.URL)
	if err != nil {
		t.Fatal(err)
	}
	var stamped atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tsa.Down.Load() {
			stamped.Add(1)
		}
		tsa.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(responder.URL, "http://")
	e := setup(t, func(o *Options) {
		o.TSAs = map[string]*pades.TSA{testRSIN: {URL: srv.URL}}
		o.Certificate = Certificate{Key: key, Chain: chain}
		o.Revocation = &pades.Revocation{FetchOCSP: true, Hosts: []string{host}}
	})
	ref := e.create(t, []signing.ProviderDocument{pdfDoc(0, "Besluit", makePDF([]string{"Besluit", "Handtekening: {{Signer1}}"}))},
		signer(0, 1, "lta@example.nl", "", "", "Signer1"))
	link := e.link(t, "lta@example.nl")

	tsa.Down.Store(true)
	b := newBrowser(t)
	if _, page := b.post(link, "/sign", url.Values{"consent": {"yes"}}); !strings.Contains(page, "niet gelukt") {
		t.Fatalf("signing with the TSA down: %s", page)
	}
	if pr, _ := e.p.Status(context.Background(), ref); pr.Status == signing.ProgressCompleted || pr.Signers[0].Status != signing.SignerInvited {
		t.Fatalf("signed without the TSA: %+v", pr)
	}

	tsa.Down.Store(false)
	if _, page := b.post(link, "/sign", url.Values{"consent": {"yes"}}); !strings.Contains(page, "ondertekend") {
		t.Fatalf("signing: %s", page)
	}
	signed := testkit.ReadAll(t)(e.p.Signed(context.Background(), ref, 0))
	// pdfsig (poppler 22) cannot validate document time-stamps; it sees one covering the file
	rep := testkit.PDFSigBytes(t, signed, ca.CA)
	if strings.Count(rep, "Signature #") != 2 || !strings.Contains(rep, "Signature Field Name: Tijdstempel") ||
		!strings.Contains(rep, "Total document signed") || !strings.Contains(rep, "Signature is Valid.") ||
		!strings.Contains(rep, "Certificate is Trusted.") {
		t.Errorf("want the signature and a document time-stamp over the whole file:\n%s", rep)
	}
	if n := stamped.Load(); n != 2 {
		t.Errorf("%d time-stamps, want 2: the signature's (B-T) and the document's (B-LTA)", n)
	}
	dss, err := pades.ReadDSS(context.Background(), bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		t.Fatal(err)
	}
	good := 0
	for _, der := range dss.OCSPs {
		if r, err := ocsp.ParseResponseForCert(der, chain[0], ca.CA); err == nil && r.Status == ocsp.Good {
			good++
		}
	}
	if good != 1 || len(dss.OCSPs) != 2 || len(dss.Certs) != 3 {
		t.Errorf("DSS: %d OCSP responses (%d good for the signer), %d certificates; want 2 (signer, TSA), 1, 3", len(dss.OCSPs), good, len(dss.Certs))
	}

	// a revoked signing certificate: the last signature is not finished as if it were valid
	ca.Revoke(chain[0].SerialNumber)
	ref = e.create(t, []signing.ProviderDocument{pdfDoc(0, "Besluit", makePDF([]string{"Besluit"}))},
		signer(0, 1, "revoked@example.nl", "", "", "Signer1"))
	if _, page := newBrowser(t).post(e.link(t, "revoked@example.nl"), "/sign", url.Values{"consent": {"yes"}}); strings.Contains(page, "U heeft de documenten ondertekend") {
		t.Fatalf("signed with a revoked certificate: %s", page)
	}
	if pr, _ := e.p.Status(context.Background(), ref); pr.Status == signing.ProgressCompleted {
		t.Fatalf("completed with a revoked certificate: %+v", pr)
	}
}
