package builtin

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/signintech/gopdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

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
	if err := writeReport(unsigned, sg, events, p.now()); err != nil {
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

// report lays text out top to bottom on A4 pages.
type report struct {
	pdf *gopdf.GoPdf
	y   float64
}

const (
	marginX   = 50.0
	pageWidth = 595.28 - 2*marginX
)

func (r *report) text(s string, size float64, bold bool) error {
	font := "regular"
	if bold {
		font = "bold"
	}
	if err := r.pdf.SetFont(font, "", size); err != nil {
		return err
	}
	lines, err := r.pdf.SplitText(s, pageWidth)
	if err != nil {
		lines = []string{s}
	}
	for _, l := range lines {
		if r.y > 841.89-60 {
			r.pdf.AddPage()
			r.y = 50
		}
		r.pdf.SetXY(marginX, r.y)
		if err := r.pdf.Cell(nil, l); err != nil {
			return err
		}
		r.y += size * 1.4
	}
	return nil
}

func (r *report) gap(h float64) { r.y += h }

func writeReport(w io.Writer, sg records.Signing, events []records.Event, now time.Time) error {
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	pdf.SetInfo(gopdf.PdfInfo{Title: "Bewijsstuk ondertekening " + sg.Naam, Author: "signingd", Creator: "signingd", CreationDate: now})
	if err := pdf.AddTTFFontData("regular", goregular.TTF); err != nil {
		return err
	}
	if err := pdf.AddTTFFontData("bold", gobold.TTF); err != nil {
		return err
	}
	pdf.AddPage()
	r := &report{pdf: pdf, y: 50}
	utc := func(at time.Time) string { return at.UTC().Format("2006-01-02 15:04:05 UTC") }
	steps := []func() error{
		func() error { return r.text("Bewijsstuk van de ondertekening", 18, true) },
		func() error { return r.text("Evidence report of the signing", 11, false) },
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return err
		}
	}
	r.gap(8)
	lines := []struct {
		s    string
		size float64
		bold bool
	}{
		{"Transactie", 13, true},
		{"Naam: " + sg.Naam, 10, false},
		{"Eigenaar: " + sg.Eigenaar, 10, false},
		{"Transactie-id: " + sg.TransactionID.String(), 10, false},
		{"Referentie: " + sg.ID.String(), 10, false},
		{"Status: " + statusNL(sg.Status, sg.Reden), 10, false},
		{"Aangemaakt: " + utc(sg.CreatedAt), 10, false},
	}
	if sg.FinishedAt != nil {
		lines = append(lines, struct {
			s    string
			size float64
			bold bool
		}{"Afgerond: " + utc(*sg.FinishedAt), 10, false})
	}
	lines = append(lines, struct {
		s    string
		size float64
		bold bool
	}{"Rapport opgesteld: " + utc(now), 10, false})
	for _, l := range lines {
		if err := r.text(l.s, l.size, l.bold); err != nil {
			return err
		}
	}
	r.gap(8)
	if err := r.text("Documenten", 13, true); err != nil {
		return err
	}
	for _, d := range sg.Documents {
		title := d.Titel
		if title == "" {
			title = d.Bestandsnaam
		}
		for _, l := range []struct {
			s    string
			size float64
			bold bool
		}{
			{fmt.Sprintf("%d. %s (%s)", d.Position+1, title, d.Bestandsnaam), 10, true},
			{"SHA-256 origineel: " + d.OriginalSHA256, 8.5, false},
			{"SHA-256 ondertekend: " + d.CurrentSHA256, 8.5, false},
		} {
			if err := r.text(l.s, l.size, l.bold); err != nil {
				return err
			}
		}
		r.gap(4)
	}
	r.gap(4)
	if err := r.text("Ondertekenaars", 13, true); err != nil {
		return err
	}
	for _, s := range sg.Signers {
		done := "—"
		if s.DoneAt != nil {
			done = utc(*s.DoneAt)
		}
		for _, l := range []string{
			fmt.Sprintf("%d. %s <%s>", s.Position+1, signerName(s), s.Email),
			"Volgorde: " + fmt.Sprint(s.Volgorde) + "; authenticatie: " + authDescription(s),
			"Status: " + statusNL(s.Status, s.Reden) + "; op: " + done,
		} {
			if err := r.text(l, 10, false); err != nil {
				return err
			}
		}
		r.gap(4)
	}
	r.gap(4)
	if err := r.text("Gebeurtenissen (UTC)", 13, true); err != nil {
		return err
	}
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
		line := fmt.Sprintf("%s  %s (%s) — %s", utc(e.At), name, e.Type, who)
		if err := r.text(line, 9, true); err != nil {
			return err
		}
		var extra []string
		if e.IP != "" {
			extra = append(extra, "IP: "+e.IP)
		}
		if reden, ok := e.Detail["reden"].(string); ok && reden != "" {
			extra = append(extra, "reden: "+reden)
		}
		if len(extra) > 0 {
			if err := r.text(strings.Join(extra, "; "), 8.5, false); err != nil {
				return err
			}
		}
		if e.UserAgent != "" {
			if err := r.text("User agent: "+e.UserAgent, 8.5, false); err != nil {
				return err
			}
		}
	}
	r.gap(8)
	if err := r.text("Dit rapport is met het certificaat van de dienst digitaal ondertekend (PAdES); wijzigingen maken die handtekening ongeldig.", 8.5, false); err != nil {
		return err
	}
	_, err := pdf.WriteTo(w)
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
