package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/signingd/signingd/signing/providers/simulated"
)

// TestWebhookBeforeReferenceIsStored: a vendor may call back before the commit that stores its
// signing's reference. Such an authenticated callback is answered 503 with Retry-After, so the
// vendor tries again instead of the news waiting for the next poll; a forged one is refused.
func TestWebhookBeforeReferenceIsStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	body := `{"signing_id":"not-yet-stored","status":"completed"}`
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
