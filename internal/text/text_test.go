package text

import (
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"kort", 10, "kort"},
		{"precies", 7, "precies"},
		{"te lang voor dit", 7, "te lan…"},
		{"Łódź Ærø Ğ", 4, "Łód…"},    // two-byte letters are never cut in half
		{"日本語のテキスト", 3, "日本…"},       // three-byte letters
		{"emoji 😀😀😀", 8, "emoji 😀…"}, // four-byte letters
		{"", 3, ""},
		{"abc", 0, ""},
		{"a\xffb", 10, "a\uFFFDb"}, // invalid UTF-8 made valid
	}
	for _, tc := range tests {
		got := Truncate(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > max(tc.n, 0) {
			t.Errorf("Truncate(%q, %d) = %q: invalid or too long", tc.in, tc.n, got)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+31612345678", "+••••••••678"},
		{"06 1234 5678", "•• •••• •678"},
		{"123", "123"},
		{"12", "12"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := MaskPhone(tc.in); got != tc.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
