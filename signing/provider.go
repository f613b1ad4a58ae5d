package signing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Provider is a signing service: the built-in signer or a vendor adapter. The workflow hands it the
// documents and signers of a transaction, learns progress from it (pushed by webhook or pulled by
// polling, both end in a call to Status), collects the signed PDFs and the evidence, and cancels.
//
// Every method may be called more than once for the same transaction, because workflow steps are
// retried after crashes: Create must return the existing signing for a TransactionID it has seen,
// Cancel of a cancelled or finished signing succeeds. Errors wrapping ErrPermanent abort the
// transaction; all other errors are retried with backoff.
type Provider interface {
	// Info describes the provider: its name and how it reports progress.
	Info() ProviderInfo

	// Create starts a signing and returns the provider's reference for it. Documents are streamed
	// from Open, never passed whole. Signers sign in ascending Volgorde; equal numbers sign in
	// parallel.
	Create(ctx context.Context, req CreateRequest) (ref string, err error)

	// Status reports where the signing stands.
	Status(ctx context.Context, ref string) (Progress, error)

	// Signed streams the signed PDF of the document at position (as in CreateRequest.Documents).
	// Only called once Status reported ProgressCompleted.
	Signed(ctx context.Context, ref string, position int) (io.ReadCloser, error)

	// Evidence returns what the provider recorded of the signing: the events of its audit trail
	// and its own evidence documents (an audit log, an evidence summary). The workflow writes the
	// one evidence report from it, for every provider alike, with the documents embedded. Only
	// called once the signing ended; a provider that records nothing returns an empty Evidence.
	Evidence(ctx context.Context, ref string) (Evidence, error)

	// Cancel stops the signing; signers can no longer sign. reden is the Dutch reason.
	Cancel(ctx context.Context, ref, reden string) error
}

// WebhookProvider is a Provider that pushes progress to POST /api/v1/providers/{name}/webhook.
// VerifyWebhook authenticates the request the provider's way (e.g. an HMAC header over body) and
// returns the reference of the signing it is about. The workflow then calls Status; the body is
// never trusted for the outcome itself.
type WebhookProvider interface {
	Provider
	VerifyWebhook(r *http.Request, body []byte) (ref string, err error)
}

// ProgressFunc is how an in-process provider (the built-in signer) tells the workflow that a
// signing progressed, as a webhook does for a vendor. The workflow then calls Status.
type ProgressFunc func(ctx context.Context, provider, ref string) error

// ProviderInfo describes a provider.
type ProviderInfo struct {
	Name string
	// AuthMethods are the signer authentication methods supported besides null; a trigger asking
	// for another is refused at intake, naming the field.
	AuthMethods []string
	// Parallel says signers who share a volgorde can sign at the same time; without it such a
	// trigger is refused at intake.
	Parallel bool
	// NoDocuments, when set, says in Dutch why this provider cannot take a trigger's documents
	// (DocuSeal's free edition signs only its own templates): every trigger is refused at intake,
	// naming documenten, before anything is stored.
	NoDocuments string
	// CallsPerMinute caps the workflow's status calls to the provider (its reconciliation poll
	// and the checks callbacks queue), per process; no cap when zero. Vendors limit API calls.
	CallsPerMinute int
	// PollInterval is how often the workflow asks Status while a signing is pending. Webhook
	// providers set a long interval as a safety net for lost callbacks.
	PollInterval time.Duration
	// Converts are the media types besides PDF that the provider turns into PDF itself; a
	// document of another type is refused before anyone is asked to sign.
	Converts []string
	// SignsDigitally says the provider's signed PDF carries PAdES signatures over the PDF it was
	// sent (or its conversion), appended as incremental updates: the workflow then verifies them
	// before upload, as the DRC version is marked ondertekening digitaal.
	SignsDigitally bool
	// LongTerm says the provider makes its output B-LTA itself where the organisation has a TSA
	// (the built-in signer). For other digital signers the workflow adds the validation data and a
	// document time-stamp to the collected PDFs.
	LongTerm bool
}

// CreateRequest is what a provider needs to start a signing.
type CreateRequest struct {
	// TransactionID is unique per signing; a second Create with it returns the first reference.
	TransactionID uuid.UUID
	// Organisation is who asks: its RSIN and the name signers know it by.
	Organisation Organisation
	Naam         string
	Eigenaar     string
	Deadline     time.Time
	Documents    []ProviderDocument
	Signers      []ProviderSigner
}

// Organisation is the municipality a signing is for, as signers should see it.
type Organisation struct {
	RSIN string
	Name string // e.g. "Gemeente Voorbeeld"
}

// ProviderDocument is one document to sign, streamed from Open.
type ProviderDocument struct {
	Position     int
	Titel        string
	Bestandsnaam string
	Formaat      string // media type of the original, e.g. application/pdf
	Size         int64
	SHA256       string // hex of the original content
	Open         func(ctx context.Context) (io.ReadCloser, error)
}

// ProviderSigner is one signer.
type ProviderSigner struct {
	Position      int
	Email         string
	Voornaam      string
	Achternaam    string
	Identificatie string
	Volgorde      int
	Authenticatie *Authenticatie
}

// Placeholder is the text in a document where the signer with identificatie signs: "{{id}}", as
// the trigger's identificatie names it with or without the braces; "" without one.
func Placeholder(identificatie string) string {
	id := strings.TrimSpace(identificatie)
	if id == "" || strings.HasPrefix(id, "{{") {
		return id
	}
	return "{{" + id + "}}"
}

// ProgressStatus is the overall state of a signing at the provider.
type ProgressStatus string

// Progress states.
const (
	ProgressPending   ProgressStatus = "pending"   // not all signers have signed yet
	ProgressCompleted ProgressStatus = "completed" // everyone signed; signed PDFs can be collected
	ProgressDeclined  ProgressStatus = "declined"  // a signer declined; Reden says why
	ProgressCancelled ProgressStatus = "cancelled" // cancelled at the provider
	ProgressExpired   ProgressStatus = "expired"   // the provider's own deadline passed
)

// Progress is where a signing stands at the provider.
type Progress struct {
	Status  ProgressStatus
	Reden   string // the decline reason as the signer gave it
	Signers []SignerProgress
}

// SignerProgress is one signer's state at the provider.
type SignerProgress struct {
	Position int
	Status   string // SignerPending, SignerInvited, SignerSigned, SignerDeclined
	At       time.Time
	Reden    string // when declined
	// Evidence is what the provider tells about how the signer signed (authentication method,
	// IP address, user agent); it goes into the audit trail.
	Evidence map[string]string
}

// Evidence is what a provider recorded of a signing, for the evidence report.
type Evidence struct {
	Events []EvidenceEvent
	Files  []EvidenceFile
}

// EvidenceEvent is one line of a provider's audit trail.
type EvidenceEvent struct {
	At        time.Time
	Signer    int    // the signer's position, or -1 for the provider itself
	Type      string // the provider's own name for it, e.g. "opened"
	Words     string // what happened, in Dutch, e.g. "link geopend"; Type when empty
	IP        string
	UserAgent string
	Reden     string // a decline or cancel reason
}

// EvidenceFile is a provider's own evidence document, kept whole: the report embeds it.
type EvidenceFile struct {
	Name        string // a file name, e.g. "evidence-summary.pdf"
	MediaType   string // e.g. application/pdf
	Description string // in Dutch, e.g. "Evidence summary van OneSpan Sign"
	Content     []byte
}

// MaxEvidenceFile bounds one evidence document of a provider: audit logs are small, and the report
// holding them goes to the DRC in one piece.
const MaxEvidenceFile = 32 << 20

// VendorError is a vendor API's error answer, for adapters to return: a 4xx other than 408, 409,
// 425 and 429 is permanent (errors.Is(err, ErrPermanent)); the rest is retried, no sooner than
// RetryAfter when the vendor said so.
type VendorError struct {
	Vendor     string // e.g. "onespan"
	Op         string // what the adapter was doing, e.g. "create package"
	Status     int
	RetryAfter time.Duration
	Message    string // the start of the answer's body
}

func (e *VendorError) Error() string {
	return fmt.Sprintf("%s: %s: HTTP %d %s", e.Vendor, e.Op, e.Status, e.Message)
}

// Is makes a permanent answer match ErrPermanent.
func (e *VendorError) Is(target error) bool {
	if target != ErrPermanent {
		return false
	}
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return e.Status >= 400 && e.Status < 500
}

// RetryAfter returns the wait a vendor asked for in err, if it asked.
func RetryAfter(err error) (time.Duration, bool) {
	var ve *VendorError
	if errors.As(err, &ve) && ve.RetryAfter > 0 {
		return ve.RetryAfter, true
	}
	return 0, false
}

var (
	// ErrPermanent marks a provider failure that retrying cannot fix.
	ErrPermanent = errors.New("signing: permanent provider failure")
	// ErrWebhookUnauthorized is returned by VerifyWebhook for a request that fails authentication.
	ErrWebhookUnauthorized = errors.New("signing: webhook not authenticated")
)
