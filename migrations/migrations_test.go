package migrations

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestMigrationsOnlyAdd: replicas of the previous release keep working on the newer schema during a
// rolling upgrade (docs/operations.md promises it), so an Up migration never drops or renames what
// an older binary may still read or write.
func TestMigrationsOnlyAdd(t *testing.T) {
	destructive := regexp.MustCompile(`(?i)\b(drop\s+(table|column|index|type|constraint)|rename\s+(to|column))\b|\balter\s+column\b.*\btype\b`)
	names, err := fs.Glob(FS, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	for _, name := range names {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		up, _, _ := strings.Cut(string(b), "-- +goose Down")
		for i, line := range strings.Split(up, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "--") {
				continue
			}
			if destructive.MatchString(line) {
				t.Errorf("%s:%d: %q takes away what the previous release may use", name, i+1, strings.TrimSpace(line))
			}
		}
	}
}
