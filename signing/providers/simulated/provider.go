package simulated

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/vendorapi"
)

// Name is the provider name in the landscape and in the webhook URL.
const Name = "simulated"

// Config configures the adapter for a simulated vendor.
type Config struct {
	BaseURL       string // the vendor's URL, e.g. http://127.0.0.1:8091
	WebhookSecret string
	// PollInterval is the safety-net poll for lost webhooks; 30 s when zero.
	PollInterval time.Duration
	Client       *http.Client
	// Now is the clock the webhook's signed sent_at is checked against; time.Now when nil.
	Now func() time.Time
	// AuthMethods are the signer authentication methods it offers besides null; sms and email
	// when nil. Fewer make it a vendor without, say, SMS codes.
	AuthMethods []string
	// CallsPerMinute is the status calls' budget the workflow keeps to; none when zero.
	CallsPerMinute int
}

// WebhookWindow is how far a webhook's signed sent_at may lie from our clock: a delivery captured
// and replayed later is refused.
const WebhookWindow = 5 * time.Minute

// Provider adapts the simulated vendor to signing.Provider.
type Provider struct {
	cfg Config
	api *vendorapi.Client
}

var _ signing.WebhookProvider = (*Provider)(nil)

// New returns the adapter.
func New(cfg Config) *Provider {
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 30 * time.Second
	}
	// New has no error to return: a BaseURL that is no http(s) URL fails every call, permanently.
	api, _ := vendorapi.New(vendorapi.Config{Vendor: Name, BaseURL: cfg.BaseURL, Client: cfg.Client, Now: cfg.Now})
	return &Provider{cfg: cfg, api: api}
}

// Info implements signing.Provider.
func (p *Provider) Info() signing.ProviderInfo {
	methods := p.cfg.AuthMethods
	if methods == nil {
		methods = []string{signing.AuthSMS, signing.AuthEmail}
	}
	return signing.ProviderInfo{Name: Name, AuthMethods: methods, PollInterval: p.cfg.PollInterval, SignsDigitally: true, Parallel: true,
		CallsPerMinute: p.cfg.CallsPerMinute}
}

// Create implements signing.Provider: the vendor keys signings by external_id, so a repeated
// Create finds the first one; documents are uploaded (again) only while it is a draft.
func (p *Provider) Create(ctx context.Context, req signing.CreateRequest) (string, error) {
	in := createBody{ExternalID: req.TransactionID.String(), Naam: req.Naam}
	for _, s := range req.Signers {
		method := ""
		if s.Authenticatie != nil {
			method = s.Authenticatie.Methode
		}
		in.Signers = append(in.Signers, struct {
			Position   int    `json:"position"`
			Email      string `json:"email"`
			Name       string `json:"name"`
			Volgorde   int    `json:"volgorde"`
			AuthMethod string `json:"auth_method"`
			Anchor     string `json:"anchor,omitempty"`
		}{s.Position, s.Email, strings.TrimSpace(s.Voornaam + " " + s.Achternaam), s.Volgorde, method, signing.Placeholder(s.Identificatie)})
	}
	for _, d := range req.Documents {
		in.Documents = append(in.Documents, struct {
			Position int    `json:"position"`
			Name     string `json:"name"`
		}{d.Position, d.Bestandsnaam})
	}
	var v vendorSigning
	if err := p.api.JSON(ctx, "create", http.MethodPost, "/api/signings", in, &v); err != nil {
		return "", err
	}
	if v.Status != StatusDraft {
		return v.ID, nil
	}
	for _, d := range req.Documents {
		if err := p.upload(ctx, v.ID, d); err != nil {
			return "", err
		}
	}
	if err := p.api.JSON(ctx, "start", http.MethodPost, "/api/signings/"+url.PathEscape(v.ID)+"/start", struct{}{}, nil); err != nil {
		return "", err
	}
	return v.ID, nil
}

func (p *Provider) upload(ctx context.Context, id string, d signing.ProviderDocument) error {
	rc, err := d.Open(ctx)
	if err != nil {
		return fmt.Errorf("simulated: open document %d: %w", d.Position, err)
	}
	// The transport closes the body, and may still read it after Do returned (an early answer):
	// closing it here as well raced with that read.
	resp, err := p.api.Do(ctx, fmt.Sprintf("upload document %d", d.Position), vendorapi.Request{Method: http.MethodPut,
		Path: "/api/signings/" + url.PathEscape(id) + "/documents/" + strconv.Itoa(d.Position), Body: rc, Size: d.Size,
		ContentType: "application/octet-stream"})
	if vendorapi.Status(err) == http.StatusConflict { // uploaded before
		return nil
	}
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Status implements signing.Provider.
func (p *Provider) Status(ctx context.Context, ref string) (signing.Progress, error) {
	var v vendorSigning
	if err := p.api.JSON(ctx, "status", http.MethodGet, "/api/signings/"+url.PathEscape(ref), nil, &v); err != nil {
		return signing.Progress{}, err
	}
	out := signing.Progress{Reden: v.Reden}
	switch v.Status {
	case StatusCompleted:
		out.Status = signing.ProgressCompleted
	case StatusDeclined:
		out.Status = signing.ProgressDeclined
	case StatusCancelled:
		out.Status = signing.ProgressCancelled
	case StatusExpired:
		out.Status = signing.ProgressExpired
	default:
		out.Status = signing.ProgressPending
	}
	for _, s := range v.Signers {
		sp := signing.SignerProgress{Position: s.Position, Status: s.Status, At: s.At, Reden: s.Reden}
		if s.Status == signing.SignerSigned || s.Status == signing.SignerDeclined {
			sp.Evidence = map[string]string{"ip": s.IP, "user_agent": s.UserAgent, "authenticatie": signing.AuthWords(s.AuthMethod)}
		}
		out.Signers = append(out.Signers, sp)
	}
	return out, nil
}

// Signed implements signing.Provider.
func (p *Provider) Signed(ctx context.Context, ref string, position int) (io.ReadCloser, error) {
	resp, err := p.api.Do(ctx, fmt.Sprintf("signed document %d", position), vendorapi.Request{Method: http.MethodGet,
		Path: "/api/signings/" + url.PathEscape(ref) + "/documents/" + strconv.Itoa(position) + "/signed"})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Evidence implements signing.Provider: the vendor's audit trail as events, and its own audit
// trail PDF, kept whole.
func (p *Provider) Evidence(ctx context.Context, ref string) (signing.Evidence, error) {
	var audit []AuditEntry
	if err := p.api.JSON(ctx, "audit", http.MethodGet, "/api/signings/"+url.PathEscape(ref)+"/audit", nil, &audit); err != nil {
		return signing.Evidence{}, err
	}
	var ev signing.Evidence
	for _, a := range audit {
		ev.Events = append(ev.Events, signing.EvidenceEvent{At: a.At, Signer: a.Signer, Type: a.Event, Words: auditWords[a.Event],
			IP: a.IP, UserAgent: a.UserAgent, Reden: a.Reden})
	}
	pdf, err := p.api.Download(ctx, "audit trail", "/api/signings/"+url.PathEscape(ref)+"/audit.pdf", signing.MaxEvidenceFile)
	if err != nil {
		return signing.Evidence{}, err
	}
	ev.Files = []signing.EvidenceFile{{Name: "audit-trail.pdf", MediaType: "application/pdf",
		Description: "Audittrail van de gesimuleerde aanbieder", Content: pdf}}
	return ev, nil
}

var auditWords = map[string]string{
	"created": "ondertekening gestart", "invited": "uitgenodigd", "signed": "ondertekend", "declined": "geweigerd",
	"cancelled": "ingetrokken", "completed": "alle handtekeningen gezet", "expired": "verlopen",
}

// Cancel implements signing.Provider.
func (p *Provider) Cancel(ctx context.Context, ref, reden string) error {
	err := p.api.JSON(ctx, "cancel", http.MethodPost, "/api/signings/"+url.PathEscape(ref)+"/cancel", map[string]string{"reden": reden}, nil)
	if vendorapi.Status(err) == http.StatusNotFound {
		return nil // nothing to cancel
	}
	return err
}

// VerifyWebhook implements signing.WebhookProvider: the body must carry a valid HMAC-SHA256 of
// the shared secret in SignatureHeader, and its signed sent_at must lie within WebhookWindow of now.
func (p *Provider) VerifyWebhook(r *http.Request, body []byte) (string, error) {
	got := strings.TrimPrefix(r.Header.Get(SignatureHeader), "sha256=")
	want := Sign(p.cfg.WebhookSecret, body)
	if p.cfg.WebhookSecret == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return "", signing.ErrWebhookUnauthorized
	}
	var in struct {
		SigningID string `json:"signing_id"`
		SentAt    string `json:"sent_at"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.SigningID == "" {
		return "", fmt.Errorf("simulated: webhook body: %w", signing.ErrPermanent)
	}
	sent, err := time.Parse(time.RFC3339, in.SentAt)
	now := time.Now
	if p.cfg.Now != nil {
		now = p.cfg.Now
	}
	if d := now().Sub(sent); err != nil || d > WebhookWindow || d < -WebhookWindow {
		return "", signing.ErrWebhookUnauthorized // replayed, or signed without the time
	}
	return in.SigningID, nil
}
