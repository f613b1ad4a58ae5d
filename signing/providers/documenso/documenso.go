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
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signingd/signingd/signing"
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
	cfg  Config
	base *url.URL
	api  string
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
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("documenso: base URL %q: an http(s) URL is needed", cfg.BaseURL)
	}
	client := http.Client{Timeout: 60 * time.Second}
	if cfg.Client != nil {
		client = *cfg.Client
	}
	// Requests go to the instance only: a redirect elsewhere would take the API key along.
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != base.Scheme || req.URL.Host != base.Host {
			return fmt.Errorf("documenso: redirect to %s refused: %w", req.URL.Host, signing.ErrPermanent)
		}
		if len(via) >= 5 {
			return errors.New("documenso: too many redirects")
		}
		return nil
	}
	cfg.Client = &client
	return &Provider{cfg: cfg, base: base, api: base.String() + "/api/v2"}, nil
}

// Info implements signing.Provider.
func (p *Provider) Info() signing.ProviderInfo {
	return signing.ProviderInfo{Name: p.cfg.Name, AuthMethods: []string{signing.AuthEmail}, Parallel: true,
		CallsPerMinute: p.cfg.CallsPerMinute, PollInterval: p.cfg.PollInterval, SignsDigitally: true}
}

// request sends one API request; a non-2xx answer is a signing.VendorError.
func (p *Provider) request(ctx context.Context, op, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.api+path, body)
	if err != nil {
		return nil, fmt.Errorf("documenso: %s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+p.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("documenso: %s: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, p.vendorError(op, resp)
	}
	return resp, nil
}

func (p *Provider) call(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("documenso: %s: %w", op, err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	resp, err := p.request(ctx, op, method, path, body, ct)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return fmt.Errorf("documenso: %s: decode: %w", op, err)
	}
	return nil
}

func (p *Provider) vendorError(op string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	e := &signing.VendorError{Vendor: p.cfg.Name, Op: op, Status: resp.StatusCode, Message: strings.TrimSpace(string(b))}
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(resp.Header.Get("Retry-After")); err == nil && t.After(p.cfg.Now()) {
		e.RetryAfter = t.Sub(p.cfg.Now())
	} else if resp.StatusCode == http.StatusTooManyRequests {
		e.RetryAfter = DefaultRetryAfter
	}
	return e
}

func isStatus(err error, status int) bool {
	var ve *signing.VendorError
	return errors.As(err, &ve) && ve.Status == status
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
