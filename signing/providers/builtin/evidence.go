package builtin

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/internal/text"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/signing/providers/builtin/records"
)

// Evidence streams the signing's evidence report: a PDF with the transaction, every document's
// SHA-256 before and after signing, every signer and every event, signed with the service's
// certificate. It is made once, at the first call after the signing ended, and kept, so that
// retried calls return the same bytes.
func (p *Provider) Evidence(ctx context.Context, ref string) (io.ReadCloser, error) {
	id, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	sg, err := p.o.Store.BuiltinSigning(ctx, id)
	if err != nil {
		return nil, err
	}
	if sg.EvidenceBlob == nil {
		if sg.Status == "pending" {
			return nil, fmt.Errorf("builtin: evidence %s: signing still pending", ref)
		}
		events, err := p.o.Store.BuiltinEvents(ctx, id)
		if err != nil {
			return nil, err
		}
		b, err := p.makeEvidence(ctx, sg, events)
		if err != nil {
			return nil, err
		}
		if err := p.o.Store.SetBuiltinEvidence(ctx, id, b.ID); err != nil {
			return nil, err
		}
		if sg, err = p.o.Store.BuiltinSigning(ctx, id); err != nil { // another replica may have won
			return nil, err
		}
	}
	rc, _, err := p.o.Store.OpenBlob(ctx, *sg.EvidenceBlob)
	return rc, err
}

func (p *Provider) makeEvidence(ctx context.Context, sg records.Signing, events []records.Event) (records.Blob, error) {
	unsigned, err := os.CreateTemp("", "signingd-evidence-*.pdf")
	if err != nil {
		return records.Blob{}, err
	}
	defer os.Remove(unsigned.Name())
	defer unsigned.Close()
	if err := writeReport(unsigned, sg, events, p.now(), p.o.Location, p.brand(sg.RSIN).Name); err != nil {
		return records.Blob{}, fmt.Errorf("builtin: evidence report: %w", err)
	}
	name := p.o.Certificate.Chain[0].Subject.CommonName
	b, err := p.signAndStore(ctx, sg.TransactionID, unsigned, pades.Options{Signer: p.o.Certificate.Key,
		Certificates: p.o.Certificate.Chain, Name: name, Reason: "Bewijsstuk van de ondertekening", Invisible: true, Certify: 1})
	if err != nil {
		return records.Blob{}, fmt.Errorf("builtin: sign evidence report: %w", err)
	}
	return b, nil
}

func authDescription(s records.Signer) string {
	switch s.AuthMethod {
	case "sms":
		return "sms-code naar " + text.MaskPhone(s.AuthValue)
	case "email":
		return "e-mailcode naar " + s.AuthValue
	default:
		return "persoonlijke link per e-mail (geen tweede factor)"
	}
}

var eventNames = map[string]string{
	"invited": "uitgenodigd", "opened": "link geopend", "code_sent": "code verstuurd", "code_wrong": "onjuiste code",
	"code_expired": "verlopen code", "locked": "link geblokkeerd", "authenticated": "geauthenticeerd", "signed": "ondertekend",
	"declined": "geweigerd", "reminder": "herinnering verstuurd", "expiry_warning": "verloopwaarschuwing verstuurd",
	"cancelled": "ingetrokken", "expired": "verlopen", "invite_failed": "uitnodiging niet verstuurd",
	"reminder_failed": "herinnering niet verstuurd", "expiry_warning_failed": "verloopwaarschuwing niet verstuurd",
}

func writeReport(w io.Writer, sg records.Signing, events []records.Event, now time.Time, loc *time.Location, org string) error {
	r := report.New(report.Info{Title: "Bewijsstuk ondertekening " + sg.Naam, Author: "signingd", Created: now})
	utc := func(at time.Time) string { return at.In(loc).Format("2006-01-02 15:04:05 -07:00") }
	r.Line(report.Title, "Bewijsstuk van de ondertekening")
	r.Line(report.Body, "Evidence report of the signing")
	r.Gap(8)
	r.Line(report.Heading, "Transactie")
	r.Line(report.Body, "Naam: "+sg.Naam)
	if org != "" {
		r.Line(report.Body, "Organisatie: "+org)
	}
	r.Line(report.Body, "Eigenaar: "+sg.Eigenaar)
	r.Line(report.Body, "Transactie-id: "+sg.TransactionID.String())
	r.Line(report.Body, "Referentie: "+sg.ID.String())
	r.Line(report.Body, "Status: "+statusNL(sg.Status, sg.Reden))
	r.Line(report.Body, "Aangemaakt: "+utc(sg.CreatedAt))
	if sg.FinishedAt != nil {
		r.Line(report.Body, "Afgerond: "+utc(*sg.FinishedAt))
	}
	r.Line(report.Body, "Rapport opgesteld: "+utc(now))
	r.Gap(8)
	r.Line(report.Heading, "Documenten")
	for _, d := range sg.Documents {
		title := d.Titel
		if title == "" {
			title = d.Bestandsnaam
		}
		r.Line(report.Strong, fmt.Sprintf("%d. %s (%s)", d.Position+1, title, d.Bestandsnaam))
		r.Line(report.Small, "SHA-256 origineel: "+d.OriginalSHA256)
		r.Line(report.Small, "SHA-256 ondertekend: "+d.CurrentSHA256)
		r.Gap(4)
	}
	r.Gap(4)
	r.Line(report.Heading, "Ondertekenaars")
	for _, s := range sg.Signers {
		done := "—"
		if s.DoneAt != nil {
			done = utc(*s.DoneAt)
		}
		r.Line(report.Body, fmt.Sprintf("%d. %s <%s>", s.Position+1, signerName(s), s.Email))
		r.Line(report.Body, "Volgorde: "+fmt.Sprint(s.Volgorde)+"; authenticatie: "+authDescription(s))
		r.Line(report.Body, "Status: "+statusNL(s.Status, s.Reden)+"; op: "+done)
		r.Gap(4)
	}
	r.Gap(4)
	r.Line(report.Heading, "Gebeurtenissen ("+loc.String()+")")
	for _, e := range events {
		who := "systeem"
		if e.Position != nil {
			for _, s := range sg.Signers {
				if s.Position == *e.Position {
					who = signerName(s)
				}
			}
		}
		name := eventNames[e.Type]
		if name == "" {
			name = e.Type
		}
		r.Line(report.Strong, fmt.Sprintf("%s  %s (%s) — %s", utc(e.At), name, e.Type, who))
		var extra []string
		if e.IP != "" {
			extra = append(extra, "IP: "+e.IP)
		}
		if reden, ok := e.Detail["reden"].(string); ok && reden != "" {
			extra = append(extra, "reden: "+reden)
		}
		if len(extra) > 0 {
			r.Line(report.Small, strings.Join(extra, "; "))
		}
		if e.UserAgent != "" {
			r.Line(report.Small, "User agent: "+e.UserAgent)
		}
	}
	r.Gap(8)
	r.Line(report.Small, "Dit rapport is met het certificaat van de dienst digitaal ondertekend (PAdES); wijzigingen maken die handtekening ongeldig.")
	_, err := r.WriteTo(w)
	return err
}

func statusNL(status, reden string) string {
	switch status {
	case string(signing.ProgressCompleted):
		return "voltooid"
	case signing.SignerSigned:
		return "ondertekend"
	case signing.SignerDeclined:
		return "geweigerd, reden: " + reden
	case string(signing.ProgressCancelled):
		return "ingetrokken: " + reden
	case string(signing.ProgressExpired):
		return "verlopen"
	case signing.SignerInvited:
		return "uitgenodigd"
	case signing.SignerPending:
		return "nog niet uitgenodigd"
	}
	return status
}
