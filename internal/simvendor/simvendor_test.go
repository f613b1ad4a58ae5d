package simvendor

import (
	"slices"
	"testing"
)

type delivery struct {
	Event string
	Sent  []int
}

func TestDeliveries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		drop     int
		events   []string
		wantLost []bool
	}{
		{"none lost", 0, []string{"a", "b"}, []bool{false, false}},
		{"first lost", 1, []string{"a", "b"}, []bool{true, false}},
		{"more lost than sent", 3, []string{"a", "b"}, []bool{true, true}},
		{"empty", 2, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var l Deliveries[delivery]
			l.Drop(tt.drop)
			var lost []bool
			for i, e := range tt.events {
				j, gone := l.Record(&delivery{Event: e, Sent: []int{i}})
				if j != i {
					t.Fatalf("Record index %d, want %d", j, i)
				}
				lost = append(lost, gone)
			}
			if !slices.Equal(lost, tt.wantLost) {
				t.Fatalf("lost %v, want %v", lost, tt.wantLost)
			}
			if i := l.Append(&delivery{Event: "resend"}); i != len(tt.events) {
				t.Fatalf("Append index %d, want %d", i, len(tt.events))
			}
			if _, ok := l.Get(len(tt.events) + 1); ok {
				t.Fatal("Get past the end found a delivery")
			}
			if _, ok := l.Get(-1); ok {
				t.Fatal("Get(-1) found a delivery")
			}
			list := l.List(func(d delivery) delivery { d.Sent = slices.Clone(d.Sent); return d })
			if len(list) != len(tt.events)+1 || list[len(list)-1].Event != "resend" {
				t.Fatalf("List %+v", list)
			}
			if len(tt.events) > 0 {
				list[0].Sent[0] = 99
				if d, _ := l.Get(0); d.Sent[0] == 99 {
					t.Fatal("List shares Sent with the log")
				}
			}
		})
	}
}
