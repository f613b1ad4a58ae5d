// Package simvendor holds the plumbing the vendor simulators (documensosim, docusealsim,
// onespansim) share: the log of webhook or callback deliveries with its "lose the next n"
// counter. Each simulator used to repeat it; what differs per vendor (the body, the headers, the
// retry schedule, how a resend is recorded) stays in the simulator.
package simvendor

// Deliveries is a simulator's log of webhook (or callback) deliveries, in the order they were
// made, and the count of the next ones to lose on purpose.
//
// It has no lock of its own: the simulator updates a delivery's fields (status, attempts) under
// its own mutex, so it guards the log with that mutex too.
type Deliveries[D any] struct {
	items []*D
	drop  int
}

// Drop makes the next n deliveries Record sees be lost.
func (l *Deliveries[D]) Drop(n int) { l.drop = n }

// Record appends d and reports its index and whether it is to be lost (one of Drop's n).
func (l *Deliveries[D]) Record(d *D) (i int, lost bool) {
	i = l.Append(d)
	if l.drop > 0 {
		l.drop--
		return i, true
	}
	return i, false
}

// Append appends d without counting it against Drop (a resend) and returns its index.
func (l *Deliveries[D]) Append(d *D) int {
	l.items = append(l.items, d)
	return len(l.items) - 1
}

// Get returns delivery i, or false when there is none (as Redeliver is asked for).
func (l *Deliveries[D]) Get(i int) (*D, bool) {
	if i < 0 || i >= len(l.items) {
		return nil, false
	}
	return l.items[i], true
}

// List returns copies of the deliveries, in order; clone, when not nil, deep-copies what a plain
// copy would share (slices).
func (l *Deliveries[D]) List(clone func(D) D) []D {
	out := make([]D, len(l.items))
	for i, d := range l.items {
		out[i] = *d
		if clone != nil {
			out[i] = clone(out[i])
		}
	}
	return out
}
