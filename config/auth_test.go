package config

import (
	"testing"
	"time"
)

func TestIssuerValidate(t *testing.T) {
	ok := Issuer{Issuer: "https://idp.example", JWKSURL: "https://idp.example/jwks", Audience: "signingd"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	loopback := Issuer{Issuer: "https://idp.example", JWKSURL: "http://127.0.0.1:8081/jwks", Audience: "signingd", Types: []string{"JWT"}, MaxLifetime: 2 * time.Hour}
	if err := loopback.Validate(); err != nil {
		t.Fatalf("http on loopback: %v", err)
	}
	if got := (Issuer{}).AcceptedTypes(); len(got) != 1 || got[0] != "at+jwt" {
		t.Errorf("default types %v, want [at+jwt]", got)
	}
	if got := (Issuer{}).TokenLifetime(); got != time.Hour {
		t.Errorf("default lifetime %s, want 1h", got)
	}
	for name, i := range map[string]Issuer{
		"no audience":  {Issuer: "https://idp.example", JWKSURL: "https://idp.example/jwks"},
		"HS256":        {Issuer: "https://idp.example", JWKSURL: "https://idp.example/jwks", Audience: "a", Algorithms: []string{"HS256"}},
		"none":         {Issuer: "https://idp.example", JWKSURL: "https://idp.example/jwks", Audience: "a", Algorithms: []string{"none"}},
		"no key route": {Issuer: "https://idp.example", Audience: "a"},
		"bad url":      {Issuer: "https://idp.example", JWKSURL: "file:///etc/passwd", Audience: "a"},
		"http jwks":    {Issuer: "https://idp.example", JWKSURL: "http://idp.example/jwks", Audience: "a"},
		"http intro":   {Issuer: "https://idp.example", Introspection: &Introspection{URL: "http://idp.example/introspect"}, Audience: "a"},
		"typ none":     {Issuer: "https://idp.example", JWKSURL: "https://idp.example/jwks", Audience: "a", Types: []string{"none"}},
		"typ empty":    {Issuer: "https://idp.example", JWKSURL: "https://idp.example/jwks", Audience: "a", Types: []string{""}},
		"two days":     {Issuer: "https://idp.example", JWKSURL: "https://idp.example/jwks", Audience: "a", MaxLifetime: 48 * time.Hour},
	} {
		if i.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
