// Package signingd holds what every layer shares: the API contract, so that the binary can serve the
// exact file it was generated from, and the application error with its codes, which the API maps to
// HTTP statuses in one place.
package signingd

import _ "embed"

// OpenAPI is openapi.yaml, the contract of signingd's API.
//
//go:embed openapi.yaml
var OpenAPI []byte
