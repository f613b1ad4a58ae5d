package config

import (
	"encoding/pem"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/signing/pades"
)

func TestCheckLandscapeReportsEveryProblemWithItsLine(t *testing.T) {
	const file = `organisations:
  - rsin: 2220647
    name: Gemeente Voorbeeld
    provider: vendorx
    services:
      - kind: dms
        api_root: documenten.example/api/v1
        auth: {mode: zgw-jwt, secret: env:SIGNINGD_TEST_UNSET_SECRET}
      - kind: zrc
        api_root: https://zaken.example/api/v1/
        colour: blue
        auth: {mode: magic}
providers:
  - name: simulated
    base_url: http://127.0.0.1:8091
    callback_key: k
issuers:
  - issuer: https://idp.example
    algorithms: [HS256]
`
	_, problems := CheckLandscape([]byte(file))
	want := []string{
		"line 11: field colour not found",
		"line 2: organisations[0].rsin:",
		"line 4: organisations[0].provider: no provider named \"vendorx\"",
		"line 6: organisations[0].services[0].kind:",
		"line 7: organisations[0].services[0].api_root:",
		"line 8: organisations[0].services[0].auth.secret: environment variable SIGNINGD_TEST_UNSET_SECRET is not set",
		"line 8: organisations[0].services[0].auth.client_id: required",
		"line 12: organisations[0].services[1].auth.mode:",
		"line 18: issuers[0]: want exactly one of jwks_url and introspection",
		"line 18: issuers[0].audience: required",
		"line 19: issuers[0].algorithms:",
	}
	if len(problems) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(problems), len(want), problems)
	}
	for _, w := range want {
		found := false
		for _, p := range problems {
			found = found || strings.HasPrefix(p.Error(), w)
		}
		if !found {
			t.Errorf("no problem %q in\n%v", w, problems)
		}
	}
}

// TestProviderChoice: every organisation is signed for by its own provider or the landscape's
// default; one with neither, or naming one that does not exist, is refused by config check.
func TestProviderChoice(t *testing.T) {
	const org = `organisations:
  - rsin: "002220647"
    name: Gemeente A
%s
  - rsin: "813264571"
    name: Gemeente B
    provider: builtin
providers:
  - name: simulated
    auth_methods: [sms]
    base_url: http://127.0.0.1:8091
    callback_key: k
`
	tests := []struct {
		name, provider, dflt string
		want                 string // problem prefix, "" for none
		wantA                string // provider of Gemeente A
	}{
		{name: "own", provider: "    provider: simulated", wantA: "simulated"},
		{name: "default", dflt: "default_provider: simulated", wantA: "simulated"},
		{name: "builtin as default", dflt: "default_provider: builtin", wantA: "builtin"},
		{name: "none", want: "line 2: organisations[0].provider: required"},
		{name: "unknown", provider: "    provider: vendorx", want: `line 4: organisations[0].provider: no provider named "vendorx"`},
		{name: "unknown default", dflt: "default_provider: vendorx", want: `line 13: default_provider: no provider named "vendorx"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := fmt.Sprintf(org, tt.provider) + tt.dflt + "\n"
			l, problems := CheckLandscape([]byte(file))
			if tt.want == "" {
				if len(problems) > 0 {
					t.Fatalf("problems %v", problems)
				}
				if p, ok := l.ProviderFor("002220647"); !ok || p.Name != tt.wantA {
					t.Errorf("ProviderFor(A) = %+v, %v; want %s", p, ok, tt.wantA)
				}
				if p, ok := l.ProviderFor("813264571"); !ok || p.Name != "builtin" {
					t.Errorf("ProviderFor(B) = %+v, %v; want builtin", p, ok)
				}
				if p, _ := l.ProviderFor("002220647"); p.Name == "simulated" && len(p.AuthMethods) != 1 {
					t.Errorf("simulated's configuration lost: %+v", p)
				}
				return
			}
			if len(problems) != 1 || !strings.HasPrefix(problems[0].Error(), tt.want) {
				t.Errorf("problems %v, want one starting %q", problems, tt.want)
			}
		})
	}
}

func TestCheckLandscapeSyntaxError(t *testing.T) {
	_, problems := CheckLandscape([]byte("organisations:\n  - rsin: \"002220647\"\n    name: \"unclosed\n"))
	if len(problems) != 1 || problems[0].Line == 0 || problems[0].Message == "" {
		t.Fatalf("problems = %v, want one with a line", problems)
	}
}

func TestShippedLandscapesAreValid(t *testing.T) {
	t.Setenv("ZGW_SECRET", "x")
	for _, f := range []string{"../examples/landscape.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, problems := CheckLandscape(b); len(problems) > 0 {
			t.Errorf("%s: %v", f, problems)
		}
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	t.Setenv("SIGNINGD_TEST_SECRET", "hunter2")
	for _, ref := range []string{"hunter2", "env:SIGNINGD_TEST_SECRET"} {
		s, err := ParseSecret(ref)
		if err != nil || s.Value() != "hunter2" {
			t.Fatalf("%s: %v %q", ref, err, s.Value())
		}
		b, _ := s.MarshalText()
		if strings.Contains(s.String(), "hunter2") || strings.Contains(string(b), "hunter2") {
			t.Errorf("%s printed as %q / %q", ref, s.String(), b)
		}
	}
}

// TestReferenceMatchesDocs fails when the operator's guide and the configuration drift apart:
// regenerate with `go run ./cmd/signingd config reference`.
func TestReferenceMatchesDocs(t *testing.T) {
	ref := Reference()
	for _, line := range strings.Split(strings.TrimSpace(ref), "\n")[2:] {
		if strings.HasSuffix(line, "|  |") {
			t.Errorf("undocumented variable (add a doc tag): %s", line)
		}
	}
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- BEGIN config reference -->\n", "<!-- END config reference -->"
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("docs/configuration.md lacks the reference markers")
	}
	if got := s[i+len(begin) : j]; got != ref {
		t.Errorf("docs/configuration.md is stale; regenerate it with `signingd config reference`.\nwant:\n%s\ngot:\n%s", ref, got)
	}
}

// The issuers example in docs/configuration.md is a valid landscape, with its types and lifetime.
func TestIssuersExampleInDocs(t *testing.T) {
	t.Setenv("ONEGROUND_INTROSPECTION_SECRET", "s3cret")
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "<!-- BEGIN issuers example -->\n```yaml\n")
	example, _, ok := strings.Cut(rest, "```\n<!-- END issuers example -->")
	if !ok {
		t.Fatal("docs/configuration.md lacks the issuers example")
	}
	l, problems := CheckLandscape([]byte(example))
	if len(problems) > 0 {
		t.Fatalf("the documented example has problems: %v", problems)
	}
	if len(l.Issuers) != 2 || l.Issuers[0].MaxLifetime != 30*time.Minute || len(l.Issuers[0].Types) != 2 {
		t.Errorf("example parsed as %+v", l.Issuers)
	}
}

// TestLandscapeWarnings: organisations sharing an API root and organisations without a Catalogi
// API are allowed, and config check says what that means.
func TestLandscapeWarnings(t *testing.T) {
	const file = `organisations:
  - rsin: "002220647"
    name: Gemeente A
    provider: builtin
    signs_for: ["813264571"]
    services:
      - {kind: drc, api_root: "https://openzaak.example/documenten/api/v1/", auth: {mode: none}}
      - {kind: ztc, api_root: "https://openzaak.example/catalogi/api/v1/", auth: {mode: none}}
  - rsin: "813264571"
    name: Gemeente B
    provider: builtin
    services:
      - {kind: drc, api_root: "https://openzaak.example/documenten/api/v1", auth: {mode: none}}
`
	ws := LandscapeWarnings([]byte(file))
	want := []string{
		`line 2: organisations[0]: no tsa: signed documents leave as the signer made them`,
		`line 13: organisations[1].services[0].api_root: shared with organisations[0] (002220647)`,
		`organisations[1].services: no ztc service`,
		`organisations[1]: no tsa`,
	}
	if len(ws) != len(want) {
		t.Fatalf("warnings %v, want %d", ws, len(want))
	}
	for i, w := range want {
		if !strings.Contains(ws[i].Error(), w) {
			t.Errorf("warning %d = %q, want %q", i, ws[i].Error(), w)
		}
	}
	if _, problems := CheckLandscape([]byte(strings.Replace(file, `["813264571"]`, `["81326457"]`, 1))); len(problems) != 1 ||
		!strings.HasPrefix(problems[0].Error(), "line 5: organisations[0].signs_for[0]:") {
		t.Errorf("a bad signs_for RSIN: %v", problems)
	}
}

// TestBrandingChecked: a logo that is no PNG or SVG, a colour that is not #rrggbb and a reply-to
// that is no address are refused with their lines.
func TestBrandingChecked(t *testing.T) {
	dir := t.TempDir()
	good, bad := dir+"/logo.svg", dir+"/logo.gif"
	if err := os.WriteFile(good, []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("GIF89a"), 0o600); err != nil {
		t.Fatal(err)
	}
	const tmpl = `organisations:
  - rsin: "002220647"
    name: Gemeente A
    provider: builtin
    branding: {logo: %q, colour: %q, reply_to: %q}
`
	if _, problems := CheckLandscape([]byte(fmt.Sprintf(tmpl, good, "#01689b", "balie@a.example"))); len(problems) != 0 {
		t.Errorf("a good branding: %v", problems)
	}
	_, problems := CheckLandscape([]byte(fmt.Sprintf(tmpl, bad, "blue", "balie")))
	want := []string{"organisations[0].branding.logo: neither PNG nor SVG", `organisations[0].branding.colour: "blue" is not #rrggbb`,
		`organisations[0].branding.reply_to: "balie" is not an e-mail address`}
	if len(problems) != len(want) {
		t.Fatalf("problems %v, want %v", problems, want)
	}
	for i, w := range want {
		if !strings.Contains(problems[i].Error(), w) {
			t.Errorf("problem %d = %q, want %q", i, problems[i], w)
		}
	}
}

// TestTSAChecked: a TSA needs an http(s) URL, and a policy is an OID.
func TestTSAChecked(t *testing.T) {
	const tmpl = `organisations:
  - rsin: "002220647"
    name: Gemeente A
    provider: builtin
    tsa: {url: %q, policy: %q}
`
	if _, problems := CheckLandscape([]byte(fmt.Sprintf(tmpl, "https://tsa.example/tsr", "1.3.6.1.4.1.99999.1"))); len(problems) != 0 {
		t.Errorf("a good TSA: %v", problems)
	}
	_, problems := CheckLandscape([]byte(fmt.Sprintf(tmpl, "tsa.example", "gold")))
	if len(problems) != 2 || !strings.Contains(problems[0].Error(), "organisations[0].tsa.url") || !strings.Contains(problems[1].Error(), "organisations[0].tsa.policy") {
		t.Errorf("problems %v, want the url and the policy named", problems)
	}
}

// TestValidationChecked: the validation block's modes, hosts, limits and files are checked with
// their lines; a TSA without any revocation source, and a given certificate whose responder is
// not among the hosts, are warned about.
func TestValidationChecked(t *testing.T) {
	dir := t.TempDir()
	notCRL := dir + "/not.crl"
	if err := os.WriteFile(notCRL, []byte("not a CRL"), 0o600); err != nil {
		t.Fatal(err)
	}
	const org = `organisations:
  - rsin: "002220647"
    name: Gemeente A
    provider: builtin
    tsa: {url: "https://tsa.example/tsr"}
`
	good := org + `validation:
  ocsp: fetch
  crl: off
  hosts: [ocsp.ca.example, "crl.ca.example:8080"]
  timeout: 5s
`
	if _, problems := CheckLandscape([]byte(good)); len(problems) != 0 {
		t.Errorf("a good block: %v", problems)
	}
	if ws := LandscapeWarnings([]byte(good)); len(ws) != 1 || !strings.Contains(ws[0].Error(), "no ztc") {
		t.Errorf("warnings for a good block: %v", ws)
	}
	bad := org + `validation:
  ocsp: always
  crl: fetch
  hosts: ["https://ocsp.ca.example/"]
  timeout: 1h
  crls: ["file:` + notCRL + `"]
`
	_, problems := CheckLandscape([]byte(bad))
	want := []string{`line 7: validation.ocsp: "always" is not off or fetch`, `line 9: validation.hosts[0]: "https://ocsp.ca.example/" is not a host`,
		"line 10: validation.timeout: 1h0m0s is not between", "line 11: validation.crls[0]: file:" + notCRL + ": not a CRL"}
	if len(problems) != len(want) {
		t.Fatalf("problems %v, want %d", problems, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(problems[i].Error(), w) {
			t.Errorf("problem %d = %q, want %q", i, problems[i], w)
		}
	}
	if _, problems := CheckLandscape([]byte(org + "validation: {crl: fetch}\n")); len(problems) != 1 || !strings.Contains(problems[0].Error(), "validation.hosts: required when fetching") {
		t.Errorf("fetching without hosts: %v", problems)
	}

	ws := LandscapeWarnings([]byte(org))
	if len(ws) != 2 || !strings.Contains(ws[1].Error(), "organisations with a tsa (002220647) get B-LTA documents without revocation data") {
		t.Errorf("a tsa without revocation data: %v", ws)
	}

	// a given issuer certificate whose responder is on a host not listed
	ca, err := pades.NewDemoOCSP("Elders CA")
	if err != nil {
		t.Fatal(err)
	}
	_, chain, err := ca.Certificate("Tussen-CA", "http://ocsp.elders.example/")
	if err != nil {
		t.Fatal(err)
	}
	certFile := dir + "/inter.pem"
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0].Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ws = LandscapeWarnings([]byte(good + "  certs: [" + certFile + "]\n"))
	if len(ws) != 2 || !strings.Contains(ws[1].Error(), `validation.certs[0]: "Tussen-CA" names http://ocsp.elders.example/, whose host is not under validation.hosts`) {
		t.Errorf("a given certificate pointing elsewhere: %v", ws)
	}
}

// TestProvidersChecked: a vendor account needs an adapter signingd has, an http(s) API root, and
// keys both ways; each problem names its field and line.
func TestProvidersChecked(t *testing.T) {
	t.Setenv("SIGNINGD_TEST_KEY", "k")
	const head = "organisations:\n  - rsin: \"002220647\"\n    name: Gemeente A\n    provider: builtin\nproviders:\n"
	tests := []struct {
		name, provider string
		want           []string
	}{
		{"valid onespan", "  - name: validsign-a\n    type: onespan\n    base_url: https://my.validsign.nl/api\n    api_key: env:SIGNINGD_TEST_KEY\n    callback_key: env:SIGNINGD_TEST_KEY\n    language: nl\n    poll_interval: 10m\n", nil},
		{"builtin narrowed", "  - name: builtin\n    auth_methods: [sms]\n", nil},
		{"valid docuseal", "  - name: docuseal\n    base_url: https://api.docuseal.eu\n    api_key: k\n    callback_key: whsec_k\n    edition: pro\n    legacy_header: X-Webhook-Secret\n", nil},
		{"docuseal edition unknown", "  - name: docuseal\n    base_url: https://api.docuseal.eu\n    api_key: k\n    callback_key: k\n    edition: enterprise\n", []string{`providers[0].edition: "enterprise"`}},
		{"docuseal settings elsewhere", "  - name: v\n    type: onespan\n    base_url: https://x/api\n    api_key: k\n    callback_key: k\n    edition: pro\n", []string{"providers[0]: edition and legacy_header are DocuSeal's"}},
		{"unknown type", "  - name: x\n    type: docusign\n", []string{`line 7: providers[0].type: "docusign" is not a provider type`}},
		{"missing keys and url", "  - name: v\n    type: onespan\n", []string{
			"line 6: providers[0].base_url: want the vendor's API root",
			"line 6: providers[0].callback_key: required", "line 6: providers[0].api_key: required"}},
		{"bad values", "  - name: v\n    type: onespan\n    base_url: ftp://x\n    api_key: env:SIGNINGD_NOT_SET_ANYWHERE\n    callback_key: k\n    language: de\n    poll_interval: 1ms\n    calls_per_minute: -1\n    auth_methods: [itsme]\n", []string{
			"providers[0].base_url", "providers[0].api_key: environment variable SIGNINGD_NOT_SET_ANYWHERE is not set",
			`providers[0].language: "de"`, "providers[0].poll_interval", "providers[0].calls_per_minute", `providers[0].auth_methods: "itsme"`}},
		{"builtin with a vendor's settings", "  - name: builtin\n    base_url: https://x\n", []string{"providers[0]: the built-in signer takes only auth_methods"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := CheckLandscape([]byte(head + tt.provider))
			var got []string
			for _, p := range problems {
				got = append(got, p.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems %q, want %d: %q", got, len(tt.want), tt.want)
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.Contains(g, w) }) {
					t.Errorf("no problem %q in %q", w, got)
				}
			}
		})
	}
}

// TestDocuSealFreeEditionWarned: a free-edition DocuSeal account is accepted, with a warning that
// it refuses every trigger.
func TestDocuSealFreeEditionWarned(t *testing.T) {
	const file = "organisations:\n  - rsin: \"002220647\"\n    name: A\n    provider: ds\n    tsa: {url: https://tsa.example}\n" +
		"    services: [{kind: ztc, api_root: https://ztc.example/api/v1/, auth: {mode: none}}]\n" +
		"providers:\n  - name: ds\n    type: docuseal\n    base_url: https://docuseal.gemeente.nl/api\n    api_key: k\n    callback_key: k\n    edition: free\n"
	if _, problems := CheckLandscape([]byte(file)); len(problems) > 0 {
		t.Fatalf("problems %v", problems)
	}
	ws := LandscapeWarnings([]byte(file))
	if !slices.ContainsFunc(ws, func(p Problem) bool {
		return strings.Contains(p.Error(), "providers[0].edition: DocuSeal's free edition")
	}) {
		t.Errorf("warnings %v, want the free edition's", ws)
	}
}
