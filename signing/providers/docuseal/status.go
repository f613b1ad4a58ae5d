package docuseal

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/vendorapi"
	"github.com/signingd/signingd/signing/providers/vendorkit"
)

type vEvent struct {
	ID             int64          `json:"id"`
	SubmitterID    *int64         `json:"submitter_id"`
	EventType      string         `json:"event_type"`
	EventTimestamp time.Time      `json:"event_timestamp"`
	Data           map[string]any `json:"data"`
}

type vSubmitter struct {
	ID          int64          `json:"id"`
	Email       *string        `json:"email"`
	Status      string         `json:"status"`
	ExternalID  *string        `json:"external_id"`
	SentAt      *time.Time     `json:"sent_at"`
	OpenedAt    *time.Time     `json:"opened_at"`
	CompletedAt *time.Time     `json:"completed_at"`
	DeclinedAt  *time.Time     `json:"declined_at"`
	Preferences map[string]any `json:"preferences"`
}

type vSubmission struct {
	ID               int64        `json:"id"`
	Status           string       `json:"status"`
	ArchivedAt       *time.Time   `json:"archived_at"`
	AuditLogURL      *string      `json:"audit_log_url"`
	Submitters       []vSubmitter `json:"submitters"`
	SubmissionEvents []vEvent     `json:"submission_events"`
}

func refPath(ref string) (string, error) {
	if n, err := strconv.ParseInt(ref, 10, 64); err != nil || n <= 0 {
		return "", fmt.Errorf("docuseal: reference %q is not a submission id: %w", ref, signing.ErrPermanent)
	}
	return "/submissions/" + url.PathEscape(ref), nil
}

func (p *Provider) get(ctx context.Context, ref string) (vSubmission, error) {
	var s vSubmission
	path, err := refPath(ref)
	if err != nil {
		return s, err
	}
	err = p.api.JSON(ctx, "get submission", http.MethodGet, path, nil, &s)
	return s, err
}

// positions maps submitter ids to signer positions, from the external_id "{txid}:{pos}" the
// adapter gave them; submitters without one take their place in the list.
func positions(s vSubmission) map[int64]int {
	out := map[int64]int{}
	for i, sub := range s.Submitters {
		pos := i
		if sub.ExternalID != nil {
			if _, n, ok := strings.Cut(*sub.ExternalID, ":"); ok {
				if v, err := strconv.Atoi(n); err == nil && v >= 0 {
					pos = v
				}
			}
		}
		out[sub.ID] = pos
	}
	return out
}

// declineReason is the reason the submitter gave, from its decline_form event.
func declineReason(s vSubmission, submitterID int64) string {
	for _, e := range s.SubmissionEvents {
		if e.EventType == "decline_form" && e.SubmitterID != nil && *e.SubmitterID == submitterID {
			if r, ok := e.Data["reason"].(string); ok {
				return r
			}
		}
	}
	return ""
}

func method(sub vSubmitter) string {
	switch {
	case sub.Preferences["require_phone_2fa"] == true:
		return signing.AuthSMS
	case sub.Preferences["require_email_2fa"] == true:
		return signing.AuthEmail
	}
	return "null"
}

// Status implements signing.Provider. DocuSeal's status is pending, completed, declined or
// expired; a pending submission that was archived (Cancel) is cancelled.
func (p *Provider) Status(ctx context.Context, ref string) (signing.Progress, error) {
	s, err := p.get(ctx, ref)
	if err != nil {
		return signing.Progress{}, err
	}
	pos := positions(s)
	out := signing.Progress{Status: signing.ProgressPending}
	for _, sub := range s.Submitters {
		sp := signing.SignerProgress{Position: pos[sub.ID], Status: signing.SignerPending}
		switch sub.Status {
		case "completed":
			sp = vendorkit.Signed(pos[sub.ID], sub.CompletedAt, method(sub))
		case "declined":
			sp = vendorkit.Declined(pos[sub.ID], sub.DeclinedAt, declineReason(s, sub.ID))
			if out.Reden == "" {
				out.Reden = sp.Reden
			}
		case "sent", "opened":
			sp.Status = signing.SignerInvited
			if sub.SentAt != nil {
				sp.At = *sub.SentAt
			}
		}
		out.Signers = append(out.Signers, sp)
	}
	slices.SortStableFunc(out.Signers, func(a, b signing.SignerProgress) int { return a.Position - b.Position })
	switch {
	case s.Status == "completed":
		out.Status = signing.ProgressCompleted
	case s.Status == "declined":
		out.Status = signing.ProgressDeclined
	case s.ArchivedAt != nil:
		out.Status = signing.ProgressCancelled
	case s.Status == "expired":
		out.Status = signing.ProgressExpired
	}
	return out, nil
}

type docList struct {
	Documents []struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"documents"`
}

// Signed implements signing.Provider: the document at position of GET /submissions/{id}/documents
// (listed in the order the documents were sent), downloaded at once from the link DocuSeal gives;
// a link that expired before it was used is listed again, once.
func (p *Provider) Signed(ctx context.Context, ref string, position int) (io.ReadCloser, error) {
	path, err := refPath(ref)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 2 {
		var list docList
		if err := p.api.JSON(ctx, "list signed documents", http.MethodGet, path+"/documents", nil, &list); err != nil {
			return nil, err
		}
		if position < 0 || position >= len(list.Documents) {
			return nil, fmt.Errorf("docuseal: submission %s has no document %d: %w", ref, position, signing.ErrPermanent)
		}
		resp, err := p.api.GetLink(ctx, "download signed document "+strconv.Itoa(position), list.Documents[position].URL)
		if err == nil {
			return resp.Body, nil
		}
		lastErr = err
		// an expired link: DocuSeal answers it as not found (or forbidden); list again
		if s := vendorapi.Status(err); s != http.StatusNotFound && s != http.StatusForbidden && s != http.StatusGone {
			return nil, err
		}
	}
	return nil, lastErr
}

var eventWords = map[string]string{
	"send_email":            "uitnodiging gemaild",
	"bounce_email":          "e-mail onbestelbaar",
	"complaint_email":       "e-mail als spam gemeld",
	"send_reminder_email":   "herinnering gemaild",
	"send_sms":              "uitnodiging per sms",
	"send_2fa_sms":          "sms-code verstuurd",
	"send_2fa_email":        "e-mailcode verstuurd",
	"open_email":            "e-mail geopend",
	"click_email":           "link in e-mail geopend",
	"click_sms":             "link in sms geopend",
	"phone_verified":        "telefoonnummer bevestigd met sms-code",
	"email_verified":        "e-mailadres bevestigd met code",
	"start_form":            "ondertekenen begonnen",
	"start_verification":    "identiteitscontrole begonnen",
	"complete_verification": "identiteitscontrole afgerond",
	"view_form":             "documenten bekeken",
	"invite_party":          "volgende partij uitgenodigd",
	"complete_form":         "ondertekend",
	"decline_form":          "geweigerd",
	"api_complete_form":     "via de API afgerond",
}

// Evidence implements signing.Provider: submission_events as events, oldest first, and DocuSeal's
// audit log PDF once the submission is completed (before, DocuSeal has none).
func (p *Provider) Evidence(ctx context.Context, ref string) (signing.Evidence, error) {
	s, err := p.get(ctx, ref)
	if err != nil {
		return signing.Evidence{}, err
	}
	pos := positions(s)
	var ev signing.Evidence
	for _, e := range s.SubmissionEvents {
		x := signing.EvidenceEvent{At: e.EventTimestamp, Signer: -1, Type: e.EventType, Words: eventWords[e.EventType]}
		if e.SubmitterID != nil {
			if i, ok := pos[*e.SubmitterID]; ok {
				x.Signer = i
			}
		}
		if r, ok := e.Data["reason"].(string); ok {
			x.Reden = r
		}
		ev.Events = append(ev.Events, x)
	}
	vendorkit.SortEvents(ev.Events)
	if s.AuditLogURL != nil && *s.AuditLogURL != "" {
		b, err := p.download(ctx, "audit log", *s.AuditLogURL)
		if err != nil {
			return signing.Evidence{}, err
		}
		ev.Files = append(ev.Files, signing.EvidenceFile{Name: "docuseal-auditlog.pdf", MediaType: "application/pdf",
			Description: "Auditlog van DocuSeal", Content: b})
	}
	return ev, nil
}

func (p *Provider) download(ctx context.Context, op, link string) ([]byte, error) {
	b, err := p.api.DownloadLink(ctx, "download "+op, link, signing.MaxEvidenceFile)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		return nil, fmt.Errorf("docuseal: %s is not a PDF", op)
	}
	return b, nil
}

// Cancel implements signing.Provider: DELETE /submissions/{id} archives the submission, after
// which its signers can no longer sign. Archiving again is harmless; an unknown submission needs
// nothing. DocuSeal keeps no reason.
func (p *Provider) Cancel(ctx context.Context, ref, reden string) error {
	path, err := refPath(ref)
	if err != nil {
		return err
	}
	err = p.api.JSON(ctx, "archive submission", http.MethodDelete, path, nil, nil)
	if err == nil || vendorapi.Status(err) == http.StatusNotFound {
		return nil
	}
	return err
}
