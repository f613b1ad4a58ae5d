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
	"github.com/signingd/signingd/signing/providers/vendorapi"
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
	cfg Config
	api *vendorapi.Client
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
	api, err := vendorapi.New(vendorapi.Config{Vendor: "onespan", BaseURL: cfg.BaseURL, Client: cfg.Client,
		Auth:     func(r *http.Request) { r.Header.Set("Authorization", "Basic "+cfg.APIKey) },
		JSONType: jsonType, DownloadType: fileType, MaxJSON: 32 << 20, ErrorMessage: errorMessage, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	if cfg.APIKey == "" {
		return nil, errors.New("onespan: API key missing")
	}
	if cfg.CallbackKey == "" {
		return nil, errors.New("onespan: callback key missing")
	}
	return &Provider{cfg: cfg, api: api}, nil
}

// Info implements signing.Provider. OneSpan's NONE scheme (the e-mail link alone) is signingd's
// null; it has SMS codes but no e-mail one-time code.
func (p *Provider) Info() signing.ProviderInfo {
	return signing.ProviderInfo{Name: p.cfg.Name, AuthMethods: []string{signing.AuthSMS}, Parallel: true,
		CallsPerMinute: p.cfg.CallsPerMinute, PollInterval: p.cfg.PollInterval, SignsDigitally: true}
}

// errorMessage reads OneSpan's error answer, {messageKey, message, technical}.
func errorMessage(body []byte) string {
	var msg struct {
		MessageKey string `json:"messageKey"`
		Message    string `json:"message"`
		Technical  string `json:"technical"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Message == "" {
		return ""
	}
	return strings.TrimSpace(msg.MessageKey + " " + msg.Message + " " + msg.Technical)
}

// The media types sent, with the API version.
const (
	jsonType = "application/json; esl-api-version=" + apiVersion
	fileType = "application/octet-stream; esl-api-version=" + apiVersion
)

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
	if err := p.api.JSON(ctx, "get package", http.MethodGet, packagePath(ref), nil, &v); err != nil {
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
		if err := p.api.JSON(ctx, "complete", http.MethodPost, packagePath(ref), map[string]string{"status": "COMPLETED"}, nil); err != nil {
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
	resp, err := p.api.Do(ctx, "signed document", vendorapi.Request{Method: http.MethodGet,
		Path: packagePath(ref) + "/documents/" + url.PathEscape(docID(position)) + "/pdf", Accept: fileType})
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
	if vendorapi.Status(err) == http.StatusNotFound {
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
		if err := p.api.JSON(ctx, "cancel (to draft)", http.MethodPut, packagePath(ref), map[string]string{"status": "DRAFT"}, nil); err != nil {
			return err
		}
	case "DRAFT":
	default:
		return nil
	}
	err = p.api.JSON(ctx, "cancel (trash)", http.MethodPost, packagePath(ref), map[string]bool{"trashed": true}, nil)
	if vendorapi.Status(err) == http.StatusNotFound {
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
