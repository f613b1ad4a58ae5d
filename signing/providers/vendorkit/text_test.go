package vendorkit

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/signingd/signingd/signing"
)

func TestTitle(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("0190c8a2-0000-7000-8000-000000000001")
	doc := []signing.ProviderDocument{{Titel: "Besluit"}}
	for _, tc := range []struct {
		name string
		req  signing.CreateRequest
		n    int
		want string
	}{
		{"naam", signing.CreateRequest{Naam: " Vergunning ", Documents: doc}, 255, "Vergunning"},
		{"first document's titel", signing.CreateRequest{Naam: "  ", Documents: doc}, 255, "Besluit"},
		{"transaction id", signing.CreateRequest{TransactionID: id}, 255, "Ondertekening " + id.String()},
		{"cut to n", signing.CreateRequest{Naam: "Vergunning"}, 4, "Verg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.req.TransactionID = id
			if got := Title(tc.req, tc.n); got != tc.want {
				t.Fatalf("Title = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc"},
		{"één€", 3, "één"},
		{strings.Repeat("ë", 300), 255, strings.Repeat("ë", 255)},
		{"abc", 0, ""},
	} {
		if got := Truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
