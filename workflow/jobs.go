package workflow

import (
	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/signingd/signingd/store"
)

// The jobs of the workflow, one per step. The first job (store.FetchDocumentsArgs) and the abort job
// (store.AbortArgs) are defined by the store, which writes them itself in the intake and in every
// abort; so are the two queues they go to.
//
// Queues: intake work (fetch, create at the provider) and finishing work (progress, collect, upload,
// evidence, notify, abort) have worker pools of their own, so that a burst of new transactions
// cannot take the workers that the transactions about to finish need. Within a queue, priorities
// still put the later steps first (River's 1 is the highest).

const (
	priorityFinish   = 1
	priorityProgress = 2
	priorityStart    = 3
)

// CreateSigningArgs starts the signing at the provider.
type CreateSigningArgs struct {
	TransactionID uuid.UUID `json:"transaction_id"`
}

// CheckProgressArgs asks the provider where a signing stands. Chain marks the polling chain that
// reschedules itself; checks triggered by webhooks do not.
type CheckProgressArgs struct {
	TransactionID uuid.UUID `json:"transaction_id"`
	Chain         bool      `json:"chain,omitempty"`
	// Delivery is the SHA-256 of the webhook body that queued the check: a replayed delivery
	// finds its job and queues none (the insert is unique by args).
	Delivery string `json:"delivery,omitempty"`
}

// CollectArgs collects the signed documents and the evidence.
type CollectArgs struct {
	TransactionID uuid.UUID `json:"transaction_id"`
}

// UploadArgs uploads the signed documents to the DRC.
type UploadArgs struct {
	TransactionID uuid.UUID `json:"transaction_id"`
}

// EvidenceArgs creates the evidence document and links it to the zaak.
type EvidenceArgs struct {
	TransactionID uuid.UUID `json:"transaction_id"`
}

// NotifyArgs delivers the transaction's outbox notification to the NRC.
type NotifyArgs struct {
	TransactionID uuid.UUID `json:"transaction_id"`
}

// CleanupArgs deletes stored content of transactions that ended long enough ago, and audit
// entries past their retention. Its kind keeps its first name, for jobs queued before.
type CleanupArgs struct{}

// Kind names the job for River.
func (CreateSigningArgs) Kind() string { return "create_signing" }

// Kind names the job for River.
func (CheckProgressArgs) Kind() string { return "check_progress" }

// Kind names the job for River.
func (CollectArgs) Kind() string { return "collect" }

// Kind names the job for River.
func (UploadArgs) Kind() string { return "upload" }

// Kind names the job for River.
func (EvidenceArgs) Kind() string { return "evidence" }

// Kind names the job for River.
func (NotifyArgs) Kind() string { return "notify" }

// Kind names the job for River.
func (CleanupArgs) Kind() string { return "cleanup_blobs" }

// TxID returns the transaction the job works on.
func (a CreateSigningArgs) TxID() uuid.UUID { return a.TransactionID }

// TxID returns the transaction the job works on.
func (a CheckProgressArgs) TxID() uuid.UUID { return a.TransactionID }

// TxID returns the transaction the job works on.
func (a CollectArgs) TxID() uuid.UUID { return a.TransactionID }

// TxID returns the transaction the job works on.
func (a UploadArgs) TxID() uuid.UUID { return a.TransactionID }

// TxID returns the transaction the job works on.
func (a EvidenceArgs) TxID() uuid.UUID { return a.TransactionID }

// TxID returns the transaction the job works on.
func (a NotifyArgs) TxID() uuid.UUID { return a.TransactionID }

// InsertOpts puts intake work in its own queue.
func (CreateSigningArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: store.QueueIntake, Priority: priorityStart}
}

// InsertOpts puts status checks with the finishing work, behind the steps after them.
func (CheckProgressArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: store.QueueFinish, Priority: priorityProgress}
}

// InsertOpts puts finishing work in its own queue.
func (CollectArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: store.QueueFinish, Priority: priorityFinish}
}

// InsertOpts puts finishing work in its own queue.
func (UploadArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: store.QueueFinish, Priority: priorityFinish}
}

// InsertOpts puts finishing work in its own queue.
func (EvidenceArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: store.QueueFinish, Priority: priorityFinish}
}

// InsertOpts puts finishing work in its own queue.
func (NotifyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: store.QueueFinish, Priority: priorityFinish}
}

var (
	_ txArgs        = CreateSigningArgs{}
	_ txArgs        = CheckProgressArgs{}
	_ txArgs        = CollectArgs{}
	_ txArgs        = UploadArgs{}
	_ txArgs        = EvidenceArgs{}
	_ txArgs        = NotifyArgs{}
	_ txArgs        = store.FetchDocumentsArgs{}
	_ txArgs        = store.AbortArgs{}
	_ river.JobArgs = CleanupArgs{}
)
