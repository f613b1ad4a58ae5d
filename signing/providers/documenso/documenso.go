// Package documenso adapts Documenso (API v2, self-hosted or cloud) to signing.Provider: one
// envelope per transaction with every document as an item and every signer as a SIGNER recipient,
// sent by Documenso's e-mail (or not, distributionMethod NONE), followed by webhook and by a
// reconciliation poll.
//
// Mapping choices:
//   - Signing order: all volgorde equal → meta.signingOrder PARALLEL; otherwise SEQUENTIAL with
//     each recipient's signingOrder = volgorde. Documenso's sequential mode has ONE signer at a
//     time, the pending recipient with the lowest signingOrder, ties broken by creation order
//     (complete-document-with-token.ts), so volgorde 1,2,2 signs 1, then the two 2s one after the
//     other in trigger order: stricter than the trigger asks, never looser.
//   - Authentication: only email, as accessAuth ["TWO_FACTOR_AUTH"]: Documenso then asks the
//     signer for a code, which it mails (method email) unless the signer has an authenticator app
//     on a Documenso account. Documenso has no SMS code, so Info offers email only.
//   - Fields: one SIGNATURE field per signer and document, at the signer's placeholder text when
//     the document has it (found with pades.FindText and converted to percent of the page, from
//     the top left), else in a free slot at the foot of the last page.
//   - Expiry: Documenso keeps the envelope PENDING when a recipient's signing window passes (it
//     sets expiresAt and sends RECIPIENT_EXPIRED); an unsigned recipient whose expiresAt passed
//     is reported as expired.
package documenso

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/vendorapi"
)

// Name is the default provider name.
const Name = "documenso"

// Config configures one Documenso team account.
type Config struct {
	Name           string // the provider's name in the landscape and webhook URL; Name when empty
	BaseURL        string // the instance root, e.g. https://documenso.gemeente.nl; the adapter adds /api/v2
	APIKey         string // the team's API token, api_…
	WebhookSecret  string // X-Documenso-Secret of the team's webhook
	Distribution   string // EMAIL (default: Documenso mails the signers) or NONE
	Language       string // nl when empty
	PollInterval   time.Duration
	CallsPerMinute int // 900 when zero (Documenso allows 1 000)
	Client         *http.Client
	Now            func() time.Time
}

// Provider is the Documenso adapter.
type Provider struct {
	cfg Config
	api *vendorapi.Client
}

var _ signing.WebhookProvider = (*Provider)(nil)

// DefaultRetryAfter is the wait assumed for a 429 without Retry-After: Documenso's windows are a
// minute long.
const DefaultRetryAfter = 60 * time.Second

// New checks cfg and returns the adapter.
func New(cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = Name
	}
	if cfg.Distribution == "" {
		cfg.Distribution = "EMAIL"
	}
	if cfg.Distribution != "EMAIL" && cfg.Distribution != "NONE" {
		return nil, fmt.Errorf("documenso: distribution %q: EMAIL or NONE", cfg.Distribution)
	}
	if cfg.Language == "" {
		cfg.Language = "nl"
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Minute
	}
	if cfg.CallsPerMinute == 0 {
		cfg.CallsPerMinute = 900
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.APIKey == "" {
		return nil, errors.New("documenso: no API key")
	}
	api, err := vendorapi.New(vendorapi.Config{Vendor: cfg.Name, BaseURL: strings.TrimRight(cfg.BaseURL, "/") + "/api/v2", Client: cfg.Client,
		Auth:          func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+cfg.APIKey) },
		RateLimitWait: DefaultRetryAfter, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg, api: api}, nil
}

// Info implements signing.Provider.
func (p *Provider) Info() signing.ProviderInfo {
	return signing.ProviderInfo{Name: p.cfg.Name, AuthMethods: []string{signing.AuthEmail}, Parallel: true,
		CallsPerMinute: p.cfg.CallsPerMinute, PollInterval: p.cfg.PollInterval, SignsDigitally: true}
}

// VerifyWebhook implements signing.WebhookProvider: X-Documenso-Secret must equal the configured
// secret (Documenso sends it as plain text, no HMAC, no time); an empty secret refuses all. The
// body is read leniently for payload.envelopeId.
func (p *Provider) VerifyWebhook(r *http.Request, body []byte) (string, error) {
	got := r.Header.Get("X-Documenso-Secret")
	if p.cfg.WebhookSecret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.cfg.WebhookSecret)) != 1 {
		return "", signing.ErrWebhookUnauthorized
	}
	var in struct {
		Event   string `json:"event"`
		Payload struct {
			EnvelopeID string `json:"envelopeId"`
			ExternalID string `json:"externalId"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return "", fmt.Errorf("documenso: webhook body: %v: %w", err, signing.ErrPermanent)
	}
	if in.Payload.EnvelopeID != "" {
		return in.Payload.EnvelopeID, nil
	}
	if in.Payload.ExternalID != "" {
		id, ok, err := p.findByExternalID(r.Context(), in.Payload.ExternalID)
		if err != nil {
			return "", err
		}
		if ok {
			return id.ID, nil
		}
	}
	return "", fmt.Errorf("documenso: webhook %s names no envelope: %w", in.Event, signing.ErrPermanent)
}
