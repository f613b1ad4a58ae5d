package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signingd/signingd"
)

// Client is an application allowed to call the API, with its organisation.
type Client struct {
	ID             uuid.UUID
	ClientID       string
	Name           string
	OrganisationID uuid.UUID
	RSIN           string
	Scopes         []string
	CreatedAt      time.Time
	RevokedAt      *time.Time
}

// SyncOrganisations makes the organisations table hold every organisation of the landscape, given
// as names by RSIN. It never deletes: transactions keep referring to an organisation that left the
// file.
func (s *Store) SyncOrganisations(ctx context.Context, names map[string]string) error {
	for rsin, name := range names {
		if _, err := s.pool.Exec(ctx, `INSERT INTO organisations (rsin, name) VALUES ($1, $2)
			ON CONFLICT (rsin) DO UPDATE SET name = excluded.name`, rsin, name); err != nil {
			return fmt.Errorf("store: sync organisation %s: %w", rsin, err)
		}
	}
	return nil
}

// OrganisationID returns the id of the organisation with the RSIN.
func (s *Store) OrganisationID(ctx context.Context, rsin string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT id FROM organisations WHERE rsin = $1`, rsin).Scan(&id)
	return id, translate(err, "Organisation "+rsin)
}

// CreateClient registers an API client for the organisation with the RSIN.
func (s *Store) CreateClient(ctx context.Context, clientID, name, rsin string, scopes []string) (Client, error) {
	return insertClient(ctx, s.pool, Client{ClientID: clientID, Name: name, RSIN: rsin, Scopes: scopes})
}

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func insertClient(ctx context.Context, q rowQuerier, c Client) (Client, error) {
	err := q.QueryRow(ctx, `INSERT INTO api_clients (client_id, organisation_id, name, scopes)
		SELECT $1, id, $2, $4 FROM organisations WHERE rsin = $3
		RETURNING id, organisation_id, created_at`, c.ClientID, c.Name, c.RSIN, c.Scopes).Scan(&c.ID, &c.OrganisationID, &c.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, &signingd.Error{Code: signingd.ENOTFOUND, Message: "Organisation " + c.RSIN + " is not in the landscape."}
	}
	return c, translate(err, "Client "+c.ClientID)
}

// NewClient is a client as `clients create` registers it: with a secret, keys for
// private_key_jwt, or both, and optionally an API key.
type NewClient struct {
	ClientID, Name, RSIN string
	Scopes               []string
	// SecretDigest is the digest of its secret; nil registers a key-only client.
	SecretDigest []byte
	// APIKeyDigest is the digest of its API key; nil issues none.
	APIKeyDigest []byte
	// Keys are its private_key_jwt keys: KID with JWK or JWKSURI.
	Keys []ClientKey
}

// RegisterClient creates the client with its secret, keys and API key in one transaction: all of
// it, or nothing (no client with a secret nobody saw).
func (s *Store) RegisterClient(ctx context.Context, n NewClient) (Client, error) {
	if n.SecretDigest == nil && len(n.Keys) == 0 {
		return Client{}, &signingd.Error{Code: signingd.EINVALID, Message: "A client needs a secret or a key."}
	}
	var c Client
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if c, err = insertClient(ctx, tx, Client{ClientID: n.ClientID, Name: n.Name, RSIN: n.RSIN, Scopes: n.Scopes}); err != nil {
			return err
		}
		if n.SecretDigest != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO client_secrets (client_id, digest) VALUES ($1, $2)`, c.ID, n.SecretDigest); err != nil {
				return translate(err, "Client secret")
			}
		}
		if n.APIKeyDigest != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO api_keys (client_id, digest) VALUES ($1, $2)`, c.ID, n.APIKeyDigest); err != nil {
				return translate(err, "API key")
			}
		}
		for _, k := range n.Keys {
			if _, err := insertClientKey(ctx, tx, c.ID, k.KID, k.JWK, k.JWKSURI); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Client{}, err
	}
	return c, nil
}

// NewClientID returns a readable, unique client id.
func NewClientID() string {
	b := make([]byte, clientIDRandom)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return clientIDPrefix + hex.EncodeToString(b)
}

const (
	clientIDPrefix = "client-"
	clientIDRandom = 6 // bytes
)

// MaxClientIDLen is the length of the longest client id there is: every client gets NewClientID's.
// A longer one in a request is no client's, and is cut before it is recorded.
const MaxClientIDLen = len(clientIDPrefix) + 2*clientIDRandom

const clientColumns = `c.id, c.client_id, c.name, c.organisation_id, o.rsin, c.scopes, c.created_at, c.revoked_at`

func scanClient(row pgx.Row) (Client, error) {
	var c Client
	err := row.Scan(&c.ID, &c.ClientID, &c.Name, &c.OrganisationID, &c.RSIN, &c.Scopes, &c.CreatedAt, &c.RevokedAt)
	return c, err
}

// ClientByClientID returns the client with the public id.
func (s *Store) ClientByClientID(ctx context.Context, clientID string) (Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+`
		FROM api_clients c JOIN organisations o ON o.id = c.organisation_id WHERE c.client_id = $1`, clientID))
	return c, translate(err, "Client "+clientID)
}

// Clients lists every client.
func (s *Store) Clients(ctx context.Context) ([]Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clientColumns+`
		FROM api_clients c JOIN organisations o ON o.id = c.organisation_id ORDER BY c.created_at`)
	if err != nil {
		return nil, fmt.Errorf("store: list clients: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Client, error) { return scanClient(r) })
}

// RevokeClient revokes a client and every key of it.
func (s *Store) RevokeClient(ctx context.Context, clientID string, now time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE api_clients SET revoked_at = $2, updated_at = $2
			WHERE client_id = $1 AND revoked_at IS NULL RETURNING id`, clientID, now).Scan(&id)
		if err != nil {
			return translate(err, "Active client "+clientID)
		}
		if _, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL`, id, now); err != nil {
			return fmt.Errorf("store: revoke keys: %w", err)
		}
		return nil
	})
}

// AddAPIKey stores the digest of a new API key for the client.
func (s *Store) AddAPIKey(ctx context.Context, clientUUID uuid.UUID, digest []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (client_id, digest) VALUES ($1, $2)`, clientUUID, digest)
	return translate(err, "API key")
}

// ClientByAPIKey returns the live client owning the key with the digest. Revoked keys or clients
// are ENOTFOUND.
func (s *Store) ClientByAPIKey(ctx context.Context, digest []byte) (Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+`
		FROM api_keys k JOIN api_clients c ON c.id = k.client_id JOIN organisations o ON o.id = c.organisation_id
		WHERE k.digest = $1 AND k.revoked_at IS NULL AND c.revoked_at IS NULL`, digest))
	return c, translate(err, "API key")
}
