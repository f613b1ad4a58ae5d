package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/signingd/signingd/internal/branding"
	"github.com/signingd/signingd/zgw"
)

// Problem is one thing wrong in a landscape file.
type Problem struct {
	Path    string // e.g. organisations[0].services[1].api_root
	Line    int    // 0 when unknown
	Message string
}

func (p Problem) Error() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	return b.String() + p.Message
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// CheckLandscape parses a landscape file and returns every problem in it, each with its line:
// syntax, unknown or mistyped fields, and what the values mean.
func CheckLandscape(data []byte) (Landscape, []Problem) {
	var l Landscape
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return l, []Problem{yamlProblem(err.Error())}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var problems []Problem
	if err := dec.Decode(&l); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				problems = append(problems, yamlProblem(m))
			}
		} else if err.Error() != "EOF" {
			return l, []Problem{yamlProblem(err.Error())}
		}
	}
	for _, p := range l.problems() {
		p.Line = lineOf(&root, p.Path)
		problems = append(problems, p)
	}
	return l, problems
}

func yamlProblem(msg string) Problem {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Problem{Line: n, Message: m[2]}
	}
	return Problem{Message: msg}
}

// lineOf finds the line of a path like organisations[0].services[1].kind in a parsed document, or
// of its nearest existing parent.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		key, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			key = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		if key != "" {
			next := mapValue(n, key)
			if next == nil {
				return line
			}
			n, line = next, next.Line
		}
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// LandscapeWarnings reports what is allowed but deserves a look: organisations that share a ZGW API
// root (a hosting party's one Open Zaak for several municipalities; signingd then relies on
// bronorganisatie to keep them apart) and organisations without a Catalogi API (the evidence
// type is not checked before signing). Call it on a landscape CheckLandscape accepted.
func LandscapeWarnings(data []byte) []Problem {
	l, problems := CheckLandscape(data)
	if len(problems) > 0 {
		return nil
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // CheckLandscape parsed it
	var ws []Problem
	add := func(path, format string, args ...any) {
		ws = append(ws, Problem{Path: path, Line: lineOf(&root, path), Message: fmt.Sprintf(format, args...)})
	}
	type owner struct {
		org  int
		rsin string
	}
	roots := map[string]owner{}
	for i, o := range l.Organisations {
		hasZTC := false
		for j, svc := range o.Services {
			hasZTC = hasZTC || svc.Kind == zgw.KindZTC
			key := svc.Kind + " " + strings.ToLower(strings.TrimRight(svc.APIRoot, "/"))
			if first, ok := roots[key]; ok && first.rsin != o.RSIN {
				add(fmt.Sprintf("organisations[%d].services[%d].api_root", i, j),
					"shared with organisations[%d] (%s): signingd signs only zaken and documents whose bronorganisatie is the organisation's own (or under signs_for); give each organisation its own ZGW credentials too", first.org, first.rsin)
			} else if !ok {
				roots[key] = owner{i, o.RSIN}
			}
		}
		if !hasZTC {
			add(fmt.Sprintf("organisations[%d].services", i),
				"no ztc service: the evidence informatieobjecttype is not checked against the zaaktype before anyone is asked to sign")
		}
		if o.TSA == nil {
			add(fmt.Sprintf("organisations[%d]", i),
				"no tsa: signed documents leave as the signer made them: the built-in signer's PAdES B-B, without a time-stamp, and vendors' output without validation data or document time-stamp; give a tsa for B-T and B-LTA (Archiefwet)")
		}
	}
	for i, p := range l.Providers {
		if p.Kind() == ProviderDocuSeal && p.Edition == "free" {
			add(fmt.Sprintf("providers[%d].edition", i),
				"DocuSeal's free edition takes no documents through its API: every trigger of an organisation it signs for is refused (400 naming documenten); use DocuSeal Pro or Cloud")
		}
	}
	l.validationWarnings(add)
	return ws
}

var oidRE = regexp.MustCompile(`^[0-2](\.[0-9]+)+$`)

// problems is the meaning check of a decoded landscape.
func (l Landscape) problems() []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	secret := func(path string, s Secret) {
		if s.Err() != nil {
			add(path, "%v", s.Err())
		}
	}
	providers := map[string]bool{}
	for i, p := range l.Providers {
		path := fmt.Sprintf("providers[%d]", i)
		if p.Name == "" {
			add(path+".name", "required")
		}
		if providers[p.Name] {
			add(path+".name", "provider %q appears twice", p.Name)
		}
		providers[p.Name] = true
		checkProvider(path, p, add, secret)
	}
	if d := l.DefaultProvider; d != "" && d != BuiltinProvider && !providers[d] {
		add("default_provider", "no provider named %q under providers", d)
	}
	seen := map[string]bool{}
	for i, o := range l.Organisations {
		path := fmt.Sprintf("organisations[%d]", i)
		if !validRSIN(o.RSIN) {
			add(path+".rsin", "%q is not a 9-digit RSIN (quote it, or leading zeros are lost)", o.RSIN)
		} else if seen[o.RSIN] {
			add(path+".rsin", "%s appears twice", o.RSIN)
		}
		seen[o.RSIN] = true
		if o.Name == "" {
			add(path+".name", "required")
		}
		if b := o.Branding; b.Logo != "" {
			if data, err := os.ReadFile(b.Logo); err != nil {
				add(path+".branding.logo", "%v", err)
			} else if _, err := branding.LogoType(data); err != nil {
				add(path+".branding.logo", "%v", err)
			}
		}
		if err := branding.CheckColour(o.Branding.Colour); err != nil {
			add(path+".branding.colour", "%v", err)
		}
		if rt := o.Branding.ReplyTo; rt != "" {
			if _, err := mail.ParseAddress(rt); err != nil {
				add(path+".branding.reply_to", "%q is not an e-mail address", rt)
			}
		}
		if a := o.TSA; a != nil {
			if err := checkHTTPURL(a.URL); a.URL == "" || err != nil {
				add(path+".tsa.url", "want the TSA's http(s) URL, got %q", a.URL)
			}
			secret(path+".tsa.password", a.Password)
			if a.Policy != "" && !oidRE.MatchString(a.Policy) {
				add(path+".tsa.policy", "%q is not an OID such as 1.2.3.4", a.Policy)
			}
		}
		for j, r := range o.SignsFor {
			if !validRSIN(r) {
				add(fmt.Sprintf("%s.signs_for[%d]", path, j), "%q is not a 9-digit RSIN (quote it)", r)
			}
		}
		switch name := cmp.Or(o.Provider, l.DefaultProvider); {
		case name == "":
			add(path+".provider", "required: name the provider that signs for this organisation (%s or one under providers), or set default_provider", BuiltinProvider)
		case o.Provider != "" && o.Provider != BuiltinProvider && !providers[o.Provider]:
			add(path+".provider", "no provider named %q under providers", o.Provider)
		}
		for j, s := range o.Services {
			sp := fmt.Sprintf("%s.services[%d]", path, j)
			switch s.Kind {
			case zgw.KindDRC, zgw.KindZRC, zgw.KindNRC, zgw.KindZTC:
			default:
				add(sp+".kind", "%q is not drc, zrc, nrc or ztc", s.Kind)
			}
			if s.APIRoot == "" {
				add(sp+".api_root", "required")
			} else if err := checkHTTPURL(s.APIRoot); err != nil {
				add(sp+".api_root", "%v", err)
			}
			a := s.Auth
			secret(sp+".auth.secret", a.Secret)
			secret(sp+".auth.private_key", a.PrivateKey)
			switch a.Mode {
			case zgw.AuthNone:
			case "", zgw.AuthZGWJWT:
				if a.ClientID == "" {
					add(sp+".auth.client_id", "required for zgw-jwt")
				}
				if a.Secret.IsZero() && a.Secret.Err() == nil {
					add(sp+".auth.secret", "required for zgw-jwt")
				}
			case zgw.AuthClientCredentials, zgw.AuthPrivateKeyJWT:
				if a.ClientID == "" && a.KeyFile == "" {
					add(sp+".auth.client_id", "required for %s", a.Mode)
				}
				if err := checkHTTPURL(a.TokenURL); err != nil {
					add(sp+".auth.token_url", "%v", err)
				}
				if a.Mode == zgw.AuthClientCredentials && a.Secret.IsZero() && a.Secret.Err() == nil {
					add(sp+".auth.secret", "required for client-credentials")
				}
				if a.Mode == zgw.AuthPrivateKeyJWT && a.KeyFile == "" && a.PrivateKey.IsZero() && a.PrivateKey.Err() == nil {
					add(sp+".auth", "private-key-jwt needs key_file or private_key")
				}
			default:
				add(sp+".auth.mode", "%q is not none, zgw-jwt, client-credentials or private-key-jwt", a.Mode)
			}
		}
	}
	if l.Validation != nil {
		l.Validation.problems(add)
	}
	for i, is := range l.Issuers {
		path := fmt.Sprintf("issuers[%d]", i)
		if is.Introspection != nil {
			secret(path+".introspection.client_secret", is.Introspection.ClientSecret)
		}
		if err := is.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				field, msg, ok := strings.Cut(line, ": ")
				if !ok || strings.Contains(field, " ") {
					add(path, "%s", line)
					continue
				}
				add(path+"."+field, "%s", msg)
			}
		}
	}
	return ps
}

// checkProvider checks a vendor account: an adapter signingd has, its API root, and the keys
// both ways (a vendor signingd cannot call, or whose callbacks it cannot check, is no provider).
func checkProvider(path string, p Provider, add func(path, format string, args ...any), secret func(string, Secret)) {
	switch p.Kind() {
	case ProviderSimulated, ProviderOneSpan, ProviderDocumenso, ProviderDocuSeal:
	case BuiltinProvider:
		// Listed only to narrow its auth_methods; the rest is BUILTIN_* settings.
		if p.BaseURL != "" || !p.APIKey.IsZero() || !p.CallbackKey.IsZero() {
			add(path, "the built-in signer takes only auth_methods here; it is configured by BUILTIN_* settings")
		}
		checkMethods(path, p.AuthMethods, add)
		return
	default:
		add(path+".type", "%q is not a provider type signingd has: %s, %s, %s or %s", p.Kind(), ProviderSimulated, ProviderOneSpan, ProviderDocumenso, ProviderDocuSeal)
		return
	}
	if u, err := url.Parse(p.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		add(path+".base_url", "want the vendor's API root as an http(s) URL, got %q", p.BaseURL)
	}
	secret(path+".api_key", p.APIKey)
	secret(path+".callback_key", p.CallbackKey)
	if p.CallbackKey.IsZero() && p.CallbackKey.Err() == nil {
		add(path+".callback_key", "required: the key the vendor's callbacks carry (env:NAME or file:/path)")
	}
	if p.Kind() != ProviderSimulated && p.APIKey.IsZero() && p.APIKey.Err() == nil {
		add(path+".api_key", "required: the account's API key (env:NAME or file:/path)")
	}
	if p.Kind() == ProviderDocuSeal {
		if p.Edition != "" && p.Edition != "pro" && p.Edition != "free" {
			add(path+".edition", "%q: want pro (Pro or Cloud) or free (the community edition)", p.Edition)
		}
	} else if p.Edition != "" || p.LegacyHeader != "" {
		add(path, "edition and legacy_header are DocuSeal's settings")
	}
	if p.Language != "" && p.Language != "nl" && p.Language != "en" {
		add(path+".language", "%q: want nl or en", p.Language)
	}
	if p.PollInterval < 0 || (p.PollInterval > 0 && p.PollInterval < 100*time.Millisecond) || p.PollInterval > 24*time.Hour {
		add(path+".poll_interval", "%s is not between 100ms and 24h (or 0 for the adapter's default)", p.PollInterval)
	}
	if p.CallsPerMinute < 0 {
		add(path+".calls_per_minute", "%d: want 0 (the adapter's default) or more", p.CallsPerMinute)
	}
	checkMethods(path, p.AuthMethods, add)
}

func checkMethods(path string, methods []string, add func(path, format string, args ...any)) {
	for _, m := range methods {
		if m != "sms" && m != "email" {
			add(path+".auth_methods", "%q is no signer authentication method (sms, email)", m)
		}
	}
}
