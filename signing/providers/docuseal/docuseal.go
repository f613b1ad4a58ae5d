// Package docuseal adapts DocuSeal (Pro/Cloud, or self-hosted) to signing.Provider: one submission
// per transaction, made from our PDFs with POST /submissions/pdf, every signer a submitter with a
// signature field in every document; progress by webhook (X-Docuseal-Signature) and by a
// reconciliation poll.
//
// Mapping choices:
//   - Signing order: order "preserved" and each submitter's order = the 0-based rank of its
//     volgorde among the distinct values, so equal volgorde shares an order group and signs in
//     parallel (DocuSeal's order groups).
//   - Authentication: sms → require_phone_2fa with the trigger's number as phone; email →
//     require_email_2fa. DocuSeal asks for the code before the form opens.
//   - Fields: one signature field per signer and document, at the signer's placeholder text when
//     the document has it (pades.FindText, converted to fractions of the page from its top left,
//     as DocuSeal's areas are), else in a free slot at the foot of the last page.
//   - Correlation: each submitter's external_id is "{transaction id}:{signer position}"; a
//     retried Create finds the submission with GET /submitters?external_id= and returns it.
//   - Downloads: the document and audit log URLs DocuSeal hands out expire; they are fetched at
//     once, with the API token (accounts with secured links need it), and only from the API's
//     host or, for DocuSeal Cloud (api.docuseal.eu), the site's host (siteHost) which serves
//     the files. An expired link is listed again.
//   - Edition "free": the community edition only makes submissions from templates built in its
//     UI (POST /submissions with template_id); no API takes a PDF. Info().NoDocuments says so
//     and every trigger is refused at intake.
package docuseal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/vendorapi"
	"github.com/signingd/signingd/signing/providers/vendorkit"
)

// Name is the default provider name.
const Name = "docuseal"

// Editions.
const (
	EditionPro  = "pro"
	EditionFree = "free"
)

// NoDocumentsFree is Info().NoDocuments of the free edition.
const NoDocumentsFree = "De gratis editie van DocuSeal kan geen documenten via de API ontvangen; gebruik DocuSeal Pro of een andere ondertekenaanbieder."

// SignatureTolerance is the clock skew X-Docuseal-Signature allows, as DocuSeal's own verifier
// (lib/webhook_urls/signatures.rb TOLERANCE).
const SignatureTolerance = 5 * time.Minute

// DefaultRetryAfter is the wait assumed for a 429 without Retry-After.
const DefaultRetryAfter = 60 * time.Second

//go:embed testdata/openapi.json
var openAPI []byte

// OpenAPI returns the snapshot of DocuSeal's docs/openapi.json this adapter is written against
// (the operations and webhooks it uses; see testdata/README.md), for the simulator to check
// traffic with.
func OpenAPI() []byte { return openAPI }

// Config configures one DocuSeal account.
type Config struct {
	Name          string // the provider's name in the landscape and webhook URL; Name when empty
	BaseURL       string // API root: https://api.docuseal.eu, https://api.docuseal.com, or https://{host}/api
	APIKey        string // X-Auth-Token
	WebhookSecret string // the HMAC secret (whsec_…) for X-Docuseal-Signature
	// LegacyHeader is a custom static header name (older self-hosted versions send the webhook's
	// secret as such a header); its value is compared with WebhookSecret.
	LegacyHeader   string
	Edition        string // EditionPro (default) or EditionFree
	SendEmail      *bool  // DocuSeal mails the signers; true when nil
	Language       string // of the invitation text; nl when empty (only nl is written)
	PollInterval   time.Duration
	CallsPerMinute int
	Client         *http.Client
	Now            func() time.Time
}

// Provider is the DocuSeal adapter.
type Provider struct {
	cfg Config
	api *vendorapi.Client
}

var _ signing.WebhookProvider = (*Provider)(nil)

// New checks cfg and returns the adapter.
func New(cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = Name
	}
	if cfg.Edition == "" {
		cfg.Edition = EditionPro
	}
	if cfg.Edition != EditionPro && cfg.Edition != EditionFree {
		return nil, fmt.Errorf("docuseal: edition %q: pro or free", cfg.Edition)
	}
	if cfg.Language == "" {
		cfg.Language = "nl"
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.APIKey == "" {
		return nil, errors.New("docuseal: no API key")
	}
	api, err := vendorapi.New(vendorapi.Config{Vendor: cfg.Name, BaseURL: cfg.BaseURL, Client: cfg.Client,
		Auth:         func(r *http.Request) { r.Header.Set("X-Auth-Token", cfg.APIKey) },
		DownloadType: "application/pdf", LinkHosts: siteHosts(cfg.BaseURL),
		RateLimitWait: DefaultRetryAfter, ErrorMessage: errorMessage, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg, api: api}, nil
}

// siteHosts returns the one host besides the API's that DocuSeal's file links (signed documents,
// audit logs) may be fetched from, for downloads only, never API calls: DocuSeal Cloud's API
// is api.docuseal.eu (or api.docuseal.com), but the links it hands out are on the site,
// docuseal.eu, which serves the files. So the API's host without "api.", when that leaves a
// domain; none for a self-hosted DocuSeal, which serves both from the API's host.
func siteHosts(baseURL string) []string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil
	}
	if h, ok := strings.CutPrefix(strings.ToLower(u.Host), "api."); ok && strings.Contains(h, ".") {
		return []string{h}
	}
	return nil
}

// errorMessage is the "error" of DocuSeal's error answer, {"error": "..."}.
func errorMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		return vendorkit.Truncate(e.Error, 300)
	}
	return ""
}

// Info implements signing.Provider.
func (p *Provider) Info() signing.ProviderInfo {
	info := signing.ProviderInfo{Name: p.cfg.Name, AuthMethods: []string{signing.AuthSMS, signing.AuthEmail}, Parallel: true,
		CallsPerMinute: p.cfg.CallsPerMinute, PollInterval: p.cfg.PollInterval, SignsDigitally: true}
	if p.cfg.Edition == EditionFree {
		info.NoDocuments = NoDocumentsFree
	}
	return info
}

// VerifyWebhook implements signing.WebhookProvider. X-Docuseal-Signature is
// "{unix time}.{hex HMAC-SHA256(secret, "{unix time}.{body}")}" with the whole secret, whsec_
// prefix included, as the key, within SignatureTolerance of Config.Now; or, when LegacyHeader is
// configured, that header may carry the secret itself. An empty secret refuses all. The reference
// is the submission id: data.id of submission.* events, data.submission_id (or
// data.submission.id) of form.* events.
func (p *Provider) VerifyWebhook(r *http.Request, body []byte) (string, error) {
	if p.cfg.WebhookSecret == "" || !p.authentic(r, body) {
		return "", signing.ErrWebhookUnauthorized
	}
	var in struct {
		EventType string `json:"event_type"`
		Data      struct {
			ID           json.Number `json:"id"`
			SubmissionID json.Number `json:"submission_id"`
			Submission   struct {
				ID json.Number `json:"id"`
			} `json:"submission"`
		} `json:"data"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&in); err != nil {
		return "", fmt.Errorf("docuseal: webhook body: %v: %w", err, signing.ErrPermanent)
	}
	var id json.Number
	switch {
	case strings.HasPrefix(in.EventType, "form."):
		id = in.Data.SubmissionID
		if id == "" {
			id = in.Data.Submission.ID
		}
	case strings.HasPrefix(in.EventType, "submission."):
		id = in.Data.ID
	}
	if n, err := strconv.ParseInt(id.String(), 10, 64); err == nil && n > 0 {
		return strconv.FormatInt(n, 10), nil
	}
	return "", fmt.Errorf("docuseal: webhook %q names no submission: %w", in.EventType, signing.ErrPermanent)
}

func (p *Provider) authentic(r *http.Request, body []byte) bool {
	secret := []byte(p.cfg.WebhookSecret)
	if p.cfg.LegacyHeader != "" {
		if v := r.Header.Get(p.cfg.LegacyHeader); v != "" && subtle.ConstantTimeCompare([]byte(v), secret) == 1 {
			return true
		}
	}
	ts, sig, ok := strings.Cut(r.Header.Get("X-Docuseal-Signature"), ".")
	if !ok {
		return false
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	now := p.cfg.Now().Unix()
	tol := int64(SignatureTolerance / time.Second)
	if unix < now-tol || unix > now+tol {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(sig)), []byte(want)) == 1
}
