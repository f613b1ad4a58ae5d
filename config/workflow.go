package config

import (
	"fmt"
	"strconv"
	"time"
)

// WorkflowConfig tunes the signing workflow.
type WorkflowConfig struct {
	Expiry           time.Duration `env:"EXPIRY" doc:"How long a transaction may wait for signatures before it is aborted (default 720h = 30 days)."`
	DriftPolicy      string        `env:"DRIFT_POLICY" doc:"When a document changed while being signed: abort (default) or next_version."`
	BlobRetention    time.Duration `env:"BLOB_RETENTION" doc:"How long document content is kept after a transaction ends (default 168h)."`
	RetryBase        time.Duration `env:"RETRY_BASE" doc:"First retry delay of a failed step, doubled per attempt, with jitter (default 1s)."`
	RetryMax         time.Duration `env:"RETRY_MAX" doc:"Longest retry delay (default 10m)."`
	MaxAttempts      int           `env:"MAX_ATTEMPTS" doc:"Attempts per step before the transaction is aborted (default 12)."`
	LockRetry        time.Duration `env:"LOCK_RETRY" doc:"Wait before retrying a document locked by someone else (default 30s)."`
	LockWaitMax      time.Duration `env:"LOCK_WAIT_MAX" doc:"How long to wait for a document locked by someone else before the transaction is aborted with reden 'Document is vergrendeld door een ander' (default 24h)."`
	ForceUnlockAfter time.Duration `env:"FORCE_UNLOCK_AFTER" doc:"How long a document may stay locked after a lock request of ours whose answer was lost (a crash, a timeout) before signingd forces the unlock; needs the DRC scope documenten.geforceerd-unlock, without it the transaction is aborted (default 10m)."`
	IntakeWorkers    int           `env:"INTAKE_WORKERS" doc:"Jobs of new transactions (fetch, create at the provider) run at once by this replica, in a queue of their own; kept small so that a burst of new transactions does not crowd the database, DRC and provider (default WORKERS/8, at least 2)."`
	FinishWorkers    int           `env:"FINISH_WORKERS" doc:"Jobs after the signing (progress, collect, upload, evidence, notify, abort) run at once by this replica, in a queue of their own so that new transactions cannot delay them (default WORKERS)."`
	JobPoll          time.Duration `env:"JOB_POLL_INTERVAL" doc:"How often idle workers look for new jobs besides notifications (default 1s)."`
	RescueAfter      time.Duration `env:"JOB_RESCUE_AFTER" doc:"A job still running after this is taken to be from a dead process and retried (default 15m)."`
}

func loadWorkflow(getenv func(string) string, c *Config) error {
	w := WorkflowConfig{Expiry: 30 * 24 * time.Hour, DriftPolicy: "abort", BlobRetention: 7 * 24 * time.Hour,
		LockWaitMax: 24 * time.Hour, ForceUnlockAfter: 10 * time.Minute}
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"EXPIRY", &w.Expiry}, {"BLOB_RETENTION", &w.BlobRetention}, {"RETRY_BASE", &w.RetryBase}, {"RETRY_MAX", &w.RetryMax},
		{"LOCK_RETRY", &w.LockRetry}, {"JOB_POLL_INTERVAL", &w.JobPoll}, {"JOB_RESCUE_AFTER", &w.RescueAfter},
		{"LOCK_WAIT_MAX", &w.LockWaitMax}, {"FORCE_UNLOCK_AFTER", &w.ForceUnlockAfter},
	}
	for _, d := range durations {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				return fmt.Errorf("config: %s: want a positive duration such as 30s, got %q", d.name, v)
			}
			*d.dst = x
		}
	}
	if v := getenv("DRIFT_POLICY"); v != "" {
		if v != "abort" && v != "next_version" {
			return fmt.Errorf("config: DRIFT_POLICY: want abort or next_version, got %q", v)
		}
		w.DriftPolicy = v
	}
	counts := []struct {
		name string
		dst  *int
	}{{"MAX_ATTEMPTS", &w.MaxAttempts}, {"INTAKE_WORKERS", &w.IntakeWorkers}, {"FINISH_WORKERS", &w.FinishWorkers}}
	for _, c := range counts {
		if v := getenv(c.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("config: %s: want a positive number, got %q", c.name, v)
			}
			*c.dst = n
		}
	}
	c.Workflow = w
	return nil
}
