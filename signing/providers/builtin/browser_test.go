package builtin

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
)

//go:embed testdata/axe.min.js
var axeSource string

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  int    `json:"nodes"`
}

// check injects axe-core into the current page, fails on serious or critical WCAG 2.1 A/AA
// violations, logs the rest, and saves a screenshot.
func check(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](axeSource+";0")); err != nil {
		t.Fatalf("%s: inject axe: %v", name, err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
			.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.length})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe: %v", name, err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatalf("%s: screenshot: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".jpg"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	docShots(t, ctx, name)
	if !strings.Contains(name, "outbox") && !strings.Contains(name, "expired") {
		// The organisation the signer knows, on every page of its signing: name and logo.
		brand, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".site-name") || {}).textContent + "|" +
			((document.querySelector("img.logo") || {}).naturalWidth || 0) + "|" + ((document.querySelector("#requester") || {}).textContent || "")`))
		if err != nil || !strings.HasPrefix(brand, "Gemeente Testdorp|40|") || !strings.Contains(brand, "Gemeente Testdorp (behandelaar@testdorp.example)") {
			t.Errorf("%s: the page does not show the organisation: %q (%v)", name, brand, err)
		}
	}
	for _, v := range violations {
		msg := fmt.Sprintf("%s: axe %s (%s, %d nodes): %s", name, v.ID, v.Impact, v.Nodes, v.Help)
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(msg)
		} else {
			t.Log(msg)
		}
	}
	t.Logf("%s: axe found %d violations", name, len(violations))
}

// docShots saves the page at a phone's 390 and a desktop's 1280 px into $SCREENSHOTS_DIR, for
// docs/ (make screenshots): the pictures there are made by this test, never by hand.
func docShots(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		return
	}
	for _, size := range [][2]int64{{390, 844}, {1280, 900}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(size[0], size[1])); err != nil {
			t.Fatalf("%s: viewport %v: %v", name, size, err)
		}
		// previews are drawn again at the new column width
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll(".preview")].every(
				el => el.dataset.column === String(Math.max(el.clientWidth - 16, 200)))`))
			if ok || time.Now().After(deadline) {
				break
			}
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(85))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.jpg", name, size[0])), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(412, 915)); err != nil {
		t.Fatal(err)
	}
}

// waitRendered waits until pdf.js rendered the preview's pages (data-rendered = page count).
func waitRendered(t *testing.T, ctx context.Context, pages string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".preview") || {dataset: {}}).dataset.rendered || ""`))
		if err != nil {
			t.Fatalf("preview: %v", err)
		}
		canvases, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".preview canvas").length`))
		if got == pages && canvases >= 1 {
			return
		}
		if got == "error" || time.Now().After(deadline) {
			t.Fatalf("preview not rendered: data-rendered=%q, %d canvases", got, canvases)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func textOf(ctx context.Context, sel string) (string, error) {
	return chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
}

// A signer opens the link on a phone, sees the document, reads the SMS code from the dev outbox
// and signs (in Dutch); another declines with a reason (in English); an expired link and another
// signer's link are refused. axe-core checks every page.
func TestBrowserSignDeclineRefuse(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := testkit.Chromium(t, 60*time.Second)
	dir := testkit.Artifacts(t)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	doc := makePDF([]string{"Besluit", "Handtekening: {{Signer1}}"}, []string{"Bijlage"})
	refA := e.create(t, []signing.ProviderDocument{pdfDoc(0, "Besluit", doc)}, signer(0, 1, "anna@example.nl", "sms", "+31611111111", "Signer1"))
	refB := e.create(t, []signing.ProviderDocument{pdfDoc(0, "Contract", makePDF([]string{"Contract"}))}, signer(0, 1, "bob@example.nl", "", "", ""))
	e.create(t, []signing.ProviderDocument{pdfDoc(0, "Memo", makePDF([]string{"Memo"}))}, signer(0, 1, "carla@example.nl", "sms", "+31622222222", ""))

	// Anna signs, in Dutch.
	run("open link", chromedp.Navigate(e.link(t, "anna@example.nl")+"?lang=nl"), chromedp.WaitVisible(chromedp.ID("send-code")))
	check(t, ctx, dir, "01-auth-nl")
	run("send code", chromedp.Click(chromedp.ID("send-code")), chromedp.WaitVisible(chromedp.ID("message")))
	check(t, ctx, dir, "02-code-sent-nl")
	// What was done is told before what to do next, in the past tense.
	if main, _ := textOf(ctx, "main"); !strings.Contains(main, "We hebben een code van 6 cijfers per sms gestuurd naar") ||
		strings.Index(main, "gestuurd naar") > strings.Index(main, "Vul de code hieronder in") {
		t.Errorf("after sending a code the page reads:\n%s", main)
	}
	run("outbox", chromedp.Navigate(e.url+"/dev/outbox"), chromedp.WaitVisible(chromedp.CSS(`article[data-kind="sms"]`)))
	check(t, ctx, dir, "03-outbox")
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("article[data-kind=email] pre a[href^='http']").length`)); err != nil || n == 0 {
		t.Errorf("the outbox's mail links cannot be clicked (%d links, %v)", n, err)
	}
	body, err := textOf(ctx, `article[data-kind="sms"][data-to="+31611111111"] pre`)
	if err != nil {
		t.Fatal(err)
	}
	code := codeRE.FindString(body)
	if code == "" {
		t.Fatalf("no code in the outbox: %q", body)
	}
	run("enter code", chromedp.Navigate(e.link(t, "anna@example.nl")+"?lang=nl"), chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SendKeys(chromedp.ID("code"), code), chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.ID("sign-form")))
	waitRendered(t, ctx, "2")
	check(t, ctx, dir, "04-sign-nl")
	// On a phone the preview fills its column (text a person can read), and zooms in.
	widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[document.querySelector(".preview").clientWidth,
		document.querySelector(".preview canvas").getBoundingClientRect().width,
		document.querySelector("#consent").getBoundingClientRect().width, document.querySelector("#consent").getBoundingClientRect().height]`))
	if err != nil || len(widths) != 4 || widths[1] < widths[0]-24 || widths[2] < 24 || widths[3] < 24 {
		t.Errorf("preview %v wide, its page %v; consent box %v × %v (want ≥ 24 px) (%v)", widths[0], widths[1], widths[2], widths[3], err)
	}
	run("zoom in", chromedp.Click(chromedp.CSS(".zoom button:last-child")))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		zoom, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(".preview").dataset.zoom`))
		if zoom == "1.5" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("zoom in: preview at zoom %q", zoom)
		}
	}
	run("sign", chromedp.Click(chromedp.ID("consent")), chromedp.Click(chromedp.ID("sign")), chromedp.WaitVisible(chromedp.ID("message")))
	if msg, _ := textOf(ctx, "#message"); !strings.Contains(msg, "ondertekend") {
		t.Fatalf("after signing: %q", msg)
	}
	check(t, ctx, dir, "05-signed-nl")
	if pr, err := e.p.Status(context.Background(), refA); err != nil || pr.Status != signing.ProgressCompleted {
		t.Fatalf("signing A: %+v %v", pr, err)
	}
	if dir := os.Getenv("SCREENSHOTS_DIR"); dir != "" {
		signed := testkit.ReadAll(t)(e.p.Signed(context.Background(), refA, 0))
		f := filepath.Join(t.TempDir(), "signed.pdf")
		if err := os.WriteFile(f, signed, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("pdftoppm", "-jpeg", "-r", "80", "-f", "1", "-l", "1", "-singlefile", f, filepath.Join(dir, "signed-page")).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v %s", err, out)
		}
	}

	// Another signer's link in the same browser: Anna's session does not count there.
	run("carla's link", chromedp.Navigate(e.link(t, "carla@example.nl")+"?lang=nl"), chromedp.WaitVisible(chromedp.ID("send-code")))
	signForms, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#sign-form").length`))
	if err != nil || signForms != 0 {
		t.Fatal("another signer's link showed the sign form without their code")
	}

	// Bob declines, in English.
	run("bob", chromedp.Navigate(e.link(t, "bob@example.nl")+"?lang=en"), chromedp.WaitVisible(chromedp.ID("decline-form")))
	waitRendered(t, ctx, "1")
	check(t, ctx, dir, "06-sign-en")
	// The empty reason box is not shown as an error before the signer touched it.
	colours, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#reason")).borderColor`))
	if err != nil {
		t.Fatal(err)
	}
	run("reason", chromedp.SendKeys(chromedp.ID("reason"), "The amount is wrong"))
	typed, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.blur(), getComputedStyle(document.querySelector("#reason")).borderColor`))
	if colours != typed {
		t.Errorf("the untouched reason box has border %s, a filled one %s: it looks wrong before anything was typed", colours, typed)
	}
	run("decline", chromedp.Click(chromedp.ID("decline")), chromedp.WaitVisible(chromedp.ID("confirm-decline")))
	check(t, ctx, dir, "07a-confirm-decline-en")
	if pr, _ := e.p.Status(context.Background(), refB); pr.Status == signing.ProgressDeclined {
		t.Fatal("declined with one click, before the confirmation")
	}
	if r, _ := textOf(ctx, "#confirm-reason"); !strings.Contains(r, "The amount is wrong") {
		t.Errorf("the confirmation does not show the reason: %q", r)
	}
	run("confirm decline", chromedp.Click(chromedp.ID("confirm-decline")), chromedp.WaitVisible(chromedp.ID("message")))
	if msg, _ := textOf(ctx, "#message"); !strings.Contains(msg, "declined") {
		t.Fatalf("after declining: %q", msg)
	}
	check(t, ctx, dir, "07-declined-en")
	if pr, err := e.p.Status(context.Background(), refB); err != nil || pr.Status != signing.ProgressDeclined || pr.Reden != "The amount is wrong" {
		t.Fatalf("signing B: %+v %v", pr, err)
	}

	// English auth page and an expired link, in both languages.
	run("carla en", chromedp.Navigate(e.link(t, "carla@example.nl")+"?lang=en"), chromedp.WaitVisible(chromedp.ID("send-code")))
	check(t, ctx, dir, "08-auth-en")
	e.clock.Add(8 * 24 * time.Hour)
	for _, lang := range []string{"nl", "en"} {
		run("expired", chromedp.Navigate(e.link(t, "carla@example.nl")+"?lang="+lang), chromedp.WaitVisible(chromedp.ID("message")))
		msg, _ := textOf(ctx, "#message")
		if !strings.Contains(msg, map[string]string{"nl": "verlopen", "en": "expired"}[lang]) {
			t.Fatalf("expired link (%s): %q", lang, msg)
		}
		check(t, ctx, dir, "09-expired-"+lang)
	}
}
