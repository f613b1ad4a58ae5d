package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/signing"
)

// FetchDocumentsArgs is the first job of every transaction.
type FetchDocumentsArgs struct {
	TransactionID uuid.UUID `json:"transaction_id"`
}

// Kind names the job for River.
func (FetchDocumentsArgs) Kind() string { return "fetch_documents" }

// AbortArgs asks the workflow to abort a transaction that is in state aborting.
type AbortArgs struct {
	TransactionID uuid.UUID `json:"transaction_id"`
}

// Kind names the job for River.
func (AbortArgs) Kind() string { return "abort" }

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 48 * time.Hour

// NewTransaction is what the intake persists.
type NewTransaction struct {
	ID             uuid.UUID
	OrganisationID uuid.UUID
	ClientID       uuid.UUID
	Provider       string
	Trigger        signing.Trigger
	Now            time.Time
	Deadline       time.Time
	IdempotencyKey string // empty when the caller sent none
	Actor          string
	Traceparent    string // W3C trace context of the trigger request; empty when not traced
}

// RequestHash is the digest an idempotency key is bound to: that of the canonical trigger, so
// formatting differences of the same trigger are not a conflict.
func RequestHash(t signing.Trigger) []byte {
	b, _ := json.Marshal(t) // a Trigger always marshals
	h := sha256.Sum256(b)
	return h[:]
}

// intakeSQL writes everything the intake writes in one statement (data-modifying CTEs): one round
// trip, committed on its own, all of it or nothing. With an idempotency key ($15) the transaction
// and everything hanging off it are written only when the key's record was written now: a live
// record makes k return nothing, so nothing else is written and the statement returns no row. An
// expired record is replaced. The first job goes into river_job here too, as River's clients for
// other languages insert it (the table is River's cross-language contract): its args are
// FetchDocumentsArgs as River decodes them and its metadata carries the trace context tracing's
// insert middleware would have added; every later job is inserted with InsertTx. Workers find it at
// their next poll (JOB_POLL_INTERVAL). Foreign keys are checked at the end of the statement, so the
// rows referencing the transaction may be written beside it.
const intakeSQL = `WITH k AS (
	INSERT INTO idempotency_keys (client_id, key, request_hash, transaction_id, created_at, expires_at)
	SELECT $3::uuid, $15::text, $16::bytea, $1::uuid, $12::timestamptz, $17::timestamptz WHERE $15::text <> ''
	ON CONFLICT (client_id, key) DO UPDATE SET request_hash = excluded.request_hash,
		transaction_id = excluded.transaction_id, created_at = excluded.created_at, expires_at = excluded.expires_at
	WHERE idempotency_keys.expires_at < excluded.created_at
	RETURNING transaction_id
), t AS (
	INSERT INTO transactions (id, organisation_id, client_id, state, naam, eigenaar, zaak_url, zaak_uuid,
		bewijs_informatieobjecttype, provider, trigger, created_at, updated_at, deadline, traceparent)
	SELECT $1::uuid, $2::uuid, $3::uuid, $4::text, $5::text, NULLIF($6::text, ''), $7::text, $8::uuid, NULLIF($9::text, ''),
		$10::text, $11::jsonb, $12::timestamptz, $12::timestamptz, $13::timestamptz, NULLIF($14::text, '')
	WHERE $15::text = '' OR EXISTS (SELECT FROM k)
	RETURNING id
), d AS (
	INSERT INTO documents (transaction_id, position, url, uuid, titel, versie, bestandsnaam)
	SELECT t.id, p, u, x.id::uuid, NULLIF(ti, ''), v, NULLIF(f, '')
	FROM t, unnest($18::int[], $19::text[], $20::text[], $21::text[], $22::int[], $23::text[]) AS x(p, u, id, ti, v, f)
), s AS (
	INSERT INTO signers (transaction_id, position, email, voornaam, achternaam, identificatie, volgorde, auth_method, auth_value)
	SELECT t.id, p, e, NULLIF(vn, ''), an, NULLIF(i, ''), v, NULLIF(m, ''), NULLIF(w, '')
	FROM t, unnest($24::int[], $25::text[], $26::text[], $27::text[], $28::text[], $29::int[], $30::text[], $31::text[]) AS x(p, e, vn, an, i, v, m, w)
), e AS (
	INSERT INTO events (transaction_id, at, type, state, actor)
	SELECT t.id, $12::timestamptz, $32::text, $4::text, $33::text FROM t
), j AS (
	INSERT INTO river_job (args, kind, max_attempts, priority, queue, state, scheduled_at, metadata)
	SELECT jsonb_build_object('transaction_id', t.id::text), $34::text, $35::int, $36::int, $37::text, 'available', $12::timestamptz,
		CASE WHEN $14::text = '' THEN '{}'::jsonb ELSE jsonb_build_object('traceparent', $14::text) END
	FROM t
)
SELECT id FROM t`

// CreateTransaction writes the transaction, its documents, signers, first event, first job and the
// idempotency record in one statement (intakeSQL), so in one round trip. It returns the id of the
// transaction and whether it was created now; a replayed idempotency key returns the earlier id, and
// a key reused for another trigger is an EUNPROCESSABLE error.
func (s *Store) CreateTransaction(ctx context.Context, in NewTransaction) (uuid.UUID, bool, error) {
	raw, err := json.Marshal(in.Trigger)
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("store: encode trigger: %w", err)
	}
	t := in.Trigger
	n := len(t.Documenten)
	pos, urls, uuids, titels, versies, names := make([]int, n), make([]string, n), make([]string, n), make([]string, n), make([]int, n), make([]string, n)
	for i, d := range t.Documenten {
		pos[i], urls[i], uuids[i], titels[i], versies[i], names[i] = i, d.URL, d.UUID, d.Titel, d.Versie, d.Bestandsnaam
	}
	n = len(t.Ondertekenaars)
	spos, emails, voornamen, achternamen, idents, volgordes, methods, values := make([]int, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]int, n), make([]string, n), make([]string, n)
	for i, sg := range t.Ondertekenaars {
		spos[i], emails[i], voornamen[i], achternamen[i], idents[i], volgordes[i] = i, sg.Email, sg.Voornaam, sg.Achternaam, sg.Identificatie, sg.Volgorde
		if sg.Authenticatie != nil {
			methods[i], values[i] = sg.Authenticatie.Methode, sg.Authenticatie.Waarde
		}
	}
	var hash []byte // only written with a key
	if in.IdempotencyKey != "" {
		hash = RequestHash(t)
	}

	var id uuid.UUID
	err = s.pool.QueryRow(ctx, intakeSQL,
		in.ID, in.OrganisationID, in.ClientID, signing.StateReceived, t.Naam, t.Eigenaar, t.Zaak.URL, t.Zaak.UUID,
		t.BewijsInformatieobjecttype, in.Provider, raw, in.Now, in.Deadline, in.Traceparent,
		in.IdempotencyKey, hash, in.Now.Add(IdempotencyTTL),
		pos, urls, uuids, titels, versies, names,
		spos, emails, voornamen, achternamen, idents, volgordes, methods, values,
		signing.EventReceived, in.Actor,
		FetchDocumentsArgs{}.Kind(), s.intakeMaxAttempts(), priorityStart, QueueIntake,
	).Scan(&id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Only an idempotency key still in use writes nothing.
		return s.replay(ctx, in)
	case err != nil:
		return uuid.Nil, false, fmt.Errorf("store: insert transaction: %w", err)
	}
	return id, true, nil
}

// replay answers a request whose idempotency key is already in use.
func (s *Store) replay(ctx context.Context, in NewTransaction) (uuid.UUID, bool, error) {
	var hash []byte
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT request_hash, transaction_id FROM idempotency_keys WHERE client_id = $1 AND key = $2`,
		in.ClientID, in.IdempotencyKey).Scan(&hash, &id)
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("store: idempotency lookup: %w", err)
	}
	if !bytes.Equal(hash, RequestHash(in.Trigger)) {
		return uuid.Nil, false, &signingd.Error{Code: signingd.EUNPROCESSABLE,
			Message: "This Idempotency-Key was used for a different trigger message."}
	}
	return id, false, nil
}

// DeleteExpiredIdempotencyKeys removes records past their lifetime.
func (s *Store) DeleteExpiredIdempotencyKeys(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at < $1`, now)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

const transactionColumns = `id, organisation_id, state, naam, coalesce(eigenaar, ''), zaak_url, zaak_uuid::text,
	coalesce(bewijs_informatieobjecttype, ''), provider, coalesce(reden, ''), created_at, updated_at, deadline, finished_at`

func scanTransaction(row pgx.Row) (signing.Transaction, error) {
	var t signing.Transaction
	err := row.Scan(&t.ID, &t.OrganisationID, &t.State, &t.Naam, &t.Eigenaar, &t.Zaak.URL, &t.Zaak.UUID,
		&t.BewijsInformatieobjecttype, &t.Provider, &t.Reden, &t.CreatedAt, &t.UpdatedAt, &t.Deadline, &t.FinishedAt)
	return t, err
}

// Transaction returns a transaction of the organisation with its documents, signers and events.
// Another organisation's transaction is ENOTFOUND.
func (s *Store) Transaction(ctx context.Context, orgID, id uuid.UUID) (signing.Transaction, error) {
	t, err := scanTransaction(s.pool.QueryRow(ctx,
		`SELECT `+transactionColumns+` FROM transactions WHERE id = $1 AND organisation_id = $2`, id, orgID))
	if err != nil {
		return t, translate(err, "Transaction")
	}
	if err := s.loadDetails(ctx, &t); err != nil {
		return t, err
	}
	return t, nil
}

func (s *Store) loadDetails(ctx context.Context, t *signing.Transaction) error {
	b := &pgx.Batch{}
	b.Queue(`SELECT url, uuid::text, coalesce(titel, ''), versie, coalesce(bestandsnaam, ''), status,
			coalesce(original_sha256, ''), coalesce(signed_sha256, ''), versie_signed, versie_uploaded
		FROM documents WHERE transaction_id = $1 ORDER BY position`, t.ID).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var d signing.DocumentStatus
			if err := rows.Scan(&d.URL, &d.UUID, &d.Titel, &d.Versie, &d.Bestandsnaam, &d.Status,
				&d.OriginalSHA256, &d.SignedSHA256, &d.VersieSigned, &d.VersieUploaded); err != nil {
				return err
			}
			t.Documents = append(t.Documents, d)
		}
		return rows.Err()
	})
	b.Queue(`SELECT email, coalesce(voornaam, ''), achternaam, coalesce(identificatie, ''), volgorde,
			auth_method, coalesce(auth_value, ''), status, signed_at, declined_at, coalesce(decline_reason, '')
		FROM signers WHERE transaction_id = $1 ORDER BY position`, t.ID).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var sg signing.SignerStatus
			var method *string
			var value string
			if err := rows.Scan(&sg.Email, &sg.Voornaam, &sg.Achternaam, &sg.Identificatie, &sg.Volgorde,
				&method, &value, &sg.Status, &sg.SignedAt, &sg.DeclinedAt, &sg.DeclineReason); err != nil {
				return err
			}
			if method != nil {
				sg.Authenticatie = &signing.Authenticatie{Methode: *method, Waarde: value}
			}
			t.Signers = append(t.Signers, sg)
		}
		return rows.Err()
	})
	b.Queue(`SELECT id, at, type, state, actor, detail FROM events WHERE transaction_id = $1 ORDER BY id`, t.ID).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var e signing.Event
				if err := rows.Scan(&e.ID, &e.At, &e.Type, &e.State, &e.Actor, &e.Detail); err != nil {
					return err
				}
				t.Events = append(t.Events, e)
			}
			return rows.Err()
		})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store: load transaction %s: %w", t.ID, err)
	}
	return nil
}

// Transactions lists the organisation's transactions, newest first, with the total count.
func (s *Store) Transactions(ctx context.Context, orgID uuid.UUID, f signing.ListFilter) ([]signing.Transaction, int, error) {
	where := `organisation_id = $1 AND ($2 = '' OR zaak_url = $2) AND ($3 = '' OR state = $3)`
	var count int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE `+where, orgID, f.Zaak, string(f.State)).Scan(&count); err != nil {
		return nil, 0, fmt.Errorf("store: count transactions: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+transactionColumns+` FROM transactions WHERE `+where+`
		ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5`,
		orgID, f.Zaak, string(f.State), f.PageSize, (f.Page-1)*f.PageSize)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list transactions: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (signing.Transaction, error) { return scanTransaction(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("store: list transactions: %w", err)
	}
	return list, count, nil
}

// RequestCancel moves a transaction of the organisation to aborting with the given reden and
// enqueues the abort job, all in one database transaction. A terminal or already aborting
// transaction is ECONFLICT.
func (s *Store) RequestCancel(ctx context.Context, orgID, id uuid.UUID, reden, actor string, now time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var state signing.State
		err := tx.QueryRow(ctx, `SELECT state FROM transactions WHERE id = $1 AND organisation_id = $2 FOR UPDATE`, id, orgID).Scan(&state)
		if err != nil {
			return translate(err, "Transaction")
		}
		if err := signing.Transition(state, signing.StateAborting); err != nil {
			return &signingd.Error{Code: signingd.ECONFLICT, Message: fmt.Sprintf("Transaction is %s and can no longer be cancelled.", state)}
		}
		if _, err := tx.Exec(ctx, `UPDATE transactions SET state = $2, reden = $3, updated_at = $4 WHERE id = $1`,
			id, signing.StateAborting, reden, now); err != nil {
			return fmt.Errorf("store: cancel: %w", err)
		}
		if err := insertEvent(ctx, tx, id, now, signing.EventCancelRequested, signing.StateAborting, actor, map[string]any{"reden": reden}); err != nil {
			return err
		}
		if _, err := s.jobs.InsertTx(ctx, tx, AbortArgs{TransactionID: id}, nil); err != nil {
			return fmt.Errorf("store: enqueue abort: %w", err)
		}
		return nil
	})
}

func insertEvent(ctx context.Context, tx pgx.Tx, id uuid.UUID, at time.Time, typ string, state signing.State, actor string, detail map[string]any) error {
	if _, err := tx.Exec(ctx, `INSERT INTO events (transaction_id, at, type, state, actor, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, at, typ, state, actor, detail); err != nil {
		return fmt.Errorf("store: insert event: %w", err)
	}
	return nil
}

// Traceparent returns the trace context the transaction was created in, or "".
func (s *Store) Traceparent(ctx context.Context, id uuid.UUID) (string, error) {
	var tp *string
	if err := s.pool.QueryRow(ctx, `SELECT traceparent FROM transactions WHERE id = $1`, id).Scan(&tp); err != nil {
		return "", translate(err, "Transaction")
	}
	if tp == nil {
		return "", nil
	}
	return *tp, nil
}

// RecordJobRan notes in the audit trail that a job ran; until the workflow lands this is all the
// first job does.
func (s *Store) RecordJobRan(ctx context.Context, id uuid.UUID, kind string, now time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var state signing.State
		if err := tx.QueryRow(ctx, `SELECT state FROM transactions WHERE id = $1`, id).Scan(&state); err != nil {
			return translate(err, "Transaction")
		}
		return insertEvent(ctx, tx, id, now, signing.EventJobRan, state, "worker", map[string]any{"job": kind})
	})
}

var (
	_ river.JobArgs = FetchDocumentsArgs{}
	_ river.JobArgs = AbortArgs{}
)

// TxID returns the transaction the job works on.
func (a FetchDocumentsArgs) TxID() uuid.UUID { return a.TransactionID }

// TxID returns the transaction the job works on.
func (a AbortArgs) TxID() uuid.UUID { return a.TransactionID }

// The two queues of the workflow's jobs: intake work (fetch, create at the provider) and finishing
// work (every step after the signing, aborts included) have worker pools of their own. They are
// named here because the store writes the first job of each itself; the other jobs are the
// workflow's.
const (
	QueueIntake = "intake"
	QueueFinish = "finish"

	priorityFinish = 1
	priorityStart  = 3
)

// InsertOpts puts intake work in its own queue.
func (FetchDocumentsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueIntake, Priority: priorityStart}
}

// InsertOpts puts aborts with the finishing work: they end a transaction too.
func (AbortArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueFinish, Priority: priorityFinish}
}
