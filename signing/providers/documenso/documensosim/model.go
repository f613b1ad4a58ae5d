package documensosim

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Documenso's enums (packages/prisma/schema.prisma).
const (
	StatusDraft     = "DRAFT"
	StatusPending   = "PENDING"
	StatusCompleted = "COMPLETED"
	StatusRejected  = "REJECTED"
	StatusCancelled = "CANCELLED"

	OrderParallel   = "PARALLEL"
	OrderSequential = "SEQUENTIAL"
)

type envelope struct {
	ID, SecondaryID, ExternalID, Title, Status string
	LegacyID                                   int
	CreatedAt, UpdatedAt                       time.Time
	CompletedAt                                *time.Time
	Meta                                       map[string]any
	Recipients                                 []*Recipient
	Items                                      []*item
	Fields                                     []*Field
	Audit                                      []auditLog
}

type item struct {
	ID, Title string
	Order     int
	Original  []byte
	Signed    []byte
}

// Recipient is a recipient as Documenso keeps it.
type Recipient struct {
	ID                                    int
	Email, Name, Role, Token              string
	SigningOrder                          *int
	ReadStatus, SigningStatus, SendStatus string
	SignedAt, ExpiresAt                   *time.Time
	RejectionReason                       string
	AccessAuth, ActionAuth                []string
}

// Field is a field as created: its item and position in percent of the page, from the top left.
type Field struct {
	ID, RecipientID                     int
	ItemID, Type                        string
	Page                                int
	PositionX, PositionY, Width, Height float64
	Inserted                            bool
}

type auditLog struct {
	ID          string
	CreatedAt   time.Time
	Type        string
	Name, Email string
	IP, UA      string
	Data        map[string]any
}

func (e *envelope) signingOrder() string {
	if v, _ := e.Meta["signingOrder"].(string); v != "" {
		return v
	}
	return OrderParallel
}

// pending returns the recipients still to sign, in Documenso's order: signingOrder ascending
// (none last), then creation (complete-document-with-token.ts).
func (e *envelope) pending() []*Recipient {
	var out []*Recipient
	for _, r := range e.Recipients {
		if r.Role != "CC" && r.SigningStatus != "SIGNED" {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *Recipient) int {
		switch {
		case a.SigningOrder == nil && b.SigningOrder == nil:
			return cmp.Compare(a.ID, b.ID)
		case a.SigningOrder == nil:
			return 1
		case b.SigningOrder == nil:
			return -1
		}
		return cmp.Or(cmp.Compare(*a.SigningOrder, *b.SigningOrder), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// turn reports whether r may sign now: always in PARALLEL; in SEQUENTIAL only the first pending
// recipient, so equal signingOrder values sign one after the other, in creation order.
func (e *envelope) turn(r *Recipient) bool {
	if e.signingOrder() != OrderSequential {
		return true
	}
	p := e.pending()
	return len(p) > 0 && p[0] == r
}

func (e *envelope) recipient(email string) *Recipient {
	for _, r := range e.Recipients {
		if r.Email == email {
			return r
		}
	}
	return nil
}

func (e *envelope) audit(now time.Time, typ string, r *Recipient, data map[string]any) {
	a := auditLog{ID: randomID(25), CreatedAt: now, Type: typ, Data: data}
	if r != nil {
		a.Name, a.Email = r.Name, r.Email
		a.IP, a.UA = "192.0.2.10", "Mozilla/5.0 (documensosim)"
		if a.Data == nil {
			a.Data = map[string]any{}
		}
		a.Data["recipientId"], a.Data["recipientEmail"], a.Data["recipientName"], a.Data["recipientRole"] = r.ID, r.Email, r.Name, r.Role
	}
	e.Audit = append(e.Audit, a)
}

// Errors of the inspection API.
var (
	ErrNotFound  = errors.New("documensosim: not found")
	ErrNotTurn   = errors.New("documensosim: not this recipient's turn")
	ErrNotActive = errors.New("documensosim: envelope not pending")
)

func (s *Server) lookup(id, email string) (*envelope, *Recipient, error) {
	e := s.envelopes[id]
	if e == nil {
		return nil, nil, fmt.Errorf("%w: envelope %s", ErrNotFound, id)
	}
	if e.Status != StatusPending {
		return e, nil, fmt.Errorf("%w: %s", ErrNotActive, e.Status)
	}
	if email == "" {
		return e, nil, nil
	}
	r := e.recipient(email)
	if r == nil {
		return e, nil, fmt.Errorf("%w: recipient %s", ErrNotFound, email)
	}
	return e, r, nil
}

// Sign completes the recipient's fields, as the signer does in Documenso's signing page (after
// the e-mail code when the recipient has TWO_FACTOR_AUTH access auth); it fails when it is not
// their turn. The last signature seals the envelope: COMPLETED.
func (s *Server) Sign(envelopeID, email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, r, err := s.lookup(envelopeID, email)
	if err != nil {
		return err
	}
	if r.SigningStatus != "NOT_SIGNED" {
		return fmt.Errorf("%w: %s already %s", ErrNotActive, email, r.SigningStatus)
	}
	now := s.now()
	if r.ExpiresAt != nil && !r.ExpiresAt.After(now) {
		return fmt.Errorf("%w: the signing link of %s expired", ErrNotActive, email)
	}
	if !e.turn(r) {
		return fmt.Errorf("%w: %s", ErrNotTurn, email)
	}
	if r.ReadStatus != "OPENED" {
		r.ReadStatus = "OPENED"
		e.audit(now, "DOCUMENT_OPENED", r, nil)
		s.emit(e, "DOCUMENT_OPENED")
	}
	if slices.Contains(r.AccessAuth, "TWO_FACTOR_AUTH") {
		e.audit(now, "DOCUMENT_ACCESS_AUTH_2FA_REQUESTED", r, nil)
		e.audit(now, "DOCUMENT_ACCESS_AUTH_2FA_VALIDATED", r, nil)
	}
	for _, f := range e.Fields {
		if f.RecipientID == r.ID {
			f.Inserted = true
			e.audit(now, "DOCUMENT_FIELD_INSERTED", r, map[string]any{"fieldId": f.ID, "field": map[string]any{"type": f.Type}})
		}
	}
	r.SigningStatus, r.SignedAt = "SIGNED", &now
	e.UpdatedAt = now
	e.audit(now, "DOCUMENT_RECIPIENT_COMPLETED", r, nil)
	s.emit(e, "DOCUMENT_SIGNED")
	s.emit(e, "DOCUMENT_RECIPIENT_COMPLETED")
	pending := e.pending()
	if len(pending) == 0 {
		if err := s.seal(e); err != nil {
			return err
		}
		e.Status, e.CompletedAt = StatusCompleted, &now
		e.audit(now, "DOCUMENT_COMPLETED", nil, map[string]any{"transactionId": randomID(16)})
		s.emit(e, "DOCUMENT_COMPLETED")
		return nil
	}
	if e.signingOrder() == OrderSequential && pending[0].SendStatus != "SENT" {
		s.send(e, pending[0])
	}
	return nil
}

// send marks a recipient invited (by e-mail when distributionMethod is EMAIL).
func (s *Server) send(e *envelope, r *Recipient) {
	r.SendStatus = "SENT"
	if m, _ := e.Meta["distributionMethod"].(string); m != "NONE" {
		e.audit(s.now(), "EMAIL_SENT", r, map[string]any{"emailType": "SIGNING_REQUEST", "isResending": false})
	}
}

// Reject is a recipient's refusal with a reason: the envelope becomes REJECTED.
func (s *Server) Reject(envelopeID, email, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, r, err := s.lookup(envelopeID, email)
	if err != nil {
		return err
	}
	if r.SigningStatus != "NOT_SIGNED" {
		return fmt.Errorf("%w: %s already %s", ErrNotActive, email, r.SigningStatus)
	}
	now := s.now()
	r.SigningStatus, r.RejectionReason = "REJECTED", reason
	e.Status, e.UpdatedAt = StatusRejected, now
	e.audit(now, "DOCUMENT_RECIPIENT_REJECTED", r, map[string]any{"reason": reason})
	s.emit(e, "DOCUMENT_REJECTED")
	return nil
}

// Expire lets the signing window of every recipient still to sign pass, as Documenso's expiry
// sweep does: their expiresAt lies in the past and RECIPIENT_EXPIRED is sent; the envelope itself
// stays PENDING (Documenso keeps expiry apart from the status).
func (s *Server) Expire(envelopeID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, _, err := s.lookup(envelopeID, "")
	if err != nil {
		return err
	}
	now := s.now()
	past := now.Add(-time.Second)
	for _, r := range e.pending() {
		if r.SigningStatus == "NOT_SIGNED" {
			r.ExpiresAt = &past
			e.audit(now, "DOCUMENT_RECIPIENT_EXPIRED", r, nil)
		}
	}
	e.UpdatedAt = now
	s.emit(e, "RECIPIENT_EXPIRED")
	return nil
}

// autoSignAll signs, in turn, every recipient who may sign now, until none can.
func (s *Server) autoSignAll(envelopeID string) {
	for {
		s.mu.Lock()
		e := s.envelopes[envelopeID]
		var next string
		if e != nil && e.Status == StatusPending {
			for _, r := range e.pending() {
				if r.SigningStatus == "NOT_SIGNED" && e.turn(r) && (r.ExpiresAt == nil || r.ExpiresAt.After(s.now())) {
					next = r.Email
					break
				}
			}
		}
		s.mu.Unlock()
		if next == "" {
			return
		}
		if err := s.Sign(envelopeID, next); err != nil {
			s.log.Warn("documensosim: auto-sign", "envelope", envelopeID, "error", err)
			return
		}
	}
}
