package builtin

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// clock is a movable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	certOnce sync.Once
	testCert Certificate
	testCA   *x509.Certificate
)

// env is one provider with its signer pages on a loopback HTTP server.
// The service's store is the one the built-in signer declares.
var _ Store = store.BuiltinStore{}

type env struct {
	p        *Provider
	st       *store.Store
	outbox   *Outbox
	clock    *clock
	url      string
	progress chan string
}

func setup(t *testing.T, with ...func(*Options)) *env {
	t.Helper()
	certOnce.Do(func() {
		var err error
		if testCert, testCA, err = DevCertificate("Gemeente Testdorp ondertekening"); err != nil {
			panic(err)
		}
	})
	e := &env{st: store.New(dbtest.Pool(t), store.Jobs{}), outbox: NewOutbox(), clock: &clock{t: time.Now().UTC()}, progress: make(chan string, 100)}
	router := echo.New()
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	var err error
	o := Options{Store: store.BuiltinStore{Store: e.st}, PublicURL: srv.URL, Mailer: e.outbox, SMS: e.outbox, Certificate: testCert,
		Secret: []byte("test secret of at least 16 bytes"), Outbox: e.outbox, Now: e.clock.Now,
		ReminderInterval: 48 * time.Hour, ExpiryWarning: 24 * time.Hour, LinkExpiry: 7 * 24 * time.Hour, OTPLockout: 15 * time.Minute,
		Location: amsterdam(t),
		Brands: map[string]Brand{testRSIN: {Name: "Gemeente Testdorp", Logo: testLogo(t), Colour: "#01689b",
			ReplyTo: "balie@testdorp.example"}},
		Logger:   slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Progress: func(_ context.Context, provider, ref string) error { e.progress <- provider + ":" + ref; return nil }}
	for _, f := range with {
		f(&o)
	}
	e.p, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.p.Mount(router)
	return e
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// makePDF returns a small valid PDF whose pages carry the given lines in Helvetica.
func makePDF(pages ...[]string) []byte {
	var b bytes.Buffer
	offsets := []int{}
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	n := len(pages)
	kids := []string{}
	for i := range pages {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+2*i))
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	for i, lines := range pages {
		var c strings.Builder
		c.WriteString("BT /F1 12 Tf 72 760 Td 16 TL\n")
		for _, l := range lines {
			fmt.Fprintf(&c, "(%s) Tj T*\n", strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(l))
		}
		c.WriteString("ET")
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", c.Len(), c.String()))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

func pdfDoc(pos int, title string, content []byte) signing.ProviderDocument {
	return signing.ProviderDocument{Position: pos, Titel: title, Bestandsnaam: title + ".pdf", Formaat: "application/pdf",
		Size: int64(len(content)), Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil }}
}

// create starts a signing of the given documents and signers and returns its reference.
func (e *env) create(t *testing.T, docs []signing.ProviderDocument, signers ...signing.ProviderSigner) string {
	t.Helper()
	ref, err := e.p.Create(context.Background(), signing.CreateRequest{TransactionID: uuid.New(), Naam: "Omgevingsvergunning Dorpsstraat 1",
		Organisation: signing.Organisation{RSIN: testRSIN, Name: "Gemeente Testdorp"},
		Eigenaar:     "behandelaar@testdorp.example", Deadline: e.clock.Now().Add(30 * 24 * time.Hour), Documents: docs, Signers: signers})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return ref
}

func signer(pos, volgorde int, email, method, value, ident string) signing.ProviderSigner {
	s := signing.ProviderSigner{Position: pos, Email: email, Voornaam: "Test", Achternaam: fmt.Sprintf("Ondertekenaar %d", pos+1),
		Identificatie: ident, Volgorde: volgorde}
	if method != "" {
		s.Authenticatie = &signing.Authenticatie{Methode: method, Waarde: value}
	}
	return s
}

var linkRE = regexp.MustCompile(`/sign/([A-Za-z0-9_-]{43})`)
var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// lastMessage returns the newest outbox message to to, of kind.
func (e *env) lastMessage(t *testing.T, kind, to string) (Message, bool) {
	t.Helper()
	for _, m := range e.outbox.Messages() {
		if m.Kind == kind && m.To == to {
			return m, true
		}
	}
	return Message{}, false
}

// link returns the newest signer link sent to email.
func (e *env) link(t *testing.T, email string) string {
	t.Helper()
	m, ok := e.lastMessage(t, "email", email)
	if !ok {
		t.Fatalf("no e-mail to %s", email)
	}
	sub := linkRE.FindStringSubmatch(m.Body)
	if sub == nil {
		t.Fatalf("no link in mail to %s: %q", email, m.Body)
	}
	return e.url + "/sign/" + sub[1]
}

// code returns the newest code sent by the given kind to to.
func (e *env) code(t *testing.T, kind, to string) string {
	t.Helper()
	m, ok := e.lastMessage(t, kind, to)
	if !ok {
		t.Fatalf("no %s to %s", kind, to)
	}
	sub := codeRE.FindStringSubmatch(m.Body)
	if sub == nil {
		t.Fatalf("no code in %s to %s", kind, to)
	}
	return sub[1]
}

// browser is an HTTP client with its own cookies that does not follow redirects.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, u string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "signingd-test/1.0")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Header
}

func (b *browser) get(u string) (int, string) {
	b.t.Helper()
	code, body, _ := b.do(http.MethodGet, u, nil)
	return code, body
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// post submits a form of the page at link with the page's CSRF token, and follows the redirect.
func (b *browser) post(link, action string, form url.Values) (int, string) {
	b.t.Helper()
	_, page := b.get(link)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no csrf token on %s", page)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", m[1])
	code, body, h := b.do(http.MethodPost, link+action, form)
	if code == http.StatusSeeOther {
		return b.get(resolveURL(link, h.Get("Location")))
	}
	return code, body
}

func resolveURL(base, loc string) string {
	u, _ := url.Parse(base)
	l, _ := url.Parse(loc)
	return u.ResolveReference(l).String()
}

func amsterdam(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// testRSIN is the organisation of the tests' signings; it has a brand.
const testRSIN = "002220647"

// testLogo is a 40×40 PNG in the organisation's colour.
func testLogo(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 40))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{0x01, 0x68, 0x9b, 0xff}}, image.Point{}, draw.Src)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
