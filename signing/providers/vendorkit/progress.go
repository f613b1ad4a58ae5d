package vendorkit

import (
	"slices"
	"time"

	"github.com/signingd/signingd/signing"
)

// Signed is the progress of the signer at position who signed at (nil when the vendor does not
// say), with the words of the authentication method (signing.AuthWords) as the evidence the
// workflow records: every vendor that reports a signer reports it so.
func Signed(position int, at *time.Time, method string) signing.SignerProgress {
	sp := signing.SignerProgress{Position: position, Status: signing.SignerSigned,
		Evidence: map[string]string{"authenticatie": signing.AuthWords(method)}}
	if at != nil {
		sp.At = *at
	}
	return sp
}

// Declined is the progress of the signer at position who declined at (nil when the vendor does
// not say) for reden.
func Declined(position int, at *time.Time, reden string) signing.SignerProgress {
	sp := signing.SignerProgress{Position: position, Status: signing.SignerDeclined, Reden: reden}
	if at != nil {
		sp.At = *at
	}
	return sp
}

// SortEvents puts evidence events oldest first, keeping the vendor's order among events of the
// same time: vendors list their audit trails in their own orders (by id, per page, newest first),
// and signing.Evidence is oldest first.
func SortEvents(events []signing.EvidenceEvent) {
	slices.SortStableFunc(events, func(a, b signing.EvidenceEvent) int { return a.At.Compare(b.At) })
}
