package workflow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"golang.org/x/time/rate"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/zgw"
)

// Workflow holds what the steps share.
type Workflow struct {
	cfg     Config
	store   *store.Store
	river   *Client
	log     *slog.Logger
	clients clients
	kanalen sync.Map // NRC roots whose kanaal is known to exist
	retry   retryPolicy
	// waits holds, per job id, how long a server asked us to wait (Retry-After) before the step's
	// next attempt. River asks the worker for the next retry in the process that ran the attempt,
	// right after it, so the typed error need not travel through River's error text.
	waits sync.Map
	// limits holds a *rate.Limiter per provider with a call budget.
	limits sync.Map
}

type txArgs interface {
	river.JobArgs
	TxID() uuid.UUID
}

// stepWorker runs one workflow step and turns its outcome into River's terms.
type stepWorker[T txArgs] struct {
	river.WorkerDefaults[T]
	wf   *Workflow
	name string
	fn   func(ctx context.Context, job *river.Job[T], log *slog.Logger) error
}

func step[T txArgs](wf *Workflow, name string, fn func(context.Context, *river.Job[T], *slog.Logger) error) *stepWorker[T] {
	return &stepWorker[T]{wf: wf, name: name, fn: fn}
}

// failure says which step (and document) failed, for the reden of the abort it may cause.
type failure struct {
	step, doc string
	err       error
}

func (f *failure) Error() string { return f.step + " " + f.doc + ": " + f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func failAt(step, doc string, err error) error {
	if err == nil {
		return nil
	}
	return &failure{step: step, doc: doc, err: err}
}

// errLocked means a document is locked by someone else; the step waits and tries again.
var errLocked = errors.New("document locked by someone else")

// throttled means the provider's call budget (ProviderInfo.CallsPerMinute) is spent for now: the
// step waits its turn without spending an attempt.
type throttled struct {
	provider string
	wait     time.Duration
}

func (t *throttled) Error() string {
	return fmt.Sprintf("calls to provider %s at their limit per minute", t.provider)
}

// throttle takes one call from the provider's budget in this process, or says how long to wait
// for one. Replicas each keep their own budget: the limit is per process.
func (wf *Workflow) throttle(name string, info signing.ProviderInfo) error {
	if info.CallsPerMinute <= 0 {
		return nil
	}
	v, ok := wf.limits.Load(name)
	if !ok { // made once per provider, not on every status check
		v, _ = wf.limits.LoadOrStore(name, rate.NewLimiter(rate.Limit(float64(info.CallsPerMinute)/60), max(1, info.CallsPerMinute/10)))
	}
	r := v.(*rate.Limiter).Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return &throttled{provider: name, wait: d}
	}
	return nil
}

// errDrift means a document got a newer version while it was being signed.
var errDrift = errors.New("document changed while being signed")

// abortError ends the transaction with a reden of its own: a condition that retrying will not
// change, such as a lock that is never released.
type abortError struct {
	reden string
	check string // the check of the ZGW data that failed, if one did
	err   error
}

func (e *abortError) Error() string { return e.reden + ": " + e.err.Error() }
func (e *abortError) Unwrap() error { return e.err }

// retryAfter is how long a ZGW service or a provider asked us to wait before trying again.
func retryAfter(err error) (time.Duration, bool) {
	if d, ok := zgw.RetryAfter(err); ok {
		return d, true
	}
	return signing.RetryAfter(err)
}

func permanent(err error) bool {
	if pe := (*providerError)(nil); errors.As(err, &pe) {
		return errors.Is(err, signing.ErrPermanent)
	}
	return errors.Is(err, signing.ErrPermanent) || zgw.IsPermanent(err) || signingd.ErrorCode(err) == signingd.ENOTFOUND
}

func (w *stepWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	start := time.Now()
	result := "ok"
	defer func() { w.wf.cfg.Metrics.StepRan(w.name, result, time.Since(start)) }()
	id := job.Args.TxID()
	log := w.wf.log.With("transaction_id", id.String(), "step", w.name, "attempt", job.Attempt)
	err := w.fn(ctx, job, log)
	if err != nil && ctx.Err() != nil {
		result = "retry"
		return err // shutting down or timed out: River retries
	}
	d := decide(w.name, err, job.Attempt, job.MaxAttempts)
	result = d.result
	switch d.result {
	case resultOK:
		return nil
	case resultWaiting:
		wait := cmp.Or(d.wait, w.wf.cfg.LockRetry)
		log.InfoContext(ctx, "waiting", "why", err.Error(), "retry_in", wait.String())
		return river.JobSnooze(wait)
	case resultFailed:
		if d.technical {
			log.ErrorContext(ctx, "step failed for good; aborting", "err", err, "permanent", permanent(err))
		} else {
			log.WarnContext(ctx, "step cannot go on; aborting", "err", err, "reden", d.reden)
		}
		return abortFrom(ctx, w.wf, job, d.reden, d.detail, w.wf.cfg.Now().UTC())
	}
	log.WarnContext(ctx, "step failed; will retry", "err", err)
	if ra, ok := retryAfter(err); ok && job.Attempt < job.MaxAttempts {
		w.wf.waits.Store(job.ID, ra)
	}
	return err
}

// NextRetry backs off as the workflow's policy says, and waits at least as long as a server asked
// in the attempt that just failed.
func (w *stepWorker[T]) NextRetry(job *river.Job[T]) time.Time {
	var atLeast time.Duration
	if v, ok := w.wf.waits.LoadAndDelete(job.ID); ok {
		atLeast = v.(time.Duration)
	}
	return w.wf.retry.next(job.Attempt, atLeast)
}

// The outcomes of a step, as the metrics count them.
const (
	resultOK      = "ok"      // done, or too late to matter (store.ErrStale)
	resultWaiting = "waiting" // a document locked by someone else, a provider's call budget spent: snooze, no attempt spent
	resultRetry   = "retry"   // River retries with backoff
	resultFailed  = "failed"  // the transaction aborts with reden
)

// decision is what the policy makes of a step's outcome.
type decision struct {
	result string
	reden  string         // the abort's reden, when result is resultFailed
	detail map[string]any // the abort event's detail
	// technical marks an abort for a failure (permanent, or out of attempts) rather than for a
	// condition of the document.
	technical bool
	wait      time.Duration // how long to snooze, when result is resultWaiting; LockRetry when zero
}

// decide is the retry, wait and abort policy for the step (the worker's name) that ended with err. A changed document and a condition that cannot
// change (abortError) abort at once with their own reden; a permanent error, or any error on the
// last attempt, aborts with the technical reden naming the step (and document). notify and abort
// never abort: they retry until River gives up, as the transaction already ends.
func decide(step string, err error, attempt, maxAttempts int) decision {
	switch {
	case err == nil, errors.Is(err, store.ErrStale):
		return decision{result: resultOK}
	case errors.Is(err, errLocked):
		return decision{result: resultWaiting}
	}
	if t := (*throttled)(nil); errors.As(err, &t) {
		return decision{result: resultWaiting, wait: t.wait}
	}
	abortable := step != "notify" && step != "abort"
	doc := ""
	if f := (*failure)(nil); errors.As(err, &f) {
		step, doc = f.step, f.doc
	}
	if errors.Is(err, errDrift) {
		return decision{result: resultFailed, reden: signing.RedenDrift, detail: map[string]any{"document": doc}}
	}
	if ae := (*abortError)(nil); errors.As(err, &ae) {
		detail := map[string]any{"document": doc, "error": ae.err.Error()}
		if ae.check != "" {
			detail["check"] = ae.check
		}
		return decision{result: resultFailed, reden: ae.reden, detail: detail}
	}
	if abortable && (permanent(err) || attempt >= maxAttempts) {
		return decision{result: resultFailed, reden: signing.RedenTechnical(step, doc), detail: map[string]any{"error": err.Error()}, technical: true}
	}
	return decision{result: resultRetry}
}

// abortFrom moves the transaction to aborting and completes the job in the same database
// transaction, so the abort and the end of this step are one decision.
func abortFrom[T txArgs](ctx context.Context, wf *Workflow, job *river.Job[T], reden string, detail map[string]any, now time.Time) error {
	err := wf.store.InTx(ctx, func(tx pgx.Tx) error {
		if err := wf.store.Abort(ctx, tx, job.Args.TxID(), reden, signing.EventAborting, "worker", detail, now); err != nil && !errors.Is(err, store.ErrStale) {
			return err
		}
		return complete(ctx, tx, job)
	})
	if err != nil {
		return fmt.Errorf("workflow: abort %s: %w", job.Args.TxID(), err)
	}
	return nil
}

// end is how every step ends, in one database transaction: the transaction is still in the state
// the step ran in (st.From; else the step came too late and ends with store.ErrStale), it moves on
// to st.To with its event when st.To is set, the next job is queued, what the step writes with it
// (with, when not nil) is written, and the job is completed. A crash leaves all of it or none.
func end[T txArgs](ctx context.Context, wf *Workflow, job *river.Job[T], st store.Step, with func(pgx.Tx) error) error {
	id := job.Args.TxID()
	return wf.store.InTx(ctx, func(tx pgx.Tx) error {
		if st.To != "" {
			if err := wf.store.Advance(ctx, tx, id, st); err != nil {
				return err
			}
		} else {
			if _, err := wf.store.Expect(ctx, tx, id, st.From); err != nil {
				return err
			}
			if st.Next != nil {
				if err := wf.store.Enqueue(ctx, tx, st.Next, st.NextOpts); err != nil {
					return err
				}
			}
		}
		if with != nil {
			if err := with(tx); err != nil {
				return err
			}
		}
		return complete(ctx, tx, job)
	})
}

// complete marks the job completed inside tx.
func complete[T txArgs](ctx context.Context, tx pgx.Tx, job *river.Job[T]) error {
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return fmt.Errorf("workflow: complete %s: %w", job.Kind, err)
	}
	return nil
}

const actor = "worker"

// redenLockedByOther starts the reden of a transaction that waited longer than LockWaitMax for
// someone else's lock on a document.
const redenLockedByOther = "Document is vergrendeld door een ander"

// eventLockForced is the audit event of a lock of ours, whose id was lost, forced open.
const eventLockForced = "lock_forced"

func (wf *Workflow) zgw(rsin string) *zgw.Client {
	wf.clients.mu.Lock()
	defer wf.clients.mu.Unlock()
	if wf.clients.m == nil {
		wf.clients.m = map[string]*zgw.Client{}
	}
	c, ok := wf.clients.m[rsin]
	if !ok {
		c = zgw.NewClient(wf.cfg.Registry, rsin, zgw.ClientOptions{
			HTTPClient: wf.cfg.HTTPClient, Logger: wf.log, Now: wf.cfg.Now,
			Upload: zgw.UploadOptions{PartThreshold: wf.cfg.PartThreshold},
		})
		wf.clients.m[rsin] = c
	}
	return c
}

func (wf *Workflow) provider(name string) (signing.Provider, error) {
	p, ok := wf.cfg.Providers[name]
	if !ok {
		return nil, fmt.Errorf("workflow: provider %q is not configured: %w", name, signing.ErrPermanent)
	}
	return guarded{p}, nil
}

// work loads a transaction for a step that may run only in one of states. A step that comes too
// late (a retry after the transaction moved on) gets store.ErrStale and ends quietly.
func (wf *Workflow) work(ctx context.Context, id uuid.UUID, states ...signing.State) (store.Work, error) {
	w, err := wf.store.Work(ctx, id)
	if err != nil {
		return w, err
	}
	if !slices.Contains(states, w.State) {
		return w, store.ErrStale
	}
	return w, nil
}

func docName(d store.WorkDocument) string { return signing.DocumentName(d.Document) }

func today(now time.Time) string { return now.UTC().Format(time.DateOnly) }
