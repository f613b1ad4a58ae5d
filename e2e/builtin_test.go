package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/zgw/sim"
)

// docSpec is one document of a scenario: its content, file name and formaat in the DRC.
type docSpec struct {
	titel, bestandsnaam, formaat string
	content                      []byte
}

// signerSpec is one ondertekenaar of the trigger.
type signerSpec struct {
	email, voornaam, achternaam string
	volgorde                    int
	methode, waarde             string // authenticatie; none when methode is ""
}

// customScenario seeds a zaak with the documents and builds the trigger to sign them.
func (e *env) customScenario(docs []docSpec, signers []signerSpec) scenario {
	e.t.Helper()
	zaak, err := e.zgw.SeedZaak(sim.ZaakSeed{Bronorganisatie: e.rsin, Informatieobjecttypen: []string{e.zgw.DefaultIOT(), e.iot}})
	if err != nil {
		e.t.Fatal(err)
	}
	sc := scenario{zaak: zaak}
	var dl []map[string]any
	for _, d := range docs {
		u, err := e.zgw.SeedDocument(d.content, sim.DocumentSeed{Titel: d.titel, Bestandsnaam: d.bestandsnaam,
			Status: "in_bewerking", Formaat: d.formaat, Zaak: zaak, Bronorganisatie: e.rsin})
		if err != nil {
			e.t.Fatal(err)
		}
		sc.docs = append(sc.docs, u)
		dl = append(dl, map[string]any{"url": u, "uuid": lastSegment(u), "versie": 1, "titel": d.titel, "bestandsnaam": d.bestandsnaam})
	}
	var sl []map[string]any
	for _, s := range signers {
		var authn any
		if s.methode != "" {
			authn = map[string]any{"methode": s.methode, "waarde": s.waarde}
		}
		sl = append(sl, map[string]any{"e-mail": s.email, "voornaam": s.voornaam, "achternaam": s.achternaam,
			"volgorde": s.volgorde, "authenticatie": authn})
	}
	sc.trigger = map[string]any{
		"naam": "Ondertekening omgevingsvergunning", "zaak": map[string]any{"url": zaak, "uuid": lastSegment(zaak)},
		"bewijs_informatieobjecttype": e.iot, "documenten": dl, "ondertekenaars": sl,
	}
	return sc
}

// page drives one browser through the signer pages, saving a screenshot and running axe-core on
// every page it names.
type page struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
}

func newPage(t *testing.T) *page {
	return &page{t: t, ctx: testkit.Chromium(t, 90*time.Second, chromedp.Flag("lang", "nl-NL"), chromedp.Flag("accept-lang", "nl-NL,nl")),
		dir: testkit.Artifacts(t)}
}

func (p *page) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

var (
	axeOnce   sync.Once
	axeSource string
)

// shot checks the page with axe-core (serious and critical WCAG 2.1 AA violations fail the test)
// and saves a screenshot.
func (p *page) shot(name string) {
	p.t.Helper()
	axeOnce.Do(func() {
		b, err := os.ReadFile("../signing/providers/builtin/testdata/axe.min.js")
		if err == nil {
			axeSource = string(b)
		}
	})
	if axeSource == "" {
		p.t.Fatal("axe-core not found at signing/providers/builtin/testdata/axe.min.js")
	}
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[any](axeSource+";0")); err != nil {
		p.t.Fatalf("%s: inject axe: %v", name, err)
	}
	type violation struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
	}
	vs, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]violation](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
			.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: axe: %v", name, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			p.t.Errorf("%s: axe %s (%s): %s", name, v.ID, v.Impact, v.Help)
		}
	}
	img, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(85))
	if err != nil {
		p.t.Fatalf("%s: screenshot: %v", name, err)
	}
	p.n++
	if err := os.WriteFile(filepath.Join(p.dir, fmt.Sprintf("%02d-%s.jpg", p.n, name)), img, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// waitPreviews waits until pdf.js rendered every document preview on the page.
func (p *page) waitPreviews(docs int) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		states, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".preview")].map(e => e.dataset.rendered || "")`))
		if err != nil {
			p.t.Fatalf("previews: %v", err)
		}
		canvases, _ := chromedp.Run(p.ctx, chromedp.Evaluate[int](`document.querySelectorAll(".preview canvas").length`))
		done := len(states) == docs && canvases >= docs
		for _, s := range states {
			if s == "" || s == "error" {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("previews not rendered: %v, %d canvases, want %d documents", states, canvases, docs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	linkRE = regexp.MustCompile(`https?://\S+/sign/[A-Za-z0-9_-]{43}`)
	codeRE = regexp.MustCompile(`\b\d{6}\b`)
)

// fromOutbox opens the dev outbox in the browser and returns the match of re in the newest
// message of the kind to the address, waiting for it to arrive.
func (p *page) fromOutbox(base, kind, to string, re *regexp.Regexp) string {
	p.t.Helper()
	sel := fmt.Sprintf(`article[data-kind=%q][data-to=%q] pre`, kind, to)
	// generous: an invitation waits for LibreOffice's conversion, slow on a busy machine
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p.run("outbox", chromedp.Navigate(base+"/dev/outbox"), chromedp.WaitVisible(chromedp.ID("main")))
		n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
		if err != nil {
			p.t.Fatal(err)
		}
		if n > 0 {
			if m := re.FindString(p.text(sel)); m != "" {
				return m
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %s to %s in the outbox", kind, to)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// makeDocx writes a minimal Word document with one paragraph per line.
func makeDocx(t *testing.T, lines ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	var body strings.Builder
	for _, l := range lines {
		body.WriteString(`<w:p><w:r><w:t xml:space="preserve">` + l + `</w:t></w:r></w:p>`)
	}
	files := [][2]string{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/document.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` + body.String() + `</w:body></w:document>`},
	}
	for _, f := range files {
		w, err := z.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// evidenceOf returns the URL of the zaak's document that is not one of the signed ones.
func (e *env) evidenceOf(sc scenario) string {
	e.t.Helper()
	for _, u := range e.zgw.ZaakDocuments(sc.zaak) {
		signed := false
		for _, d := range sc.docs {
			signed = signed || u == d
		}
		if !signed {
			return u
		}
	}
	e.t.Fatalf("no evidence document related to zaak %s", sc.zaak)
	return ""
}

const docxFormaat = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

// TestBuiltinBrowserSign: a whole transaction with the built-in signer, through headless Chromium.
// Two documents (a PDF and a .docx) and two signers in volgorde 1 (SMS code) and 2 (link only):
// each opens the invitation from the dev outbox, sees the documents, the first reads the SMS code
// from the outbox, both sign. Then the ZGW sim has signed PDF versions with ondertekening,
// integriteit and formaat, each with two valid signatures; the evidence report linked to the zaak
// is signed and lists every hash and every event; the subscriber got one OndertekenenVoltooid.
func TestBuiltinBrowserSign(t *testing.T) {
	t.Parallel()
	testkit.NeedTool(t, "soffice")
	pe := newProdEnv(t, prodOptions{builtin: true})
	br := newPage(t)
	sc := pe.customScenario([]docSpec{
		{titel: "Besluit omgevingsvergunning", bestandsnaam: "besluit.pdf", formaat: "application/pdf",
			content: pdf("Besluit omgevingsvergunning Dorpsstraat 1")},
		{titel: "Overeenkomst", bestandsnaam: "overeenkomst.docx", formaat: docxFormaat,
			content: makeDocx(t, "Overeenkomst gemeente Testdorp", "Artikel 1: de vergunning")},
	}, []signerSpec{
		{email: "anna@example.nl", voornaam: "Anna", achternaam: "de Vries", volgorde: 1, methode: signing.AuthSMS, waarde: "+31611111111"},
		{email: "bram@example.nl", voornaam: "Bram", achternaam: "Jansen", volgorde: 2},
	})
	id := pe.start(sc)

	// Anna (volgorde 1): link from the outbox, SMS code from the outbox, sign.
	link := br.fromOutbox(pe.api.URL, "email", "anna@example.nl", linkRE)
	br.shot("outbox-invitation")
	br.run("open anna's link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("send-code")))
	if h1 := br.text("h1"); h1 == "" {
		t.Error("no heading on the signer page")
	}
	if body := br.text("main"); !strings.Contains(body, "Ondertekening omgevingsvergunning") {
		t.Errorf("the auth page does not name the transaction: %q", body)
	}
	br.shot("anna-auth")
	br.run("send code", chromedp.Click(chromedp.ID("send-code")), chromedp.WaitVisible(chromedp.ID("message")))
	code := br.fromOutbox(pe.api.URL, "sms", "+31611111111", codeRE)
	br.shot("outbox-sms")
	br.run("enter code", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SendKeys(chromedp.ID("code"), code), chromedp.Click(chromedp.ID("verify")), chromedp.WaitVisible(chromedp.ID("sign-form")))
	br.waitPreviews(2)
	if body := br.text("main"); !strings.Contains(body, "Besluit omgevingsvergunning") || !strings.Contains(body, "Overeenkomst") {
		t.Errorf("the sign page does not show both documents: %q", body)
	}
	br.shot("anna-sign")
	// Bram is invited only after Anna signed.
	for _, m := range pe.outbox.Messages() {
		if m.To == "bram@example.nl" {
			t.Fatal("the signer of volgorde 2 was invited before volgorde 1 signed")
		}
	}
	br.run("anna signs", chromedp.Click(chromedp.ID("consent")), chromedp.Click(chromedp.ID("sign")), chromedp.WaitVisible(chromedp.ID("message")))
	if msg := br.text("#message"); !strings.Contains(msg, "ondertekend") {
		t.Fatalf("after anna signed: %q", msg)
	}
	br.shot("anna-signed")

	// Bram (volgorde 2, link only).
	link = br.fromOutbox(pe.api.URL, "email", "bram@example.nl", linkRE)
	br.run("open bram's link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("sign-form")))
	br.waitPreviews(2)
	br.shot("bram-sign")
	br.run("bram signs", chromedp.Click(chromedp.ID("consent")), chromedp.Click(chromedp.ID("sign")), chromedp.WaitVisible(chromedp.ID("message")))
	if msg := br.text("#message"); !strings.Contains(msg, "ondertekend") {
		t.Fatalf("after bram signed: %q", msg)
	}
	br.shot("bram-signed")

	tx := pe.wait(id, 30*time.Second)
	if tx.State != signing.StateCompleted {
		t.Fatalf("state %s, reden %q", tx.State, tx.Reden)
	}
	msgs := pe.waitMessages(id, 1)
	if len(msgs) != 1 || msgs[0].Actie != signing.ActieVoltooid || msgs[0].HoofdObject != sc.zaak {
		t.Fatalf("notifications %+v", msgs)
	}

	// The signed versions in the DRC.
	wantNames := []string{"besluit.pdf", "overeenkomst.pdf"}
	for i, d := range tx.Documents {
		versions, err := pe.zgw.Versions(sc.docs[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(versions) != 2 {
			t.Fatalf("document %d has %d versions, want 2", i, len(versions))
		}
		v := versions[1]
		m := v.Metadata
		if m["bestandsnaam"] != wantNames[i] || m["formaat"] != "application/pdf" || m["status"] != "definitief" {
			t.Errorf("document %d: bestandsnaam %v formaat %v status %v", i, m["bestandsnaam"], m["formaat"], m["status"])
		}
		if o, _ := m["ondertekening"].(map[string]any); o["soort"] != "digitaal" || o["datum"] == "" || o["datum"] == nil {
			t.Errorf("document %d ondertekening %v", i, m["ondertekening"])
		}
		if in, _ := m["integriteit"].(map[string]any); in["algoritme"] != "sha_256" || in["waarde"] != d.SignedSHA256 || v.SHA256 != d.SignedSHA256 {
			t.Errorf("document %d integriteit %v, content %s, signed %s", i, m["integriteit"], v.SHA256, d.SignedSHA256)
		}
		content, err := pe.zgw.Content(sc.docs[i], 2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(content, []byte("%PDF-")) {
			t.Fatalf("document %d version 2 is not a PDF", i)
		}
		if err := os.WriteFile(filepath.Join(br.dir, wantNames[i]), content, 0o644); err != nil {
			t.Fatal(err)
		}
		report := testkit.PDFSigBytes(t, content, pe.ca)
		if total, valid := testkit.ValidSignatures(report); total != 2 || valid != 2 {
			t.Errorf("document %d: pdfsig reports %d signatures, %d valid, want 2 and 2:\n%s", i, total, valid, report)
		}
		text := testkit.PDFToText(t, content)
		for _, name := range []string{"Anna de Vries", "Bram Jansen"} {
			if !strings.Contains(text, name) {
				t.Errorf("document %d does not show the signature of %s:\n%s", i, name, text)
			}
		}
		if i == 1 && !strings.Contains(text, "Overeenkomst gemeente Testdorp") {
			t.Errorf("the converted .docx lost its text:\n%s", text)
		}
	}

	// The evidence report: linked to the zaak, signed, every hash and every event in it.
	evidence := pe.evidenceOf(sc)
	ev, err := pe.zgw.Versions(evidence)
	if err != nil {
		t.Fatal(err)
	}
	if m := ev[0].Metadata; m["informatieobjecttype"] != pe.iot || m["formaat"] != "application/pdf" {
		t.Errorf("evidence metadata %v", m)
	}
	report, err := pe.zgw.Content(evidence, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(br.dir, "evidence.pdf"), report, 0o644); err != nil {
		t.Fatal(err)
	}
	if total, valid := testkit.ValidSignatures(testkit.PDFSigBytes(t, report, pe.ca)); total != 1 || valid != 1 {
		t.Errorf("evidence report: %d signatures, %d valid, want 1 and 1", total, valid)
	}
	text := testkit.PDFToText(t, report)
	for i, d := range tx.Documents {
		for _, h := range []string{d.OriginalSHA256, d.SignedSHA256} {
			if h == "" || !strings.Contains(text, h) {
				t.Errorf("evidence lacks hash %q of document %d", h, i)
			}
		}
	}
	w, err := pe.st.Work(context.Background(), uuid.MustParse(id))
	if err != nil {
		t.Fatal(err)
	}
	events, err := pe.st.BuiltinEvents(context.Background(), uuid.MustParse(w.ProviderRef))
	if err != nil {
		t.Fatal(err)
	}
	// Every event of the built-in signer is a line of the workflow's report, with its IP address.
	lines := strings.Split(text, "\n")
	perSecond := map[string]int{}
	for _, e := range events {
		perSecond[e.At.In(config.Defaults().TimeZone).Format("2006-01-02 15:04:05 -07:00")]++
		if e.IP != "" && !strings.Contains(text, "IP-adres: "+e.IP) {
			t.Errorf("evidence lacks the IP of event %s", e.Type)
		}
	}
	for at, want := range perSecond {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), at) && strings.Contains(l, "aanbieder: ") {
				n++
			}
		}
		if n != want {
			t.Errorf("evidence shows %d lines of the built-in signer's events at %s, want %d", n, at, want)
		}
	}
	types := map[string]bool{}
	for _, e := range events {
		types[e.Type] = true
	}
	for _, want := range []string{"invited", "opened", "code_sent", "authenticated", "signed"} {
		if !types[want] {
			t.Errorf("no %s event recorded (events: %v)", want, types)
		}
	}
	for _, s := range []string{"anna@example.nl", "bram@example.nl", "Anna de Vries", "Bram Jansen", "•••111"} {
		if !strings.Contains(text, s) {
			t.Errorf("evidence lacks %q", s)
		}
	}
	if strings.Contains(text, "+31611111111") {
		t.Error("evidence shows the full phone number")
	}
	if len(pe.zgw.Locks()) != 0 {
		t.Errorf("locks left: %v", pe.zgw.Locks())
	}
}

// TestBuiltinBrowserDecline: the signer declines with a reason in the browser; the transaction
// aborts with exactly one OndertekenenAfgebroken whose reden carries the reason, and no document
// gets a new version.
func TestBuiltinBrowserDecline(t *testing.T) {
	t.Parallel()
	pe := newProdEnv(t, prodOptions{builtin: true})
	br := newPage(t)
	sc := pe.customScenario([]docSpec{{titel: "Besluit", bestandsnaam: "besluit.pdf", formaat: "application/pdf",
		content: pdf("Besluit subsidie")}},
		[]signerSpec{{email: "carla@example.nl", voornaam: "Carla", achternaam: "Bakker", volgorde: 1}})
	id := pe.start(sc)
	link := br.fromOutbox(pe.api.URL, "email", "carla@example.nl", linkRE)
	br.run("open link", chromedp.Navigate(link+"?lang=en"), chromedp.WaitVisible(chromedp.ID("decline-form")))
	br.waitPreviews(1)
	br.shot("carla-sign-en")
	const reason = "The amount is wrong"
	br.run("decline", chromedp.SendKeys(chromedp.ID("reason"), reason), chromedp.Click(chromedp.ID("decline")),
		chromedp.WaitVisible(chromedp.ID("confirm-decline")), chromedp.Click(chromedp.ID("confirm-decline")),
		chromedp.WaitVisible(chromedp.ID("message")))
	if msg := br.text("#message"); !strings.Contains(msg, "declined") {
		t.Fatalf("after declining: %q", msg)
	}
	br.shot("carla-declined-en")

	tx := pe.wait(id, 30*time.Second)
	want := "Geweigerd door ondertekenaar 1: " + reason
	if tx.State != signing.StateAborted || !strings.HasPrefix(tx.Reden, want) {
		t.Fatalf("state %s reden %q, want aborted with %q…", tx.State, tx.Reden, want)
	}
	msgs := pe.waitMessages(id, 1)
	if len(msgs) != 1 || msgs[0].Actie != signing.ActieAfgebroken || msgs[0].Kenmerken["reden"] != tx.Reden {
		t.Fatalf("notifications %+v", msgs)
	}
	if tx.Signers[0].Status != signing.SignerDeclined || tx.Signers[0].DeclineReason != reason {
		t.Errorf("signer %+v", tx.Signers[0])
	}
	if v, _ := pe.zgw.Versions(sc.docs[0]); len(v) != 1 {
		t.Errorf("declined document has %d versions, want 1", len(v))
	}
	if len(pe.zgw.Locks()) != 0 {
		t.Errorf("locks left: %v", pe.zgw.Locks())
	}
	// The link is done: opening it again shows no sign form.
	br.run("reopen", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("main")))
	if n, _ := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#sign-form").length`)); n != 0 {
		t.Error("a declined link still shows the sign form")
	}
	br.shot("carla-reopen")
}
