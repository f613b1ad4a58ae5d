package builtin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/signingd/signingd/signing"
)

// A session id planted in the victim's browser before they authenticate is worthless afterwards:
// the right code issues a new id, and the old one stays unauthenticated.
func TestSessionFixation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.create(t, []signing.ProviderDocument{pdfDoc(0, "Brief", makePDF([]string{"Brief"}))},
		signer(0, 1, "a@example.nl", "email", "", ""))
	link := e.link(t, "a@example.nl")
	attacker := newBrowser(t)
	attacker.get(link)
	u, _ := url.Parse(link)
	planted := attacker.c.Jar.Cookies(u)
	if len(planted) != 1 {
		t.Fatalf("attacker has cookies %v", planted)
	}
	victim := newBrowser(t)
	victim.c.Jar.SetCookies(u, []*http.Cookie{{Name: planted[0].Name, Value: planted[0].Value, Path: u.Path}})
	victim.post(link, "/code", nil)
	if _, page := victim.post(link, "/verify", url.Values{"code": {e.code(t, "email", "a@example.nl")}}); !strings.Contains(page, `id="sign-form"`) {
		t.Fatalf("victim not signed in: %s", page)
	}
	if now := victim.c.Jar.Cookies(u); len(now) != 1 || now[0].Value == planted[0].Value {
		t.Fatalf("session id not renewed on authentication: %v", now)
	}
	if c, _ := attacker.get(link + "/documents/0"); c != http.StatusForbidden {
		t.Fatalf("planted session reads the document: %d", c)
	}
	if _, page := attacker.get(link); strings.Contains(page, `id="sign-form"`) {
		t.Fatal("planted session reaches the sign form")
	}
}

// The signer's evidence takes the TCP peer, not a forwarded header from an untrusted peer, and a
// flood of page views stores a bounded number of sessions and events.
func TestPageViewsBounded(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ref := e.create(t, []signing.ProviderDocument{pdfDoc(0, "Brief", makePDF([]string{"Brief"}))},
		signer(0, 1, "a@example.nl", "email", "", ""))
	link := e.link(t, "a@example.nl")
	big := strings.Repeat("9", 100_000)
	for range 3 * maxPageEventsPerType {
		req, _ := http.NewRequest(http.MethodGet, link, nil)
		req.Header.Set("X-Real-IP", big)
		req.Header.Set("X-Forwarded-For", "10.9.8.7 via gemeente-proxy")
		resp, err := http.DefaultClient.Do(req) // no cookie jar: every view is a new browser
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("page: %d", resp.StatusCode)
		}
	}
	ctx := context.Background()
	evs, err := e.st.BuiltinEvents(ctx, mustUUID(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, ev := range evs {
		if ev.Type != "opened" {
			continue
		}
		opened++
		if ev.IP != "127.0.0.1" {
			t.Fatalf("evidence IP %.60q, want the TCP peer", ev.IP)
		}
	}
	if opened != maxPageEventsPerType {
		t.Fatalf("%d opened events, want %d", opened, maxPageEventsPerType)
	}
	var sessions int
	if err := e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM builtin_sessions WHERE signing_id = $1`, mustUUID(t, ref)).Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	if sessions != maxSessionsPerSigner {
		t.Fatalf("%d sessions, want %d", sessions, maxSessionsPerSigner)
	}
}

// The signer pages' static directory serves its files and lists no directory.
func TestStaticServesFilesOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := newBrowser(t)
	for path, want := range map[string]int{
		"/sign/static/":                 http.StatusNotFound,
		"/sign/static":                  http.StatusNotFound,
		"/sign/static/vendor/":          http.StatusNotFound,
		"/sign/static/vendor":           http.StatusNotFound,
		"/sign/static/../static/":       http.StatusNotFound,
		"/sign/static/site.css":         http.StatusOK,
		"/sign/static/does-not-exist.x": http.StatusNotFound,
	} {
		code, body := b.get(e.url + path)
		if code != want || strings.Contains(body, "<a href=") {
			t.Errorf("%s: %d, want %d: %.200s", path, code, want, body)
		}
	}
}
