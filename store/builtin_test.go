package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/migrations"
	"github.com/signingd/signingd/signing/providers/builtin/records"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
)

// TestBuiltinLinks: a link mailed before migration 00013 (one digest per signer) still works after
// it; a signer's second link works beside the first; a replica of the previous version, during a
// rolling upgrade, finds the newest link where it looks and its own links work; undoing an
// invitation drops every link of the signer; going down keeps each signer's newest link.
func TestBuiltinLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbtest.BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := "signingd_test_links_" + uuid.NewString()[:8]
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "DROP DATABASE "+name+" WITH (FORCE)") //nolint:errcheck
	pool, err := store.Open(ctx, dbtest.URLFor(name))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	mig, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mig.UpTo(ctx, 11); err != nil {
		t.Fatal(err)
	}

	id, now := uuid.New(), time.Now().UTC().Truncate(time.Microsecond)
	first, second := []byte("digest of the invitation's link"), []byte("digest of the reminder's link")
	if _, err := pool.Exec(ctx, `INSERT INTO builtin_signings (id, transaction_id, naam, deadline, created_at)
		VALUES ($1, $2, 'Besluit', $3, $4)`, id, uuid.New(), now.Add(30*24*time.Hour), now); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO builtin_signers (signing_id, position, email, achternaam, volgorde, status,
		token_digest, link_expires, invited_at, reminded_at) VALUES ($1, 0, 'a@example.nl', 'A', 1, 'invited', $2, $3, $4, $4)`,
		id, first, now.Add(14*24*time.Hour), now); err != nil {
		t.Fatal(err)
	}
	if _, err := mig.Up(ctx); err != nil {
		t.Fatal(err)
	}

	s := store.New(pool, store.Jobs{})
	resolves := func(when string, digests ...[]byte) {
		t.Helper()
		for i, d := range digests {
			if got, pos, err := s.BuiltinSignerByToken(ctx, d); err != nil || got != id || pos != 0 {
				t.Fatalf("%s: link %d resolves to %v %d, %v", when, i+1, got, pos, err)
			}
		}
	}
	resolves("after the migration", first)
	expires := now.Add(14 * 24 * time.Hour)
	if err := s.LockBuiltinSigning(ctx, id, func(tx records.Tx, _ records.Signing) error {
		return tx.AddLink(ctx, id, 0, second, expires, now.Add(48*time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	resolves("after a second link", first, second)
	if sg, err := s.BuiltinSigning(ctx, id); err != nil || sg.Signers[0].LinkExpires == nil || !sg.Signers[0].LinkExpires.Equal(expires) {
		t.Fatalf("link expiry after a second link: %+v, %v", sg.Signers, err)
	}

	if _, err := mig.DownTo(ctx, 11); err != nil {
		t.Fatal(err)
	}
	var kept []byte
	if err := pool.QueryRow(ctx, `SELECT token_digest FROM builtin_signers WHERE signing_id = $1`, id).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kept, second) {
		t.Fatalf("down kept %q, want the newest link", kept)
	}
	if _, err := mig.Up(ctx); err != nil {
		t.Fatal(err)
	}
	resolves("up again", second)

	third := []byte("digest of the expiry warning's link")
	if err := s.LockBuiltinSigning(ctx, id, func(tx records.Tx, _ records.Signing) error {
		return tx.AddLink(ctx, id, 0, third, expires, now.Add(96*time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	resolves("after a third link", second, third)
	var pos int
	if err := pool.QueryRow(ctx, `SELECT position FROM builtin_signers WHERE token_digest = $1`, third).Scan(&pos); err != nil {
		t.Fatalf("the previous version's lookup of the newest link: %v", err)
	}
	older := []byte("digest of a link mailed by a replica of the previous version")
	if _, err := pool.Exec(ctx, `UPDATE builtin_signers SET token_digest = $2 WHERE signing_id = $1 AND position = 0`, id, older); err != nil {
		t.Fatal(err)
	}
	resolves("beside a link of the previous version", older, second, third)
	if err := s.UninviteBuiltinSigner(ctx, id, 0, "550 mailbox unavailable", now); err != nil {
		t.Fatal(err)
	}
	for i, d := range [][]byte{second, third, older} {
		if _, _, err := s.BuiltinSignerByToken(ctx, d); signingd.ErrorCode(err) != signingd.ENOTFOUND {
			t.Fatalf("link %d after the invitation was undone: %v, want not found", i+1, err)
		}
	}
}
