// Package text holds the two string rules several rooms share: how a caller's or a server's text
// is cut short for a message, and how a phone number is shown to people other than its owner.
package text

import (
	"strings"
	"unicode/utf8"
)

// Truncate cuts s to at most n characters (runes, never half a letter), marking a cut with "…"
// (which counts towards n). Invalid UTF-8 is replaced first, so the result is always valid.
func Truncate(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + "…"
}

// MaskPhone shows only the last three digits of a phone number; every other digit becomes "•"
// and the rest (a leading "+", spaces) stays, so the number is recognisable to its owner only.
func MaskPhone(v string) string {
	digits := 0
	for _, r := range v {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	var b strings.Builder
	seen := 0
	for _, r := range v {
		if r >= '0' && r <= '9' {
			seen++
			if seen <= digits-3 {
				b.WriteRune('•')
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}
