package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/signingd/signingd/store"
)

// TestCleanupKeepsTheAuditTrailToItsRetention: the periodic cleanup deletes audit entries older than
// AUDIT_RETENTION and keeps the younger ones.
func TestCleanupKeepsTheAuditTrailToItsRetention(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{jobs: func(c *jobsConfig) {
		c.CleanupInterval = 200 * time.Millisecond
		c.AuditRetention = time.Hour
	}})
	ctx := context.Background()
	now := time.Now()
	if err := e.st.InsertAudit(ctx, []store.AuditEntry{
		{At: now.Add(-2 * time.Hour), Event: "refused", ClientID: "client-old", Reason: "wrong secret"},
		{At: now.Add(-30 * time.Minute), Event: "issued", ClientID: "client-young"},
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		old, _ := e.st.AuditTrail(ctx, "client-old", 10)
		if len(old) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the entry older than the retention is still there")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if young, err := e.st.AuditTrail(ctx, "client-young", 10); err != nil || len(young) != 1 {
		t.Errorf("the young entry: %v %v, want it kept", young, err)
	}
}
