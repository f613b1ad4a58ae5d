// Package migrations holds signingd's SQL migrations, embedded in the binary. They are applied in
// order by the store, together with River's own.
package migrations

import "embed"

// FS holds the numbered goose migrations.
//
//go:embed *.sql
var FS embed.FS
