package onespansim

import "time"

// Package is a package as the API shows it (GET /api/packages/{id}).
type Package struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Description  string         `json:"description"`
	EmailMessage string         `json:"emailMessage"`
	Language     string         `json:"language"`
	Status       string         `json:"status"`
	Type         string         `json:"type"`
	Autocomplete bool           `json:"autocomplete"`
	Due          *string        `json:"due"`
	Trashed      bool           `json:"trashed"`
	Visibility   string         `json:"visibility"`
	Sender       *Sender        `json:"sender"`
	Data         map[string]any `json:"data"`
	Roles        []*Role        `json:"roles"`
	Documents    []*Document    `json:"documents"`
	Messages     []Message      `json:"messages"`
	Settings     any            `json:"settings,omitempty"`
	Created      string         `json:"created"`
	Updated      string         `json:"updated"`
	Completed    *string        `json:"completed,omitempty"`

	due   time.Time
	audit []AuditEvent
}

// Sender is the account user who sends a package.
type Sender struct {
	ID        string `json:"id,omitempty"`
	Email     string `json:"email"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	Name      string `json:"name,omitempty"`
	Company   string `json:"company,omitempty"`
	Title     string `json:"title,omitempty"`
	Language  string `json:"language,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// Role is a place in the signing order, held by one signer.
type Role struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Type    string    `json:"type"`
	Index   int       `json:"index"`
	Signers []*Signer `json:"signers"`
	Locked  bool      `json:"locked"`
}

// Signer is a person.
type Signer struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Name      string `json:"name,omitempty"`
	Company   string `json:"company,omitempty"`
	Title     string `json:"title,omitempty"`
	Language  string `json:"language,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Auth      *Auth  `json:"auth"`
}

// Auth is how a signer authenticates.
type Auth struct {
	Scheme     string      `json:"scheme"`
	Challenges []Challenge `json:"challenges"`
}

// Challenge is a question (for SMS: the phone number).
type Challenge struct {
	Question  string `json:"question"`
	Answer    string `json:"answer,omitempty"`
	MaskInput bool   `json:"maskInput,omitempty"`
}

// Document is one document of a package.
type Document struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Index       int         `json:"index"`
	Approvals   []*Approval `json:"approvals"`
	Size        int         `json:"size"`

	original []byte
	current  []byte // with the signatures made so far
}

// Approval is one signature block of a role in a document.
type Approval struct {
	ID       string   `json:"id"`
	Role     string   `json:"role"`
	Name     string   `json:"name"`
	Fields   []*Field `json:"fields"`
	Optional bool     `json:"optional"`
	Signed   *string  `json:"signed"`
	Accepted *string  `json:"accepted"`
}

// Field is a signature (or input) field of an approval.
type Field struct {
	ID            string         `json:"id"`
	Name          string         `json:"name,omitempty"`
	Type          string         `json:"type"`
	Subtype       string         `json:"subtype"`
	Page          *int           `json:"page,omitempty"`
	Top           *float64       `json:"top,omitempty"`
	Left          *float64       `json:"left,omitempty"`
	Width         *float64       `json:"width,omitempty"`
	Height        *float64       `json:"height,omitempty"`
	Extract       bool           `json:"extract"`
	ExtractAnchor *ExtractAnchor `json:"extractAnchor,omitempty"`
}

// ExtractAnchor places a field relative to a text in the document.
type ExtractAnchor struct {
	Text           string  `json:"text"`
	Index          int     `json:"index"`
	Width          float64 `json:"width"`
	Height         float64 `json:"height"`
	AnchorPoint    string  `json:"anchorPoint"`
	CharacterIndex int     `json:"characterIndex"`
	LeftOffset     float64 `json:"leftOffset"`
	TopOffset      float64 `json:"topOffset"`
}

// Message is a decline or opt-out reason.
type Message struct {
	Content string         `json:"content"`
	Created string         `json:"created"`
	From    map[string]any `json:"from"`
	To      []any          `json:"to"`
	Status  string         `json:"status"`
}

// AuditEvent is one entry of a package's audit trail, with the names the API uses
// (GET /api/packages/{id}/audit → {"audit-events": […]}).
type AuditEvent struct {
	Type     string `json:"type"`
	DateTime string `json:"date-time"`
	Target   string `json:"target"`
	User     string `json:"user"`
	Email    string `json:"user-email"`
	IP       string `json:"user-ip"`
	Data     string `json:"data"`
}

// Package statuses.
const (
	StatusDraft     = "DRAFT"
	StatusSent      = "SENT"
	StatusCompleted = "COMPLETED"
	StatusArchived  = "ARCHIVED"
	StatusDeclined  = "DECLINED"
	StatusOptedOut  = "OPTED_OUT"
	StatusExpired   = "EXPIRED"
)

// Callback event names, as the API spells them.
const (
	EventPackageActivate         = "PACKAGE_ACTIVATE"
	EventPackageComplete         = "PACKAGE_COMPLETE"
	EventPackageExpire           = "PACKAGE_EXPIRE"
	EventPackageOptOut           = "PACKAGE_OPT_OUT"
	EventPackageDecline          = "PACKAGE_DECLINE"
	EventSignerComplete          = "SIGNER_COMPLETE"
	EventDocumentSigned          = "DOCUMENT_SIGNED"
	EventPackageCreate           = "PACKAGE_CREATE"
	EventPackageDeactivate       = "PACKAGE_DEACTIVATE"
	EventPackageReadyForComplete = "PACKAGE_READY_FOR_COMPLETE"
	EventPackageTrash            = "PACKAGE_TRASH"
	EventPackageRestore          = "PACKAGE_RESTORE"
	EventPackageDelete           = "PACKAGE_DELETE"
	EventPackageArchive          = "PACKAGE_ARCHIVE"
)
