package signing

import (
	"errors"
	"fmt"
	"testing"

	"github.com/signingd/signingd"
)

func TestTransition(t *testing.T) {
	tests := []struct {
		from, to State
		ok       bool
	}{
		{StateReceived, StateFetching, true},
		{StateFetching, StateAwaitingSignatures, true},
		{StateAwaitingSignatures, StateCollecting, true},
		{StateCollecting, StateUploading, true},
		{StateUploading, StateNotifying, true},
		{StateNotifying, StateCompleted, true},
		{StateAborting, StateAborted, true},
		{StateReceived, StateAborting, true},
		{StateNotifying, StateAborting, true},
		{StateReceived, StateUploading, false},
		{StateCompleted, StateAborting, false},
		{StateAborted, StateAborting, false},
		{StateAborting, StateAborting, false},
		{StateCompleted, StateReceived, false},
		{StateFetching, StateReceived, false},
	}
	for _, tt := range tests {
		err := Transition(tt.from, tt.to)
		if (err == nil) != tt.ok {
			t.Errorf("Transition(%s, %s) = %v, want ok=%v", tt.from, tt.to, err, tt.ok)
		}
		if err != nil && signingd.ErrorCode(err) != signingd.ECONFLICT {
			t.Errorf("Transition(%s, %s) code = %s, want conflict", tt.from, tt.to, signingd.ErrorCode(err))
		}
	}
}

func TestAbortCause(t *testing.T) {
	tests := map[string]string{
		RedenDeclined(2, "bedrag klopt niet"):    CauseDeclined,
		"Ingetrokken: verkeerd document":         CauseCancelled,
		"Ingetrokken bij de ondertekenaanbieder": CauseCancelled,
		RedenExpired:                             CauseExpired,
		RedenDrift:                               CauseDrift,
		RedenTechnical(StepFetch, "Besluit"):     CauseTechnical,
		"iets anders":                            CauseOther,
	}
	for reden, want := range tests {
		if got := AbortCause(reden); got != want {
			t.Errorf("AbortCause(%q) = %s, want %s", reden, got, want)
		}
	}
}

// TestVendorErrorPermanent: a vendor's 4xx is permanent except those that ask for a retry.
func TestVendorErrorPermanent(t *testing.T) {
	for status, want := range map[int]bool{400: true, 401: true, 403: true, 404: true, 422: true,
		408: false, 409: false, 425: false, 429: false, 500: false, 502: false, 503: false} {
		if got := errors.Is(fmt.Errorf("create: %w", &VendorError{Status: status}), ErrPermanent); got != want {
			t.Errorf("HTTP %d permanent = %v, want %v", status, got, want)
		}
	}
}
