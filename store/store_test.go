package store_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/store/dbtest"
	"github.com/signingd/signingd/workflow"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func newTransaction(t *testing.T, s *store.Store, key string) store.NewTransaction {
	t.Helper()
	ctx := context.Background()
	rsin := dbtest.NewRSIN()
	if err := s.SyncOrganisations(ctx, map[string]string{rsin: "test"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateClient(ctx, store.NewClientID(), "test", rsin, []string{"admin"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../signing/testdata/trigger-full.json")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := signing.DecodeTrigger(b, signing.ValidateOptions{AuthMethods: []string{"sms"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	return store.NewTransaction{ID: uuid.New(), OrganisationID: c.OrganisationID, ClientID: c.ID, Provider: "simulated",
		Trigger: tr, Now: now, Deadline: now.Add(time.Hour), IdempotencyKey: key, Actor: "test"}
}

// TestIntakeFailureLeavesNoRow makes the last write of the intake — its job — fail in Postgres, and
// checks that nothing of the transaction stays behind and the same idempotency key works afterwards.
func TestIntakeFailureLeavesNoRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := store.Open(ctx, dbtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'queue unavailable'; END $$;
		CREATE TRIGGER refuse_jobs BEFORE INSERT ON river_job FOR EACH ROW EXECUTE FUNCTION refuse()`); err != nil {
		t.Fatal(err)
	}
	s := store.New(pool, store.Jobs{})
	in := newTransaction(t, s, "key-1")
	if _, _, err := s.CreateTransaction(ctx, in); err == nil {
		t.Fatal("intake succeeded although its job could not be written")
	}
	for _, q := range []string{
		`SELECT count(*) FROM transactions WHERE id = $1`,
		`SELECT count(*) FROM documents WHERE transaction_id = $1`,
		`SELECT count(*) FROM signers WHERE transaction_id = $1`,
		`SELECT count(*) FROM events WHERE transaction_id = $1`,
		`SELECT count(*) FROM idempotency_keys WHERE transaction_id = $1`,
		`SELECT count(*) FROM river_job WHERE args->>'transaction_id' = $1::text`,
	} {
		var n int
		if err := pool.QueryRow(ctx, q, in.ID).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows left behind (%v)", q, n, err)
		}
	}
	// The same key works once the queue is back: nothing of the failed attempt holds it.
	if _, err := pool.Exec(ctx, `DROP TRIGGER refuse_jobs ON river_job`); err != nil {
		t.Fatal(err)
	}
	if _, created, err := s.CreateTransaction(ctx, in); err != nil || !created {
		t.Fatalf("retry: created=%v err=%v", created, err)
	}
}

func TestIntakeJobIsRiversOwn(t *testing.T) {
	t.Parallel()
	s := store.New(dbtest.Pool(t), store.Jobs{MaxAttempts: 7})
	in := newTransaction(t, s, "")
	in.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if _, _, err := s.CreateTransaction(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	var kind, queue, state, tp string
	var attempts, priority int
	err := dbtest.Pool(t).QueryRow(context.Background(), `SELECT kind, queue, state::text, max_attempts, priority, metadata->>'traceparent'
		FROM river_job WHERE args->>'transaction_id' = $1::text`, in.ID).Scan(&kind, &queue, &state, &attempts, &priority, &tp)
	if err != nil {
		t.Fatal(err)
	}
	if kind != "fetch_documents" || queue != store.QueueIntake || state != "available" || attempts != 7 || tp != in.Traceparent {
		t.Errorf("job = %s %s %s attempts %d traceparent %q", kind, queue, state, attempts, tp)
	}
}

func TestExpiredIdempotencyKeyIsReusable(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	first := newTransaction(t, s, "key-2")
	if _, _, err := s.CreateTransaction(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	later := first
	later.ID = uuid.New()
	later.Now = first.Now.Add(store.IdempotencyTTL + time.Minute)
	later.Trigger.Naam = "another trigger"
	id, created, err := s.CreateTransaction(context.Background(), later)
	if err != nil || !created || id != later.ID {
		t.Fatalf("reuse after expiry: id=%s created=%v err=%v", id, created, err)
	}
	// Within the lifetime, another trigger with the key is refused.
	again := later
	again.ID = uuid.New()
	again.Trigger.Naam = "a third trigger"
	if _, _, err := s.CreateTransaction(context.Background(), again); signingd.ErrorCode(err) != signingd.EUNPROCESSABLE {
		t.Fatalf("reuse within lifetime: %v", err)
	}
}

// TestReplayWritesNothing: a live idempotency key answers the first transaction, and the replay —
// one statement that writes only when the key's record is written — leaves no row of its own.
func TestReplayWritesNothing(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	first := newTransaction(t, s, "key-3")
	if _, _, err := s.CreateTransaction(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	replay := first
	replay.ID = uuid.New()
	id, created, err := s.CreateTransaction(context.Background(), replay)
	if err != nil || created || id != first.ID {
		t.Fatalf("replay: id=%s created=%v err=%v", id, created, err)
	}
	for _, q := range []string{
		`SELECT count(*) FROM transactions WHERE id = $1`,
		`SELECT count(*) FROM documents WHERE transaction_id = $1`,
		`SELECT count(*) FROM signers WHERE transaction_id = $1`,
		`SELECT count(*) FROM events WHERE transaction_id = $1`,
		`SELECT count(*) FROM idempotency_keys WHERE transaction_id = $1`,
		`SELECT count(*) FROM river_job WHERE args->>'transaction_id' = $1::text`,
	} {
		var n int
		if err := dbtest.Pool(t).QueryRow(context.Background(), q, replay.ID).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows written by the replay (%v)", q, n, err)
		}
	}
}

func TestEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	in := newTransaction(t, s, "")
	if _, _, err := s.CreateTransaction(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	_, err := dbtest.Pool(t).Exec(context.Background(), `UPDATE events SET type = 'forged' WHERE transaction_id = $1`, in.ID)
	if err == nil {
		t.Fatal("an event was updated")
	}
}

func TestCheckMigrations(t *testing.T) {
	if err := store.CheckMigrations(context.Background(), dbtest.Pool(t)); err != nil {
		t.Fatalf("migrated database reported behind: %v", err)
	}
	// A database without our migrations is behind.
	conn, err := pgx.Connect(context.Background(), dbtest.BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	name := "signingd_test_empty_" + uuid.NewString()[:8]
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)") //nolint:errcheck
	empty, err := store.Open(context.Background(), dbtest.URLFor(name))
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if err := store.CheckMigrations(context.Background(), empty); !errors.Is(err, store.ErrSchemaBehind) {
		t.Errorf("empty database: err = %v, want ErrSchemaBehind", err)
	}
}

// newStore returns a store that queues jobs as the workflow's inserter does; nothing works them.
func newStore(t *testing.T) *store.Store {
	t.Helper()
	ins, err := workflow.NewInserter(dbtest.Pool(t), workflow.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return store.New(dbtest.Pool(t), store.Jobs{Inserter: ins})
}
