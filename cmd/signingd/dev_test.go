package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/store/dbtest"
)

// devRun is one `signingd dev` running in the test.
type devRun struct {
	t      *testing.T
	out    *testkit.SyncBuffer
	stderr *testkit.SyncBuffer
	done   chan error
	cancel context.CancelFunc
	env    map[string]string
}

// startDev runs `signingd dev args…` on free ports and waits for its printed instructions.
func startDev(t *testing.T, dbURL string, args ...string) *devRun {
	t.Helper()
	d := &devRun{t: t, out: &testkit.SyncBuffer{}, stderr: &testkit.SyncBuffer{}, done: make(chan error, 1)}
	d.env = map[string]string{"LISTEN_ADDR": freeAddr(t), "SIM_ADDR": freeAddr(t), "VENDOR_ADDR": freeAddr(t),
		"SHUTDOWN_TIMEOUT": "5s", "LOG_LEVEL": "warn", "DATABASE_URL": dbURL}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() { d.done <- run(ctx, append([]string{"dev"}, args...), envFunc(d.env), d.out, d.stderr) }()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("dev stdout:\n%s\ndev stderr:\n%s", d.out.String(), d.stderr.String())
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(d.out.String(), "# 5.") {
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("dev ended before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("dev printed no instructions within 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d
}

// stop is Ctrl-C: dev must return nil within 15 s.
func (d *devRun) stop() {
	d.t.Helper()
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("dev returned %v after Ctrl-C", err)
		}
	case <-time.After(15 * time.Second):
		d.t.Error("dev did not stop within 15 s of Ctrl-C")
	}
}

// find returns the first submatches of re in dev's output.
func (d *devRun) find(re string) []string {
	d.t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(d.out.String())
	if m == nil {
		d.t.Fatalf("dev's output lacks %s:\n%s", re, d.out.String())
	}
	return m
}

// waitOutput waits until dev printed a line containing s.
func (d *devRun) waitOutput(s string, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(d.out.String(), s) {
		if time.Now().After(deadline) {
			d.t.Fatalf("dev did not print %q within %s", s, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func httpDo(t *testing.T, c *http.Client, method, u string, body io.Reader, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestDevBuiltin follows dev's printed instructions with the built-in signer: token, trigger,
// both signers through the links and the SMS code in the dev outbox (over plain HTTP, with the
// pages' CSRF tokens), until the case system's subscription received OndertekenenVoltooid.
func TestDevBuiltin(t *testing.T) {
	d := startDev(t, dbtest.NewDatabase(t), "--dir", t.TempDir(), "--database=")

	// dev runs with demo keys (serve would refuse to start without keys) and says so.
	d.find(`dev: SECRET_KEY is the published demo value`)
	d.find(`dev: KEY_ENCRYPTION_KEY is the published demo value`)

	// 1. The token, with the printed credentials at the printed URL.
	secret := d.find(`client_secret: (\S+)`)[1]
	apiKey := d.find(`api_key:\s+(\S+)`)[1]
	tok := d.find(`RES=\$\(curl -sS -u '([^:']+):([^']+)' -d grant_type=client_credentials (\S+) 2>&1\)`)
	if tok[1] != d.find(`client_id:\s+(\S+)`)[1] || tok[2] != secret {
		t.Fatalf("the token command uses other credentials than printed: %q", tok[0])
	}
	req, _ := http.NewRequest(http.MethodPost, tok[3], strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(tok[1], tok[2])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var token struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&token)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || token.AccessToken == "" {
		t.Fatalf("token: %d", res.StatusCode)
	}
	bearer := "Bearer " + token.AccessToken

	// 2. The printed trigger file.
	post := d.find(`RES=\$\(curl -sS -X POST (\S+) .* --data @(\S+) 2>&1\)`)
	trigger, err := os.ReadFile(post[2])
	if err != nil {
		t.Fatal(err)
	}
	code, body := httpDo(t, nil, http.MethodPost, post[1], bytes.NewReader(trigger), "Authorization", bearer, "Content-Type", "application/json")
	var created struct {
		TransactionID string `json:"transaction_id"`
	}
	if _ = json.Unmarshal([]byte(body), &created); code != http.StatusOK || created.TransactionID == "" {
		t.Fatalf("trigger: %d %s", code, body)
	}
	id := created.TransactionID

	// 3. The status, with the token and with the API key.
	status := strings.Replace(d.find(`curl -s (\S+/api/v1/transactions/)\$ID`)[1], "$ID", "", 1) + id
	if code, body := httpDo(t, nil, http.MethodGet, status, nil, "X-API-Key", apiKey); code != http.StatusOK || !strings.Contains(body, id) {
		t.Fatalf("status with the API key: %d %s", code, body)
	}

	// 4. Sign as each signer, from the outbox.
	outbox := d.find(`Open (\S+/dev/outbox):`)[1]
	link1 := waitOutboxLink(t, outbox, devSigner1Email)
	b := newDevBrowser(t)
	b.submit(link1, "/code", nil)
	sms := outboxMessages(t, outbox, "sms", "")
	if len(sms) == 0 {
		t.Fatal("no SMS in the outbox after asking for a code")
	}
	otp := regexp.MustCompile(`\b(\d{6})\b`).FindStringSubmatch(sms[0])
	if otp == nil {
		t.Fatalf("no code in the SMS %q", sms[0])
	}
	if page := b.submit(link1, "/verify", url.Values{"code": {otp[1]}}); !strings.Contains(page, `id="sign-form"`) {
		t.Fatalf("after the code: %s", page)
	}
	if page := b.submit(link1, "/sign", url.Values{"consent": {"yes"}}); !strings.Contains(page, "U heeft de documenten ondertekend") {
		t.Fatalf("after signing as signer 1: %s", page)
	}
	link2 := waitOutboxLink(t, outbox, devSigner2Email)
	if page := newDevBrowser(t).submit(link2, "/sign", url.Values{"consent": {"yes"}}); !strings.Contains(page, "U heeft de documenten ondertekend") {
		t.Fatalf("after signing as signer 2: %s", page)
	}

	// 5. The notification reaches the case system's callback (dev prints it) and the sim's deliveries.
	d.waitOutput("ZAC received notification OndertekenenVoltooid: transaction_id="+id, 90*time.Second)
	deliveries := d.find(`curl -s (\S+/_sim/deliveries)`)[1]
	var ds []struct {
		Delivered bool `json:"delivered"`
		Message   struct {
			Actie     string            `json:"actie"`
			Kenmerken map[string]string `json:"kenmerken"`
		} `json:"message"`
	}
	// the simulator records a delivery once the callback answered, a moment after dev printed it
	n := 0
	for deadline := time.Now().Add(10 * time.Second); n == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, body = httpDo(t, nil, http.MethodGet, deliveries, nil)
		if err := json.Unmarshal([]byte(body), &ds); err != nil {
			t.Fatalf("deliveries: %v %s", err, body)
		}
		for _, dl := range ds {
			if dl.Delivered && dl.Message.Actie == "OndertekenenVoltooid" && dl.Message.Kenmerken["transaction_id"] == id {
				n++
			}
		}
	}
	if n != 1 {
		t.Errorf("%d deliveries of OndertekenenVoltooid for %s, want 1: %s", n, id, body)
	}
	// The NRC delivers while signingd's publish is in flight; completed follows its 201.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, body := httpDo(t, nil, http.MethodGet, status, nil, "Authorization", bearer)
		if code == http.StatusOK && strings.Contains(body, `"status":"completed"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after the notification: %d %s", code, body)
		}
	}
	// The signed versions are in the simulated DRC: version 2 of the first document.
	versions := d.find(`curl -s (\S+/_sim/documents/\S+/versions)`)[1]
	_, body = httpDo(t, nil, http.MethodGet, versions, nil)
	if !strings.Contains(body, `"versie":2`) {
		t.Fatalf("no signed version 2 of the first document: %s", body)
	}
	// It is B-LTA with revocation data: the demo CA's responder answered for the signer's
	// certificate and the TSA's, and the document security store holds both answers.
	var vs []struct {
		Versie   int            `json:"versie"`
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(body), &vs); err != nil || len(vs) < 2 {
		t.Fatalf("versions: %v %s", err, body)
	}
	inhoud, _ := vs[1].Metadata["inhoud"].(string)
	code, pdf := httpDo(t, nil, http.MethodGet, inhoud, nil)
	if code != http.StatusOK {
		t.Fatalf("download %s: %d", inhoud, code)
	}
	dss, err := pades.ReadDSS(context.Background(), strings.NewReader(pdf), int64(len(pdf)))
	if err != nil || len(dss.OCSPs) != 2 {
		t.Errorf("signed document: DSS with %d OCSP responses (%v), want 2 (signer and TSA)", len(dss.OCSPs), err)
	}
}

// commandLines returns the printed lines meant to be pasted: indented, not comments.
func commandLines(out string) []string {
	var cmds []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "    ") && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			cmds = append(cmds, strings.TrimSpace(l))
		}
	}
	return cmds
}

func bash(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("bash", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s\n%s", err, script, out)
	}
	return string(out)
}

// TestDevThrowawayCluster: when DATABASE_URL does not answer (or with --local-pg) dev runs its own
// PostgreSQL under --dir, serves on it, and removes it on Ctrl-C.
func TestDevThrowawayCluster(t *testing.T) {
	if _, _, err := pgBinaries(); err != nil {
		t.Skipf("no PostgreSQL binaries for a throwaway cluster: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "dev")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// As root, PostgreSQL runs as another user, who must be able to enter the test's directories.
	for p := dir; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		_ = os.Chmod(p, 0o755)
	}
	start := time.Now()
	d := startDev(t, "postgres://nobody@127.0.0.1:1/none", "--dir", dir) // nothing answers on port 1
	d.find(`PostgreSQL at postgres://nobody@127.0.0.1:1/none does not answer .*; starting a throwaway cluster under ` + regexp.QuoteMeta(filepath.Join(dir, "pg")))
	db := d.find(`database\s+(postgres://\S+)`)[1]
	if !strings.Contains(db, "127.0.0.1:") || strings.Contains(db, ":1/") || !strings.Contains(db, "/signingd_dev?") {
		t.Fatalf("database %s, want signingd_dev on the throwaway cluster", db)
	}
	if _, err := os.Stat(filepath.Join(dir, "pg", "PG_VERSION")); err != nil {
		t.Fatalf("no cluster under %s: %v", dir, err)
	}
	if code, _ := httpDo(t, nil, http.MethodGet, "http://"+d.env["LISTEN_ADDR"]+"/readyz", nil); code != http.StatusOK {
		t.Fatalf("readyz on the throwaway cluster: %d", code)
	}
	t.Logf("dev with a throwaway cluster ready in %s", time.Since(start).Round(time.Millisecond))
	d.stop()
	if _, err := os.Stat(filepath.Join(dir, "pg")); !os.IsNotExist(err) {
		t.Errorf("the cluster is still there after Ctrl-C: %v", err)
	}
	if err := pingDatabase(context.Background(), db); err == nil {
		t.Error("the throwaway cluster still answers after Ctrl-C")
	}
}

// devBrowser is a signer's browser: its own cookies, no automatic redirects.
type devBrowser struct {
	t *testing.T
	c *http.Client
}

func newDevBrowser(t *testing.T) *devBrowser {
	jar, _ := cookiejar.New(nil)
	return &devBrowser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var devCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// submit opens the page at link, posts a form to link+action with the page's CSRF token, and
// returns the page it is redirected to.
func (b *devBrowser) submit(link, action string, form url.Values) string {
	b.t.Helper()
	_, page := httpDo(b.t, b.c, http.MethodGet, link, nil)
	m := devCSRF.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s: %s", link, page)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", m[1])
	req, _ := http.NewRequest(http.MethodPost, link+action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return string(body)
	}
	next, _ := url.Parse(link)
	loc, _ := url.Parse(res.Header.Get("Location"))
	_, page = httpDo(b.t, b.c, http.MethodGet, next.ResolveReference(loc).String(), nil)
	return page
}

var outboxArticle = regexp.MustCompile(`(?s)<article class="message" data-kind="([a-z]+)" data-to="([^"]*)">(.*?)</article>`)

// outboxMessages returns the bodies of the outbox's messages of kind (to whom, when to is set),
// newest first.
func outboxMessages(t *testing.T, outbox, kind, to string) []string {
	t.Helper()
	code, page := httpDo(t, nil, http.MethodGet, outbox, nil)
	if code != http.StatusOK {
		t.Fatalf("outbox: %d", code)
	}
	var out []string
	for _, m := range outboxArticle.FindAllStringSubmatch(page, -1) {
		if m[1] == kind && (to == "" || m[2] == to) {
			out = append(out, m[3])
		}
	}
	return out
}

// waitOutboxLink waits for the signer's invitation and returns its link.
func waitOutboxLink(t *testing.T, outbox, email string) string {
	t.Helper()
	link := regexp.MustCompile(`https?://[^\s<"]+/sign/[A-Za-z0-9_-]{43}`)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		for _, m := range outboxMessages(t, outbox, "email", email) {
			if l := link.FindString(m); l != "" {
				return l
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no invitation to %s in %s", email, outbox)
	return ""
}

// TestSim runs the simulators on their own: the printed API roots answer, and the vendor's too,
// the simulated vendor's and OneSpan's (which wants its API key).
func TestSim(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		banner  string
		list    string // the vendor's list of signings
		auth    string // the credentials header the list needs, "Name: value"
		webhook string // where the vendor's callbacks go by default
	}{
		{[]string{"sim", "--vendor"}, "vendor simulator on", "/api/signings", "", "/providers/simulated/webhook"},
		{[]string{"sim", "--vendor", "onespan"}, "OneSpan Sign / ValidSign simulator on", "/api/packages", "Authorization: Basic " + demoOneSpanKey, "/providers/onespan/webhook"},
		{[]string{"sim", "--vendor=onespan"}, "OneSpan Sign / ValidSign simulator on", "/api/packages", "Authorization: Basic " + demoOneSpanKey, "/providers/onespan/webhook"},
		{[]string{"sim", "--vendor", "docuseal"}, "DocuSeal (Pro) simulator on", "/api/submissions", "X-Auth-Token: " + demoDocuSealKey, "/providers/docuseal/webhook"},
		{[]string{"sim", "--vendor", "documenso"}, "Documenso simulator on", "/api/v2/envelope", "Authorization: Bearer " + demoDocumensoKey, "/providers/documenso/webhook"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			simAddr, vendorAddr := freeAddr(t), freeAddr(t)
			out := &testkit.SyncBuffer{}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, tt.args, envFunc(map[string]string{"SIM_ADDR": simAddr, "VENDOR_ADDR": vendorAddr, "WEBHOOK_SECRET": "s"}), out, io.Discard)
			}()
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(out.String(), tt.banner) {
				if time.Now().After(deadline) {
					t.Fatalf("sim printed no roots: %s", out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			drc := regexp.MustCompile(`DRC\s+(\S+)`).FindStringSubmatch(out.String())
			if drc == nil || !strings.Contains(drc[1], simAddr[strings.LastIndexByte(simAddr, ':'):]) {
				t.Fatalf("DRC root: %s", out.String())
			}
			if code, body := httpDo(t, nil, http.MethodGet, drc[1]+"/enkelvoudiginformatieobjecten", nil); code != http.StatusOK {
				t.Errorf("GET DRC: %d %s", code, body)
			}
			if !strings.Contains(out.String(), "localhost:8080/api/v1"+tt.webhook) {
				t.Errorf("callbacks do not go to signingd's %s: %s", tt.webhook, out.String())
			}
			list := "http://" + vendorAddr + tt.list
			var header []string
			if name, value, ok := strings.Cut(tt.auth, ": "); ok {
				header = []string{name, value}
			}
			if tt.auth != "" {
				if code, _ := httpDo(t, nil, http.MethodGet, list, nil); code != http.StatusUnauthorized {
					t.Errorf("GET vendor list without the API key: %d, want 401", code)
				}
			}
			if code, body := httpDo(t, nil, http.MethodGet, list, nil, header...); code != http.StatusOK {
				t.Errorf("GET vendor list: %d %s", code, body)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("sim returned %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("sim did not stop")
			}
		})
	}
}
