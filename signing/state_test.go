package signing

import (
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
