package signing

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Event types of the workflow.
const (
	EventStateChanged     = "state_changed"
	EventDocumentFetched  = "document_fetched"
	EventProviderCreated  = "provider_created"
	EventDocumentUploaded = "document_uploaded"
	EventEvidenceCreated  = "evidence_created"
	EventAborting         = "aborting"
	EventNotified         = "notified"
	EventRetry            = "retry"
)

// Notification actions (NRC actie) and the kanaal they go to.
const (
	ActieVoltooid   = "OndertekenenVoltooid"
	ActieAfgebroken = "OndertekenenAfgebroken"
	Kanaal          = "documentacties"
)

// DriftPolicy says what happens when a document got a new version while it was being signed.
type DriftPolicy string

// Drift policies.
const (
	DriftAbort       DriftPolicy = "abort"        // abort the transaction (default)
	DriftNextVersion DriftPolicy = "next_version" // upload the signed PDF as the next version anyway
)

// Reasons (reden) of aborted transactions, in Dutch for the case system's users.
const (
	RedenDrift   = "Document is gewijzigd tijdens het ondertekenen"
	RedenExpired = "Verlopen: niet op tijd ondertekend"
)

// RedenDeclined is the reden when a signer declines. The signer is named by position (1 is the
// first in the trigger's list), never by name or address: the reden goes to every subscriber of the
// kanaal, while the person stays in the status API and the evidence. position 0 is unknown.
func RedenDeclined(position int, reason string) string {
	if reason == "" {
		reason = "geen reden opgegeven"
	}
	if position > 0 {
		return fmt.Sprintf("Geweigerd door ondertekenaar %d: %s", position, reason)
	}
	return "Geweigerd door ondertekenaar: " + reason
}

// Steps named in a technical-failure reden.
const (
	StepFetch    = "het ophalen van document"
	StepCreate   = "het aanmaken van de ondertekening bij de ondertekenaanbieder"
	StepProgress = "het opvragen van de voortgang bij de ondertekenaanbieder"
	StepCollect  = "het ophalen van het ondertekende document"
	StepUpload   = "het uploaden van document"
	StepEvidence = "het vastleggen van het bewijsdocument"
)

// RedenTechnical names the step, and the document when there is one, in a technical-failure reden.
func RedenTechnical(step, document string) string {
	if document != "" {
		return fmt.Sprintf("Technische fout bij %s %s", step, document)
	}
	return "Technische fout bij " + step
}

// DocumentName is how a reden names a document: its titel, else its file name, else its URL.
func DocumentName(d Document) string {
	switch {
	case d.Titel != "":
		return fmt.Sprintf("%q", d.Titel)
	case d.Bestandsnaam != "":
		return fmt.Sprintf("%q", d.Bestandsnaam)
	default:
		return d.URL
	}
}

// PDFFileName turns a file name into the name of its signed PDF: the extension becomes .pdf.
func PDFFileName(name, fallback string) string {
	if name == "" {
		name = fallback
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	return name + ".pdf"
}

// EvidenceReport renders the plain evidence PDF the workflow attaches when the provider keeps no
// audit trail of its own: the transaction, the SHA-256 of every original and signed document and
// the events. It is small, so it is built in memory.
func EvidenceReport(t Transaction, now time.Time) []byte {
	lines := []string{
		"Bewijs van ondertekening",
		"",
		"Transactie: " + t.ID.String(),
		"Naam: " + t.Naam,
		"Zaak: " + t.Zaak.URL,
		"Opgesteld: " + now.UTC().Format(time.RFC3339),
		"",
		"Documenten:",
	}
	for _, d := range t.Documents {
		lines = append(lines, fmt.Sprintf("- %s (versie %d)", d.URL, d.Versie),
			"  origineel sha-256: "+d.OriginalSHA256,
			"  ondertekend sha-256: "+d.SignedSHA256)
	}
	lines = append(lines, "", "Ondertekenaars:")
	for _, s := range t.Signers {
		at := ""
		if s.SignedAt != nil {
			at = s.SignedAt.UTC().Format(time.RFC3339)
		}
		method := "geen"
		if s.Authenticatie != nil {
			method = s.Authenticatie.Methode
		}
		lines = append(lines, fmt.Sprintf("- %s %s <%s> volgorde %d, authenticatie %s, %s %s",
			s.Voornaam, s.Achternaam, s.Email, s.Volgorde, method, s.Status, at))
	}
	lines = append(lines, "", "Gebeurtenissen:")
	for _, e := range t.Events {
		lines = append(lines, fmt.Sprintf("- %s %s (%s) door %s", e.At.UTC().Format(time.RFC3339), e.Type, e.State, e.Actor))
	}
	return TextPDF(lines)
}

// TextPDF renders lines of text as a simple PDF in Helvetica, 60 lines a page.
func TextPDF(lines []string) []byte {
	const perPage = 60
	var pages [][]string
	for len(lines) > perPage {
		pages = append(pages, lines[:perPage])
		lines = lines[perPage:]
	}
	pages = append(pages, lines)

	var b bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	kids := make([]string, len(pages))
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	for i, p := range pages {
		var c bytes.Buffer
		c.WriteString("BT /F1 10 Tf 12 TL 50 800 Td\n")
		for _, l := range p {
			fmt.Fprintf(&c, "(%s) Tj T*\n", pdfString(l))
		}
		c.WriteString("ET")
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", c.Len()+0, c.String()))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

// pdfString escapes a line for a PDF literal string; characters outside Latin-1 become '?'.
func pdfString(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 32:
			b.WriteByte(' ')
		case r < 128:
			b.WriteRune(r)
		case r < 256:
			fmt.Fprintf(&b, "\\%03o", r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// Abort causes, a small fixed set for metrics and reports.
const (
	CauseDeclined  = "declined"
	CauseCancelled = "cancelled"
	CauseExpired   = "expired"
	CauseDrift     = "drift"
	CauseTechnical = "technical"
	CauseOther     = "other"
)

// AbortCause classifies a reden by the cause of the abort.
func AbortCause(reden string) string {
	switch {
	case strings.HasPrefix(reden, "Geweigerd door ondertekenaar"):
		return CauseDeclined
	case strings.HasPrefix(reden, "Ingetrokken"):
		return CauseCancelled
	case reden == RedenExpired:
		return CauseExpired
	case reden == RedenDrift:
		return CauseDrift
	case strings.HasPrefix(reden, "Technische fout"):
		return CauseTechnical
	default:
		return CauseOther
	}
}
