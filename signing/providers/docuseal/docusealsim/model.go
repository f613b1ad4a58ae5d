package docusealsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/signing/pades"
)

type submission struct {
	ID                   int64
	Name, Slug, Source   string
	Order                string // submitters_order: preserved or random
	ExpireAt             *time.Time
	CreatedAt, UpdatedAt time.Time
	ArchivedAt           *time.Time
	CompletedAt          *time.Time
	Template             *template // nil for one made from PDFs
	Docs                 []*doc
	Fields               []Field
	Submitters           []*Submitter
	Events               []*event
	AuditLog             []byte
}

type doc struct {
	UUID, Name       string
	Original, Signed []byte
}

// Submitter is a submitter as DocuSeal keeps it.
type Submitter struct {
	ID                                   int64
	UUID, Slug, Name, Email, Phone, Role string
	ExternalID                           string
	Order                                int
	Phone2FA, Email2FA, SendEmail        bool
	SentAt, OpenedAt, CompletedAt        *time.Time
	DeclinedAt                           *time.Time
	CreatedAt, UpdatedAt                 time.Time
	Metadata                             map[string]any
	IP, UA                               string
	submission                           *submission
}

// Field is a field as created: its document (0-based), its submitter's role and its areas, in
// fractions of the page from the top left, pages from 1.
type Field struct {
	UUID, Name, Type, Role string
	Required               bool
	Document               int
	Areas                  []Area
}

// Area is where a field is drawn.
type Area struct {
	X, Y, W, H float64
	Page       int
}

type event struct {
	ID          int64
	SubmitterID int64
	Type        string
	At          time.Time
	Data        map[string]any
}

type template struct {
	ID        int64
	Name      string
	Roles     []string
	Doc       []byte
	CreatedAt time.Time
}

// status is how DocuSeal reports a submitter (Submitter#status).
func (sb *Submitter) status() string {
	switch {
	case sb.DeclinedAt != nil:
		return "declined"
	case sb.CompletedAt != nil:
		return "completed"
	case sb.OpenedAt != nil:
		return "opened"
	case sb.SentAt != nil:
		return "sent"
	}
	return "awaiting"
}

// status is the submission's status (Submissions::SerializeForApi).
func (sub *submission) status(now time.Time) string {
	switch {
	case sub.CompletedAt != nil:
		return "completed"
	case sub.declined():
		return "declined"
	case sub.ExpireAt != nil && !sub.ExpireAt.After(now):
		return "expired"
	}
	return "pending"
}

func (sub *submission) declined() bool {
	for _, sb := range sub.Submitters {
		if sb.DeclinedAt != nil {
			return true
		}
	}
	return false
}

func (sub *submission) submitter(email string) *Submitter {
	for _, sb := range sub.Submitters {
		if strings.EqualFold(sb.Email, email) {
			return sb
		}
	}
	return nil
}

// turn says whether sb may sign now: in a preserved order only the lowest order group that has
// not completed signs; in a random order everyone.
func (sub *submission) turn(sb *Submitter) bool {
	if sub.Order != "preserved" {
		return true
	}
	for _, o := range sub.Submitters {
		if o.CompletedAt == nil && o.Order < sb.Order {
			return false
		}
	}
	return true
}

func (s *Server) record(sub *submission, sb *Submitter, typ string, data map[string]any) {
	s.nextID++
	e := &event{ID: s.nextID, Type: typ, At: s.now(), Data: data}
	if sb != nil {
		e.SubmitterID = sb.ID
	}
	sub.Events = append(sub.Events, e)
}

// invite sends the request to everyone who may sign now and was not sent one. Caller holds s.mu.
func (s *Server) invite(sub *submission) {
	now := s.now()
	for _, sb := range sub.Submitters {
		if sb.SentAt != nil || sb.CompletedAt != nil || !sub.turn(sb) || !sb.SendEmail || sb.Email == "" {
			continue
		}
		sb.SentAt, sb.UpdatedAt = &now, now
		s.record(sub, sb, "send_email", map[string]any{})
	}
}

// Errors of the inspection API.
var (
	ErrNotFound  = errors.New("docusealsim: not found")
	ErrNotTurn   = errors.New("docusealsim: not this submitter's turn")
	ErrNotActive = errors.New("docusealsim: submission not pending")
)

// active finds a pending submission and, with email, its submitter who has not finished. Caller
// holds s.mu.
func (s *Server) active(id int64, email string) (*submission, *Submitter, error) {
	sub := s.submissions[id]
	if sub == nil {
		return nil, nil, fmt.Errorf("%w: submission %d", ErrNotFound, id)
	}
	if st := sub.status(s.now()); st != "pending" || sub.ArchivedAt != nil {
		if sub.ArchivedAt != nil {
			st = "archived"
		}
		return sub, nil, fmt.Errorf("%w: %s", ErrNotActive, st)
	}
	if email == "" {
		return sub, nil, nil
	}
	sb := sub.submitter(email)
	if sb == nil {
		return sub, nil, fmt.Errorf("%w: submitter %s", ErrNotFound, email)
	}
	if st := sb.status(); st == "completed" || st == "declined" {
		return sub, nil, fmt.Errorf("%w: %s %s already", ErrNotActive, email, st)
	}
	return sub, sb, nil
}

// Sign completes the submitter's form as the signer does in DocuSeal: the code first (sms or
// e-mail, when required), then the form; it fails when it is not their turn. The last signature
// completes the submission: DocuSeal then signs each document once with the account's certificate
// and makes the audit log.
func (s *Server) Sign(submissionID, email string) error {
	id, err := parseID(submissionID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, sb, err := s.active(id, email)
	if err != nil {
		return err
	}
	if !sub.turn(sb) {
		return fmt.Errorf("%w: %s", ErrNotTurn, email)
	}
	now := s.now()
	sb.IP, sb.UA = "192.0.2.20", "Mozilla/5.0 (docusealsim)"
	if sb.Phone2FA {
		s.record(sub, sb, "send_2fa_sms", map[string]any{})
		s.record(sub, sb, "phone_verified", map[string]any{})
	}
	if sb.Email2FA {
		s.record(sub, sb, "send_2fa_email", map[string]any{})
		s.record(sub, sb, "email_verified", map[string]any{})
	}
	if sb.OpenedAt == nil {
		sb.OpenedAt = &now
		s.record(sub, sb, "view_form", map[string]any{})
	}
	s.record(sub, sb, "start_form", map[string]any{})
	s.record(sub, sb, "complete_form", map[string]any{})
	sb.CompletedAt, sb.UpdatedAt, sub.UpdatedAt = &now, now, now
	done := true
	for _, o := range sub.Submitters {
		done = done && o.CompletedAt != nil
	}
	if done {
		if err := s.complete(sub); err != nil {
			return err
		}
		s.emit(sub, sb, "form.completed")
		s.emit(sub, nil, "submission.completed")
		return nil
	}
	s.invite(sub)
	s.emit(sub, sb, "form.completed")
	return nil
}

// complete signs the documents and makes the audit log. Caller holds s.mu.
func (s *Server) complete(sub *submission) error {
	now := s.now()
	for _, d := range sub.Docs {
		signed, err := s.sign(d.Original, now)
		if err != nil {
			return fmt.Errorf("docusealsim: sign %s: %w", d.Name, err)
		}
		d.Signed = signed
	}
	sub.CompletedAt = &now
	lines := []string{"Audit Log", sub.Name, fmt.Sprintf("Submission %d", sub.ID), ""}
	for _, d := range sub.Docs {
		lines = append(lines, "Document: "+d.Name)
	}
	lines = append(lines, "")
	for _, e := range sub.Events {
		who := ""
		for _, sb := range sub.Submitters {
			if sb.ID == e.SubmitterID {
				who = sb.Name + " <" + sb.Email + "> " + sb.IP
			}
		}
		lines = append(lines, fmt.Sprintf("%s  %s  %s", e.At.Format("2006-01-02 15:04:05 MST"), e.Type, who))
	}
	b, err := report.Plain(lines...)
	if err != nil {
		return fmt.Errorf("docusealsim: audit log: %w", err)
	}
	sub.AuditLog = b
	return nil
}

// sign is DocuSeal's signature of a completed document (lib/submissions/generate_result_attachments.rb
// with the default e-signing preference "single"): one PAdES signature (HexaPDF's default,
// ETSI.CAdES.detached) made by the account's certificate with reason "Signed with DocuSeal.com",
// appended to the document as an incremental update, when the last submitter completes; not one per
// signer. DocuSeal first draws the signers' signature images into the fields, which the simulator
// does not do: the field positions are in Fields.
func (s *Server) sign(pdf []byte, at time.Time) ([]byte, error) {
	var out bytes.Buffer
	err := pades.Sign(context.Background(), bytes.NewReader(pdf), int64(len(pdf)), &out, pades.Options{
		Signer: s.key, Certificates: s.chain, Invisible: true, Time: at,
		Name: "DocuSeal", Reason: "Signed with DocuSeal.com",
	})
	return out.Bytes(), err
}

// Decline is the submitter's refusal with a reason, as in DocuSeal's decline dialog: the
// submission becomes declined.
func (s *Server) Decline(submissionID, email, reason string) error {
	id, err := parseID(submissionID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, sb, err := s.active(id, email)
	if err != nil {
		return err
	}
	now := s.now()
	sb.DeclinedAt, sb.UpdatedAt, sub.UpdatedAt = &now, now, now
	s.record(sub, sb, "decline_form", map[string]any{"reason": reason})
	s.emit(sub, sb, "form.declined")
	return nil
}

// Expire lets the submission's expire_at pass now, as ProcessSubmissionExpiredJob finds it: the
// submission is expired and submission.expired is sent.
func (s *Server) Expire(submissionID string) error {
	id, err := parseID(submissionID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, _, err := s.active(id, "")
	if err != nil {
		return err
	}
	now := s.now()
	sub.ExpireAt, sub.UpdatedAt = &now, now
	s.emit(sub, nil, "submission.expired")
	return nil
}

// autoSignAll signs, in turn, everyone who may sign, until no one can.
func (s *Server) autoSignAll(id int64) {
	for {
		s.mu.Lock()
		sub := s.submissions[id]
		next := ""
		if sub != nil && sub.status(s.now()) == "pending" && sub.ArchivedAt == nil {
			for _, sb := range sub.Submitters {
				if sb.CompletedAt == nil && sb.DeclinedAt == nil && sub.turn(sb) {
					next = sb.Email
					break
				}
			}
		}
		s.mu.Unlock()
		if next == "" {
			return
		}
		if err := s.Sign(fmt.Sprint(id), next); err != nil {
			s.log.Warn("docusealsim: auto-sign", "submission", id, "error", err)
			return
		}
	}
}

func newUUID() string { return uuid.NewString() }
