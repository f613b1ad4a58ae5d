package e2e

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/simulated"
)

// vendorKit is what the conformance suite needs of a vendor: its simulator, its adapter pointed
// at it, and a way to act as its signers. Everything else the suite does to a vendor (failing
// its API, damaging its output, losing, repeating and forging its callbacks) happens around it,
// the same for every vendor, so that a new adapter needs only this to run every scenario.
type vendorKit interface {
	// Name is the provider's name in the landscape and its webhook URL.
	Name() string
	// Handler serves the simulator's API.
	Handler() http.Handler
	// Provider is the adapter, calling the simulator at baseURL, polling every pollInterval.
	Provider(baseURL string, pollInterval time.Duration) signing.Provider
	// SetWebhook tells the simulator where its callbacks go.
	SetWebhook(url string)
	// Sign signs as the signer with email once the vendor invites them; Decline declines.
	Sign(t testing.TB, ref, email string)
	Decline(t testing.TB, ref, email, reason string)
	// Expire lets the vendor's own deadline pass.
	Expire(t testing.TB, ref string)
	// SMS is the method standing in for the suite's SMS signer: sms, or the vendor's second factor
	// when it has no SMS code (Documenso mails one).
	SMS() string
	// Lacks is a signer authentication method the vendor does not have ("" when it has all):
	// a trigger asking for it is refused at intake.
	Lacks() string
	// Signatures is how many PAdES signatures a document signed by n signers carries: one per
	// signer, or the vendor's one seal (Documenso).
	Signatures(n int) int
	// Root is the CA of the simulator's signatures, for pdfsig.
	Root() *x509.Certificate
	// Close stops the simulator and fails t for anything it refused of the adapter's requests.
	Close(t testing.TB)
}

// simulatedKit is the simulated vendor as a vendorKit.
type simulatedKit struct {
	srv *simulated.Server
	url string // set by Provider
}

func (k *simulatedKit) Name() string            { return simulated.Name }
func (k *simulatedKit) Handler() http.Handler   { return k.srv.Handler() }
func (k *simulatedKit) Root() *x509.Certificate { return k.srv.Root() }
func (k *simulatedKit) SMS() string             { return signing.AuthSMS }
func (k *simulatedKit) Signatures(n int) int    { return n }
func (k *simulatedKit) Lacks() string           { return "" }
func (k *simulatedKit) Close(testing.TB)        { k.srv.Close() }
func (k *simulatedKit) SetWebhook(url string)   { k.srv.SetWebhook(url, webhookSecret) }

func (k *simulatedKit) Provider(baseURL string, poll time.Duration) signing.Provider {
	k.url = baseURL
	return simulated.New(simulated.Config{BaseURL: baseURL, WebhookSecret: webhookSecret, PollInterval: poll})
}

// position waits until the vendor invites the signer and returns their position.
func (k *simulatedKit) position(t testing.TB, ref, email string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var v struct {
			Signers []struct {
				Position int    `json:"position"`
				Email    string `json:"email"`
				Status   string `json:"status"`
			} `json:"signers"`
		}
		if code, body := kitCall(t, http.MethodGet, k.url+"/api/signings/"+ref, nil); code == http.StatusOK {
			_ = json.Unmarshal(body, &v)
		}
		for _, s := range v.Signers {
			if s.Email == email && s.Status == signing.SignerInvited {
				return s.Position
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the vendor never invited %s", email)
	return -1
}

func (k *simulatedKit) Sign(t testing.TB, ref, email string) {
	t.Helper()
	if code, body := kitCall(t, http.MethodPost, fmt.Sprintf("%s/api/signings/%s/signers/%d/sign", k.url, ref, k.position(t, ref, email)), nil); code != http.StatusOK {
		t.Fatalf("sign as %s: %d %s", email, code, body)
	}
}

func (k *simulatedKit) Decline(t testing.TB, ref, email, reason string) {
	t.Helper()
	url := fmt.Sprintf("%s/api/signings/%s/signers/%d/decline", k.url, ref, k.position(t, ref, email))
	if code, body := kitCall(t, http.MethodPost, url, map[string]string{"reden": reason}); code != http.StatusOK {
		t.Fatalf("decline as %s: %d %s", email, code, body)
	}
}

func (k *simulatedKit) Expire(t testing.TB, ref string) {
	t.Helper()
	if code, body := kitCall(t, http.MethodPost, k.url+"/api/signings/"+ref+"/expire", nil); code != http.StatusOK {
		t.Fatalf("expire: %d %s", code, body)
	}
}

// kitHeader marks the suite's own calls to a simulator, which vendor faults leave alone.
const kitHeader = "X-Conformance-Driver"

func kitCall(t testing.TB, method, url string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(kitHeader, "1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// vendorFaults sits in front of a simulator: it fails the adapter's next calls, or damages the
// PDFs the vendor hands out, as a vendor having a bad day does.
type vendorFaults struct {
	mu         sync.Mutex
	failNext   []int // statuses for the next calls, in order
	retryAfter int   // seconds, sent with 429 and 503
	failed     int
	damage     bool
}

func (f *vendorFaults) fail(retryAfter int, statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext, f.retryAfter = append(f.failNext, statuses...), retryAfter
}

func (f *vendorFaults) damageOutput() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.damage = true
}

func (f *vendorFaults) fired() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *vendorFaults) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(kitHeader) != "" {
			next.ServeHTTP(w, r)
			return
		}
		f.mu.Lock()
		status, damage := 0, f.damage
		if len(f.failNext) > 0 {
			status, f.failNext = f.failNext[0], f.failNext[1:]
			f.failed++
		}
		retryAfter := f.retryAfter
		f.mu.Unlock()
		if status != 0 {
			if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
			}
			http.Error(w, "simulated vendor fault", status)
			return
		}
		if !damage {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{header: http.Header{}}
		next.ServeHTTP(rec, r)
		body := rec.body.Bytes()
		if ct := rec.header.Get("Content-Type"); bytes.HasPrefix(body, []byte("%PDF-")) && !strings.Contains(r.URL.Path, "evidence") && !strings.Contains(r.URL.Path, "audit") {
			body = []byte("%PDF-1.7\nnot a signed document at all\n%%EOF\n")
			rec.header.Set("Content-Type", ct)
			rec.header.Del("Content-Length")
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(cmpStatus(rec.status))
		_, _ = w.Write(body)
	})
}

func cmpStatus(s int) int {
	if s == 0 {
		return http.StatusOK
	}
	return s
}

type recorder struct {
	header http.Header
	body   bytes.Buffer
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(s int)           { r.status = s }

// callbacks sits in front of signingd's webhook route: it records every callback a vendor sends,
// can lose the next ones (answering as if delivered), and replays or forges a recorded one.
type callbacks struct {
	mu       sync.Mutex
	next     http.Handler
	seen     []*http.Request
	bodies   [][]byte
	answered []int // what signingd answered each; 0 while in flight or lost
	drop     int
	lost     int
}

func (c *callbacks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/v1/providers/") || r.Header.Get(kitHeader) != "" {
		c.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	i := len(c.seen)
	c.seen, c.bodies, c.answered = append(c.seen, r.Clone(r.Context())), append(c.bodies, body), append(c.answered, 0)
	lose := c.drop > 0
	if lose {
		c.drop--
		c.lost++
	}
	c.mu.Unlock()
	if lose {
		w.WriteHeader(http.StatusOK) // the vendor believes it delivered
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	c.next.ServeHTTP(sw, r)
	c.mu.Lock()
	c.answered[i] = sw.status
	c.mu.Unlock()
}

// accepted is the index of the first callback signingd took (2xx), or -1.
func (c *callbacks) accepted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.answered {
		if s/100 == 2 {
			return i
		}
	}
	return -1
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

// delivery is how signingd names recorded callback i: the provider and the SHA-256 of its body.
func (c *callbacks) delivery(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := strings.TrimSuffix(strings.TrimPrefix(c.seen[i].URL.Path, "/api/v1/providers/"), "/webhook")
	sum := sha256.Sum256(c.bodies[i])
	return name + ":" + hex.EncodeToString(sum[:])
}

// loseAll loses every callback from now on.
func (c *callbacks) loseAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop = 1 << 30
}

func (c *callbacks) count() (seen, lost int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen), c.lost
}

// replay sends recorded callback i again, headers and body byte for byte; forge sends it with
// every credential header changed (Authorization, X-…-Signature, X-…-Secret). Both return the
// status signingd answered.
func (c *callbacks) replay(t testing.TB, base string, i int, forge bool) int {
	t.Helper()
	c.mu.Lock()
	orig, body := c.seen[i], c.bodies[i]
	c.mu.Unlock()
	req, err := http.NewRequest(orig.Method, base+orig.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range orig.Header {
		req.Header[k] = v
	}
	req.Header.Set(kitHeader, "1")
	if forge {
		changed := 0
		for k, v := range req.Header {
			lk := strings.ToLower(k)
			if lk == "authorization" || strings.HasSuffix(lk, "-signature") || strings.HasSuffix(lk, "-secret") {
				req.Header.Set(k, forged(v[0]))
				changed++
			}
		}
		if changed == 0 {
			t.Fatalf("callback %d carries no credential header to forge: %v", i, req.Header)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// forged is v with its last character changed: the same shape, the wrong value.
func forged(v string) string {
	if v == "" {
		return "x"
	}
	last := v[len(v)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return v[:len(v)-1] + string(repl)
}
