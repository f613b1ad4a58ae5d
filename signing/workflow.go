package signing

import (
	"fmt"
	"strings"
)

// Event types of the workflow.
const (
	EventStateChanged     = "state_changed"
	EventDocumentFetched  = "document_fetched"
	EventZaakChecked      = "zaak_checked" // the zaak and the evidence type passed the checks before signing
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
