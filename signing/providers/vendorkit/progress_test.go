package vendorkit

import (
	"reflect"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
)

func TestSignedDeclined(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		got  signing.SignerProgress
		want signing.SignerProgress
	}{
		{"signed with e-mail code", Signed(1, &at, signing.AuthEmail), signing.SignerProgress{Position: 1, Status: signing.SignerSigned, At: at,
			Evidence: map[string]string{"authenticatie": signing.AuthWords(signing.AuthEmail)}}},
		{"signed, no time, no method", Signed(0, nil, "null"), signing.SignerProgress{Position: 0, Status: signing.SignerSigned,
			Evidence: map[string]string{"authenticatie": signing.AuthWords("null")}}},
		{"declined with a reason", Declined(2, &at, "niet akkoord"), signing.SignerProgress{Position: 2, Status: signing.SignerDeclined, At: at,
			Reden: "niet akkoord"}},
		{"declined, no time, no reason", Declined(0, nil, ""), signing.SignerProgress{Position: 0, Status: signing.SignerDeclined}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Fatalf("got %+v, want %+v", tc.got, tc.want)
			}
		})
	}
}

func TestSortEvents(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ev := func(min int, typ string) signing.EvidenceEvent {
		return signing.EvidenceEvent{At: t0.Add(time.Duration(min) * time.Minute), Type: typ}
	}
	for _, tc := range []struct {
		name     string
		in, want []signing.EvidenceEvent
	}{
		{"none", nil, nil},
		{"newest first", []signing.EvidenceEvent{ev(2, "c"), ev(1, "b"), ev(0, "a")}, []signing.EvidenceEvent{ev(0, "a"), ev(1, "b"), ev(2, "c")}},
		{"equal times keep their order", []signing.EvidenceEvent{ev(1, "x"), ev(0, "a"), ev(1, "y"), ev(1, "z")},
			[]signing.EvidenceEvent{ev(0, "a"), ev(1, "x"), ev(1, "y"), ev(1, "z")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			SortEvents(tc.in)
			if !reflect.DeepEqual(tc.in, tc.want) {
				t.Fatalf("got %v, want %v", tc.in, tc.want)
			}
		})
	}
}
