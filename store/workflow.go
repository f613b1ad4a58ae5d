package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/signingd/signingd/signing"
)

// ErrStale means the transaction is no longer in the state a step expected: another step or a
// cancel moved it on. The step has nothing left to do.
var ErrStale = errors.New("store: transaction moved on")

// WorkDocument is a document as the workflow steps need it.
type WorkDocument struct {
	signing.DocumentStatus
	Position     int
	OriginalBlob *uuid.UUID
	SignedBlob   *uuid.UUID
	OriginalSize int64
	SignedSize   int64
	Formaat      string
	DocStatus    string // the DRC status of the signed version
	LockID       string
	// LockRequestedAt is set while a lock request may have been granted without our knowing the
	// lock id (a crash or a timeout between the request and storing the id).
	LockRequestedAt *time.Time
	// LockWaitSince is when we first found the document locked by someone else.
	LockWaitSince *time.Time
}

// Work is a transaction with what the workflow steps need beyond the status view.
type Work struct {
	signing.Transaction
	RSIN        string
	ProviderRef string
	EvidenceURL string
	// EvidenceRequestedAt is set once the evidence document may have been created in the DRC.
	EvidenceRequestedAt *time.Time
	// EvidenceUploadURL and EvidenceUploadLock are the evidence document whose chunked upload is
	// under way: created and locked by the DRC, its content not yet complete.
	EvidenceUploadURL  string
	EvidenceUploadLock string
	Docs               []WorkDocument
}

// InTx runs fn in one database transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// Work loads a transaction for a workflow step.
func (s *Store) Work(ctx context.Context, id uuid.UUID) (Work, error) {
	var w Work
	t, err := scanTransaction(s.pool.QueryRow(ctx, `SELECT `+transactionColumns+` FROM transactions WHERE id = $1`, id))
	if err != nil {
		return w, fmt.Errorf("store: load work %s: %w", id, translate(err, "Transaction"))
	}
	w.Transaction = t
	if err := s.loadDetails(ctx, &w.Transaction); err != nil {
		return w, err
	}
	var ref, ev, upURL, upLock *string
	if err := s.pool.QueryRow(ctx, `SELECT o.rsin, t.provider_ref, t.evidence_url, t.evidence_requested_at,
			t.evidence_upload_url, t.evidence_upload_lock FROM transactions t
		JOIN organisations o ON o.id = t.organisation_id WHERE t.id = $1`, id).Scan(&w.RSIN, &ref, &ev, &w.EvidenceRequestedAt,
		&upURL, &upLock); err != nil {
		return w, fmt.Errorf("store: load work %s: %w", id, err)
	}
	w.ProviderRef, w.EvidenceURL = deref(ref), deref(ev)
	w.EvidenceUploadURL, w.EvidenceUploadLock = deref(upURL), deref(upLock)
	rows, err := s.pool.Query(ctx, `SELECT position, original_blob, signed_blob, coalesce(original_size, 0),
			coalesce(signed_size, 0), coalesce(formaat, ''), coalesce(doc_status, ''), coalesce(lock_id, ''),
			lock_requested_at, lock_wait_since
		FROM documents WHERE transaction_id = $1 ORDER BY position`, id)
	if err != nil {
		return w, fmt.Errorf("store: load work documents %s: %w", id, err)
	}
	defer rows.Close()
	for i := 0; rows.Next(); i++ {
		var d WorkDocument
		if err := rows.Scan(&d.Position, &d.OriginalBlob, &d.SignedBlob, &d.OriginalSize, &d.SignedSize, &d.Formaat, &d.DocStatus, &d.LockID,
			&d.LockRequestedAt, &d.LockWaitSince); err != nil {
			return w, fmt.Errorf("store: load work documents %s: %w", id, err)
		}
		if i < len(w.Documents) {
			d.DocumentStatus = w.Documents[i]
		}
		w.Docs = append(w.Docs, d)
	}
	return w, rows.Err()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// lockState locks the transaction row and returns its state.
func lockState(ctx context.Context, tx pgx.Tx, id uuid.UUID) (signing.State, error) {
	var st signing.State
	if err := tx.QueryRow(ctx, `SELECT state FROM transactions WHERE id = $1 FOR UPDATE`, id).Scan(&st); err != nil {
		return st, fmt.Errorf("store: lock transaction %s: %w", id, translate(err, "Transaction"))
	}
	return st, nil
}

// Expect locks the transaction row inside tx and returns ErrStale unless it is in one of states.
func (s *Store) Expect(ctx context.Context, tx pgx.Tx, id uuid.UUID, states ...signing.State) (signing.State, error) {
	st, err := lockState(ctx, tx, id)
	if err != nil {
		return st, err
	}
	for _, want := range states {
		if st == want {
			return st, nil
		}
	}
	return st, ErrStale
}

// Step is a state change with its audit event and the job that continues the work.
type Step struct {
	From, To signing.State
	Event    string
	Actor    string
	Detail   map[string]any
	Next     river.JobArgs // nil: no next job
	NextOpts *river.InsertOpts
	Now      time.Time
}

// Advance applies a step inside tx: the row is locked, the state must be From (else ErrStale),
// the transition must be legal, and state, event and next job are written together.
func (s *Store) Advance(ctx context.Context, tx pgx.Tx, id uuid.UUID, st Step) error {
	if _, err := s.Expect(ctx, tx, id, st.From); err != nil {
		return err
	}
	if err := signing.Transition(st.From, st.To); err != nil {
		return fmt.Errorf("store: advance %s: %w", id, err)
	}
	finished := st.To.Terminal()
	if _, err := tx.Exec(ctx, `UPDATE transactions SET state = $2, updated_at = $3,
			finished_at = CASE WHEN $4 THEN $3 ELSE finished_at END WHERE id = $1`, id, st.To, st.Now, finished); err != nil {
		return fmt.Errorf("store: advance %s: %w", id, err)
	}
	if err := insertEvent(ctx, tx, id, st.Now, st.Event, st.To, st.Actor, st.Detail); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, st.Next, st.NextOpts)
}

// Enqueue inserts a job inside tx.
func (s *Store) Enqueue(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	return s.enqueue(ctx, tx, args, opts)
}

func (s *Store) enqueue(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	if args == nil {
		return nil
	}
	if _, err := s.jobs.InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("store: enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// Abort moves a live transaction to aborting with reden inside tx, with its event and the abort
// job. A transaction already aborting or finished is ErrStale: the first reden wins.
func (s *Store) Abort(ctx context.Context, tx pgx.Tx, id uuid.UUID, reden, event, actor string, detail map[string]any, now time.Time) error {
	st, err := lockState(ctx, tx, id)
	if err != nil {
		return err
	}
	if !signing.CanTransition(st, signing.StateAborting) {
		return ErrStale
	}
	if _, err := tx.Exec(ctx, `UPDATE transactions SET state = $2, reden = $3, updated_at = $4 WHERE id = $1`,
		id, signing.StateAborting, reden, now); err != nil {
		return fmt.Errorf("store: abort %s: %w", id, err)
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["reden"] = reden
	detail["from"] = string(st)
	if err := insertEvent(ctx, tx, id, now, event, signing.StateAborting, actor, detail); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, AbortArgs{TransactionID: id}, nil)
}

// AmendReden replaces the reden of an aborting transaction, when the abort learnt what it had to
// leave behind.
func (s *Store) AmendReden(ctx context.Context, tx pgx.Tx, id uuid.UUID, reden string) error {
	if _, err := tx.Exec(ctx, `UPDATE transactions SET reden = $2 WHERE id = $1 AND state = $3`,
		id, reden, signing.StateAborting); err != nil {
		return fmt.Errorf("store: amend reden %s: %w", id, err)
	}
	return nil
}

// Event appends an audit event in the transaction's current state.
func (s *Store) Event(ctx context.Context, tx pgx.Tx, id uuid.UUID, typ, actor string, detail map[string]any, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO events (transaction_id, at, type, state, actor, detail)
		SELECT $1, $2, $3, state, $4, $5 FROM transactions WHERE id = $1`, id, now, typ, actor, detail)
	if err != nil {
		return fmt.Errorf("store: insert event: %w", err)
	}
	return nil
}

// SetDocumentFetched records the stored original of a document.
// The DRC's titel and bestandsnaam fill in what the trigger left out.
func (s *Store) SetDocumentFetched(ctx context.Context, tx pgx.Tx, id uuid.UUID, pos int, b Blob, formaat, docStatus, titel, bestandsnaam string) error {
	_, err := tx.Exec(ctx, `UPDATE documents SET status = $3, original_blob = $4, original_sha256 = $5, original_size = $6,
			formaat = NULLIF($7, ''), doc_status = NULLIF($8, ''), versie_signed = versie,
			titel = coalesce(titel, NULLIF($9, '')), bestandsnaam = coalesce(bestandsnaam, NULLIF($10, ''))
		WHERE transaction_id = $1 AND position = $2`, id, pos, signing.DocumentFetched, b.ID, b.SHA256, b.Size, formaat, docStatus, titel, bestandsnaam)
	if err != nil {
		return fmt.Errorf("store: document fetched: %w", err)
	}
	return nil
}

// SetProviderRef records the provider's reference of the signing.
func (s *Store) SetProviderRef(ctx context.Context, tx pgx.Tx, id uuid.UUID, ref string) error {
	if _, err := tx.Exec(ctx, `UPDATE transactions SET provider_ref = $2 WHERE id = $1`, id, ref); err != nil {
		return fmt.Errorf("store: provider ref: %w", err)
	}
	return nil
}

// TransactionByProviderRef finds the transaction a provider's reference belongs to.
func (s *Store) TransactionByProviderRef(ctx context.Context, provider, ref string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT id FROM transactions WHERE provider = $1 AND provider_ref = $2`, provider, ref).Scan(&id)
	if err != nil {
		return id, fmt.Errorf("store: find by provider ref: %w", translate(err, "Signing"))
	}
	return id, nil
}

// ApplySignerProgress updates the signers from the provider's report inside tx and writes an
// event for every signer whose status changed. It returns how many changed.
func (s *Store) ApplySignerProgress(ctx context.Context, tx pgx.Tx, id uuid.UUID, list []signing.SignerProgress, now time.Time) (int, error) {
	changed := 0
	for _, p := range list {
		var signedAt, declinedAt *time.Time
		at := p.At
		if at.IsZero() {
			at = now
		}
		switch p.Status {
		case signing.SignerSigned:
			signedAt = &at
		case signing.SignerDeclined:
			declinedAt = &at
		case signing.SignerInvited, signing.SignerPending:
		default:
			continue
		}
		tag, err := tx.Exec(ctx, `UPDATE signers SET status = $3, signed_at = coalesce($4, signed_at),
				declined_at = coalesce($5, declined_at), decline_reason = coalesce(NULLIF($6, ''), decline_reason)
			WHERE transaction_id = $1 AND position = $2 AND status <> $3`, id, p.Position, p.Status, signedAt, declinedAt, p.Reden)
		if err != nil {
			return changed, fmt.Errorf("store: signer progress: %w", err)
		}
		if tag.RowsAffected() == 0 {
			continue
		}
		changed++
		detail := map[string]any{"signer": p.Position}
		if p.Reden != "" {
			detail["reden"] = p.Reden
		}
		for k, v := range p.Evidence {
			detail[k] = v
		}
		if err := s.Event(ctx, tx, id, "signer_"+p.Status, "provider", detail, at); err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// SetDocumentSigned records the stored signed PDF of a document.
func (s *Store) SetDocumentSigned(ctx context.Context, tx pgx.Tx, id uuid.UUID, pos int, b Blob) error {
	_, err := tx.Exec(ctx, `UPDATE documents SET status = $3, signed_blob = $4, signed_sha256 = $5, signed_size = $6
		WHERE transaction_id = $1 AND position = $2`, id, pos, signing.DocumentSigned, b.ID, b.SHA256, b.Size)
	if err != nil {
		return fmt.Errorf("store: document signed: %w", err)
	}
	return nil
}

// SetProviderEvidence records the blob holding the provider's evidence of a transaction, collected
// with the signed documents.
func (s *Store) SetProviderEvidence(ctx context.Context, tx pgx.Tx, id uuid.UUID, blob uuid.UUID) error {
	if _, err := tx.Exec(ctx, `UPDATE transactions SET provider_evidence_blob = $2 WHERE id = $1`, id, blob); err != nil {
		return fmt.Errorf("store: provider evidence: %w", err)
	}
	return nil
}

// KeepEvidenceBlob records blob as the evidence content unless the transaction has one already (a
// report stored by an earlier run, which stays: what was once sent to the DRC must not change). The caller reads the outcome with EvidenceContent.
func (s *Store) KeepEvidenceBlob(ctx context.Context, id uuid.UUID, blob uuid.UUID) error {
	if _, err := s.pool.Exec(ctx, `UPDATE transactions SET evidence_blob = $2 WHERE id = $1 AND evidence_blob IS NULL`, id, blob); err != nil {
		return fmt.Errorf("store: keep evidence blob: %w", err)
	}
	return nil
}

// ProviderEvidence returns the blob of the provider's evidence of a transaction, nil when it has not
// been collected.
func (s *Store) ProviderEvidence(ctx context.Context, id uuid.UUID) (*uuid.UUID, error) {
	var b *uuid.UUID
	if err := s.pool.QueryRow(ctx, `SELECT provider_evidence_blob FROM transactions WHERE id = $1`, id).Scan(&b); err != nil {
		return nil, fmt.Errorf("store: provider evidence: %w", err)
	}
	return b, nil
}

// SetLockIntent records, before a lock is asked for, that the DRC may grant one whose id we could
// lose (a crash or a timeout before SetLock). An earlier intent is kept: the lock it may have
// granted is as old as that intent. It fails with ErrStale when the transaction is no longer
// uploading, so an aborted transaction asks for no new lock.
func (s *Store) SetLockIntent(ctx context.Context, id uuid.UUID, pos int, now time.Time) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.Expect(ctx, tx, id, signing.StateUploading); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE documents SET lock_requested_at = coalesce(lock_requested_at, $3)
			WHERE transaction_id = $1 AND position = $2`, id, pos, now); err != nil {
			return fmt.Errorf("store: lock intent: %w", err)
		}
		return nil
	})
}

// SetLock records the DRC lock of a document before anything is written with it, so that a retry
// after a crash can unlock. The lock intent and any wait for someone else's lock end here. It fails
// with ErrStale when the transaction is no longer uploading.
func (s *Store) SetLock(ctx context.Context, id uuid.UUID, pos int, lock string) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.Expect(ctx, tx, id, signing.StateUploading); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE documents SET lock_id = NULLIF($3, ''), lock_requested_at = NULL, lock_wait_since = NULL
			WHERE transaction_id = $1 AND position = $2`, id, pos, lock)
		if err != nil {
			return fmt.Errorf("store: set lock: %w", err)
		}
		return nil
	})
}

// ClearLock forgets a document's lock, and any lock intent, once it is released or known not to
// have been granted.
func (s *Store) ClearLock(ctx context.Context, id uuid.UUID, pos int) error {
	_, err := s.pool.Exec(ctx, `UPDATE documents SET lock_id = NULL, lock_requested_at = NULL WHERE transaction_id = $1 AND position = $2`, id, pos)
	if err != nil {
		return fmt.Errorf("store: clear lock: %w", err)
	}
	return nil
}

// WaitForLock records that the document is locked by someone else and returns since when we have
// been waiting for it (now, the first time).
func (s *Store) WaitForLock(ctx context.Context, id uuid.UUID, pos int, now time.Time) (time.Time, error) {
	var since time.Time
	err := s.pool.QueryRow(ctx, `UPDATE documents SET lock_wait_since = coalesce(lock_wait_since, $3)
		WHERE transaction_id = $1 AND position = $2 RETURNING lock_wait_since`, id, pos, now).Scan(&since)
	if err != nil {
		return since, fmt.Errorf("store: wait for lock: %w", err)
	}
	return since, nil
}

// SetUploaded records the DRC version a signed document became, with its event.
func (s *Store) SetUploaded(ctx context.Context, id uuid.UUID, pos, versie int, now time.Time) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE documents SET status = $3, versie_uploaded = $4, lock_id = NULL,
				lock_requested_at = NULL, lock_wait_since = NULL, uploaded_at = $5
			WHERE transaction_id = $1 AND position = $2 AND status <> $3`, id, pos, signing.DocumentUploaded, versie, now)
		if err != nil {
			return fmt.Errorf("store: uploaded: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		return s.Event(ctx, tx, id, signing.EventDocumentUploaded, "worker", map[string]any{"document": pos, "versie": versie}, now)
	})
}

// SetEvidenceIntent records, before the evidence document is created, that it may exist in the
// DRC from now on, so that a retry that does not know its URL looks for it before creating
// another. It fails with ErrStale when the transaction is no longer uploading.
func (s *Store) SetEvidenceIntent(ctx context.Context, id uuid.UUID, now time.Time) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.Expect(ctx, tx, id, signing.StateUploading); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE transactions SET evidence_requested_at = coalesce(evidence_requested_at, $2) WHERE id = $1`, id, now); err != nil {
			return fmt.Errorf("store: evidence intent: %w", err)
		}
		return nil
	})
}

// SetEvidenceUpload records the evidence document the DRC created for a chunked upload, with the
// lock it holds, before any part is sent: a retry resumes the upload with this lock. It fails with
// ErrStale when the transaction is no longer uploading.
func (s *Store) SetEvidenceUpload(ctx context.Context, id uuid.UUID, url, lock string) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.Expect(ctx, tx, id, signing.StateUploading); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE transactions SET evidence_upload_url = $2, evidence_upload_lock = NULLIF($3, '')
			WHERE id = $1`, id, url, lock); err != nil {
			return fmt.Errorf("store: evidence upload: %w", err)
		}
		return nil
	})
}

// ClearEvidenceUpload forgets the evidence document and the intent to create one, once the document
// is known not to exist (deleted, or never created): the next run creates it afresh, with an intent
// of its own.
func (s *Store) ClearEvidenceUpload(ctx context.Context, id uuid.UUID) error {
	if _, err := s.pool.Exec(ctx, `UPDATE transactions SET evidence_upload_url = NULL, evidence_upload_lock = NULL,
			evidence_requested_at = NULL WHERE id = $1 AND evidence_url IS NULL`, id); err != nil {
		return fmt.Errorf("store: clear evidence upload: %w", err)
	}
	return nil
}

// EvidenceContent returns the stored evidence content of a transaction (its id, size and SHA-256),
// or nil when there is none yet.
func (s *Store) EvidenceContent(ctx context.Context, id uuid.UUID) (*Blob, error) {
	var b Blob
	err := s.pool.QueryRow(ctx, `SELECT b.id, b.size, b.sha256 FROM transactions t JOIN blobs b ON b.id = t.evidence_blob
		WHERE t.id = $1 AND b.complete`, id).Scan(&b.ID, &b.Size, &b.SHA256)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: evidence content: %w", err)
	}
	return &b, nil
}

// SetEvidenceURL records the evidence document once it is complete in the DRC (created, its upload
// finished, or found again after a crash); an upload in progress ends here.
func (s *Store) SetEvidenceURL(ctx context.Context, id uuid.UUID, url string, now time.Time) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE transactions SET evidence_url = $2, evidence_upload_url = NULL, evidence_upload_lock = NULL
			WHERE id = $1`, id, url); err != nil {
			return fmt.Errorf("store: evidence url: %w", err)
		}
		return s.Event(ctx, tx, id, signing.EventEvidenceCreated, "worker", map[string]any{"url": url}, now)
	})
}

// WriteNotification puts the transaction's one notification in the outbox inside tx. A second
// write for the same transaction is ignored: the outcome is decided once.
func (s *Store) WriteNotification(ctx context.Context, tx pgx.Tx, id uuid.UUID, actie string, message any, now time.Time) error {
	b, err := json.Marshal(message)
	if err != nil {
		return fmt.Errorf("store: encode notification: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO notifications (transaction_id, actie, message, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (transaction_id) DO NOTHING`, id, actie, b, now); err != nil {
		return fmt.Errorf("store: write notification: %w", err)
	}
	return nil
}

// Notification returns the outbox row of a transaction: the message and whether it was sent.
func (s *Store) Notification(ctx context.Context, id uuid.UUID) (json.RawMessage, bool, error) {
	var msg json.RawMessage
	var sent *time.Time
	err := s.pool.QueryRow(ctx, `UPDATE notifications SET attempts = attempts + 1 WHERE transaction_id = $1 RETURNING message, sent_at`, id).Scan(&msg, &sent)
	if err != nil {
		return nil, false, fmt.Errorf("store: notification %s: %w", id, translate(err, "Notification"))
	}
	return msg, sent != nil, nil
}

// MarkNotified records inside tx that the NRC accepted the notification.
func (s *Store) MarkNotified(ctx context.Context, tx pgx.Tx, id uuid.UUID, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE notifications SET sent_at = coalesce(sent_at, $2) WHERE transaction_id = $1`, id, now); err != nil {
		return fmt.Errorf("store: mark notified: %w", err)
	}
	return nil
}

// NotificationAttempts returns how often each transaction's notification was handed to the NRC
// job, for tests and metrics.
func (s *Store) NotificationAttempts(ctx context.Context, id uuid.UUID) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT attempts FROM notifications WHERE transaction_id = $1`, id).Scan(&n)
	return n, err
}

// StateOf returns the current state of a transaction.
func (s *Store) StateOf(ctx context.Context, id uuid.UUID) (signing.State, error) {
	var st signing.State
	err := s.pool.QueryRow(ctx, `SELECT state FROM transactions WHERE id = $1`, id).Scan(&st)
	if err != nil {
		return st, fmt.Errorf("store: state %s: %w", id, translate(err, "Transaction"))
	}
	return st, nil
}
