// Package signing is the domain of signingd: the trigger message, the transaction and its states,
// and the interfaces the workflow needs. It imports neither the HTTP framework nor the database driver.
package signing

import (
	"time"

	"github.com/google/uuid"
)

// Transaction is one signing as signingd keeps it: the trigger, where it stands, and its history.
type Transaction struct {
	ID                         uuid.UUID
	OrganisationID             uuid.UUID
	State                      State
	Naam                       string
	Eigenaar                   string
	Zaak                       Zaak
	BewijsInformatieobjecttype string
	Provider                   string
	Reden                      string // why it was aborted
	CreatedAt                  time.Time
	UpdatedAt                  time.Time
	Deadline                   time.Time // expiry: aborted when not signed by then
	FinishedAt                 *time.Time
	Documents                  []DocumentStatus
	Signers                    []SignerStatus
	Events                     []Event
}

// DocumentStatus is a document of a transaction with its progress.
type DocumentStatus struct {
	Document
	Status         string
	OriginalSHA256 string
	SignedSHA256   string
	VersieSigned   *int // the DRC version that was signed
	VersieUploaded *int // the DRC version the signed PDF became
}

// SignerStatus is a signer of a transaction with their progress.
type SignerStatus struct {
	Signer
	Status        string
	SignedAt      *time.Time
	DeclinedAt    *time.Time
	DeclineReason string
}

// Event is one entry of a transaction's audit trail.
type Event struct {
	ID     int64
	At     time.Time
	Type   string
	State  State
	Actor  string
	Detail map[string]any
}

// Event types written by the foundation; the workflow adds its own.
const (
	EventReceived        = "received"
	EventCancelRequested = "cancel_requested"
	EventJobRan          = "job_ran"
)

// Signer statuses.
const (
	SignerPending  = "pending"
	SignerInvited  = "invited"
	SignerSigned   = "signed"
	SignerDeclined = "declined"
)

// Document statuses.
const (
	DocumentPending  = "pending"
	DocumentFetched  = "fetched"
	DocumentSigned   = "signed"
	DocumentUploaded = "uploaded"
)

// ListFilter narrows a transaction list. Zero values match everything.
type ListFilter struct {
	Zaak     string
	State    State
	Page     int // 1-based
	PageSize int
}
