package signing

import (
	"fmt"

	"github.com/signingd/signingd"
)

// State is where a transaction is in its life.
type State string

// The states, in the order a successful transaction passes them.
const (
	StateReceived           State = "received"
	StateFetching           State = "fetching"
	StateAwaitingSignatures State = "awaiting_signatures"
	StateCollecting         State = "collecting"
	StateUploading          State = "uploading"
	StateNotifying          State = "notifying"
	StateCompleted          State = "completed"
	StateAborting           State = "aborting"
	StateAborted            State = "aborted"
)

// States lists every state, for validation of filters and for metrics.
var States = []State{
	StateReceived, StateFetching, StateAwaitingSignatures, StateCollecting, StateUploading,
	StateNotifying, StateCompleted, StateAborting, StateAborted,
}

// next holds the forward path. Any non-terminal state may also move to aborting.
var next = map[State]State{
	StateReceived:           StateFetching,
	StateFetching:           StateAwaitingSignatures,
	StateAwaitingSignatures: StateCollecting,
	StateCollecting:         StateUploading,
	StateUploading:          StateNotifying,
	StateNotifying:          StateCompleted,
	StateAborting:           StateAborted,
}

// Terminal reports whether nothing more happens to a transaction in state s.
func (s State) Terminal() bool { return s == StateCompleted || s == StateAborted }

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, v := range States {
		if v == s {
			return true
		}
	}
	return false
}

// CanTransition reports whether a transaction may move from one state to another.
func CanTransition(from, to State) bool {
	if to == StateAborting {
		return !from.Terminal() && from != StateAborting
	}
	return next[from] == to
}

// Transition checks a state change; an illegal one is an ECONFLICT error.
func Transition(from, to State) error {
	if !CanTransition(from, to) {
		return &signingd.Error{Code: signingd.ECONFLICT, Message: fmt.Sprintf("Transaction cannot go from %s to %s.", from, to)}
	}
	return nil
}
