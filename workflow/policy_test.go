package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/signingd/signingd"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store"
	"github.com/signingd/signingd/zgw"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	unavailable := &zgw.Error{Op: "retrieve", Status: 503}
	badRequest := &zgw.Error{Op: "retrieve", Status: 400}
	tests := []struct {
		name          string
		step          string
		err           error
		attempt, max  int
		result, reden string
	}{
		{"done", "fetch", nil, 1, 12, resultOK, ""},
		{"too late to matter", "upload", fmt.Errorf("advance: %w", store.ErrStale), 12, 12, resultOK, ""},
		{"locked by someone else waits, even on the last attempt", "upload", failAt(signing.StepUpload, "Besluit", errLocked), 12, 12, resultWaiting, ""},
		{"a transient error is retried", "fetch", failAt(signing.StepFetch, "Besluit", unavailable), 3, 12, resultRetry, ""},
		{"a transient error on the last attempt aborts naming step and document", "fetch", failAt(signing.StepFetch, "Besluit", unavailable), 12, 12,
			resultFailed, "Technische fout bij het ophalen van document Besluit"},
		{"a permanent ZGW error aborts at once", "fetch", failAt(signing.StepFetch, "Besluit", badRequest), 1, 12,
			resultFailed, "Technische fout bij het ophalen van document Besluit"},
		{"a permanent provider error aborts at once", "create", failAt(signing.StepCreate, "", fmt.Errorf("refused: %w", signing.ErrPermanent)), 1, 12,
			resultFailed, signing.RedenTechnical(signing.StepCreate, "")},
		{"not found is permanent", "progress", failAt(signing.StepProgress, "", &signingd.Error{Code: signingd.ENOTFOUND}), 1, 12,
			resultFailed, signing.RedenTechnical(signing.StepProgress, "")},
		{"a changed document aborts with the drift reden", "upload", failAt(signing.StepUpload, "Besluit", fmt.Errorf("versie 2 signed: %w", errDrift)), 1, 12,
			resultFailed, "Document is gewijzigd tijdens het ondertekenen"},
		{"a lock never released aborts with its own reden", "upload", failAt(signing.StepUpload, "Besluit",
			&abortError{reden: redenLockedByOther + ": Besluit", err: errors.New("locked for 24h0m0s")}), 1, 12,
			resultFailed, "Document is vergrendeld door een ander: Besluit"},
		{"a vendor's 500 is retried", "create", failAt(signing.StepCreate, "", fromProvider(&signing.VendorError{Status: 500})), 1, 12, resultRetry, ""},
		{"a vendor's 429 is retried", "progress", failAt(signing.StepProgress, "", fromProvider(&signing.VendorError{Status: 429, RetryAfter: time.Second})), 1, 12, resultRetry, ""},
		{"a vendor answer the adapter cannot read is retried (not ZGW's rule)", "progress", failAt(signing.StepProgress, "", fromProvider(errors.New("decode: unexpected token"))), 1, 12, resultRetry, ""},
		{"a vendor's 400 aborts at once", "create", failAt(signing.StepCreate, "", fromProvider(&signing.VendorError{Status: 400})), 1, 12,
			resultFailed, signing.RedenTechnical(signing.StepCreate, "")},
		{"a provider's spent call budget waits, even on the last attempt", "progress", &throttled{provider: "v", wait: time.Second}, 12, 12, resultWaiting, ""},
		{"notify never aborts: the transaction ends already", "notify", badRequest, 100, 100, resultRetry, ""},
		{"abort never aborts", "abort", unavailable, 12, 12, resultRetry, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(tt.step, tt.err, tt.attempt, tt.max)
			if d.result != tt.result || d.reden != tt.reden {
				t.Fatalf("decide = %q %q, want %q %q", d.result, d.reden, tt.result, tt.reden)
			}
		})
	}
}

func TestNextPollStopsAtTheDeadline(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	if got := nextPoll(time.Minute, now.Add(time.Hour), now).ScheduledAt; !got.Equal(now.Add(time.Minute)) {
		t.Errorf("far from the deadline: poll at %s, want after the interval", got)
	}
	deadline := now.Add(20 * time.Second)
	if got := nextPoll(time.Minute, deadline, now).ScheduledAt; !got.Equal(deadline.Add(time.Second)) {
		t.Errorf("near the deadline: poll at %s, want just after the deadline %s", got, deadline)
	}
}

// TestRetryHonoursRetryAfter runs a step whose ZGW call was answered 429 with Retry-After: River is
// told to retry no sooner than the server asked, and the next failure without one backs off as usual.
func TestRetryHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	wf := &Workflow{log: slog.New(slog.DiscardHandler), retry: retryPolicy{base: time.Second, max: 10 * time.Minute}}
	wf.cfg.defaults()
	var answer error
	w := step(wf, "fetch", func(context.Context, *river.Job[CollectArgs], *slog.Logger) error { return answer })
	job := &river.Job[CollectArgs]{JobRow: &rivertype.JobRow{ID: 7, Attempt: 1, MaxAttempts: 12}, Args: CollectArgs{TransactionID: uuid.New()}}

	answer = &zgw.Error{Status: http.StatusTooManyRequests, RetryAfter: 90 * time.Second}
	if err := w.Work(context.Background(), job); err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("Work = %v, want the 429 for River to retry", err)
	}
	if got := time.Until(w.NextRetry(job)); got < 89*time.Second {
		t.Errorf("retry in %s, want at least the 90 s the server asked", got)
	}
	answer = &zgw.Error{Status: http.StatusBadGateway}
	if err := w.Work(context.Background(), job); err == nil {
		t.Fatal("Work = nil after a 502")
	}
	if got := time.Until(w.NextRetry(job)); got > time.Second {
		t.Errorf("retry in %s after a 502 at attempt 1, want the backoff of at most 1 s", got)
	}
	job.Attempt = 30
	if got := time.Until(w.NextRetry(job)); got > 10*time.Minute || got < 5*time.Minute-time.Second {
		t.Errorf("retry in %s after many attempts, want between half the maximum and the maximum", got)
	}
}

// TestThrottle: a provider with a call budget gets its burst at once, then waits its turn per
// call; one without a budget is never held up, and budgets are per provider.
func TestThrottle(t *testing.T) {
	t.Parallel()
	wf := &Workflow{}
	limited := signing.ProviderInfo{CallsPerMinute: 60} // one a second, a burst of 6
	for i := range 6 {
		if err := wf.throttle("v", limited); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	err := wf.throttle("v", limited)
	var th *throttled
	if !errors.As(err, &th) || th.wait <= 0 || th.wait > time.Second {
		t.Fatalf("call past the burst: %v, want a wait of at most a second", err)
	}
	if d := decide("progress", err, 1, 12); d.result != resultWaiting || d.wait != th.wait {
		t.Errorf("decide = %+v, want waiting %s", d, th.wait)
	}
	if err := wf.throttle("other", limited); err != nil {
		t.Errorf("another provider's budget is its own: %v", err)
	}
	for range 100 {
		if err := wf.throttle("free", signing.ProviderInfo{}); err != nil {
			t.Fatalf("a provider without a budget was held up: %v", err)
		}
	}
}

// TestRetryAfterOfVendors: the wait a vendor asks for reaches the retry schedule like a ZGW one.
func TestRetryAfterOfVendors(t *testing.T) {
	err := failAt(signing.StepProgress, "", fromProvider(fmt.Errorf("status: %w", &signing.VendorError{Status: 429, RetryAfter: 42 * time.Second})))
	if d, ok := retryAfter(err); !ok || d != 42*time.Second {
		t.Errorf("retryAfter = %s, %v; want 42s", d, ok)
	}
	if _, ok := retryAfter(fromProvider(&signing.VendorError{Status: 500})); ok {
		t.Error("a wait where the vendor asked none")
	}
}
