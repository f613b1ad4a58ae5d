package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/simulated"
)

func TestWebhookAnswersProblems(t *testing.T) {
	t.Parallel()
	const secret = "webhook secret"
	prov := simulated.New(simulated.Config{BaseURL: "http://vendor.invalid", WebhookSecret: secret})
	e := setup(t, func(o *options) { o.providers = map[string]signing.Provider{simulated.Name: prov} })
	unknown, _ := json.Marshal(map[string]string{"signing_id": "never-created", "sent_at": time.Now().UTC().Format(time.RFC3339)})
	tests := []struct {
		name, provider string
		body           []byte
		signature      string
		status         int
		retryAfter     string
	}{
		{"no such provider", "nonesuch", unknown, "sha256=" + simulated.Sign(secret, unknown), 404, ""},
		{"not authenticated", simulated.Name, unknown, "sha256=forged", 401, ""},
		{"not understood", simulated.Name, []byte("{}"), "sha256=" + simulated.Sign(secret, []byte("{}")), 400, ""},
		{"a signing not known yet", simulated.Name, unknown, "sha256=" + simulated.Sign(secret, unknown), 503, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/providers/"+tt.provider+"/webhook", "", tt.body, simulated.SignatureHeader, tt.signature)
			if r.status != tt.status || r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d, type %q: %s", r.status, r.header.Get("Content-Type"), r.body)
			}
			if got := r.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if p := r.json(t); p["status"] != float64(tt.status) || p["title"] == "" {
				t.Errorf("problem %s", r.body)
			}
		})
	}
}
