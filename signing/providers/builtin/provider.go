// Package builtin is signingd's own signer: a Provider with web pages for signers, invitations by
// e-mail in volgorde order, one-time codes by SMS or e-mail, PAdES signatures with the service's
// certificate, conversion of office documents to PDF, and a signed evidence report.
package builtin

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/signing/providers/builtin/records"
)

// Name is the provider's name in the landscape and in transactions.
const Name = "builtin"

// Code rules: 6 digits, valid 5 minutes, 5 attempts per lock period, one new code per 30 seconds.
const (
	CodeValidity    = 5 * time.Minute
	MaxCodeAttempts = 5
	codeResendGap   = 30 * time.Second
	sessionLifetime = 12 * time.Hour
)

// Bounds of what a browser holding a link can make us store: live sessions per signer, and events
// of one type (opened, code_sent, code_wrong, …) per signer in the evidence.
const (
	maxSessionsPerSigner = 10
	maxPageEventsPerType = 20
)

// Options configure the provider.
type Options struct {
	Store       Store
	PublicURL   string // base of the signer links, e.g. https://signing.example.nl
	Mailer      Mailer
	SMS         SMSSender
	Certificate Certificate
	Converter   Converter
	Progress    signing.ProgressFunc // told about every signer action; may be nil
	// Secret keys the digests of links, sessions and codes. It must be the same on every replica.
	Secret []byte
	// Outbox, when set, is shown at /dev/outbox (signingd dev).
	Outbox *Outbox

	// The operator's settings (BUILTIN_* in the environment, defaults in config): plain values, handed
	// in whole by the caller.
	LinkExpiry       time.Duration // required; a link never outlives the transaction's deadline either
	ReminderInterval time.Duration // 0: no reminders
	ExpiryWarning    time.Duration // 0: no warnings
	OTPLockout       time.Duration // required
	// Location is the time zone of the times people read (stamps, evidence, mails); required.
	Location *time.Location
	// Brands are the organisations' names and looks, by RSIN; signingd's own look without one.
	Brands map[string]Brand
	// TSAs are the organisations' time-stamping authorities, by RSIN: with one, signatures are
	// PAdES B-T and a completed document B-LTA; without, B-B.
	TSAs map[string]*pades.TSA
	// Revocation is where the revocation data of B-LTA documents comes from (OCSP responses and
	// CRLs, fetched from allowed hosts or given); nil: the document security store gets the
	// certificates only.
	Revocation *pades.Revocation
	Now        func() time.Time
	Logger     *slog.Logger
}

// Provider is the built-in signer.
type Provider struct {
	o Options
}

var _ signing.Provider = (*Provider)(nil)

// New returns the provider.
func New(o Options) (*Provider, error) {
	if o.Store == nil || o.Mailer == nil || len(o.Secret) < 16 || o.Certificate.Key == nil || len(o.Certificate.Chain) == 0 {
		return nil, errors.New("builtin: store, mailer, secret (≥ 16 bytes) and certificate are required")
	}
	if o.LinkExpiry <= 0 || o.OTPLockout <= 0 || o.Location == nil {
		return nil, errors.New("builtin: link expiry, code lockout and time zone are required")
	}
	if o.SMS == nil {
		o.SMS = noSMS{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	return &Provider{o: o}, nil
}

type noSMS struct{}

func (noSMS) SendSMS(context.Context, string, string) error {
	return errors.New("builtin: no SMS gateway configured (BUILTIN_SMS_URL)")
}

// Info describes the provider: sms and email codes besides null; progress comes in-process, so
// polling is only a safety net.
func (p *Provider) Info() signing.ProviderInfo {
	return signing.ProviderInfo{Name: Name, AuthMethods: []string{"sms", "email"}, PollInterval: 10 * time.Minute,
		Converts: slices.Sorted(maps.Keys(convertible)), SignsDigitally: true, LongTerm: true, Parallel: true}
}

func (p *Provider) now() time.Time { return p.o.Now().UTC() }

// digest keys a secret value for storage; purpose separates links, sessions and codes so that a
// value issued for one can never pass as another.
func (p *Provider) digest(purpose string, parts ...string) []byte {
	m := hmac.New(sha256.New, p.o.Secret)
	m.Write([]byte(purpose))
	for _, s := range parts {
		m.Write([]byte{0})
		m.Write([]byte(s))
	}
	return m.Sum(nil)
}

// newToken returns 256 random bits, URL-safe.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// newCode returns a uniformly random 6-digit code.
func newCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	return fmt.Sprintf("%06d", n.Int64())
}

func parseRef(ref string) (uuid.UUID, error) {
	id, err := uuid.Parse(ref)
	if err != nil {
		return uuid.Nil, fmt.Errorf("builtin: reference %q: %w", ref, signing.ErrPermanent)
	}
	return id, nil
}

// Create stores the documents (converted to PDF where needed) and signers, then invites the first
// volgorde group. A retried Create finds the signing of its TransactionID and only completes the
// invitations.
func (p *Provider) Create(ctx context.Context, req signing.CreateRequest) (string, error) {
	if id, ok, err := p.o.Store.BuiltinSigningByTransaction(ctx, req.TransactionID); err != nil {
		return "", err
	} else if ok {
		return id.String(), p.invite(ctx, id)
	}
	if len(req.Documents) == 0 || len(req.Signers) == 0 || req.Deadline.IsZero() {
		return "", fmt.Errorf("builtin: create: no documents, no signers or no deadline: %w", signing.ErrPermanent)
	}
	sg := records.Signing{ID: uuid.New(), TransactionID: req.TransactionID, RSIN: req.Organisation.RSIN, Naam: req.Naam, Eigenaar: req.Eigenaar,
		Deadline: req.Deadline, CreatedAt: p.now()}
	for _, d := range req.Documents {
		doc, err := p.storeDocument(ctx, req.TransactionID, d)
		if err != nil {
			return "", err
		}
		sg.Documents = append(sg.Documents, doc)
	}
	for _, s := range req.Signers {
		method, value := "null", ""
		if s.Authenticatie != nil && s.Authenticatie.Methode != "" {
			method, value = s.Authenticatie.Methode, s.Authenticatie.Waarde
		}
		switch method {
		case "null":
		case "sms":
			if value == "" {
				return "", fmt.Errorf("builtin: signer %d: sms needs a phone number in waarde: %w", s.Position, signing.ErrPermanent)
			}
		case "email":
			if value == "" {
				value = s.Email
			}
		default:
			return "", fmt.Errorf("builtin: signer %d: authentication %q not supported: %w", s.Position, method, signing.ErrPermanent)
		}
		sg.Signers = append(sg.Signers, records.Signer{Position: s.Position, Email: s.Email, Voornaam: s.Voornaam,
			Achternaam: s.Achternaam, Identificatie: s.Identificatie, Volgorde: s.Volgorde, AuthMethod: method, AuthValue: value})
	}
	id, err := p.o.Store.CreateBuiltinSigning(ctx, sg)
	if err != nil {
		return "", err
	}
	p.o.Logger.InfoContext(ctx, "builtin signing created", "transaction_id", req.TransactionID, "ref", id,
		"documents", len(sg.Documents), "signers", len(sg.Signers))
	return id.String(), p.invite(ctx, id)
}

// storeDocument streams one document into a blob, converting office formats to PDF on the way.
func (p *Provider) storeDocument(ctx context.Context, txID uuid.UUID, d signing.ProviderDocument) (records.Document, error) {
	doc := records.Document{Position: d.Position, Titel: d.Titel, Bestandsnaam: d.Bestandsnaam, OriginalFormaat: d.Formaat}
	rc, err := d.Open(ctx)
	if err != nil {
		return doc, fmt.Errorf("builtin: open document %d: %w", d.Position, err)
	}
	defer rc.Close()
	in := bufio.NewReader(rc)
	ext := needsConversion(d.Formaat, d.Bestandsnaam)
	if head, _ := in.Peek(5); string(head) == "%PDF-" {
		ext = "" // a PDF needs no conversion, whatever its name or formaat says (e.g. besluit.docx, formaat application/pdf)
	}
	var content io.Reader = in
	h := sha256.New()
	if ext != "" {
		dir, err := os.MkdirTemp("", "signingd-convert-")
		if err != nil {
			return doc, fmt.Errorf("builtin: convert document %d: %w", d.Position, err)
		}
		defer os.RemoveAll(dir)
		src := filepath.Join(dir, "document"+ext)
		if err := writeFile(src, io.TeeReader(in, h)); err != nil {
			return doc, fmt.Errorf("builtin: convert document %d: %w", d.Position, err)
		}
		pdf, err := p.o.Converter.Convert(ctx, src, dir)
		if err != nil {
			return doc, fmt.Errorf("builtin: document %d: %w", d.Position, err)
		}
		f, err := os.Open(pdf)
		if err != nil {
			return doc, fmt.Errorf("builtin: convert document %d: %w", d.Position, err)
		}
		defer f.Close()
		content = f
		doc.Bestandsnaam = pdfName(d.Bestandsnaam)
		p.o.Logger.InfoContext(ctx, "builtin converted document to PDF", "transaction_id", txID, "position", d.Position, "from", ext)
	} else {
		content = io.TeeReader(in, h)
	}
	br := bufio.NewReader(content)
	if head, _ := br.Peek(5); string(head) != "%PDF-" {
		return doc, fmt.Errorf("builtin: document %d (%s): %w: %w", d.Position, d.Formaat, errNotPDF, signing.ErrPermanent)
	}
	b, err := p.o.Store.PutBlob(ctx, txID, br)
	if err != nil {
		return doc, err
	}
	if ext == "" {
		_, _ = io.Copy(h, in) // nothing should be left; keeps the hash honest if Peek stopped early
	}
	doc.OriginalBlob = b.ID
	doc.OriginalSHA256 = d.SHA256
	if doc.OriginalSHA256 == "" {
		doc.OriginalSHA256 = hex.EncodeToString(h.Sum(nil))
	}
	if doc.Bestandsnaam == "" {
		doc.Bestandsnaam = pdfName(d.Titel)
	}
	return doc, nil
}

var _ hash.Hash = sha256.New()

func writeFile(path string, r io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// currentGroup returns the lowest volgorde with a signer who has not signed, or -1.
func currentGroup(sg records.Signing) int {
	group := -1
	for _, s := range sg.Signers {
		if s.Status != signing.SignerSigned && (group == -1 || s.Volgorde < group) {
			group = s.Volgorde
		}
	}
	return group
}

// invite sends links to the signers of the current volgorde group who have none yet. The links are
// recorded under the signing's lock (so that two signers finishing a group at once invite the next
// only once) and mailed only after that commit: a mailed link always works. A mail that fails undoes
// its signer's invitation, so a later round invites them again.
func (p *Provider) invite(ctx context.Context, id uuid.UUID) error {
	type invitation struct {
		pos  int
		mail Mail
	}
	var out []invitation
	var txID uuid.UUID
	err := p.o.Store.LockBuiltinSigning(ctx, id, func(tx records.Tx, sg records.Signing) error {
		out, txID = nil, sg.TransactionID
		if sg.Status != "pending" {
			return nil
		}
		group := currentGroup(sg)
		now := p.now()
		for _, s := range sg.Signers {
			if s.Volgorde != group || s.Status != signing.SignerPending {
				continue
			}
			token := newToken()
			expires := now.Add(p.o.LinkExpiry)
			if sg.Deadline.Before(expires) {
				expires = sg.Deadline
			}
			if err := tx.AddLink(ctx, id, s.Position, p.digest("link", token), expires, now); err != nil {
				return err
			}
			if err := tx.MarkInvited(ctx, id, s.Position, now); err != nil {
				return err
			}
			pos := s.Position
			if err := tx.AddEvent(ctx, id, &pos, "invited", "", "", map[string]any{"email": s.Email}, now); err != nil {
				return err
			}
			out = append(out, invitation{pos: s.Position, mail: p.invitationMail(sg, s, token, expires, mailInvite)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, inv := range out {
		if err := p.o.Mailer.SendMail(ctx, inv.mail); err != nil {
			if uerr := p.o.Store.UninviteBuiltinSigner(context.WithoutCancel(ctx), id, inv.pos, err.Error(), p.now()); uerr != nil {
				err = errors.Join(err, uerr)
			}
			errs = append(errs, fmt.Errorf("builtin: invite signer %d: %w", inv.pos, err))
			continue
		}
		p.o.Logger.InfoContext(ctx, "builtin signer invited", "ref", id, "transaction_id", txID, "signer", inv.pos)
	}
	return errors.Join(errs...)
}

// Status reports the signing's state and every signer's, with the evidence of how they acted.
func (p *Provider) Status(ctx context.Context, ref string) (signing.Progress, error) {
	id, err := parseRef(ref)
	if err != nil {
		return signing.Progress{}, err
	}
	sg, err := p.o.Store.BuiltinSigning(ctx, id)
	if err != nil {
		if signingd.ErrorCode(err) == signingd.ENOTFOUND {
			return signing.Progress{}, fmt.Errorf("builtin: status %s: %w: %w", ref, err, signing.ErrPermanent)
		}
		return signing.Progress{}, err
	}
	events, err := p.o.Store.BuiltinEvents(ctx, id)
	if err != nil {
		return signing.Progress{}, err
	}
	pr := signing.Progress{Status: signing.ProgressStatus(sg.Status)}
	if sg.Status == "pending" && p.now().After(sg.Deadline) {
		pr.Status = signing.ProgressExpired
	}
	for _, s := range sg.Signers {
		sp := signing.SignerProgress{Position: s.Position, Status: s.Status, Reden: s.Reden}
		switch {
		case s.DoneAt != nil:
			sp.At = *s.DoneAt
		case s.InvitedAt != nil:
			sp.At = *s.InvitedAt
		}
		for _, e := range events {
			if e.Position != nil && *e.Position == s.Position && (e.Type == "signed" || e.Type == "declined") {
				sp.Evidence = map[string]string{"authenticatie": signing.AuthWords(s.AuthMethod), "ip": e.IP, "user_agent": e.UserAgent}
				if pl, ok := e.Detail["plaatsing"].(string); ok {
					sp.Evidence["plaatsing"] = pl // a placeholder that was not used is never silent
				}
			}
		}
		if s.Status == signing.SignerDeclined {
			pr.Reden = s.Reden
		}
		pr.Signers = append(pr.Signers, sp)
	}
	if pr.Status == signing.ProgressDeclined && pr.Reden == "" {
		pr.Reden = sg.Reden
	}
	return pr, nil
}

// Signed streams the signed PDF of a document: its newest version, with every signature.
func (p *Provider) Signed(ctx context.Context, ref string, position int) (io.ReadCloser, error) {
	id, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	sg, err := p.o.Store.BuiltinSigning(ctx, id)
	if err != nil {
		return nil, err
	}
	if sg.Status != string(signing.ProgressCompleted) {
		return nil, fmt.Errorf("builtin: signed %s: signing is %s: %w", ref, sg.Status, signing.ErrPermanent)
	}
	for _, d := range sg.Documents {
		if d.Position == position {
			rc, _, err := p.o.Store.OpenBlob(ctx, d.CurrentBlob)
			return rc, err
		}
	}
	return nil, fmt.Errorf("builtin: signed %s: no document %d: %w", ref, position, signing.ErrPermanent)
}

// Cancel closes the signing: its links show that it was withdrawn. Cancelling a finished signing
// changes nothing.
func (p *Provider) Cancel(ctx context.Context, ref, reden string) error {
	id, err := parseRef(ref)
	if err != nil {
		return err
	}
	err = p.o.Store.LockBuiltinSigning(ctx, id, func(tx records.Tx, sg records.Signing) error {
		if sg.Status != "pending" {
			return nil
		}
		now := p.now()
		if err := tx.SetStatus(ctx, id, string(signing.ProgressCancelled), reden, now); err != nil {
			return err
		}
		return tx.AddEvent(ctx, id, nil, "cancelled", "", "", map[string]any{"reden": reden}, now)
	})
	if signingd.ErrorCode(err) == signingd.ENOTFOUND {
		return nil
	}
	return err
}

// actor is who did something on a signer page, for the audit trail.
type actor struct {
	IP        string
	UserAgent string
}

// sign adds the signer's PAdES signature to every document, one after the other under the
// signing's lock, and then invites the next group or completes the signing.
func (p *Provider) sign(ctx context.Context, id uuid.UUID, pos int, who actor) error {
	var completed bool
	err := p.o.Store.LockBuiltinSigning(ctx, id, func(tx records.Tx, sg records.Signing) error {
		s, err := signerAt(sg, pos)
		if err != nil {
			return err
		}
		if sg.Status != "pending" || s.Status != signing.SignerInvited {
			return errClosed
		}
		now := p.now()
		var misplaced []string
		docs := slices.Clone(sg.Documents) // with their new versions, for the long-term step
		for i, d := range sg.Documents {
			b, missed, err := p.signDocument(ctx, sg, d, s, now)
			if err != nil {
				return fmt.Errorf("builtin: sign document %d: %w", d.Position, err)
			}
			docs[i].CurrentBlob = b.ID
			if missed != "" {
				misplaced = append(misplaced, missed)
			}
			if err := tx.SetDocumentCurrent(ctx, id, d.Position, b); err != nil {
				return err
			}
		}
		if err := tx.FinishSigner(ctx, id, pos, signing.SignerSigned, "", now); err != nil {
			return err
		}
		detail := map[string]any{"authenticatie": signing.AuthWords(s.AuthMethod)}
		if len(misplaced) > 0 {
			detail["plaatsing"] = strings.Join(misplaced, "; ")
		}
		if err := tx.AddEvent(ctx, id, &pos, "signed", who.IP, who.UserAgent, detail, now); err != nil {
			return err
		}
		completed = true
		for _, o := range sg.Signers {
			completed = completed && (o.Position == pos || o.Status == signing.SignerSigned)
		}
		if completed {
			// With a TSA the documents get their validation data and a document time-stamp now, in
			// this transaction: a TSA that is down fails the signature, never a silent B-B.
			if tsa := p.o.TSAs[sg.RSIN]; tsa != nil {
				for _, d := range docs {
					b, err := p.longTerm(ctx, sg, d, tsa)
					if err != nil {
						return fmt.Errorf("builtin: long-term document %d: %w", d.Position, err)
					}
					if err := tx.SetDocumentCurrent(ctx, id, d.Position, b); err != nil {
						return err
					}
				}
			}
			return tx.SetStatus(ctx, id, string(signing.ProgressCompleted), "", now)
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.o.Logger.InfoContext(ctx, "builtin signer signed", "ref", id, "signer", pos, "completed", completed)
	if !completed {
		if err := p.invite(ctx, id); err != nil {
			p.o.Logger.ErrorContext(ctx, "builtin: invite next group", "ref", id, "err", err)
		}
	}
	p.progress(ctx, id)
	return nil
}

// signDocument signs the current version of d into a new blob, through temporary files so that
// no document is held in memory.
// It returns, when the signer's placeholder was not where the stamp went, what happened instead, in
// words for the status API.
func (p *Provider) signDocument(ctx context.Context, sg records.Signing, d records.Document, s records.Signer, now time.Time) (records.Blob, string, error) {
	in, err := p.spool(ctx, d.CurrentBlob)
	if err != nil {
		return records.Blob{}, "", err
	}
	defer os.Remove(in.Name())
	defer in.Close()
	name := signerName(s)
	placeholder := signing.Placeholder(s.Identificatie)
	namens := onBehalf(p.brand(sg.RSIN).Name)
	opts := pades.Options{
		Signer: p.o.Certificate.Key, Certificates: p.o.Certificate.Chain, Name: name,
		Reason:      fmt.Sprintf("Ondertekend door %s <%s>%s (%s)", name, s.Email, namens, signing.AuthWords(s.AuthMethod)),
		ContactInfo: s.Email, Time: now.In(p.o.Location), Placeholder: placeholder,
		Label: "Digitaal ondertekend" + namens,
		TSA:   p.o.TSAs[sg.RSIN], // with a TSA, every signature is B-T
	}
	var missed string
	opts.Placed = func(at pades.Placement) {
		if at.Missed != "" {
			why := map[string]string{"not found": "niet gevonden", "no room": "zonder ruimte"}[at.Missed]
			missed = fmt.Sprintf("%s in %s %s: op de ondertekeningspagina", placeholder, docTitle(d), why)
		}
	}
	b, err := p.signAndStore(ctx, sg.TransactionID, in, opts)
	return b, missed, err
}

func docTitle(d records.Document) string {
	if d.Titel != "" {
		return fmt.Sprintf("%q", d.Titel)
	}
	return fmt.Sprintf("%q", d.Bestandsnaam)
}

// onBehalf is " namens <organisation>" when the organisation is known.
func onBehalf(org string) string {
	if org == "" {
		return ""
	}
	return " namens " + org
}

// signAndStore signs the PDF in f with opts and stores the result as a blob of the transaction.
func (p *Provider) signAndStore(ctx context.Context, txID uuid.UUID, f *os.File, opts pades.Options) (records.Blob, error) {
	return p.rewrite(ctx, txID, f, func(in io.ReaderAt, size int64, out io.Writer) error {
		return pades.Sign(ctx, in, size, out, opts)
	})
}

// rewrite runs fn over the PDF in f, through a temporary file, and stores the result as a blob
// of the transaction: no document is held in memory.
func (p *Provider) rewrite(ctx context.Context, txID uuid.UUID, f *os.File, fn func(in io.ReaderAt, size int64, out io.Writer) error) (records.Blob, error) {
	st, err := f.Stat()
	if err != nil {
		return records.Blob{}, err
	}
	out, err := os.CreateTemp("", "signingd-signed-*.pdf")
	if err != nil {
		return records.Blob{}, err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	bw := bufio.NewWriterSize(out, 1<<16)
	if err := fn(f, st.Size(), bw); err != nil {
		return records.Blob{}, err
	}
	if err := bw.Flush(); err != nil {
		return records.Blob{}, err
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return records.Blob{}, err
	}
	return p.o.Store.PutBlob(ctx, txID, bufio.NewReaderSize(out, 1<<16))
}

// longTerm makes a fully signed document last beyond its certificates (PAdES B-LTA): the
// validation data in its document security store — the certificates of every signature and
// time-stamp, with their OCSP responses or CRLs as Options.Revocation allows — then a document
// time-stamp over it all. A revoked certificate fails it (pades.ErrRevoked): a document signed
// with one is not finished as if it were valid.
func (p *Provider) longTerm(ctx context.Context, sg records.Signing, d records.Document, tsa *pades.TSA) (records.Blob, error) {
	in, err := p.spool(ctx, d.CurrentBlob)
	if err != nil {
		return records.Blob{}, err
	}
	defer os.Remove(in.Name())
	defer in.Close()
	var status []pades.CertStatus
	b, err := p.rewrite(ctx, sg.TransactionID, in, func(in io.ReaderAt, size int64, out io.Writer) (err error) {
		status, err = pades.LongTerm(ctx, in, size, out, tsa, p.o.Revocation, p.o.Certificate.Chain...)
		return err
	})
	for _, s := range status {
		if s.Missing() {
			p.o.Logger.WarnContext(ctx, "builtin: no revocation data for a certificate", "ref", sg.TransactionID,
				"document", d.Position, "certificate", s.Subject, "serial", s.Serial, "why", s.Note)
		} else {
			p.o.Logger.DebugContext(ctx, "builtin: revocation data", "ref", sg.TransactionID, "document", d.Position,
				"certificate", s.Subject, "source", s.Source, "url", s.URL)
		}
	}
	if errors.Is(err, pades.ErrRevoked) || errors.Is(err, pades.ErrRevocation) {
		p.o.Logger.ErrorContext(ctx, "builtin: revocation data", "ref", sg.TransactionID, "document", d.Position, "err", err)
		return records.Blob{}, fmt.Errorf("builtin: validation data: %w", err)
	}
	return b, err
}

// spool copies a blob into a temporary file, which pades needs as an io.ReaderAt.
func (p *Provider) spool(ctx context.Context, blob uuid.UUID) (*os.File, error) {
	rc, _, err := p.o.Store.OpenBlob(ctx, blob)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "signingd-doc-*.pdf")
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("builtin: spool document: %w", err)
	}
	return f, nil
}

// decline records the signer's refusal; the signing ends declined with the reason as its reden.
func (p *Provider) decline(ctx context.Context, id uuid.UUID, pos int, reason string, who actor) error {
	err := p.o.Store.LockBuiltinSigning(ctx, id, func(tx records.Tx, sg records.Signing) error {
		s, err := signerAt(sg, pos)
		if err != nil {
			return err
		}
		if sg.Status != "pending" || s.Status != signing.SignerInvited {
			return errClosed
		}
		now := p.now()
		if err := tx.FinishSigner(ctx, id, pos, signing.SignerDeclined, reason, now); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, id, &pos, "declined", who.IP, who.UserAgent,
			map[string]any{"authenticatie": signing.AuthWords(s.AuthMethod), "reden": reason}, now); err != nil {
			return err
		}
		return tx.SetStatus(ctx, id, string(signing.ProgressDeclined), reason, now)
	})
	if err != nil {
		return err
	}
	p.o.Logger.InfoContext(ctx, "builtin signer declined", "ref", id, "signer", pos)
	p.progress(ctx, id)
	return nil
}

// progress tells the workflow; a failure is logged, its polling picks the change up later.
func (p *Provider) progress(ctx context.Context, id uuid.UUID) {
	if p.o.Progress == nil {
		return
	}
	if err := p.o.Progress(ctx, Name, id.String()); err != nil {
		p.o.Logger.WarnContext(ctx, "builtin: progress callback failed; polling will catch up", "ref", id, "err", err)
	}
}

var errClosed = errors.New("builtin: signing is closed for this signer")

func signerAt(sg records.Signing, pos int) (records.Signer, error) {
	for _, s := range sg.Signers {
		if s.Position == pos {
			return s, nil
		}
	}
	return records.Signer{}, &signingd.Error{Code: signingd.ENOTFOUND, Message: "Signer not found."}
}

func signerName(s records.Signer) string {
	return strings.TrimSpace(s.Voornaam + " " + s.Achternaam)
}

// Tick does the periodic work: expire signings past their deadline, send reminders and expiry
// warnings. Run calls it every minute; tests call it with a moved clock.
func (p *Provider) Tick(ctx context.Context) error {
	now := p.now()
	expired, err := p.o.Store.ExpireBuiltinSignings(ctx, now)
	if err != nil {
		return err
	}
	for _, id := range expired {
		_ = p.o.Store.AddBuiltinEvent(ctx, id, nil, "expired", "", "", nil, now)
		p.progress(ctx, id)
	}
	send := func(refs []records.Ref, kind mailKind) {
		for _, r := range refs {
			if err := p.remind(ctx, r, kind); err != nil {
				p.o.Logger.WarnContext(ctx, "builtin: reminder failed", "ref", r.SigningID, "signer", r.Position, "err", err)
			}
		}
	}
	if p.o.ReminderInterval > 0 {
		refs, err := p.o.Store.ClaimBuiltinReminders(ctx, p.o.ReminderInterval, now)
		if err != nil {
			return err
		}
		send(refs, mailReminder)
	}
	if p.o.ExpiryWarning > 0 {
		refs, err := p.o.Store.ClaimBuiltinExpiryWarnings(ctx, p.o.ExpiryWarning, now)
		if err != nil {
			return err
		}
		send(refs, mailExpiryWarning)
	}
	return nil
}

// remind sends a reminder or expiry warning. Links are stored only as digests, so the mail carries
// a link of its own; the signer's earlier links keep working, all until the same expiry. As with an
// invitation, the link is committed before the mail goes out, outside the signing's lock.
func (p *Provider) remind(ctx context.Context, r records.Ref, kind mailKind) error {
	var m *Mail
	pos := r.Position
	err := p.o.Store.LockBuiltinSigning(ctx, r.SigningID, func(tx records.Tx, sg records.Signing) error {
		m = nil
		s, err := signerAt(sg, pos)
		if err != nil || sg.Status != "pending" || s.Status != signing.SignerInvited || s.LinkExpires == nil {
			return err
		}
		now := p.now()
		token := newToken()
		if err := tx.AddLink(ctx, sg.ID, pos, p.digest("link", token), *s.LinkExpires, now); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, sg.ID, &pos, string(kind), "", "", nil, now); err != nil {
			return err
		}
		mail := p.invitationMail(sg, s, token, *s.LinkExpires, kind)
		m = &mail
		return nil
	})
	if err != nil || m == nil {
		return err
	}
	if err := p.o.Mailer.SendMail(ctx, *m); err != nil {
		// The new link stays: nobody knows it unless the mail arrived after all, and then it works.
		// The earlier links are untouched.
		if eerr := p.o.Store.AddBuiltinEvent(context.WithoutCancel(ctx), r.SigningID, &pos, string(kind)+"_failed", "", "",
			map[string]any{"error": err.Error()}, p.now()); eerr != nil {
			err = errors.Join(err, eerr)
		}
		return fmt.Errorf("builtin: %s to signer %d: %w", kind, pos, err)
	}
	return nil
}

// Run calls Tick every minute until ctx ends.
func (p *Provider) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if err := p.Tick(ctx); err != nil && ctx.Err() == nil {
			p.o.Logger.ErrorContext(ctx, "builtin: periodic work", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Link returns the signer link for a token.
func (p *Provider) link(token string) string { return p.o.PublicURL + "/sign/" + token }
