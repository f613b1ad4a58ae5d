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
//     host or, for DocuSeal Cloud (api.docuseal.eu), the site's host without "api." which serves
//     the files. An expired link is listed again.
//   - Edition "free": the community edition only makes submissions from templates built in its
//     UI (POST /submissions with template_id); no API takes a PDF. Info().NoDocuments says so
//     and every trigger is refused at intake.
package docuseal

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
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
	cfg   Config
	base  *url.URL
	api   string
	hosts []string // hosts downloads may come from
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
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.RawQuery != "" {
		return nil, fmt.Errorf("docuseal: base URL %q: an http(s) URL is needed", cfg.BaseURL)
	}
	p := &Provider{base: base, api: base.String(), hosts: []string{base.Host}}
	if h, ok := strings.CutPrefix(base.Host, "api."); ok && strings.Contains(h, ".") {
		p.hosts = append(p.hosts, h)
	}
	client := http.Client{Timeout: 60 * time.Second}
	if cfg.Client != nil {
		client = *cfg.Client
	}
	// Requests go to the account's hosts only: a redirect elsewhere would take the token along.
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !p.allowed(req.URL) {
			return fmt.Errorf("docuseal: redirect to %s refused: %w", req.URL.Host, signing.ErrPermanent)
		}
		if len(via) >= 5 {
			return errors.New("docuseal: too many redirects")
		}
		return nil
	}
	cfg.Client = &client
	p.cfg = cfg
	return p, nil
}

// allowed says whether u is on a host of the account, with the base URL's scheme.
func (p *Provider) allowed(u *url.URL) bool {
	if u.Scheme != p.base.Scheme || u.User != nil {
		return false
	}
	for _, h := range p.hosts {
		if strings.EqualFold(u.Host, h) {
			return true
		}
	}
	return false
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

// request sends one API request to path below the base URL, or to an absolute URL of the
// account's hosts; a non-2xx answer is a signing.VendorError.
func (p *Provider) request(ctx context.Context, op, method, target string, body io.Reader, contentType string) (*http.Response, error) {
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		target = p.api + target
	}
	u, err := url.Parse(target)
	if err != nil || !p.allowed(u) {
		return nil, fmt.Errorf("docuseal: %s: URL %q is not on the account's host: %w", op, target, signing.ErrPermanent)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("docuseal: %s: %w", op, err)
	}
	req.Header.Set("X-Auth-Token", p.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("docuseal: %s: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, p.vendorError(op, resp)
	}
	return resp, nil
}

func (p *Provider) call(ctx context.Context, op, method, path string, out any) error {
	resp, err := p.request(ctx, op, method, path, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return fmt.Errorf("docuseal: %s: decode: %w", op, err)
	}
	return nil
}

func (p *Provider) vendorError(op string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	msg := strings.TrimSpace(string(b))
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	ve := &signing.VendorError{Vendor: p.cfg.Name, Op: op, Status: resp.StatusCode, Message: truncate(msg, 300)}
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
		ve.RetryAfter = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(resp.Header.Get("Retry-After")); err == nil && t.After(p.cfg.Now()) {
		ve.RetryAfter = t.Sub(p.cfg.Now())
	} else if resp.StatusCode == http.StatusTooManyRequests {
		ve.RetryAfter = DefaultRetryAfter
	}
	return ve
}

func isStatus(err error, status int) bool {
	var ve *signing.VendorError
	return errors.As(err, &ve) && ve.Status == status
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

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
