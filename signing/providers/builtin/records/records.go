// Package records holds what the built-in signer keeps between requests, as plain values: its
// signings, documents, signers and audit trail, and the operations that change a signing under its
// lock. The built-in signer declares the store it needs in these terms, and the store implements
// it; neither the signer nor this package knows the database.
package records

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Signing is one signing of the built-in signer with its documents and signers.
type Signing struct {
	ID            uuid.UUID
	TransactionID uuid.UUID
	RSIN          string // the organisation's, for its branding; "" for signings made before
	Naam          string
	Eigenaar      string
	Status        string
	Reden         string
	Deadline      time.Time
	CreatedAt     time.Time
	FinishedAt    *time.Time
	Documents     []Document
	Signers       []Signer
}

// Document is a document of a signing; CurrentBlob holds every signature so far.
type Document struct {
	Position        int
	Titel           string
	Bestandsnaam    string
	OriginalFormaat string
	OriginalSHA256  string
	OriginalBlob    uuid.UUID
	CurrentBlob     uuid.UUID
	CurrentSHA256   string
}

// Signer is a signer of a signing.
type Signer struct {
	Position      int
	Email         string
	Voornaam      string
	Achternaam    string
	Identificatie string
	Volgorde      int
	AuthMethod    string
	AuthValue     string
	Status        string
	LinkExpires   *time.Time
	InvitedAt     *time.Time
	RemindedAt    *time.Time
	WarnedAt      *time.Time
	OTPSentAt     *time.Time
	LockedUntil   *time.Time
	DoneAt        *time.Time
	Reden         string
}

// Event is one entry of a signing's signer-side audit trail.
type Event struct {
	ID        int64
	Position  *int
	At        time.Time
	Type      string
	IP        string
	UserAgent string
	Detail    map[string]any
}

// Ref names one signer of one signing.
type Ref struct {
	SigningID uuid.UUID
	Position  int
}

// Blob is stored content: a document version or a report.
type Blob struct {
	ID     uuid.UUID
	Size   int64
	SHA256 string
}

// OTPResult is the outcome of one code attempt.
type OTPResult int

// Outcomes of a code attempt.
const (
	OTPWrong   OTPResult = iota // wrong code; attempts remain
	OTPOK                       // right code, within its validity
	OTPExpired                  // no code, or the code's validity is over
	OTPLocked                   // too many wrong codes; the link is locked for a while
)

// Tx changes one signing while its lock is held; every change commits together, or none does.
type Tx interface {
	// AddLink gives a signer one more link (its digest); expires is shared by all their links.
	AddLink(ctx context.Context, id uuid.UUID, pos int, digest []byte, expires, now time.Time) error
	// MarkInvited records that a pending signer's invitation went out.
	MarkInvited(ctx context.Context, id uuid.UUID, pos int, now time.Time) error
	// SetDocumentCurrent makes b the document's newest version.
	SetDocumentCurrent(ctx context.Context, id uuid.UUID, pos int, b Blob) error
	// FinishSigner records a signer's signature or refusal.
	FinishSigner(ctx context.Context, id uuid.UUID, pos int, status, reden string, now time.Time) error
	// SetStatus ends the signing (completed, declined, cancelled).
	SetStatus(ctx context.Context, id uuid.UUID, status, reden string, now time.Time) error
	// AddEvent appends an event to the signing's audit trail; pos is nil for the signing as a whole.
	AddEvent(ctx context.Context, id uuid.UUID, pos *int, typ, ip, userAgent string, detail map[string]any, now time.Time) error
}
