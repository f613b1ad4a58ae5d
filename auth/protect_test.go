package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/config"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
)

func TestRateLimitPerClientAndAddress(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.ratePerClient = 1; o.ratePerAddress = 1000 })
	id, secret := e.client()
	cc := url.Values{"grant_type": {"client_credentials"}}
	wantStatus(t, e.post(auth.TokenPath, cc, id, secret), 200)
	wantStatus(t, e.post(auth.TokenPath, cc, id, secret), 200) // burst of 2
	r := e.post(auth.TokenPath, cc, id, secret)
	wantStatus(t, r, http.StatusTooManyRequests)
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	// Another client is not affected.
	id2, secret2 := e.client()
	wantStatus(t, e.post(auth.TokenPath, cc, id2, secret2), 200)

	// The address limit meters failed authentications: its burst of two, then 429; a client that
	// authenticates correctly from the same address is still served.
	a := setup(t, func(o *options) { o.ratePerAddress = 1 })
	a.clock.Advance(0) // frozen: no bucket refills
	id, secret = a.client()
	for range 2 {
		wantStatus(t, a.post(auth.TokenPath, cc, id, "sgs_wrong"), http.StatusUnauthorized)
	}
	r = a.post(auth.TokenPath, cc, "client-unknown", "sgs_wrong")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("address limit: %d %v", r.status, r.header)
	}
	for range 3 {
		wantStatus(t, a.post(auth.TokenPath, cc, id, secret), 200)
	}
}

func TestLockoutAndAudit(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.lockout = 3 })
	id, secret := e.client()
	cc := url.Values{"grant_type": {"client_credentials"}}
	for range 3 {
		wantStatus(t, e.post(auth.TokenPath, cc, id, "sgs_wrong"), http.StatusUnauthorized)
	}
	// Locked out, even with the right secret, until the lockout passes.
	r := e.post(auth.TokenPath, cc, id, secret)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("after 3 failures: %d %s", r.status, r.body)
	}
	e.clock.Advance(6 * time.Minute)
	wantStatus(t, e.post(auth.TokenPath, cc, id, secret), 200)

	e.svc.FlushAudit()
	trail, err := e.st.AuditTrail(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range trail {
		if a.ClientID != id && a.ClientID != "" {
			continue // other tests' entries
		}
		got = append(got, a.Event+":"+a.Reason)
		if strings.Contains(a.Reason+a.JTI+a.Scope, secret) {
			t.Error("audit entry holds the secret")
		}
	}
	joined := strings.Join(got, ",")
	for _, want := range []string{"issued:", "refused:wrong secret", "refused:locked out after failed attempts"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit trail %v lacks %q", got, want)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.dbKeys = true })
	id, secret := e.client()
	old := e.token(id, secret)
	jwks := func() []string {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+auth.JWKSPath, nil)
		var set auth.JWKS
		if err := json.Unmarshal(e.send(req).body, &set); err != nil {
			t.Fatal(err)
		}
		var kids []string
		for _, k := range set.Keys {
			kids = append(kids, k.Kid)
		}
		return kids
	}
	h, _ := decode(t, old)
	oldKid := h["kid"].(string)
	before := jwks()
	if len(before) != 2 { // current and next
		t.Fatalf("JWKS before rotation: %v", before)
	}
	if err := e.keys.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	fresh := e.token(id, secret)
	h, _ = decode(t, fresh)
	if h["kid"] == oldKid {
		t.Fatal("rotation did not change the signing key")
	}
	after := jwks()
	if len(after) != 3 || !contains(after, oldKid) || !contains(after, h["kid"].(string)) {
		t.Errorf("JWKS after rotation %v should list previous %s and current %s", after, oldKid, h["kid"])
	}
	// The next key was published before it signed anything.
	if !contains(before, h["kid"].(string)) {
		t.Errorf("new current key %s was not published as next: %v", h["kid"], before)
	}
	wantStatus(t, e.api(old), 200)
	wantStatus(t, e.api(fresh), 200)

	// Two more rotations retire the old key; after the longest token lifetime it is gone.
	for range 2 {
		if err := e.keys.Rotate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(config.MaxTokenTTL + time.Minute)
	if err := e.keys.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if contains(jwks(), oldKid) {
		t.Error("a key retired longer than a token lives is still published")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// An external issuer: tokens verified against its JWKS, claims mapped to an organisation, and an
// unknown kid causing at most one JWKS request per window.
func TestExternalIssuerJWKS(t *testing.T) {
	t.Parallel()
	key, idp, fetches := newIDP(t)
	const iss = "https://keycloak.example/realms/zgw"
	rsin := dbtest.NewRSIN()
	e := setup(t, func(o *options) {
		o.jwksRefreshWindow = time.Hour
		o.issuers = []config.Issuer{{Issuer: iss, JWKSURL: idp.URL, Audience: "signingd", Algorithms: []string{"RS256"},
			OrganisationClaim: "azp", Organisations: map[string]string{"zac-utrecht": rsin}, Scopes: []string{auth.ScopeRead}}}
	})
	if err := e.st.SyncOrganisations(context.Background(), map[string]string{rsin: "Utrecht"}); err != nil {
		t.Fatal(err)
	}
	ext := func(change func(jwt.MapClaims), kid string, m jwt.SigningMethod) string {
		now := time.Now()
		c := jwt.MapClaims{"iss": iss, "aud": "signingd", "azp": "zac-utrecht", "sub": "svc-1", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
		if change != nil {
			change(c)
		}
		return signTyp(t, m, c, kid, "at+jwt", key)
	}
	wantStatus(t, e.api(ext(nil, "kc-1", jwt.SigningMethodRS256)), 200)
	wantStatus(t, e.api(ext(nil, "kc-1", jwt.SigningMethodRS256)), 200)
	for name, tok := range map[string]string{
		"wrong aud":       ext(func(c jwt.MapClaims) { c["aud"] = "other" }, "kc-1", jwt.SigningMethodRS256),
		"expired":         ext(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }, "kc-1", jwt.SigningMethodRS256),
		"alg not allowed": ext(nil, "kc-1", jwt.SigningMethodPS256),
		"wrong iss":       ext(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }, "kc-1", jwt.SigningMethodRS256),
	} {
		if r := e.api(tok); r.status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// An unmapped client is authenticated but has no organisation here.
	wantStatus(t, e.api(ext(func(c jwt.MapClaims) { c["azp"] = "stranger" }, "kc-1", jwt.SigningMethodRS256)), http.StatusForbidden)
	n := fetches.Load()
	for range 20 {
		wantStatus(t, e.api(ext(nil, "rotated-away", jwt.SigningMethodRS256)), http.StatusUnauthorized)
	}
	if got := fetches.Load() - n; got > 1 {
		t.Errorf("20 tokens with an unknown kid caused %d JWKS requests, want at most 1 per window", got)
	}
	// A token of an issuer that is not configured never causes a fetch.
	n = fetches.Load()
	wantStatus(t, e.api(ext(func(c jwt.MapClaims) { c["iss"] = "https://unknown.example" }, "new", jwt.SigningMethodRS256)), http.StatusUnauthorized)
	if fetches.Load() != n {
		t.Error("a token of an unknown issuer caused a JWKS request")
	}
}

// newIDP serves the JWKS of a fresh RSA key (kid kc-1) and counts the fetches.
func newIDP(t *testing.T) (*rsa.PrivateKey, *httptest.Server, *atomic.Int32) {
	t.Helper()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	var fetches atomic.Int32
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(auth.JWKS{Keys: []auth.JWK{mustJWKKid(t, key.Public(), "kc-1")}})
	}))
	t.Cleanup(idp.Close)
	return key, idp, &fetches
}

// signTyp signs claims with a typ header; typ "" leaves the header out.
func signTyp(t *testing.T, m jwt.SigningMethod, c jwt.MapClaims, kid, typ string, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	tok.Header["kid"] = kid
	if typ == "" {
		delete(tok.Header, "typ")
	} else {
		tok.Header["typ"] = typ
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// An external issuer's tokens are held to our own rules: typ at+jwt unless the operator adds more,
// exp/nbf/iat as JSON numbers, at most an hour of life unless configured otherwise.
func TestExternalIssuerStrict(t *testing.T) {
	t.Parallel()
	key, idp, _ := newIDP(t)
	const strict, lenient = "https://keycloak.example/realms/strict", "https://keycloak.example/realms/lenient"
	rsin := dbtest.NewRSIN()
	e := setup(t, func(o *options) {
		for _, iss := range []string{strict, lenient} {
			o.issuers = append(o.issuers, config.Issuer{Issuer: iss, JWKSURL: idp.URL, Audience: "signingd",
				OrganisationClaim: "azp", Organisations: map[string]string{"zac": rsin}, Scopes: []string{auth.ScopeRead}})
		}
		o.issuers[1].Types = []string{"at+jwt", "JWT"}
		o.issuers[1].MaxLifetime = 2 * time.Hour
	})
	if err := e.st.SyncOrganisations(context.Background(), map[string]string{rsin: "Utrecht"}); err != nil {
		t.Fatal(err)
	}
	ext := func(iss, typ string, change func(jwt.MapClaims)) string {
		now := time.Now()
		c := jwt.MapClaims{"iss": iss, "aud": "signingd", "azp": "zac", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
		if change != nil {
			change(c)
		}
		return signTyp(t, jwt.SigningMethodRS256, c, "kc-1", typ, key)
	}
	inMinutes := func(m int) int64 { return time.Now().Add(time.Duration(m) * time.Minute).Unix() }
	for name, tok := range map[string]string{
		"typ JWT":              ext(strict, "JWT", nil),
		"no typ":               ext(strict, "", nil),
		"typ other":            ext(lenient, "id+jwt", nil),
		"string exp":           ext(strict, "at+jwt", func(c jwt.MapClaims) { c["exp"] = strconv.FormatInt(inMinutes(5), 10) }),
		"string nbf":           ext(strict, "at+jwt", func(c jwt.MapClaims) { c["nbf"] = strconv.FormatInt(inMinutes(0), 10) }),
		"string iat":           ext(strict, "at+jwt", func(c jwt.MapClaims) { c["iat"] = strconv.FormatInt(inMinutes(0), 10) }),
		"two hours":            ext(strict, "at+jwt", func(c jwt.MapClaims) { c["exp"] = inMinutes(120) }),
		"two hours, no iat":    ext(strict, "at+jwt", func(c jwt.MapClaims) { delete(c, "iat"); c["exp"] = inMinutes(120) }),
		"old iat, fresh exp":   ext(strict, "at+jwt", func(c jwt.MapClaims) { c["iat"] = inMinutes(-90); c["exp"] = inMinutes(5) }),
		"three hours, lenient": ext(lenient, "JWT", func(c jwt.MapClaims) { c["exp"] = inMinutes(180) }),
	} {
		if r := e.api(tok); r.status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	wantStatus(t, e.api(ext(strict, "at+jwt", nil)), http.StatusOK)
	wantStatus(t, e.api(ext(strict, "application/AT+JWT", nil)), http.StatusOK)
	wantStatus(t, e.api(ext(lenient, "JWT", func(c jwt.MapClaims) { c["exp"] = inMinutes(90) })), http.StatusOK)
}

// A flood of refusals is counted, not written row by row: 300 wrong secrets from one address make
// one audit row per (client id, address, reason, minute) with the count, not 300 rows.
func TestRefusalsAreCounted(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, _ := e.client()
	cc := url.Values{"grant_type": {"client_credentials"}}
	for range 300 {
		wantStatus(t, e.post(auth.TokenPath, cc, id, "sgs_wrong"), http.StatusUnauthorized)
	}
	e.svc.FlushAudit()
	trail, err := e.st.AuditTrail(context.Background(), id, 1000)
	if err != nil {
		t.Fatal(err)
	}
	rows, total := 0, 0
	for _, a := range trail {
		if a.Event == auth.EventRefused && a.Reason == "wrong secret" {
			rows++
			total += a.Count
		}
	}
	// A minute may turn during the run: then the count is split over two rows.
	if rows < 1 || rows > 2 || total != 300 {
		t.Errorf("300 refusals made %d rows counting %d, want 1 (or 2 across a minute) counting 300", rows, total)
	}
}

// A client id longer than any client's is cut before it is recorded, so that a request cannot
// write kilobytes into the audit trail; refusals with such ids still count together.
func TestLongClientIDsAreCut(t *testing.T) {
	t.Parallel()
	e := setup(t)
	long := strings.Repeat("x", 70)
	cc := url.Values{"grant_type": {"client_credentials"}}
	for i := range 5 {
		wantStatus(t, e.post(auth.TokenPath, cc, long+strconv.Itoa(i), "sgs_wrong"), http.StatusUnauthorized)
	}
	e.svc.FlushAudit()
	trail, err := e.st.AuditTrail(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	cut := strings.Repeat("x", store.MaxClientIDLen) + "…"
	rows, total := 0, 0
	for _, a := range trail {
		if len(a.ClientID) > len(cut) {
			t.Errorf("client id of %d bytes recorded", len(a.ClientID))
		}
		if a.ClientID == cut {
			rows++
			total += a.Count
		}
	}
	if rows < 1 || rows > 2 || total != 5 {
		t.Errorf("5 refusals with long ids made %d rows under %q counting %d, want 1 (or 2 across a minute) counting 5", rows, cut, total)
	}
}

// An external issuer checked by RFC 7662 introspection.
func TestExternalIssuerIntrospection(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	const iss = "https://oneground.example"
	var rsin string
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		user, pass, _ := r.BasicAuth()
		if user != "signingd" || pass != "s3cret" {
			w.WriteHeader(401)
			return
		}
		_ = r.ParseForm()
		resp := map[string]any{"active": false}
		if r.PostForm.Get("token") == "good-opaque-token" {
			resp = map[string]any{"active": true, "iss": iss, "aud": "signingd", "client_id": "zac", "rsin": rsin,
				"scope": "transactions:read", "exp": time.Now().Add(time.Minute).Unix()}
		}
		_ = json.NewEncoder(w).Encode(resp)
	}))
	defer idp.Close()
	e := setup(t, func(o *options) {
		o.issuers = []config.Issuer{{Issuer: iss, Audience: "signingd",
			Introspection: &config.Introspection{URL: idp.URL, ClientID: "signingd", ClientSecret: config.NewSecret("s3cret")}}}
	})
	rsin = e.rsin
	wantStatus(t, e.api("good-opaque-token"), 200)
	wantStatus(t, e.api("good-opaque-token"), 200)
	if n := calls.Load(); n != 1 {
		t.Errorf("introspection called %d times, want 1 (cached)", n)
	}
	wantStatus(t, e.api("bad-opaque-token"), http.StatusUnauthorized)
}

// postFrom is post from another loopback address (Linux routes all of 127/8 to lo).
func (e *env) postFrom(addr, path string, form url.Values, id, secret string) response {
	e.t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	res, err := hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

// Someone who knows a client's id can neither lock it out nor use up its rate limit: failures
// count per client and address, and the client's limit only once it has authenticated.
func TestOthersCannotLockAClientOut(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.lockout = 3; o.ratePerClient = 1 })
	e.clock.Advance(0) // frozen: no bucket refills, no lockout ends
	id, secret := e.client()
	cc := url.Values{"grant_type": {"client_credentials"}}
	for range 5 {
		r := e.postFrom("127.0.0.2", auth.TokenPath, cc, id, "sgs_guess")
		if r.status != http.StatusUnauthorized && r.status != http.StatusTooManyRequests {
			t.Fatalf("guess: %d %s", r.status, r.body)
		}
	}
	if r := e.postFrom("127.0.0.2", auth.TokenPath, cc, id, secret); r.status != http.StatusTooManyRequests {
		t.Errorf("the guessing address is not locked out: %d %s", r.status, r.body)
	}
	// The client itself, elsewhere: its two-request burst is intact, then its own limit applies.
	wantStatus(t, e.post(auth.TokenPath, cc, id, secret), 200)
	wantStatus(t, e.post(auth.TokenPath, cc, id, secret), 200)
	wantStatus(t, e.post(auth.TokenPath, cc, id, secret), http.StatusTooManyRequests)
}

// Bytes Postgres can't store, in a client id or a grant type, are refused like any bad request, and
// the audit trail keeps every entry (one bad text used to cost the whole batch).
func TestUnstorableInputIsRefusedAndAudited(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, secret := e.client()
	for _, form := range []url.Values{
		{"grant_type": {"client_credentials"}, "client_id": {"client-\x80"}, "client_secret": {"sgs_x"}},
		{"grant_type": {"client_credentials"}, "client_id": {"client-\x00"}, "client_secret": {"sgs_x"}},
	} {
		r := e.post(auth.TokenPath, form)
		if r.status != http.StatusUnauthorized || r.json(t)["error"] != "invalid_client" {
			t.Errorf("client_id %q: %d %s", form.Get("client_id"), r.status, r.body)
		}
	}
	r := e.post(auth.TokenPath, url.Values{"grant_type": {"client_\x00\x80"}}, id, secret)
	if r.status != http.StatusBadRequest || r.json(t)["error"] != "unsupported_grant_type" {
		t.Errorf("grant type with NUL: %d %s", r.status, r.body)
	}
	e.token(id, secret)
	e.svc.FlushAudit()
	trail, err := e.st.AuditTrail(context.Background(), id, 100)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, a := range trail {
		events = append(events, a.Event+":"+a.Reason)
	}
	if j := strings.Join(events, ","); !strings.Contains(j, "issued:") || !strings.Contains(j, "refused:grant_type client_\uFFFD\uFFFD") {
		t.Errorf("audit trail of the client: %v", events)
	}
}

// Behind one proxy or NAT every client has the same address: a guesser there locks out only the
// client ids it guesses at, never a client that authenticates correctly (issue 15 item 3).
func TestAddressLockoutSparesGoodClients(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.lockout = 3 })
	e.clock.Advance(0) // frozen: no lockout ends
	id, secret := e.client()
	victim, victimSecret := e.client()
	cc := url.Values{"grant_type": {"client_credentials"}}
	var last response
	for i := range 10 {
		last = e.postFrom("127.0.0.3", auth.TokenPath, cc, "client-guess-"+strconv.Itoa(i), "sgs_guess")
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Errorf("guessing from a locked address: %d %s", last.status, last.body)
	}
	wantStatus(t, e.postFrom("127.0.0.3", auth.TokenPath, cc, id, secret), 200)
	// A client id guessed at is locked at that address; elsewhere it is served.
	for range 3 {
		e.postFrom("127.0.0.3", auth.TokenPath, cc, victim, "sgs_guess")
	}
	wantStatus(t, e.postFrom("127.0.0.3", auth.TokenPath, cc, victim, victimSecret), http.StatusTooManyRequests)
	wantStatus(t, e.post(auth.TokenPath, cc, victim, victimSecret), 200)
	tok := e.token(id, secret)
	wantStatus(t, e.postFrom("127.0.0.3", auth.IntrospectionPath, url.Values{"token": {tok}}, id, secret), 200)
	wantStatus(t, e.postFrom("127.0.0.3", auth.RevocationPath, url.Values{"token": {"x"}}, id, secret), 200)
}

// Introspection and revocation count failures and lock out like the token endpoint.
func TestIntrospectionAndRevocationAreLimited(t *testing.T) {
	t.Parallel()
	for _, path := range []string{auth.IntrospectionPath, auth.RevocationPath} {
		e := setup(t, func(o *options) { o.lockout = 5; o.ratePerAddress = 1000 })
		e.clock.Advance(0)
		id, _ := e.client()
		statuses := map[int]int{}
		for range 30 {
			statuses[e.postFrom("127.0.0.4", path, url.Values{"token": {"x"}}, id, "sgs_wrong").status]++
		}
		if statuses[http.StatusTooManyRequests] < 25 {
			t.Errorf("%s: 30 wrong secrets answered %v, want 429 after the lockout threshold", path, statuses)
		}
		// Without credentials at all, the same.
		statuses = map[int]int{}
		for range 30 {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader("token=x"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			statuses[e.send(req).status]++
		}
		if statuses[http.StatusTooManyRequests] < 25 {
			t.Errorf("%s: 30 requests without credentials answered %v", path, statuses)
		}
	}
}

// An admin client introspects only its own organisation's tokens.
func TestAdminIntrospectsOwnOrganisationOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	admin, adminSecret := e.client(auth.ScopeAdmin)
	rsin := dbtest.NewRSIN()
	ctx := context.Background()
	if err := e.st.SyncOrganisations(ctx, map[string]string{rsin: "Elders"}); err != nil {
		t.Fatal(err)
	}
	other, err := e.st.CreateClient(ctx, store.NewClientID(), "other", rsin, auth.AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	otherSecret := auth.GenerateSecret()
	if err := e.st.AddClientSecret(ctx, other.ID, auth.SecretDigest(pepper, otherSecret), nil); err != nil {
		t.Fatal(err)
	}
	own, foreign := e.token(admin, adminSecret), e.token(other.ClientID, otherSecret)
	if m := e.post(auth.IntrospectionPath, url.Values{"token": {own}}, admin, adminSecret).json(t); m["active"] != true {
		t.Errorf("own token: %v", m)
	}
	if m := e.post(auth.IntrospectionPath, url.Values{"token": {foreign}}, admin, adminSecret).json(t); m["active"] != false || len(m) != 1 {
		t.Errorf("another organisation's token, introspected by an admin: %v", m)
	}
}
