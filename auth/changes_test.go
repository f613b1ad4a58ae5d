package auth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/signingd/signingd/auth"
	"github.com/signingd/signingd/store"
)

// eventually polls cond for up to five seconds of real time. The tests below freeze the clock the
// caches see, so a change can only be noticed through the database's announcements.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Changes made elsewhere (another replica, the clients command) are noticed through the
// database's announcements, long before the caches expire.
func TestChangesElsewhereTakeEffectAtOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.clock.Advance(0) // freeze: no cache entry expires by age during this test
	ctx := context.Background()
	id, secret := e.client()
	tok, tok2 := e.token(id, secret), e.token(id, secret)
	wantStatus(t, e.api(tok), 200)
	wantStatus(t, e.api(tok2), 200)
	key := auth.GenerateAPIKey()
	c, err := e.st.ClientByClientID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.AddAPIKey(ctx, c.ID, auth.NewAPIKeys(e.st, pepper).Digest(key)); err != nil {
		t.Fatal(err)
	}
	withKey := func() int {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/transactions", nil)
		req.Header.Set("X-API-Key", key)
		return e.send(req).status
	}
	if s := withKey(); s != 200 {
		t.Fatalf("API key: %d", s)
	}

	// A token revoked elsewhere.
	_, cl := decode(t, tok2)
	if err := e.st.RevokeToken(ctx, cl["jti"].(string), id, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "token revoked elsewhere refused", func() bool { return e.api(tok2).status == http.StatusUnauthorized })
	wantStatus(t, e.api(tok), 200)

	// A secret rotated elsewhere: the new one works at once, the old one stops when it expires.
	c2 := auth.GenerateSecret()
	if err := e.st.AddClientSecret(ctx, c.ID, auth.SecretDigest(pepper, c2), new(e.clock.Now().Add(-time.Second))); err != nil {
		t.Fatal(err)
	}
	tokenStatus := func(secret string) int {
		return e.post(auth.TokenPath, url.Values{"grant_type": {"client_credentials"}}, id, secret).status
	}
	if s := tokenStatus(c2); s != 200 {
		t.Fatalf("new secret: %d", s)
	}
	eventually(t, "expired secret refused", func() bool { return tokenStatus(secret) == http.StatusUnauthorized })

	// The client revoked elsewhere: its tokens, its API key and the token endpoint refuse it.
	if err := e.st.RevokeClient(ctx, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "token of a client revoked elsewhere refused", func() bool { return e.api(tok).status == http.StatusUnauthorized })
	eventually(t, "API key of a client revoked elsewhere refused", func() bool { return withKey() == http.StatusUnauthorized })
	if s := tokenStatus(c2); s != http.StatusUnauthorized {
		t.Errorf("token endpoint for a client revoked elsewhere: %d", s)
	}
}

// A listener that loses its connection reconnects and drops every cache, as announcements made
// meanwhile are lost.
func TestChangesSurviveALostListener(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.clock.Advance(0)
	ctx := context.Background()
	id, secret := e.client()
	tok := e.token(id, secret)
	wantStatus(t, e.api(tok), 200)
	// Cut every listener of this database (other tests' too: they reconnect) and revoke while
	// nobody may be listening.
	if _, err := e.st.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, store.ListenerApplicationName); err != nil {
		t.Fatal(err)
	}
	if err := e.st.RevokeClient(ctx, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "token of a client revoked while the listener was down refused", func() bool {
		return e.api(tok).status == http.StatusUnauthorized
	})
}

// A refusal at the token endpoint is never based on a stale cache: a secret added or a client
// created elsewhere works at once, even when no announcement arrives.
func TestNewSecretsWorkAtOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.noWatch = true })
	e.clock.Advance(0)
	ctx := context.Background()
	id, secret := e.client()
	e.token(id, secret) // cached now
	c, err := e.st.ClientByClientID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	s2 := auth.GenerateSecret()
	if err := e.st.AddClientSecret(ctx, c.ID, auth.SecretDigest(pepper, s2), nil); err != nil {
		t.Fatal(err)
	}
	e.token(id, s2)
	e.token(id, secret)

	unknown := store.NewClientID()
	form := url.Values{"grant_type": {"client_credentials"}}
	wantStatus(t, e.post(auth.TokenPath, form, unknown, s2), http.StatusUnauthorized)
	c3, err := e.st.CreateClient(ctx, unknown, "late", e.rsin, auth.AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.AddClientSecret(ctx, c3.ID, auth.SecretDigest(pepper, s2+"x"), nil); err != nil {
		t.Fatal(err)
	}
	e.token(unknown, s2+"x")
}
