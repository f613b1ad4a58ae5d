package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signingd/signingd"
)

// ClientWithSecrets is a client with the digests of its secrets that were valid when it was read.
type ClientWithSecrets struct {
	Client
	Secrets []Secret
}

// Secret is the stored digest of a client secret; a rotated secret has an end.
type Secret struct {
	Digest    []byte
	ExpiresAt *time.Time
}

// ValidAt reports whether the secret still works at t.
func (s Secret) ValidAt(t time.Time) bool { return s.ExpiresAt == nil || t.Before(*s.ExpiresAt) }

// ClientForTokenRequest returns a client by its public id with the digests of its live secrets, in
// one round trip: the token endpoint's hot path.
func (s *Store) ClientForTokenRequest(ctx context.Context, clientID string, now time.Time) (ClientWithSecrets, error) {
	var c ClientWithSecrets
	var digests [][]byte
	var expires []*time.Time
	err := s.pool.QueryRow(ctx, `SELECT `+clientColumns+`, COALESCE(k.digests, '{}'), COALESCE(k.expires, '{}')
		FROM api_clients c JOIN organisations o ON o.id = c.organisation_id
		LEFT JOIN LATERAL (SELECT array_agg(k.digest ORDER BY k.created_at) AS digests,
				array_agg(k.expires_at ORDER BY k.created_at) AS expires
			FROM client_secrets k WHERE k.client_id = c.id AND (k.expires_at IS NULL OR k.expires_at > $2)) k ON true
		WHERE c.client_id = $1`, clientID, now).
		Scan(&c.ID, &c.ClientID, &c.Name, &c.OrganisationID, &c.RSIN, &c.Scopes, &c.CreatedAt, &c.RevokedAt, &digests, &expires)
	if err != nil {
		return c, translate(err, "Client "+clientID)
	}
	if len(digests) != len(expires) {
		return c, fmt.Errorf("store: client %s: %d secret digests but %d expiry times", clientID, len(digests), len(expires))
	}
	for i, d := range digests {
		c.Secrets = append(c.Secrets, Secret{Digest: d, ExpiresAt: expires[i]})
	}
	return c, nil
}

// AddClientSecret stores the digest of a new secret of the client. When oldValidUntil is not nil the
// client's earlier secrets stop working at that time (rotation with a grace period).
func (s *Store) AddClientSecret(ctx context.Context, clientUUID uuid.UUID, digest []byte, oldValidUntil *time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if oldValidUntil != nil {
			if _, err := tx.Exec(ctx, `UPDATE client_secrets SET expires_at = $2
				WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > $2)`, clientUUID, *oldValidUntil); err != nil {
				return fmt.Errorf("store: expire client secrets: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO client_secrets (client_id, digest) VALUES ($1, $2)`, clientUUID, digest); err != nil {
			return translate(err, "Client secret")
		}
		return nil
	})
}

// ClientKey is a public key a client signs its assertions with: an inline JWK or a jwks_uri.
type ClientKey struct {
	ID        uuid.UUID
	KID       string
	JWK       json.RawMessage
	JWKSURI   string
	CreatedAt time.Time
}

// AddClientKey registers a public key (jwk) or a JWKS URL (jwksURI) for the client.
func (s *Store) AddClientKey(ctx context.Context, clientUUID uuid.UUID, kid string, jwk json.RawMessage, jwksURI string) (ClientKey, error) {
	return insertClientKey(ctx, s.pool, clientUUID, kid, jwk, jwksURI)
}

func insertClientKey(ctx context.Context, q rowQuerier, clientUUID uuid.UUID, kid string, jwk json.RawMessage, jwksURI string) (ClientKey, error) {
	k := ClientKey{KID: kid, JWK: jwk, JWKSURI: jwksURI}
	var jwkArg, uriArg any
	if jwk != nil {
		jwkArg = []byte(jwk)
	}
	if jwksURI != "" {
		uriArg = jwksURI
	}
	err := q.QueryRow(ctx, `INSERT INTO client_keys (client_id, kid, jwk, jwks_uri) VALUES ($1, $2, $3, $4)
		RETURNING id, created_at`, clientUUID, kid, jwkArg, uriArg).Scan(&k.ID, &k.CreatedAt)
	return k, translate(err, "Client key")
}

// ClientKeys returns the live keys of a client.
func (s *Store) ClientKeys(ctx context.Context, clientUUID uuid.UUID) ([]ClientKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, kid, jwk, COALESCE(jwks_uri, ''), created_at FROM client_keys
		WHERE client_id = $1 AND revoked_at IS NULL ORDER BY created_at`, clientUUID)
	if err != nil {
		return nil, fmt.Errorf("store: client keys: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ClientKey, error) {
		var k ClientKey
		var jwk []byte
		err := r.Scan(&k.ID, &k.KID, &jwk, &k.JWKSURI, &k.CreatedAt)
		k.JWK = jwk
		return k, err
	})
}

// CountClientSecrets returns how many secrets of the client are valid now.
func (s *Store) CountClientSecrets(ctx context.Context, clientUUID uuid.UUID, now time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM client_secrets WHERE client_id = $1
		AND (expires_at IS NULL OR expires_at > $2)`, clientUUID, now).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count client secrets: %w", err)
	}
	return n, nil
}

// DeleteClient removes a client with its secrets, keys and API keys. Its transactions stay, without
// a client.
func (s *Store) DeleteClient(ctx context.Context, clientID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_clients WHERE client_id = $1`, clientID)
	if err != nil {
		return fmt.Errorf("store: delete client: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return &signingd.Error{Code: signingd.ENOTFOUND, Message: "Client " + clientID + " not found."}
	}
	return nil
}

// EnsureClient returns the client with the public id, creating it for the organisation with the
// RSIN when absent. External identity providers' clients get a row this way, so their transactions
// have an owner and an operator can revoke them like any other client.
func (s *Store) EnsureClient(ctx context.Context, clientID, name, rsin string) (Client, error) {
	c, err := s.ClientByClientID(ctx, clientID)
	if signingd.ErrorCode(err) != signingd.ENOTFOUND {
		return c, err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO api_clients (client_id, organisation_id, name, scopes)
		SELECT $1, id, $2, '{}' FROM organisations WHERE rsin = $3 ON CONFLICT (client_id) DO NOTHING`, clientID, name, rsin)
	if err != nil {
		return c, fmt.Errorf("store: ensure client: %w", err)
	}
	return s.ClientByClientID(ctx, clientID)
}

// UseAssertion records the jti of a client assertion until expires. It reports false when the jti
// was used before: a replay.
func (s *Store) UseAssertion(ctx context.Context, clientID, jti string, expires, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO used_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at
		WHERE used_assertions.expires_at < $4`, clientID, jti, expires, now)
	if err != nil {
		return false, fmt.Errorf("store: use assertion: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// PruneAuth deletes remembered assertions and revoked tokens that have expired.
func (s *Store) PruneAuth(ctx context.Context, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM used_assertions WHERE expires_at < $1`, now); err != nil {
		return fmt.Errorf("store: prune assertions: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM revoked_tokens WHERE expires_at < $1`, now); err != nil {
		return fmt.Errorf("store: prune revoked tokens: %w", err)
	}
	return nil
}

// RevokeToken records that the access token with the jti is revoked until it expires.
func (s *Store) RevokeToken(ctx context.Context, jti, clientID string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO revoked_tokens (jti, client_id, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (jti) DO NOTHING`, jti, clientID, expires)
	if err != nil {
		return fmt.Errorf("store: revoke token: %w", err)
	}
	return nil
}

// RevokedTokens returns the jti of every revoked token that has not expired yet.
func (s *Store) RevokedTokens(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT jti FROM revoked_tokens WHERE expires_at > $1`, now)
	if err != nil {
		return nil, fmt.Errorf("store: revoked tokens: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// SigningKey is one of signingd's token signing keys. PrivateEnc is sealed; the store never sees
// the key in the clear.
type SigningKey struct {
	KID         string
	Alg         string
	State       string // next, current, previous, retired
	PrivateEnc  []byte
	PublicJWK   json.RawMessage
	CreatedAt   time.Time
	ActivatedAt *time.Time
	RetiredAt   *time.Time
}

// Signing key states.
const (
	KeyNext     = "next"
	KeyCurrent  = "current"
	KeyPrevious = "previous"
	KeyRetired  = "retired"
)

// SigningKeys returns every key that is not retired, and retired keys retired after retiredSince.
func (s *Store) SigningKeys(ctx context.Context, retiredSince time.Time) ([]SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT kid, alg, state, private_enc, public_jwk, created_at, activated_at, retired_at
		FROM signing_keys WHERE state <> 'retired' OR retired_at > $1 ORDER BY created_at DESC`, retiredSince)
	if err != nil {
		return nil, fmt.Errorf("store: signing keys: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (SigningKey, error) {
		var k SigningKey
		var jwk []byte
		err := r.Scan(&k.KID, &k.Alg, &k.State, &k.PrivateEnc, &jwk, &k.CreatedAt, &k.ActivatedAt, &k.RetiredAt)
		k.PublicJWK = jwk
		return k, err
	})
}

// signingKeysLock serialises key set changes across replicas.
const signingKeysLock = 0x5167_6b79 // "Sgky"

// EnsureSigningKeys creates a current and a next key when there are none, with gen making each. It
// is safe to call from several replicas at once.
func (s *Store) EnsureSigningKeys(ctx context.Context, now time.Time, gen func() (SigningKey, error)) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, signingKeysLock); err != nil {
			return fmt.Errorf("store: lock signing keys: %w", err)
		}
		for _, state := range []string{KeyCurrent, KeyNext} {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM signing_keys WHERE state = $1`, state).Scan(&n); err != nil {
				return fmt.Errorf("store: count signing keys: %w", err)
			}
			if n > 0 {
				continue
			}
			k, err := gen()
			if err != nil {
				return err
			}
			if err := insertSigningKey(ctx, tx, k, state, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertSigningKey(ctx context.Context, tx pgx.Tx, k SigningKey, state string, now time.Time) error {
	var activated *time.Time
	if state == KeyCurrent {
		activated = &now
	}
	_, err := tx.Exec(ctx, `INSERT INTO signing_keys (kid, alg, state, private_enc, public_jwk, created_at, activated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, k.KID, k.Alg, state, k.PrivateEnc, []byte(k.PublicJWK), now, activated)
	if err != nil {
		return fmt.Errorf("store: insert signing key: %w", err)
	}
	return nil
}

// ErrNotDue is returned by RotateSigningKeys when the current key is younger than the interval.
var ErrNotDue = errors.New("store: rotation not due")

// RotateSigningKeys retires the previous key, demotes the current one to previous, promotes next
// to current and adds gen's key as the new next. With minAge > 0 it rotates only when the current
// key has been current at least that long (the schedule), else it returns ErrNotDue.
func (s *Store) RotateSigningKeys(ctx context.Context, now time.Time, minAge time.Duration, gen func() (SigningKey, error)) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, signingKeysLock); err != nil {
			return fmt.Errorf("store: lock signing keys: %w", err)
		}
		if minAge > 0 {
			var activated *time.Time
			err := tx.QueryRow(ctx, `SELECT activated_at FROM signing_keys WHERE state = 'current'`).Scan(&activated)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("store: current signing key: %w", err)
			}
			if activated != nil && now.Sub(*activated) < minAge {
				return ErrNotDue
			}
		}
		for _, q := range []string{
			`UPDATE signing_keys SET state = 'retired', retired_at = $1 WHERE state = 'previous'`,
			`UPDATE signing_keys SET state = 'previous', retired_at = NULL WHERE state = 'current' AND $1::timestamptz IS NOT NULL`,
			`UPDATE signing_keys SET state = 'current', activated_at = $1 WHERE state = 'next'`,
		} {
			if _, err := tx.Exec(ctx, q, now); err != nil {
				return fmt.Errorf("store: rotate signing keys: %w", err)
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM signing_keys WHERE state = 'current'`).Scan(&n); err != nil {
			return fmt.Errorf("store: rotate signing keys: %w", err)
		}
		states := []string{KeyNext}
		if n == 0 {
			states = []string{KeyCurrent, KeyNext}
		}
		for _, st := range states {
			k, err := gen()
			if err != nil {
				return err
			}
			if err := insertSigningKey(ctx, tx, k, st, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// AuditEntry is one line of the token service's audit trail. It never carries a secret or a token.
type AuditEntry struct {
	At       time.Time
	Event    string // issued, refused, revoked, introspected, client_created, client_changed, …
	ClientID string
	Address  string
	Method   string
	Reason   string
	JTI      string
	Scope    string
	// Count is how many times it happened (refusals are counted per minute); 0 means 1.
	Count int
}

// InsertAudit appends entries to the audit trail in one round trip.
func (s *Store) InsertAudit(ctx context.Context, entries []AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"auth_audit"},
		[]string{"at", "event", "client_id", "address", "method", "reason", "jti", "scope", "count"},
		pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) {
			e := entries[i]
			return []any{e.At, e.Event, nullable(e.ClientID), nullable(e.Address), nullable(e.Method),
				nullable(e.Reason), nullable(e.JTI), nullable(e.Scope), max(e.Count, 1)}, nil
		}))
	if err != nil {
		return fmt.Errorf("store: insert audit: %w", err)
	}
	return nil
}

// auditDeleteBatch is how many audit entries one statement deletes: small enough that the
// token service's inserts never wait long on the cleanup.
const auditDeleteBatch = 10_000

// DeleteAuditBefore deletes the audit entries older than cutoff and returns how many.
func (s *Store) DeleteAuditBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM auth_audit WHERE id IN
			(SELECT id FROM auth_audit WHERE at < $1 ORDER BY at LIMIT $2)`, cutoff, auditDeleteBatch)
		if err != nil {
			return total, fmt.Errorf("store: delete audit: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < auditDeleteBatch {
			return total, nil
		}
	}
}

// AuditTrail returns the newest entries of the audit trail, for a client or (clientID "") all.
func (s *Store) AuditTrail(ctx context.Context, clientID string, limit int) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, event, COALESCE(client_id, ''), COALESCE(address, ''), COALESCE(method, ''),
		COALESCE(reason, ''), COALESCE(jti, ''), COALESCE(scope, ''), count FROM auth_audit
		WHERE $1 = '' OR client_id = $1 ORDER BY id DESC LIMIT $2`, clientID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: audit trail: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := r.Scan(&e.At, &e.Event, &e.ClientID, &e.Address, &e.Method, &e.Reason, &e.JTI, &e.Scope, &e.Count)
		return e, err
	})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
