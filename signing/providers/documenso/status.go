package documenso

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/vendorapi"
	"github.com/signingd/signingd/signing/providers/vendorkit"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func decode(r io.Reader, v any) error { return json.NewDecoder(io.LimitReader(r, 16<<20)).Decode(v) }

type vRecipient struct {
	ID              int        `json:"id"`
	Email           string     `json:"email"`
	Role            string     `json:"role"`
	SigningStatus   string     `json:"signingStatus"`
	SendStatus      string     `json:"sendStatus"`
	ReadStatus      string     `json:"readStatus"`
	SignedAt        *time.Time `json:"signedAt"`
	ExpiresAt       *time.Time `json:"expiresAt"`
	RejectionReason *string    `json:"rejectionReason"`
	AuthOptions     struct {
		AccessAuth []string `json:"accessAuth"`
	} `json:"authOptions"`
}

type vEnvelope struct {
	ID            string       `json:"id"`
	Status        string       `json:"status"`
	Recipients    []vRecipient `json:"recipients"`
	EnvelopeItems []struct {
		ID    string `json:"id"`
		Order int    `json:"order"`
	} `json:"envelopeItems"`
}

func (p *Provider) get(ctx context.Context, ref string) (vEnvelope, error) {
	var e vEnvelope
	err := p.api.JSON(ctx, "get envelope", http.MethodGet, "/envelope/"+url.PathEscape(ref), nil, &e)
	return e, err
}

// Status implements signing.Provider. Recipients are matched to signers by position: the
// adapter created them in signer order, and Documenso lists them so (by id).
func (p *Provider) Status(ctx context.Context, ref string) (signing.Progress, error) {
	e, err := p.get(ctx, ref)
	if err != nil {
		return signing.Progress{}, err
	}
	signers := slices.DeleteFunc(slices.Clone(e.Recipients), func(r vRecipient) bool { return r.Role != "SIGNER" })
	slices.SortStableFunc(signers, func(a, b vRecipient) int { return a.ID - b.ID })
	now := p.cfg.Now()
	out := signing.Progress{Status: signing.ProgressPending}
	expired := false
	for i, r := range signers {
		sp := signing.SignerProgress{Position: i, Status: signing.SignerPending}
		switch {
		case r.SigningStatus == "SIGNED":
			method := "null"
			if slices.Contains(r.AuthOptions.AccessAuth, "TWO_FACTOR_AUTH") {
				method = signing.AuthEmail
			}
			sp = vendorkit.Signed(i, r.SignedAt, method)
		case r.SigningStatus == "REJECTED":
			sp = vendorkit.Declined(i, nil, deref(r.RejectionReason))
			if out.Reden == "" {
				out.Reden = sp.Reden
			}
		case r.ExpiresAt != nil && !r.ExpiresAt.After(now):
			expired = true
		case r.SendStatus == "SENT":
			sp.Status = signing.SignerInvited
		}
		out.Signers = append(out.Signers, sp)
	}
	switch e.Status {
	case "COMPLETED":
		out.Status = signing.ProgressCompleted
	case "REJECTED":
		out.Status = signing.ProgressDeclined
	case "CANCELLED":
		out.Status = signing.ProgressCancelled
	default:
		if expired {
			out.Status = signing.ProgressExpired
		}
	}
	return out, nil
}

// Signed implements signing.Provider: the sealed item at position (envelopeItems[].order is
// 1-based in upload order, which is document order).
func (p *Provider) Signed(ctx context.Context, ref string, position int) (io.ReadCloser, error) {
	e, err := p.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	items := slices.Clone(e.EnvelopeItems)
	slices.SortStableFunc(items, func(a, b struct {
		ID    string `json:"id"`
		Order int    `json:"order"`
	}) int {
		return a.Order - b.Order
	})
	if position < 0 || position >= len(items) {
		return nil, fmt.Errorf("documenso: envelope %s has no document %d: %w", ref, position, signing.ErrPermanent)
	}
	resp, err := p.api.Do(ctx, "download signed document "+strconv.Itoa(position), vendorapi.Request{Method: http.MethodGet,
		Path: "/envelope/item/" + url.PathEscape(items[position].ID) + "/download?version=signed"})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

type auditEntry struct {
	CreatedAt time.Time      `json:"createdAt"`
	Type      string         `json:"type"`
	Email     *string        `json:"email"`
	IPAddress *string        `json:"ipAddress"`
	UserAgent *string        `json:"userAgent"`
	Data      map[string]any `json:"data"`
}

var auditWords = map[string]string{
	"DOCUMENT_CREATED":                   "envelop aangemaakt",
	"DOCUMENT_SENT":                      "verstuurd",
	"EMAIL_SENT":                         "uitnodiging gemaild",
	"DOCUMENT_OPENED":                    "document geopend",
	"DOCUMENT_VIEWED":                    "document bekeken",
	"DOCUMENT_ACCESS_AUTH_2FA_REQUESTED": "code per e-mail gevraagd",
	"DOCUMENT_ACCESS_AUTH_2FA_VALIDATED": "code per e-mail bevestigd",
	"DOCUMENT_ACCESS_AUTH_2FA_FAILED":    "code per e-mail onjuist",
	"DOCUMENT_FIELD_INSERTED":            "handtekening geplaatst",
	"DOCUMENT_RECIPIENT_COMPLETED":       "ondertekend",
	"DOCUMENT_RECIPIENT_REJECTED":        "geweigerd",
	"DOCUMENT_RECIPIENT_EXPIRED":         "ondertekentermijn verlopen",
	"DOCUMENT_COMPLETED":                 "alle handtekeningen gezet, verzegeld",
	"DOCUMENT_CANCELLED":                 "ingetrokken",
}

// Evidence implements signing.Provider: the audit log as events (oldest first), and Documenso's
// signing certificate and audit log PDFs.
func (p *Provider) Evidence(ctx context.Context, ref string) (signing.Evidence, error) {
	e, err := p.get(ctx, ref)
	if err != nil {
		return signing.Evidence{}, err
	}
	signers := map[string]int{}
	n := 0
	for _, r := range e.Recipients {
		if r.Role == "SIGNER" {
			signers[r.Email] = n
			n++
		}
	}
	var ev signing.Evidence
	for page := 1; ; page++ {
		var out struct {
			Data       []auditEntry `json:"data"`
			TotalPages int          `json:"totalPages"`
		}
		q := url.Values{"page": {strconv.Itoa(page)}, "perPage": {"100"}, "orderByDirection": {"asc"}}
		if err := p.api.JSON(ctx, "audit log", http.MethodGet, "/envelope/"+url.PathEscape(ref)+"/audit-log?"+q.Encode(), nil, &out); err != nil {
			return signing.Evidence{}, err
		}
		for _, a := range out.Data {
			x := signing.EvidenceEvent{At: a.CreatedAt, Signer: -1, Type: a.Type, Words: auditWords[a.Type],
				IP: deref(a.IPAddress), UserAgent: deref(a.UserAgent)}
			email := deref(a.Email)
			if v, ok := a.Data["recipientEmail"].(string); ok {
				email = v
			}
			if i, ok := signers[email]; ok && email != "" {
				x.Signer = i
			}
			if v, ok := a.Data["reason"].(string); ok {
				x.Reden = v
			}
			ev.Events = append(ev.Events, x)
		}
		if page >= out.TotalPages || page >= 100 {
			break
		}
	}
	vendorkit.SortEvents(ev.Events)
	if e.Status == "COMPLETED" {
		cert, err := p.api.Download(ctx, "download signing certificate", "/envelope/"+url.PathEscape(ref)+"/certificate/download", signing.MaxEvidenceFile)
		if err != nil {
			return signing.Evidence{}, err
		}
		ev.Files = append(ev.Files, signing.EvidenceFile{Name: "documenso-certificaat.pdf", MediaType: "application/pdf",
			Description: "Ondertekeningscertificaat van Documenso", Content: cert})
	}
	log, err := p.api.Download(ctx, "download audit log PDF", "/envelope/"+url.PathEscape(ref)+"/audit-log/download", signing.MaxEvidenceFile)
	if err != nil {
		return signing.Evidence{}, err
	}
	ev.Files = append(ev.Files, signing.EvidenceFile{Name: "documenso-auditlog.pdf", MediaType: "application/pdf",
		Description: "Auditlog van Documenso", Content: log})
	return ev, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Cancel implements signing.Provider. Documenso cancels only a pending envelope; one that is
// gone, finished or cancelled already needs nothing.
func (p *Provider) Cancel(ctx context.Context, ref, reden string) error {
	err := p.api.JSON(ctx, "cancel envelope", http.MethodPost, "/envelope/cancel", map[string]string{"envelopeId": ref, "reason": reden}, nil)
	if err == nil || vendorapi.Status(err) == http.StatusNotFound {
		return nil
	}
	if vendorapi.Status(err) == http.StatusBadRequest {
		e, gerr := p.get(ctx, ref)
		if vendorapi.Status(gerr) == http.StatusNotFound || (gerr == nil && e.Status != "PENDING" && e.Status != "DRAFT") {
			return nil
		}
	}
	return err
}
