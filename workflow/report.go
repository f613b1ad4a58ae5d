package workflow

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/internal/text"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/store"
)

// Sealer signs the evidence reports the workflow writes, with the service's certificate (the one
// the built-in signer signs with), so that a report cannot be changed unnoticed in the DRC.
type Sealer struct {
	Key   crypto.Signer
	Chain []*x509.Certificate // the certificate first
	Name  string              // the service's name in the signature, e.g. "Gemeente X ondertekenservice"
}

// seal certifies pdf (no changes allowed after it), invisibly: the report is the page itself.
func (s *Sealer) seal(ctx context.Context, pdf []byte, now time.Time) ([]byte, error) {
	var out bytes.Buffer
	err := pades.Sign(ctx, bytes.NewReader(pdf), int64(len(pdf)), &out, pades.Options{
		Signer: s.Key, Certificates: s.Chain, Name: s.Name, Reason: "Bewijsstuk van de ondertekening",
		Time: now, Invisible: true, Certify: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("evidence report: seal: %w", err)
	}
	return out.Bytes(), nil
}

// reportInput is everything the evidence report shows.
type reportInput struct {
	w        store.Work
	org      string // the organisation's name, "" when the landscape gives none
	provider signing.Evidence
	now      time.Time
	loc      *time.Location
	sealed   bool
}

// evidenceReport writes the one evidence report, whichever provider signed: the transaction, the
// SHA-256 of every original and of every signed document as uploaded, the signers and how they
// authenticated, the workflow's and the provider's events in one timeline, and the provider's own
// evidence documents, listed and embedded as attachments. Dutch, full Unicode, lines wrapped at
// the margin. It is small, so it is built in memory; the caller seals it.
func evidenceReport(ctx context.Context, in reportInput) ([]byte, error) {
	t := in.w.Transaction
	at := func(t time.Time) string { return t.In(in.loc).Format("2006-01-02 15:04:05 -07:00") }
	r := report.New(report.Info{Title: "Bewijs van ondertekening " + t.Naam, Author: "signingd", Created: in.now})
	r.Line(report.Title, "Bewijs van ondertekening")
	r.Gap(8)
	r.Line(report.Heading, "Transactie")
	r.Line(report.Body, "Naam: "+t.Naam)
	if in.org != "" {
		r.Line(report.Body, fmt.Sprintf("Organisatie: %s (RSIN %s)", in.org, in.w.RSIN))
	} else if in.w.RSIN != "" {
		r.Line(report.Body, "Organisatie: RSIN "+in.w.RSIN)
	}
	if t.Eigenaar != "" {
		r.Line(report.Body, "Eigenaar: "+t.Eigenaar)
	}
	r.Line(report.Body, "Zaak: "+t.Zaak.URL)
	r.Line(report.Body, "Transactie-id: "+t.ID.String())
	r.Line(report.Body, "Ondertekenaanbieder: "+t.Provider+", referentie "+in.w.ProviderRef)
	r.Line(report.Body, "Ontvangen: "+at(t.CreatedAt))
	r.Line(report.Body, "Rapport opgesteld: "+at(in.now))
	r.Gap(8)
	r.Line(report.Heading, "Documenten")
	for i, d := range t.Documents {
		title := cmp.Or(d.Titel, d.Bestandsnaam, d.URL)
		r.Line(report.Strong, fmt.Sprintf("%d. %s", i+1, title))
		versions := fmt.Sprintf("versie %d ondertekend", d.Versie)
		if d.VersieUploaded != nil {
			versions += fmt.Sprintf(", ondertekend vastgelegd als versie %d", *d.VersieUploaded)
		}
		r.Line(report.Small, d.URL+" ("+versions+")")
		r.Line(report.Small, "SHA-256 origineel: "+d.OriginalSHA256)
		r.Line(report.Small, "SHA-256 ondertekend: "+d.SignedSHA256)
		r.Gap(4)
	}
	r.Gap(4)
	r.Line(report.Heading, "Ondertekenaars")
	for i, s := range t.Signers {
		r.Line(report.Strong, fmt.Sprintf("%d. %s <%s>", i+1, personName(s.Signer), s.Email))
		r.Line(report.Body, fmt.Sprintf("Volgorde: %d; authenticatie: %s", s.Volgorde, authDescription(s.Authenticatie)))
		status := signerStatusNL[s.Status]
		switch {
		case s.SignedAt != nil:
			status += " op " + at(*s.SignedAt)
		case s.DeclinedAt != nil:
			status += " op " + at(*s.DeclinedAt) + ", reden: " + cmp.Or(s.DeclineReason, "geen reden opgegeven")
		}
		r.Line(report.Body, "Status: "+status)
		r.Gap(4)
	}
	r.Gap(4)
	r.Line(report.Heading, "Gebeurtenissen (tijden in "+in.loc.String()+")")
	for _, e := range timeline(t, in.provider) {
		r.Line(report.Strong, at(e.at)+"  "+e.words)
		if len(e.detail) > 0 {
			r.Line(report.Small, strings.Join(e.detail, "; "))
		}
	}
	if len(in.provider.Files) > 0 {
		r.Gap(8)
		r.Line(report.Heading, "Bijlagen")
		r.Line(report.Body, "Het eigen bewijs van de ondertekenaanbieder, ongewijzigd als bijlage in dit PDF-bestand opgenomen:")
		for _, f := range in.provider.Files {
			sum := sha256.Sum256(f.Content)
			name := f.Name
			if f.Description != "" {
				name += " — " + f.Description
			}
			r.Line(report.Strong, name)
			r.Line(report.Small, fmt.Sprintf("%s, %d bytes, SHA-256 %s", cmp.Or(f.MediaType, "application/octet-stream"), len(f.Content), hex.EncodeToString(sum[:])))
		}
	}
	if in.sealed {
		r.Gap(8)
		r.Line(report.Small, "Dit rapport is met het certificaat van de dienst digitaal ondertekend (PAdES); elke wijziging maakt die handtekening ongeldig.")
	}
	b, err := r.Bytes()
	if err != nil {
		return nil, fmt.Errorf("evidence report: %w", err)
	}
	if len(in.provider.Files) == 0 {
		return b, nil
	}
	files := make([]pades.File, 0, len(in.provider.Files))
	for _, f := range in.provider.Files {
		files = append(files, pades.File{Name: f.Name, MediaType: f.MediaType, Description: f.Description, Content: f.Content, Modified: in.now})
	}
	var out bytes.Buffer
	if err := pades.Attach(ctx, bytes.NewReader(b), int64(len(b)), &out, files); err != nil {
		return nil, fmt.Errorf("evidence report: attach the provider's evidence: %w", err)
	}
	return out.Bytes(), nil
}

// line is one event of the report's timeline.
type line struct {
	at     time.Time
	words  string
	detail []string
}

// timeline merges the workflow's events and the provider's in time order. The workflow's job
// bookkeeping and retries are left out: they say how the service worked, not what happened to
// the signing, and stay in the status API.
func timeline(t signing.Transaction, ev signing.Evidence) []line {
	who := func(pos int) string {
		if pos >= 0 && pos < len(t.Signers) {
			return fmt.Sprintf("ondertekenaar %d (%s)", pos+1, personName(t.Signers[pos].Signer))
		}
		return ""
	}
	var out []line
	for _, e := range t.Events {
		words, ok := eventWords[e.Type]
		if !ok && !strings.HasPrefix(e.Type, "signer_") {
			continue
		}
		l := line{at: e.At, words: "signingd: " + words}
		if e.Type == signing.EventStateChanged {
			l.words = "signingd: status " + cmp.Or(stateWords[e.State], string(e.State))
		}
		if strings.HasPrefix(e.Type, "signer_") {
			pos := -1
			if p, ok := e.Detail["signer"].(float64); ok {
				pos = int(p)
			} else if p, ok := e.Detail["signer"].(int); ok {
				pos = p
			}
			l.words = "aanbieder meldt: " + who(pos) + " " + signerStatusNL[strings.TrimPrefix(e.Type, "signer_")]
		}
		for _, k := range []string{"reden", "authenticatie", "ip", "user_agent", "versie"} {
			if v, ok := e.Detail[k]; ok && fmt.Sprint(v) != "" {
				l.detail = append(l.detail, detailWords[k]+": "+fmt.Sprint(v))
			}
		}
		out = append(out, l)
	}
	for _, e := range ev.Events {
		l := line{at: e.At, words: "aanbieder: " + cmp.Or(e.Words, e.Type)}
		if w := who(e.Signer); w != "" {
			l.words += " — " + w
		}
		for k, v := range map[string]string{"reden": e.Reden, "ip": e.IP, "user_agent": e.UserAgent} {
			if v != "" {
				l.detail = append(l.detail, detailWords[k]+": "+v)
			}
		}
		slices.Sort(l.detail)
		out = append(out, l)
	}
	slices.SortStableFunc(out, func(a, b line) int { return a.at.Compare(b.at) })
	return out
}

func personName(s signing.Signer) string {
	return strings.TrimSpace(s.Voornaam + " " + s.Achternaam)
}

// authDescription says how a signer proved who they are, with the phone number masked.
func authDescription(a *signing.Authenticatie) string {
	if a == nil {
		return signing.AuthWords("")
	}
	switch a.Methode {
	case signing.AuthSMS:
		return signing.AuthWords(a.Methode) + " naar " + text.MaskPhone(a.Waarde)
	case signing.AuthEmail:
		if a.Waarde != "" {
			return signing.AuthWords(a.Methode) + " naar " + a.Waarde
		}
	}
	return signing.AuthWords(a.Methode)
}

// signerStatusNL is a signer's status in the report's language.
var signerStatusNL = map[string]string{
	signing.SignerPending: "wacht", signing.SignerInvited: "uitgenodigd",
	signing.SignerSigned: "ondertekend", signing.SignerDeclined: "geweigerd",
}

var eventWords = map[string]string{
	signing.EventReceived: "opdracht ontvangen", signing.EventStateChanged: "status", signing.EventDocumentFetched: "document opgehaald",
	signing.EventZaakChecked: "zaak en documenten gecontroleerd", signing.EventProviderCreated: "ondertekening aangemaakt bij de aanbieder",
	signing.EventDocumentUploaded: "ondertekend document vastgelegd", signing.EventCancelRequested: "intrekking gevraagd",
	signing.EventAborting: "afgebroken",
}

var stateWords = map[signing.State]string{
	signing.StateReceived: "ontvangen", signing.StateFetching: "documenten ophalen", signing.StateAwaitingSignatures: "wacht op ondertekening",
	signing.StateCollecting: "ondertekende documenten ophalen", signing.StateUploading: "ondertekende documenten vastleggen",
	signing.StateNotifying: "melden", signing.StateCompleted: "voltooid", signing.StateAborting: "afbreken", signing.StateAborted: "afgebroken",
}

var detailWords = map[string]string{
	"reden": "reden", "authenticatie": "authenticatie", "ip": "IP-adres", "user_agent": "browser", "versie": "versie",
}
