package config

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Secret is a configured secret: a literal, or a reference "env:NAME" or "file:/path" resolved when
// the configuration is loaded. Its String and MarshalText never reveal the value, so a secret can't
// end up in a log line or a config dump by accident.
type Secret struct {
	ref   string
	value string
	err   error // why a reference could not be resolved; reported by Landscape checks
}

// NewSecret returns a Secret holding a literal value (tests, generated secrets).
func NewSecret(value string) Secret { return Secret{ref: "literal", value: value} }

// ParseSecret resolves a literal, "env:NAME" or "file:/path".
func ParseSecret(s string) (Secret, error) {
	switch {
	case strings.HasPrefix(s, "env:"):
		name := strings.TrimPrefix(s, "env:")
		v, ok := os.LookupEnv(name)
		if !ok {
			return Secret{}, fmt.Errorf("environment variable %s is not set", name)
		}
		return Secret{ref: s, value: v}, nil
	case strings.HasPrefix(s, "file:"):
		path := strings.TrimPrefix(s, "file:")
		b, err := os.ReadFile(path)
		if err != nil {
			return Secret{}, fmt.Errorf("read secret file: %w", err)
		}
		return Secret{ref: s, value: strings.TrimRight(string(b), "\r\n")}, nil
	default:
		return Secret{ref: "literal", value: s}, nil
	}
}

// Value returns the secret itself; call it only where the secret is used.
func (s Secret) Value() string { return s.value }

// IsZero reports whether no secret was configured.
func (s Secret) IsZero() bool { return s.value == "" }

func (s Secret) String() string {
	if s.ref == "" {
		return ""
	}
	if s.ref == "literal" {
		return "******"
	}
	return s.ref
}

// MarshalText keeps secrets out of JSON and YAML dumps of the configuration.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalYAML lets landscape files hold secrets as plain strings or references. A reference that
// cannot be resolved is kept with its error, so that a check reports it with every other problem
// instead of stopping at the first.
func (s *Secret) UnmarshalYAML(node *yaml.Node) error {
	var raw string
	if err := node.Decode(&raw); err != nil {
		return err
	}
	v, err := ParseSecret(raw)
	if err != nil {
		*s = Secret{ref: raw, err: err}
		return nil
	}
	*s = v
	return nil
}

// Err reports why the secret's reference could not be resolved.
func (s Secret) Err() error { return s.err }
