// Package onespan adapts OneSpan Sign (sold in the Netherlands as ValidSign, same REST API) to
// signing.Provider: one multipart request creates and sends a package with the documents and one
// role per signer, the role index carrying the volgorde; progress comes from account callbacks
// (Authorization: Basic {callback key}) and a reconciliation poll, since OneSpan never re-sends a
// lost callback.
package onespan

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/signingd/signingd/signing"
)

// DefaultName is the provider's name when Config.Name is empty.
const DefaultName = "onespan"

// TransactionKey is the key in a package's data that carries the signingd transaction id: the
// idempotency key Create looks for.
const TransactionKey = "signingd_transaction_id"

// apiVersion is the esl-api-version media-type parameter sent, as the SDK this adapter follows.
const apiVersion = "11.68.0"

// Config configures the adapter.
type Config struct {
	Name           string        // the provider's name in the landscape and webhook URL; "onespan" when empty
	BaseURL        string        // the API root including /api, e.g. https://my.validsign.nl/api
	APIKey         string        // sent as "Authorization: Basic {APIKey}", exactly as given
	CallbackKey    string        // what callbacks must carry
	Sender         string        // optional: the sender account's e-mail (package "sender")
	Language       string        // "nl" when empty
	PollInterval   time.Duration // reconciliation poll; 5 min when zero
	CallsPerMinute int           // reported in Info (the workflow enforces it); 0 = no cap
	Client         *http.Client
	Now            func() time.Time
}

// Provider is the OneSpan Sign adapter.
type Provider struct {
	cfg  Config
	base *url.URL
}

var _ signing.WebhookProvider = (*Provider)(nil)

// New validates cfg and returns the adapter.
func New(cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
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
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("onespan: base URL %q is no absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.APIKey == "" {
		return nil, errors.New("onespan: API key missing")
	}
	if cfg.CallbackKey == "" {
		return nil, errors.New("onespan: callback key missing")
	}
	client := http.Client{Timeout: 60 * time.Second}
	if cfg.Client != nil {
		client = *cfg.Client
	}
	// Requests go to the configured host only: a redirect elsewhere would take the API key along.
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != base.Scheme || req.URL.Host != base.Host {
			return fmt.Errorf("%w: onespan: redirect to %s refused (only %s is called)", signing.ErrPermanent, req.URL.Host, base.Host)
		}
		if len(via) >= 5 {
			return errors.New("onespan: too many redirects")
		}
		return nil
	}
	cfg.Client = &client
	return &Provider{cfg: cfg, base: base}, nil
}

// Info implements signing.Provider. OneSpan's NONE scheme (the e-mail link alone) is signingd's
// null; it has SMS codes but no e-mail one-time code.
func (p *Provider) Info() signing.ProviderInfo {
	return signing.ProviderInfo{Name: p.cfg.Name, AuthMethods: []string{signing.AuthSMS}, Parallel: true,
		CallsPerMinute: p.cfg.CallsPerMinute, PollInterval: p.cfg.PollInterval, SignsDigitally: true}
}

// request sends one API request. A non-2xx answer becomes a *signing.VendorError, which says
// itself whether retrying can help and how long the vendor asked us to wait.
func (p *Provider) request(ctx context.Context, op, method, path string, body io.Reader, contentType, accept string) (*http.Response, error) {
	u := p.base.String() + path
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%w: onespan: %s: %w", signing.ErrPermanent, op, err)
	}
	req.Header.Set("Authorization", "Basic "+p.cfg.APIKey)
	req.Header.Set("Accept", accept)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		if errors.Is(err, signing.ErrPermanent) {
			return nil, err
		}
		return nil, fmt.Errorf("onespan: %s: %w", op, err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	return nil, p.apiError(op, resp)
}

func (p *Provider) apiError(op string, resp *http.Response) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &signing.VendorError{Vendor: "onespan", Op: op, Status: resp.StatusCode,
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), p.cfg.Now()), Message: http.StatusText(resp.StatusCode)}
	var msg struct {
		MessageKey string `json:"messageKey"`
		Message    string `json:"message"`
		Technical  string `json:"technical"`
	}
	if json.Unmarshal(b, &msg) == nil && msg.Message != "" {
		e.Message = strings.TrimSpace(msg.MessageKey + " " + msg.Message + " " + msg.Technical)
	}
	return e
}

// retryAfter reads delay-seconds or an HTTP date; zero when absent or past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(min(max(n, 0), 7*24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

const jsonType = "application/json; esl-api-version=" + apiVersion

// call sends JSON in (when not nil) and decodes the answer into out (when not nil).
func (p *Provider) call(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("onespan: %s: %w", op, err)
		}
		body, ct = strings.NewReader(string(b)), jsonType
	}
	resp, err := p.request(ctx, op, method, path, body, ct, jsonType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(out); err != nil {
		return fmt.Errorf("onespan: %s: decode answer: %w", op, err)
	}
	return nil
}

func packagePath(ref string) string { return "/packages/" + url.PathEscape(ref) }

// pkg is the part of a package the adapter reads.
type pkg struct {
	ID        string         `json:"id"`
	Status    string         `json:"status"`
	Trashed   bool           `json:"trashed"`
	Data      map[string]any `json:"data"`
	Roles     []pkgRole      `json:"roles"`
	Documents []struct {
		ID        string `json:"id"`
		Approvals []struct {
			Role   string  `json:"role"`
			Signed *string `json:"signed"`
		} `json:"approvals"`
	} `json:"documents"`
	Messages []struct {
		Content string         `json:"content"`
		Created string         `json:"created"`
		From    map[string]any `json:"from"`
	} `json:"messages"`
}

type pkgRole struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Index   int    `json:"index"`
	Signers []struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Auth  *struct {
			Scheme string `json:"scheme"`
		} `json:"auth"`
	} `json:"signers"`
}

func (p *Provider) get(ctx context.Context, ref string) (*pkg, error) {
	var v pkg
	if err := p.call(ctx, "get package", http.MethodGet, packagePath(ref), nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// roleID is the role of the signer at position.
func roleID(position int) string { return "signer" + strconv.Itoa(position) }

// docID is the document at position.
func docID(position int) string { return "doc" + strconv.Itoa(position) }

func parseTime(s string) time.Time {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// Status implements signing.Provider.
func (p *Provider) Status(ctx context.Context, ref string) (signing.Progress, error) {
	v, err := p.get(ctx, ref)
	if err != nil {
		return signing.Progress{}, err
	}
	signed, latest := signedRoles(v)
	all := true
	for _, r := range v.Roles {
		if _, mine := positionOf(r.ID); mine && !signed[r.ID] {
			all = false
		}
	}
	out := signing.Progress{}
	switch {
	case v.Status == "COMPLETED", v.Status == "ARCHIVED" && all:
		out.Status = signing.ProgressCompleted
	case v.Trashed:
		out.Status = signing.ProgressCancelled
	case v.Status == "SENT" && all:
		// Signed by everyone but waiting to be completed (autocomplete off, PACKAGE_READY_FOR_COMPLETE):
		// the documents are final only once the package is COMPLETED.
		if err := p.call(ctx, "complete", http.MethodPost, packagePath(ref), map[string]string{"status": "COMPLETED"}, nil); err != nil {
			return signing.Progress{}, err
		}
		out.Status = signing.ProgressCompleted
	case v.Status == "SENT":
		out.Status = signing.ProgressPending
	case v.Status == "DECLINED", v.Status == "OPTED_OUT":
		out.Status = signing.ProgressDeclined
	case v.Status == "EXPIRED":
		out.Status = signing.ProgressExpired
	default: // DRAFT after sending, ARCHIVED unfinished
		out.Status = signing.ProgressCancelled
	}
	declinedBy := ""
	if out.Status == signing.ProgressDeclined && len(v.Messages) > 0 {
		m := slices.MaxFunc(v.Messages, func(a, b struct {
			Content string         `json:"content"`
			Created string         `json:"created"`
			From    map[string]any `json:"from"`
		}) int {
			return parseTime(a.Created).Compare(parseTime(b.Created))
		})
		out.Reden = strings.TrimSpace(m.Content)
		declinedBy, _ = m.From["email"].(string)
		if id, _ := m.From["id"].(string); declinedBy == "" && id != "" {
			declinedBy = id
		}
	}
	// Who may sign now: the lowest index among our roles not yet signed.
	next := -1
	for _, r := range v.Roles {
		if _, mine := positionOf(r.ID); mine {
			if !signed[r.ID] && (next < 0 || r.Index < next) {
				next = r.Index
			}
		}
	}
	for _, r := range v.Roles {
		pos, mine := positionOf(r.ID)
		if !mine {
			continue
		}
		sp := signing.SignerProgress{Position: pos, Status: signing.SignerPending}
		method := ""
		email, signerID := "", ""
		if len(r.Signers) > 0 {
			email, signerID = r.Signers[0].Email, r.Signers[0].ID
			if a := r.Signers[0].Auth; a != nil && a.Scheme == "SMS" {
				method = signing.AuthSMS
			}
		}
		switch {
		case declinedBy != "" && (strings.EqualFold(declinedBy, email) || declinedBy == signerID):
			sp.Status, sp.Reden = signing.SignerDeclined, out.Reden
		case signed[r.ID]:
			sp.Status, sp.At = signing.SignerSigned, latest[r.ID]
		case r.Index == next && out.Status == signing.ProgressPending:
			sp.Status = signing.SignerInvited
		}
		if sp.Status == signing.SignerSigned || sp.Status == signing.SignerDeclined {
			sp.Evidence = map[string]string{"authenticatie": signing.AuthWords(method), "aanbieder": "OneSpan Sign / ValidSign", "rol": r.ID}
		}
		out.Signers = append(out.Signers, sp)
	}
	sort.Slice(out.Signers, func(i, j int) bool { return out.Signers[i].Position < out.Signers[j].Position })
	return out, nil
}

// positionOf reads the signer position from a role id this adapter made ("signer3"); the
// package's other roles (its sender) are not ours.
func positionOf(role string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(role, "signer"))
	return n, err == nil && strings.HasPrefix(role, "signer") && n >= 0
}

// signedRoles says which roles signed all their approvals, and when the last of them was signed.
func signedRoles(v *pkg) (map[string]bool, map[string]time.Time) {
	signed, latest := map[string]bool{}, map[string]time.Time{}
	for _, d := range v.Documents {
		for _, a := range d.Approvals {
			ok, seen := signed[a.Role]
			if !seen {
				ok = true
			}
			if a.Signed == nil || *a.Signed == "" {
				ok = false
			} else if t := parseTime(*a.Signed); t.After(latest[a.Role]) {
				latest[a.Role] = t
			}
			signed[a.Role] = ok
		}
	}
	return signed, latest
}

// Signed implements signing.Provider: the document with every signature, streamed.
func (p *Provider) Signed(ctx context.Context, ref string, position int) (io.ReadCloser, error) {
	resp, err := p.request(ctx, "signed document", http.MethodGet, packagePath(ref)+"/documents/"+url.PathEscape(docID(position))+"/pdf",
		nil, "", "application/octet-stream; esl-api-version="+apiVersion)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Cancel implements signing.Provider: back to draft (signing stops), then into the trash. A
// package that finished (completed, declined, expired), is trashed already or is unknown needs
// nothing.
func (p *Provider) Cancel(ctx context.Context, ref, _ string) error {
	v, err := p.get(ctx, ref)
	if vendorStatus(err) == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if v.Trashed {
		return nil
	}
	switch v.Status {
	case "SENT":
		if err := p.call(ctx, "cancel (to draft)", http.MethodPut, packagePath(ref), map[string]string{"status": "DRAFT"}, nil); err != nil {
			return err
		}
	case "DRAFT":
	default:
		return nil
	}
	err = p.call(ctx, "cancel (trash)", http.MethodPost, packagePath(ref), map[string]bool{"trashed": true}, nil)
	if vendorStatus(err) == http.StatusNotFound {
		return nil
	}
	return err
}

// VerifyWebhook implements signing.WebhookProvider. OneSpan sends "Authorization: Basic {callback
// key}" with the key as registered; some ValidSign set-ups send base64("user:key") instead, so
// both are accepted, compared in constant time. The body only names the package.
func (p *Provider) VerifyWebhook(r *http.Request, body []byte) (string, error) {
	h := r.Header.Get("Authorization")
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") || cred == "" {
		return "", signing.ErrWebhookUnauthorized
	}
	key := []byte(p.cfg.CallbackKey)
	good := subtle.ConstantTimeCompare([]byte(cred), key) == 1
	if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
		if _, pass, found := strings.Cut(string(dec), ":"); found && subtle.ConstantTimeCompare([]byte(pass), key) == 1 {
			good = true
		}
	}
	if !good {
		return "", signing.ErrWebhookUnauthorized
	}
	var ev struct {
		Name      string `json:"name"`
		PackageID string `json:"packageId"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.PackageID == "" {
		return "", fmt.Errorf("%w: onespan: callback without packageId", signing.ErrPermanent)
	}
	return ev.PackageID, nil
}

// vendorStatus is the HTTP status of a vendor's error answer, or 0.
func vendorStatus(err error) int {
	var ve *signing.VendorError
	if errors.As(err, &ve) {
		return ve.Status
	}
	return 0
}
