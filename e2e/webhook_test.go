package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/signing/providers/simulated"
)

// TestWebhookBeforeReferenceIsStored: a vendor may call back before the commit that stores its
// signing's reference. Such an authenticated callback is answered 503 with Retry-After, so the
// vendor tries again instead of the news waiting for the next poll; a forged one is refused.
func TestWebhookBeforeReferenceIsStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	body := `{"signing_id":"not-yet-stored","status":"completed","sent_at":"` + time.Now().UTC().Format(time.RFC3339) + `"}`
	post := func(signature string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, e.api.URL+"/api/v1/providers/simulated/webhook", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(simulated.SignatureHeader, "sha256="+signature)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post(simulated.Sign(webhookSecret, []byte(body))); res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("unknown signing: %d, Retry-After %q; want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if res := post(simulated.Sign("another secret", []byte(body))); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged webhook: %d, want 401", res.StatusCode)
	}
}

// TestWebhookReplays: a captured vendor callback replayed any number of times queues one status
// check, not one per replay; one whose signed sent_at lies outside ±5 minutes is refused
// (issue 15 item 14).
func TestWebhookReplays(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	id := e.start(e.scenario(1, 1))
	sid := e.signingID(id)
	bodyAt := func(sentAt time.Time) []byte {
		body, _ := json.Marshal(map[string]string{"signing_id": sid, "event": "viewed", "status": "pending",
			"sent_at": sentAt.UTC().Format(time.RFC3339)})
		return body
	}
	post := func(sentAt time.Time) int {
		body := bodyAt(sentAt)
		req, _ := http.NewRequest(http.MethodPost, e.api.URL+"/api/v1/providers/simulated/webhook", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(simulated.SignatureHeader, "sha256="+simulated.Sign(webhookSecret, body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	sent := time.Now().Add(-time.Minute)
	// The reference may not be stored yet (503 with Retry-After): the vendor retries, and so do we.
	for deadline := time.Now().Add(10 * time.Second); post(sent) == http.StatusServiceUnavailable; {
		if time.Now().After(deadline) {
			t.Fatal("the signing's reference was never stored")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 20 {
		if s := post(sent); s != http.StatusAccepted {
			t.Fatalf("delivery: %d", s)
		}
	}
	var n int
	sum := sha256.Sum256(bodyAt(sent))
	if err := e.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'check_progress'
		AND args->>'transaction_id' = $1 AND args->>'delivery' = $2`, id, "simulated:"+hex.EncodeToString(sum[:])).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("20 identical deliveries queued %d status checks, want 1", n)
	}
	for _, at := range []time.Time{time.Now().Add(-6 * time.Minute), time.Now().Add(6 * time.Minute)} {
		if s := post(at); s != http.StatusUnauthorized {
			t.Errorf("delivery signed at %s: %d, want 401", at.Format(time.TimeOnly), s)
		}
	}
}
