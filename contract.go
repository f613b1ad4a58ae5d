// Package signingd holds the API contract, so that the binary can serve the exact file it was
// generated from.
package signingd

import _ "embed"

// OpenAPI is openapi.yaml, the contract of signingd's API.
//
//go:embed openapi.yaml
var OpenAPI []byte
