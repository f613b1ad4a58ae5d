package config

import "time"

// WorkflowConfig tunes the signing workflow. A zero count or duration without a default leaves the
// choice to the workflow, as its doc says.
type WorkflowConfig struct {
	Expiry           time.Duration `env:"EXPIRY" default:"720h" min:"1m" doc:"How long a transaction may wait for signatures before it is aborted (720h is 30 days)."`
	DriftPolicy      string        `env:"DRIFT_POLICY" default:"abort" oneof:"abort next_version" doc:"When a document changed while being signed: abort or next_version."`
	BlobRetention    time.Duration `env:"BLOB_RETENTION" default:"168h" min:"1m" doc:"How long document content is kept after a transaction ends."`
	RetryBase        time.Duration `env:"RETRY_BASE" default:"1s" min:"1ms" doc:"First retry delay of a failed step, doubled per attempt, with jitter."`
	RetryMax         time.Duration `env:"RETRY_MAX" default:"10m" min:"1ms" doc:"Longest retry delay."`
	MaxAttempts      int           `env:"MAX_ATTEMPTS" default:"12" min:"1" doc:"Attempts per step before the transaction is aborted."`
	LockRetry        time.Duration `env:"LOCK_RETRY" default:"30s" min:"1ms" doc:"Wait before retrying a document locked by someone else."`
	LockWaitMax      time.Duration `env:"LOCK_WAIT_MAX" default:"24h" min:"1ms" doc:"How long to wait for a document locked by someone else before the transaction is aborted with reden 'Document is vergrendeld door een ander'."`
	ForceUnlockAfter time.Duration `env:"FORCE_UNLOCK_AFTER" default:"10m" min:"1ms" doc:"How long a document may stay locked after a lock request of ours whose answer was lost (a crash, a timeout) before signingd forces the unlock; needs the DRC scope documenten.geforceerd-unlock, without it the transaction is aborted."`
	IntakeWorkers    int           `env:"INTAKE_WORKERS" min:"1" doc:"Jobs of new transactions (fetch, create at the provider) run at once by this replica, in a queue of their own; kept small so that a burst of new transactions does not crowd the database, DRC and provider. Empty: WORKERS/8, at least 2."`
	FinishWorkers    int           `env:"FINISH_WORKERS" min:"1" doc:"Jobs after the signing (progress, collect, upload, evidence, notify, abort) run at once by this replica, in a queue of their own so that new transactions cannot delay them. Empty: WORKERS."`
	JobPoll          time.Duration `env:"JOB_POLL_INTERVAL" default:"1s" min:"1ms" doc:"How often idle workers look for new jobs besides notifications."`
	RescueAfter      time.Duration `env:"JOB_RESCUE_AFTER" default:"15m" min:"1s" doc:"A job still running after this is taken to be from a dead process and retried."`
}
