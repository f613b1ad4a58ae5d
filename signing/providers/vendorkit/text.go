package vendorkit

import (
	"strings"

	"github.com/signingd/signingd/signing"
)

// Title names a transaction at a vendor, in at most n characters: the trigger's naam, else the
// first document's titel, else "Ondertekening {transaction id}". Vendors require a title and
// bound its length; a trigger need not give one.
func Title(req signing.CreateRequest, n int) string {
	t := strings.TrimSpace(req.Naam)
	if t == "" && len(req.Documents) > 0 {
		t = req.Documents[0].Titel
	}
	if t == "" {
		t = "Ondertekening " + req.TransactionID.String()
	}
	return Truncate(t, n)
}

// Truncate cuts s to at most n characters (runes, not bytes): vendors bound texts in characters,
// and a cut inside a UTF-8 sequence would make the JSON invalid.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
