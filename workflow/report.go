package workflow

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
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

// evidenceReport renders the evidence PDF the workflow attaches when the provider keeps no audit
// trail of its own: the transaction, the SHA-256 of every original and signed document, the
// signers and the events, in Dutch, lines wrapped at the margin. It is small, so it is built in
// memory; the caller seals it.
func evidenceReport(t signing.Transaction, now time.Time, loc *time.Location) ([]byte, error) {
	utc := func(at time.Time) string { return at.In(loc).Format("2006-01-02 15:04:05 -07:00") }
	r := report.New(report.Info{Title: "Bewijs van ondertekening " + t.Naam, Author: "signingd", Created: now})
	r.Line(report.Title, "Bewijs van ondertekening")
	r.Gap(8)
	r.Line(report.Body, "Transactie: "+t.ID.String())
	r.Line(report.Body, "Naam: "+t.Naam)
	if t.Eigenaar != "" {
		r.Line(report.Body, "Eigenaar: "+t.Eigenaar)
	}
	r.Line(report.Body, "Zaak: "+t.Zaak.URL)
	r.Line(report.Body, "Opgesteld: "+utc(now))
	r.Gap(8)
	r.Line(report.Heading, "Documenten")
	for _, d := range t.Documents {
		r.Line(report.Strong, fmt.Sprintf("%s (versie %d)", d.URL, d.Versie))
		r.Line(report.Small, "origineel sha-256: "+d.OriginalSHA256)
		r.Line(report.Small, "ondertekend sha-256: "+d.SignedSHA256)
		r.Gap(4)
	}
	r.Gap(4)
	r.Line(report.Heading, "Ondertekenaars")
	for _, s := range t.Signers {
		at := ""
		if s.SignedAt != nil {
			at = utc(*s.SignedAt)
		}
		method := ""
		if s.Authenticatie != nil {
			method = s.Authenticatie.Methode
		}
		r.Line(report.Body, fmt.Sprintf("%s %s <%s> volgorde %d, authenticatie %s, %s %s",
			s.Voornaam, s.Achternaam, s.Email, s.Volgorde, signing.AuthWords(method), signerStatusNL[s.Status], at))
	}
	r.Gap(8)
	r.Line(report.Heading, "Gebeurtenissen ("+loc.String()+")")
	for _, e := range t.Events {
		r.Line(report.Body, fmt.Sprintf("%s %s (%s) door %s", utc(e.At), e.Type, e.State, e.Actor))
	}
	b, err := r.Bytes()
	if err != nil {
		return nil, fmt.Errorf("evidence report: %w", err)
	}
	return b, nil
}

// signerStatusNL is a signer's status in the report's language.
var signerStatusNL = map[string]string{
	signing.SignerPending: "wacht", signing.SignerInvited: "uitgenodigd",
	signing.SignerSigned: "ondertekend", signing.SignerDeclined: "geweigerd",
}
