package store

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/signing/providers/builtin/records"
)

// BuiltinStore is the store the built-in signer is handed (builtin.Store): the signer's records
// over this database, with blobs in the signer's plain terms.
type BuiltinStore struct{ *Store }

// PutBlob streams r into a new blob of the transaction, as Store.PutBlob does.
func (b BuiltinStore) PutBlob(ctx context.Context, transactionID uuid.UUID, r io.Reader) (records.Blob, error) {
	bl, err := b.Store.PutBlob(ctx, transactionID, r)
	return records.Blob(bl), err
}

// BuiltinSigningByTransaction returns the id of the signing made for a transaction, if any.
func (s *Store) BuiltinSigningByTransaction(ctx context.Context, transactionID uuid.UUID) (uuid.UUID, bool, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT id FROM builtin_signings WHERE transaction_id = $1`, transactionID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, false, nil
	}
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("store: builtin signing by transaction: %w", err)
	}
	return id, true, nil
}

// CreateBuiltinSigning writes a signing with its documents and signers in one transaction. When
// the transaction already has a signing (a retried Create), it returns that one's id instead.
func (s *Store) CreateBuiltinSigning(ctx context.Context, sg records.Signing) (uuid.UUID, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO builtin_signings (id, transaction_id, naam, eigenaar, status, deadline, created_at, organisation_rsin)
			VALUES ($1, $2, $3, $4, 'pending', $5, $6, nullif($7, '')) ON CONFLICT (transaction_id) DO NOTHING`,
			sg.ID, sg.TransactionID, sg.Naam, sg.Eigenaar, sg.Deadline, sg.CreatedAt, sg.RSIN)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errExists
		}
		for _, d := range sg.Documents {
			if _, err := tx.Exec(ctx, `INSERT INTO builtin_documents (signing_id, position, titel, bestandsnaam, original_formaat,
				original_sha256, original_blob, current_blob, current_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $6)`,
				sg.ID, d.Position, d.Titel, d.Bestandsnaam, d.OriginalFormaat, d.OriginalSHA256, d.OriginalBlob); err != nil {
				return err
			}
		}
		for _, p := range sg.Signers {
			if _, err := tx.Exec(ctx, `INSERT INTO builtin_signers (signing_id, position, email, voornaam, achternaam, identificatie,
				volgorde, auth_method, auth_value) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				sg.ID, p.Position, p.Email, p.Voornaam, p.Achternaam, p.Identificatie, p.Volgorde, p.AuthMethod, p.AuthValue); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errExists) {
		id, _, err := s.BuiltinSigningByTransaction(ctx, sg.TransactionID)
		return id, err
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("store: create builtin signing: %w", err)
	}
	return sg.ID, nil
}

var errExists = errors.New("exists")

// querier is what both the pool and a transaction offer.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// BuiltinSigning loads a signing with its documents and signers; ENOTFOUND when unknown.
func (s *Store) BuiltinSigning(ctx context.Context, id uuid.UUID) (records.Signing, error) {
	return loadBuiltinSigning(ctx, s.pool, id, false)
}

func loadBuiltinSigning(ctx context.Context, q querier, id uuid.UUID, lock bool) (records.Signing, error) {
	sql := `SELECT id, transaction_id, naam, coalesce(eigenaar, ''), status, coalesce(reden, ''), deadline, created_at,
		finished_at, coalesce(organisation_rsin, '') FROM builtin_signings WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	var sg records.Signing
	err := q.QueryRow(ctx, sql, id).Scan(&sg.ID, &sg.TransactionID, &sg.Naam, &sg.Eigenaar, &sg.Status, &sg.Reden,
		&sg.Deadline, &sg.CreatedAt, &sg.FinishedAt, &sg.RSIN)
	if err != nil {
		return sg, fmt.Errorf("store: builtin signing: %w", translate(err, "Signing"))
	}
	rows, err := q.Query(ctx, `SELECT position, coalesce(titel, ''), bestandsnaam, coalesce(original_formaat, ''), original_sha256,
		original_blob, current_blob, current_sha256 FROM builtin_documents WHERE signing_id = $1 ORDER BY position`, id)
	if err != nil {
		return sg, fmt.Errorf("store: builtin documents: %w", err)
	}
	sg.Documents, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.Document, error) {
		var d records.Document
		err := r.Scan(&d.Position, &d.Titel, &d.Bestandsnaam, &d.OriginalFormaat, &d.OriginalSHA256, &d.OriginalBlob,
			&d.CurrentBlob, &d.CurrentSHA256)
		return d, err
	})
	if err != nil {
		return sg, fmt.Errorf("store: builtin documents: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT position, email, coalesce(voornaam, ''), achternaam, coalesce(identificatie, ''), volgorde,
		auth_method, coalesce(auth_value, ''), status, link_expires, invited_at, reminded_at, warned_at, otp_sent_at,
		locked_until, done_at, coalesce(reden, '') FROM builtin_signers WHERE signing_id = $1 ORDER BY position`, id)
	if err != nil {
		return sg, fmt.Errorf("store: builtin signers: %w", err)
	}
	sg.Signers, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.Signer, error) {
		var p records.Signer
		err := r.Scan(&p.Position, &p.Email, &p.Voornaam, &p.Achternaam, &p.Identificatie, &p.Volgorde, &p.AuthMethod,
			&p.AuthValue, &p.Status, &p.LinkExpires, &p.InvitedAt, &p.RemindedAt, &p.WarnedAt, &p.OTPSentAt, &p.LockedUntil,
			&p.DoneAt, &p.Reden)
		return p, err
	})
	if err != nil {
		return sg, fmt.Errorf("store: builtin signers: %w", err)
	}
	return sg, nil
}

// LockBuiltinSigning runs fn in a database transaction holding the signing's row lock, so that
// signatures on the same documents, declines and cancels happen one after the other; the changes
// fn makes through tx commit when it returns nil.
func (s *Store) LockBuiltinSigning(ctx context.Context, id uuid.UUID, fn func(tx records.Tx, sg records.Signing) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		sg, err := loadBuiltinSigning(ctx, tx, id, true)
		if err != nil {
			return err
		}
		return fn(builtinTx{tx}, sg)
	})
}

// builtinTx is records.Tx over one database transaction.
type builtinTx struct{ tx pgx.Tx }

// BuiltinSignerByToken finds the signing and signer position of a link token digest; ENOTFOUND
// when no link has it. A signer may have several links (an invitation and its reminders); the
// caller decides from the signer and signing whether the link may still be used. A signer's
// token_digest is looked at too: a replica of the previous version, during a rolling upgrade,
// stores its links only there.
func (s *Store) BuiltinSignerByToken(ctx context.Context, digest []byte) (uuid.UUID, int, error) {
	var id uuid.UUID
	var pos int
	err := s.pool.QueryRow(ctx, `SELECT signing_id, position FROM builtin_links WHERE digest = $1
		UNION ALL SELECT signing_id, position FROM builtin_signers WHERE token_digest = $1 LIMIT 1`, digest).Scan(&id, &pos)
	if err != nil {
		return uuid.Nil, 0, fmt.Errorf("store: builtin signer by token: %w", translate(err, "Link"))
	}
	return id, pos, nil
}

// AddLink gives a signer one more link (its digest) before the mail with it is sent; the
// signer's earlier links keep working. expires is the signer's link expiry, shared by all their
// links. The newest link is also the signer's token_digest, where the previous version looks.
func (t builtinTx) AddLink(ctx context.Context, id uuid.UUID, pos int, digest []byte, expires, now time.Time) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO builtin_links (digest, signing_id, position, created_at) VALUES ($1, $2, $3, $4)`,
		digest, id, pos, now); err != nil {
		return fmt.Errorf("store: add builtin link: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE builtin_signers SET link_expires = $3, token_digest = $4
		WHERE signing_id = $1 AND position = $2`, id, pos, expires, digest); err != nil {
		return fmt.Errorf("store: add builtin link: %w", err)
	}
	return nil
}

// MarkInvited records that a signer's invitation went out.
func (t builtinTx) MarkInvited(ctx context.Context, id uuid.UUID, pos int, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE builtin_signers SET status = 'invited', invited_at = $3, reminded_at = $3
		WHERE signing_id = $1 AND position = $2 AND status = 'pending'`, id, pos, now)
	if err != nil {
		return fmt.Errorf("store: mark builtin invited: %w", err)
	}
	return nil
}

// UninviteBuiltinSigner undoes an invitation whose e-mail could not be sent: the signer is pending
// again, without a link, so the next round invites them afresh.
func (s *Store) UninviteBuiltinSigner(ctx context.Context, id uuid.UUID, pos int, reason string, now time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE builtin_signers SET status = 'pending', link_expires = NULL, invited_at = NULL,
				reminded_at = NULL, token_digest = NULL
			WHERE signing_id = $1 AND position = $2 AND status = 'invited'`, id, pos)
		if err != nil {
			return fmt.Errorf("store: uninvite builtin signer: %w", err)
		}
		if tag.RowsAffected() == 1 {
			if _, err := tx.Exec(ctx, `DELETE FROM builtin_links WHERE signing_id = $1 AND position = $2`, id, pos); err != nil {
				return fmt.Errorf("store: uninvite builtin signer: %w", err)
			}
		}
		return addBuiltinEvent(ctx, tx, id, &pos, "invite_failed", "", "", map[string]any{"error": reason}, now)
	})
}

// ClaimBuiltinReminders marks, and returns, the invited signers of pending signings whose last
// invitation or reminder is older than every. Claiming in one UPDATE lets several replicas run the
// loop without sending a reminder twice.
func (s *Store) ClaimBuiltinReminders(ctx context.Context, every time.Duration, now time.Time) ([]records.Ref, error) {
	return s.claim(ctx, `UPDATE builtin_signers p SET reminded_at = $1 FROM builtin_signings g
		WHERE g.id = p.signing_id AND g.status = 'pending' AND p.status = 'invited' AND p.reminded_at < $2
		  AND p.link_expires > $1 RETURNING p.signing_id, p.position`, now, now.Add(-every))
}

// ClaimBuiltinExpiryWarnings marks, and returns, invited signers whose link expires within before
// and who were not warned yet.
func (s *Store) ClaimBuiltinExpiryWarnings(ctx context.Context, before time.Duration, now time.Time) ([]records.Ref, error) {
	return s.claim(ctx, `UPDATE builtin_signers p SET warned_at = $1 FROM builtin_signings g
		WHERE g.id = p.signing_id AND g.status = 'pending' AND p.status = 'invited' AND p.warned_at IS NULL
		  AND p.link_expires > $1 AND p.link_expires < $2 RETURNING p.signing_id, p.position`, now, now.Add(before))
}

func (s *Store) claim(ctx context.Context, sql string, args ...any) ([]records.Ref, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("store: claim builtin signers: %w", err)
	}
	refs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.Ref, error) {
		var ref records.Ref
		return ref, r.Scan(&ref.SigningID, &ref.Position)
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim builtin signers: %w", err)
	}
	return refs, nil
}

// ExpireBuiltinSignings marks pending signings past their deadline expired and returns their ids.
func (s *Store) ExpireBuiltinSignings(ctx context.Context, now time.Time) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `UPDATE builtin_signings SET status = 'expired', finished_at = $1
		WHERE status = 'pending' AND deadline < $1 RETURNING id`, now)
	if err != nil {
		return nil, fmt.Errorf("store: expire builtin signings: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("store: expire builtin signings: %w", err)
	}
	return ids, nil
}

// CreateBuiltinSession binds a new browser session (its digest) to one signer and keeps at most
// max live sessions for that signer: every page view without a cookie makes one, so a flood of
// them must not grow the table. The oldest unauthenticated sessions (and any expired ones) go first.
func (s *Store) CreateBuiltinSession(ctx context.Context, digest []byte, id uuid.UUID, pos int, now, expires time.Time, max int) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockBuiltinSigner(ctx, tx, id, pos); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO builtin_sessions (digest, signing_id, position, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, digest, id, pos, now, expires); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM builtin_sessions WHERE signing_id = $1 AND position = $2 AND digest IN (
			SELECT digest FROM builtin_sessions WHERE signing_id = $1 AND position = $2
			ORDER BY digest = $3 DESC, expires_at > $4 DESC, authenticated_at IS NOT NULL DESC, created_at DESC
			OFFSET $5)`, id, pos, digest, now, max)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create builtin session: %w", err)
	}
	return nil
}

// lockBuiltinSigner serializes the writers of one signer's sessions and events, so that their
// bounds hold under parallel requests.
func lockBuiltinSigner(ctx context.Context, tx pgx.Tx, id uuid.UUID, pos int) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM builtin_signers WHERE signing_id = $1 AND position = $2 FOR UPDATE`, id, pos).Scan(&one)
	return translate(err, "Signer")
}

// BuiltinSession returns the signer a live session belongs to and whether it is authenticated;
// ENOTFOUND when the session is unknown or expired.
func (s *Store) BuiltinSession(ctx context.Context, digest []byte, now time.Time) (uuid.UUID, int, bool, error) {
	var id uuid.UUID
	var pos int
	var auth *time.Time
	err := s.pool.QueryRow(ctx, `SELECT signing_id, position, authenticated_at FROM builtin_sessions
		WHERE digest = $1 AND expires_at > $2`, digest, now).Scan(&id, &pos, &auth)
	if err != nil {
		return uuid.Nil, 0, false, fmt.Errorf("store: builtin session: %w", translate(err, "Session"))
	}
	return id, pos, auth != nil, nil
}

// SetBuiltinOTP stores a new code digest for a signer unless one was sent less than minGap ago or
// the link is locked; it reports whether the code was stored (and so may be sent).
func (s *Store) SetBuiltinOTP(ctx context.Context, id uuid.UUID, pos int, digest []byte, expires, now time.Time, minGap time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE builtin_signers SET otp_digest = $3, otp_expires = $4, otp_sent_at = $5
		WHERE signing_id = $1 AND position = $2 AND (otp_sent_at IS NULL OR otp_sent_at <= $6)
		  AND (locked_until IS NULL OR locked_until <= $5)`, id, pos, digest, expires, now, now.Add(-minGap))
	if err != nil {
		return false, fmt.Errorf("store: set builtin otp: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// VerifyBuiltinOTP checks one code attempt (its digest) for a signer and, when right, marks the
// session authenticated under the digest renewed, all in one transaction: the session id changes on
// authentication, so an id planted in the signer's browser beforehand (session fixation) is worthless. Every wrong or late attempt counts; at
// maxFailures the link locks for lockout and the stored code is dropped, so that even the right
// code is refused until a new one is requested after the lock.
func (s *Store) VerifyBuiltinOTP(ctx context.Context, id uuid.UUID, pos int, session, renewed, candidate []byte, now time.Time, maxFailures int, lockout time.Duration) (records.OTPResult, error) {
	res := records.OTPWrong
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var digest []byte
		var expires, locked *time.Time
		var failures int
		err := tx.QueryRow(ctx, `SELECT otp_digest, otp_expires, otp_failures, locked_until FROM builtin_signers
			WHERE signing_id = $1 AND position = $2 FOR UPDATE`, id, pos).Scan(&digest, &expires, &failures, &locked)
		if err != nil {
			return translate(err, "Signer")
		}
		if locked != nil && locked.After(now) {
			res = records.OTPLocked
			return nil
		}
		if locked != nil { // an old lock is over: start counting again
			failures = 0
		}
		switch {
		case digest != nil && expires != nil && expires.After(now) && hmac.Equal(digest, candidate):
			res = records.OTPOK
			if _, err := tx.Exec(ctx, `UPDATE builtin_signers SET otp_digest = NULL, otp_expires = NULL, otp_failures = 0,
				locked_until = NULL WHERE signing_id = $1 AND position = $2`, id, pos); err != nil {
				return err
			}
			return authenticateSession(ctx, tx, session, renewed, now)
		case digest == nil || expires == nil || !expires.After(now):
			res = records.OTPExpired
		}
		failures++
		if failures >= maxFailures {
			_, err := tx.Exec(ctx, `UPDATE builtin_signers SET otp_digest = NULL, otp_expires = NULL, otp_failures = 0,
				locked_until = $3 WHERE signing_id = $1 AND position = $2`, id, pos, now.Add(lockout))
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE builtin_signers SET otp_failures = $3, locked_until = NULL
			WHERE signing_id = $1 AND position = $2`, id, pos, failures)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("store: verify builtin otp: %w", err)
	}
	return res, nil
}

// AuthenticateBuiltinSession marks a session authenticated without a code (method null: the link
// is the factor), under the digest renewed, as VerifyBuiltinOTP does.
func (s *Store) AuthenticateBuiltinSession(ctx context.Context, session, renewed []byte, now time.Time) error {
	if err := authenticateSession(ctx, s.pool, session, renewed, now); err != nil {
		return fmt.Errorf("store: authenticate builtin session: %w", err)
	}
	return nil
}

func authenticateSession(ctx context.Context, db execer, session, renewed []byte, now time.Time) error {
	tag, err := db.Exec(ctx, `UPDATE builtin_sessions SET digest = $2, authenticated_at = $3 WHERE digest = $1`, session, renewed, now)
	if err == nil && tag.RowsAffected() != 1 {
		err = &signingd.Error{Code: signingd.ENOTFOUND, Message: "Session not found."}
	}
	return err
}

// AddBuiltinEvent appends an event to a signing's audit trail on its own.
func (s *Store) AddBuiltinEvent(ctx context.Context, id uuid.UUID, pos *int, typ, ip, userAgent string, detail map[string]any, now time.Time) error {
	return addBuiltinEvent(ctx, s.pool, id, pos, typ, ip, userAgent, detail, now)
}

// AddEvent appends an event to the signing's audit trail in the transaction.
func (t builtinTx) AddEvent(ctx context.Context, id uuid.UUID, pos *int, typ, ip, userAgent string, detail map[string]any, now time.Time) error {
	return addBuiltinEvent(ctx, t.tx, id, pos, typ, ip, userAgent, detail, now)
}

func addBuiltinEvent(ctx context.Context, db execer, id uuid.UUID, pos *int, typ, ip, userAgent string, detail map[string]any, now time.Time) error {
	_, err := db.Exec(ctx, `INSERT INTO builtin_events (signing_id, position, at, type, ip, user_agent, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, pos, now, typ, ip, userAgent, detail)
	if err != nil {
		return fmt.Errorf("store: add builtin event: %w", err)
	}
	return nil
}

// execer is what both the pool and a transaction offer for statements without rows.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// AddBuiltinPageEvent appends an event a signer's browser causes (a page opened, a code sent or
// refused) unless that signer already has max events of the type: anyone holding the link can
// repeat them, and the evidence report must not grow with every repetition. It reports whether the
// event was recorded.
func (s *Store) AddBuiltinPageEvent(ctx context.Context, id uuid.UUID, pos int, typ, ip, userAgent string, detail map[string]any, now time.Time, max int) (bool, error) {
	added := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockBuiltinSigner(ctx, tx, id, pos); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO builtin_events (signing_id, position, at, type, ip, user_agent, detail)
			SELECT $1, $2, $3, $4, $5, $6, $7
			WHERE (SELECT count(*) FROM builtin_events WHERE signing_id = $1 AND position = $2 AND type = $4) < $8`,
			id, pos, now, typ, ip, userAgent, detail, max)
		added = err == nil && tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: add builtin page event: %w", err)
	}
	return added, nil
}

// BuiltinEvents returns a signing's audit trail in order.
func (s *Store) BuiltinEvents(ctx context.Context, id uuid.UUID) ([]records.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, position, at, type, coalesce(ip, ''), coalesce(user_agent, ''), detail
		FROM builtin_events WHERE signing_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("store: builtin events: %w", err)
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.Event, error) {
		var e records.Event
		err := r.Scan(&e.ID, &e.Position, &e.At, &e.Type, &e.IP, &e.UserAgent, &e.Detail)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: builtin events: %w", err)
	}
	return evs, nil
}

// SetDocumentCurrent records a document's newest signed version.
func (t builtinTx) SetDocumentCurrent(ctx context.Context, id uuid.UUID, pos int, b records.Blob) error {
	_, err := t.tx.Exec(ctx, `UPDATE builtin_documents SET current_blob = $3, current_sha256 = $4 WHERE signing_id = $1 AND position = $2`,
		id, pos, b.ID, b.SHA256)
	if err != nil {
		return fmt.Errorf("store: set builtin document: %w", err)
	}
	return nil
}

// FinishSigner records that a signer signed or declined.
func (t builtinTx) FinishSigner(ctx context.Context, id uuid.UUID, pos int, status, reden string, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE builtin_signers SET status = $3, reden = nullif($4, ''), done_at = $5
		WHERE signing_id = $1 AND position = $2`, id, pos, status, reden, now)
	if err != nil {
		return fmt.Errorf("store: finish builtin signer: %w", err)
	}
	return nil
}

// SetStatus moves a pending signing to its final status.
func (t builtinTx) SetStatus(ctx context.Context, id uuid.UUID, status, reden string, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE builtin_signings SET status = $2, reden = nullif($3, ''), finished_at = $4
		WHERE id = $1 AND status = 'pending'`, id, status, reden, now)
	if err != nil {
		return fmt.Errorf("store: set builtin status: %w", err)
	}
	return nil
}
