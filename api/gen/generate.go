// Package gen holds the server interface and models generated from openapi.yaml. Never edit
// api.gen.go by hand; run `make generate`.
package gen

//go:generate go tool oapi-codegen -config cfg.yaml ../../openapi.yaml
