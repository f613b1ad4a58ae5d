package signing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/mail"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/signingd/signingd"
)

// Trigger is the standardized trigger message of the signing pattern: which versions of which documents
// of one zaak are to be signed, by whom, in which order.
type Trigger struct {
	Naam                       string     `json:"naam"`
	Eigenaar                   string     `json:"eigenaar,omitempty"`
	Zaak                       Zaak       `json:"zaak"`
	BewijsInformatieobjecttype string     `json:"bewijs_informatieobjecttype,omitempty"`
	Documenten                 []Document `json:"documenten"`
	Ondertekenaars             []Signer   `json:"ondertekenaars"`
}

// Zaak is the case the documents belong to.
type Zaak struct {
	UUID string `json:"uuid"`
	URL  string `json:"url"`
}

// Document is one document version to sign.
type Document struct {
	UUID         string `json:"uuid"`
	URL          string `json:"url"`
	Titel        string `json:"titel,omitempty"`
	Versie       int    `json:"versie"`
	Bestandsnaam string `json:"bestandsnaam,omitempty"`
}

// Signer is one person who signs. Signers with the same Volgorde sign in parallel.
type Signer struct {
	Email         string         `json:"e-mail"`
	Voornaam      string         `json:"voornaam,omitempty"`
	Achternaam    string         `json:"achternaam"`
	Identificatie string         `json:"identificatie,omitempty"`
	Volgorde      int            `json:"volgorde"`
	Authenticatie *Authenticatie `json:"authenticatie"`
}

// Authenticatie is the signer authentication the trigger asks for; nil means the provider's minimum.
type Authenticatie struct {
	Methode string `json:"methode"`
	Waarde  string `json:"waarde,omitempty"`
}

// Limits of the trigger message.
const (
	MaxDocuments = 100
	MaxSigners   = 50
	maxNaam      = 200
	maxText      = 200
	maxFileName  = 255
	maxURL       = 1000
	maxEmail     = 254
)

// Authentication methods with a meaning signingd knows.
const (
	AuthSMS   = "sms"
	AuthEmail = "email"
)

// AuthWords is a signer's authentication method in the words a person reads in a stamp, an evidence
// report or an event: never "null".
func AuthWords(method string) string {
	switch method {
	case AuthSMS:
		return "sms-code"
	case AuthEmail:
		return "e-mailcode"
	default:
		return "link per e-mail"
	}
}

// Service kinds a trigger URL must belong to.
const (
	KindDRC = "drc"
	KindZRC = "zrc"
	KindZTC = "ztc"
)

// ValidateOptions carries what validation needs to know about the caller's landscape.
type ValidateOptions struct {
	// AuthMethods lists the methods the provider supports besides null.
	AuthMethods []string
	// Sequential refuses signers who share a volgorde: the provider signs one after the other.
	Sequential bool
	// NoDocuments refuses every trigger's documenten with this reason: the provider cannot take them.
	NoDocuments string
	// CheckURL refuses a URL that does not lie under a configured service of the given kind of the
	// caller's organisation. Nil accepts every well-formed URL.
	CheckURL func(kind, rawURL string) error
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// DecodeTrigger parses and validates a trigger message. All problems are reported at once as an
// EINVALID *Error whose Fields name each bad field by its JSON path. Unknown fields are ignored.
func DecodeTrigger(data []byte, opts ValidateOptions) (Trigger, error) {
	d := decoder{opts: opts}
	t := d.trigger(data)
	if len(d.errs) > 0 {
		return Trigger{}, &signingd.Error{Code: signingd.EINVALID, Message: "The trigger message is invalid.", Fields: d.errs}
	}
	return t, nil
}

type decoder struct {
	opts ValidateOptions
	errs []signingd.FieldError
}

func (d *decoder) fail(name, code, format string, args ...any) {
	d.errs = append(d.errs, signingd.FieldError{Name: name, Code: code, Reason: fmt.Sprintf(format, args...)})
}

func (d *decoder) trigger(data []byte) Trigger {
	var t Trigger
	root, ok := parse(data)
	if !ok {
		d.fail("body", "parse", "The body is not a JSON object.")
		return t
	}
	top, ok := d.object("", root, true)
	if !ok {
		return t
	}
	t.Naam = d.text("naam", top["naam"], true, maxNaam)
	if v := d.text("eigenaar", top["eigenaar"], false, maxEmail); v != "" {
		t.Eigenaar = d.email("eigenaar", v)
	}
	if z, ok := d.object("zaak", top["zaak"], true); ok {
		t.Zaak.URL = d.url("zaak.url", z["url"], KindZRC)
		t.Zaak.UUID = d.uuid("zaak.uuid", z["uuid"], t.Zaak.URL)
	}
	if v := top["bewijs_informatieobjecttype"]; v != nil {
		t.BewijsInformatieobjecttype = d.url("bewijs_informatieobjecttype", v, KindZTC)
	}
	docs := d.array("documenten", top["documenten"], 1, MaxDocuments)
	if d.opts.NoDocuments != "" && len(docs) > 0 {
		d.fail("documenten", "unsupported", "%s", d.opts.NoDocuments)
	}
	seen := make(map[string]int, len(docs))
	for i, raw := range docs {
		p := "documenten." + strconv.Itoa(i)
		o, ok := d.object(p, raw, true)
		if !ok {
			continue
		}
		var doc Document
		doc.URL = d.url(p+".url", o["url"], KindDRC)
		doc.UUID = d.uuid(p+".uuid", o["uuid"], doc.URL)
		doc.Titel = d.text(p+".titel", o["titel"], false, maxText)
		doc.Versie = d.integer(p+".versie", o["versie"], true, 1)
		doc.Bestandsnaam = d.text(p+".bestandsnaam", o["bestandsnaam"], false, maxFileName)
		if doc.URL != "" {
			if j, dup := seen[doc.URL]; dup {
				d.fail(p+".url", "unique", "Same document as documenten.%d.", j)
			}
			seen[doc.URL] = i
		}
		t.Documenten = append(t.Documenten, doc)
	}
	signers := d.array("ondertekenaars", top["ondertekenaars"], 1, MaxSigners)
	volgorde := map[int]int{}
	for i, raw := range signers {
		p := "ondertekenaars." + strconv.Itoa(i)
		o, ok := d.object(p, raw, true)
		if !ok {
			continue
		}
		var s Signer
		if o["e-mail"] == nil {
			// The pattern does not say which fields are required; this one is because every
			// provider invites, reminds and identifies a signer by it.
			d.fail(p+".e-mail", "required", "Required: a signer is invited and reached by e-mail (the pattern's example gives every signer one).")
		} else if v := d.text(p+".e-mail", o["e-mail"], true, maxEmail); v != "" {
			s.Email = d.email(p+".e-mail", v)
		}
		s.Voornaam = d.text(p+".voornaam", o["voornaam"], false, maxText)
		s.Achternaam = d.text(p+".achternaam", o["achternaam"], true, maxText)
		s.Identificatie = d.text(p+".identificatie", o["identificatie"], false, maxText)
		s.Volgorde = d.integer(p+".volgorde", o["volgorde"], true, 1)
		if j, shared := volgorde[s.Volgorde]; shared && d.opts.Sequential && s.Volgorde > 0 {
			d.fail(p+".volgorde", "unsupported", "Same volgorde as ondertekenaars.%d: this organisation's signing provider cannot let signers sign in parallel; give each signer a volgorde of its own.", j)
		} else if !shared {
			volgorde[s.Volgorde] = i
		}
		s.Authenticatie = d.authenticatie(p+".authenticatie", o["authenticatie"])
		t.Ondertekenaars = append(t.Ondertekenaars, s)
	}
	return t
}

func (d *decoder) authenticatie(p string, v any) *Authenticatie {
	o, ok := d.object(p, v, false)
	if !ok {
		return nil
	}
	a := &Authenticatie{
		Methode: d.text(p+".methode", o["methode"], true, 50),
		Waarde:  d.text(p+".waarde", o["waarde"], false, maxEmail),
	}
	if a.Methode == "" {
		return a
	}
	supported := false
	for _, m := range d.opts.AuthMethods {
		supported = supported || m == a.Methode
	}
	if !supported {
		d.fail(p+".methode", "unsupported", "Method %q is not supported; use one of %s, or null.", a.Methode, strings.Join(d.opts.AuthMethods, ", "))
		return a
	}
	switch a.Methode {
	case AuthSMS:
		if !e164.MatchString(a.Waarde) {
			d.fail(p+".waarde", "invalid", "An sms needs a mobile number in international format (E.164), e.g. +31612345678.")
		}
	case AuthEmail:
		if a.Waarde != "" {
			a.Waarde = d.email(p+".waarde", a.Waarde)
		}
	}
	return a
}

// parse decodes the body once into a tree of map[string]any, []any, string, json.Number, bool and
// nil; the checks below walk it. An empty body is nil; trailing data after the value is an error.
// Only what the checks read is built, so that the body's size, not its shape, bounds the memory a
// request costs: members other than the trigger's fields are skipped, and an array keeps at most
// maxItems+1 items (one more than any list may hold, so that array still reports it as too long).
func parse(data []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, true
	} else if err != nil {
		return nil, false
	}
	v, err := value(dec, tok, true, 0)
	if err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

// Bounds of the tree parse builds.
const (
	maxItems = max(MaxDocuments, MaxSigners)
	maxDepth = 16 // the trigger nests 4 deep
)

// fields are the members the trigger's checks read, at any level.
var fields = map[string]bool{
	"naam": true, "eigenaar": true, "zaak": true, "url": true, "uuid": true, "bewijs_informatieobjecttype": true,
	"documenten": true, "titel": true, "versie": true, "bestandsnaam": true, "ondertekenaars": true, "e-mail": true,
	"voornaam": true, "achternaam": true, "identificatie": true, "volgorde": true, "authenticatie": true,
	"methode": true, "waarde": true,
}

var errTooDeep = errors.New("json nested too deeply")

// value reads the rest of the JSON value that starts with tok and returns it when keep, else
// skips it without building it.
func value(dec *json.Decoder, tok json.Token, keep bool, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	switch tok {
	case json.Delim('{'):
		var m map[string]any
		if keep {
			m = map[string]any{}
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			vt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			name, _ := k.(string)
			keepV := keep && fields[name]
			v, err := value(dec, vt, keepV, depth+1)
			if err != nil {
				return nil, err
			}
			if keepV {
				m[name] = v
			}
		}
		_, err := dec.Token() // }
		if !keep {
			return nil, err
		}
		return m, err
	case json.Delim('['):
		var a []any
		for dec.More() {
			vt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			keepV := keep && len(a) <= maxItems
			v, err := value(dec, vt, keepV, depth+1)
			if err != nil {
				return nil, err
			}
			if keepV {
				a = append(a, v)
			}
		}
		_, err := dec.Token() // ]
		if !keep {
			return nil, err
		}
		if a == nil {
			a = []any{}
		}
		return a, err
	default:
		return tok, nil // string, json.Number, bool or nil
	}
}

// object checks a JSON object. An absent or null value is an error only when required.
func (d *decoder) object(name string, v any, required bool) (map[string]any, bool) {
	if v == nil {
		if required {
			if name == "" {
				d.fail("body", "required", "A JSON object is required.")
			} else {
				d.fail(name, "required", "This field is required.")
			}
		}
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		if name == "" {
			d.fail("body", "parse", "The body is not a JSON object.")
		} else {
			d.fail(name, "type", "Must be an object.")
		}
		return nil, false
	}
	return m, true
}

func (d *decoder) array(name string, v any, min, max int) []any {
	if v == nil {
		d.fail(name, "required", "This field is required.")
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		d.fail(name, "type", "Must be an array.")
		return nil
	}
	switch {
	case len(a) < min:
		d.fail(name, "min_items", "At least %d required.", min)
	case len(a) > max:
		d.fail(name, "max_items", "At most %d allowed.", max)
		return nil // the items of an oversized list are not worth checking
	}
	return a
}

func (d *decoder) text(name string, v any, required bool, max int) string {
	if v == nil {
		if required {
			d.fail(name, "required", "This field is required.")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.fail(name, "type", "Must be a string.")
		return ""
	}
	s = strings.TrimSpace(s)
	switch {
	case strings.IndexByte(s, 0) >= 0: // Postgres text can't hold it; nobody means it
		d.fail(name, "invalid", "May not contain a NUL character.")
		return ""
	case s == "" && required:
		d.fail(name, "blank", "May not be blank.")
	case utf8.RuneCountInString(s) > max:
		d.fail(name, "max_length", "At most %d characters.", max)
		return ""
	}
	return s
}

// integer checks a whole number from min to math.MaxInt32, the range the database stores.
func (d *decoder) integer(name string, v any, required bool, min int) int {
	if v == nil {
		if required {
			d.fail(name, "required", "This field is required.")
		}
		return 0
	}
	num, ok := v.(json.Number)
	n, err := strconv.ParseInt(string(num), 10, 64)
	switch {
	case ok && errors.Is(err, strconv.ErrRange), ok && err == nil && n > math.MaxInt32:
		d.fail(name, "max_value", "Must be %d or less.", math.MaxInt32)
		return 0
	case !ok || err != nil:
		d.fail(name, "type", "Must be an integer.")
		return 0
	case n < int64(min):
		d.fail(name, "min_value", "Must be %d or more.", min)
	}
	return int(n)
}

func (d *decoder) email(name, s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || strings.ContainsAny(s, " \t") || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		d.fail(name, "invalid", "Not a valid e-mail address.")
		return ""
	}
	return s
}

func (d *decoder) url(name string, v any, kind string) string {
	s := d.text(name, v, true, maxURL)
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		d.fail(name, "invalid", "Must be an absolute http or https URL.")
		return ""
	}
	if reason := resourceShape(s, u); reason != "" {
		d.fail(name, "invalid", "Must be the URL of the resource itself: %s.", reason)
		return ""
	}
	if d.opts.CheckURL != nil {
		if err := d.opts.CheckURL(kind, s); err != nil {
			d.fail(name, "not_allowed", "%s", signingd.ErrorMessage(err))
			return ""
		}
	}
	return s
}

// resourceShape says what makes a URL other than a plain resource URL: a query or a fragment
// (appending /download to one would address something else), ;-parameters, or dot segments
// (plain or percent-encoded). Empty when there is nothing.
func resourceShape(raw string, u *url.URL) string {
	switch {
	case strings.Contains(raw, "?"):
		return "no query"
	case strings.Contains(raw, "#"):
		return "no fragment"
	case strings.Contains(raw, ";"):
		return "no ; path parameters"
	}
	for _, seg := range strings.Split(strings.ToLower(u.EscapedPath()), "/") {
		if seg = strings.ReplaceAll(seg, "%2e", "."); seg == "." || seg == ".." {
			return "no . or .. segments"
		}
	}
	return ""
}

// uuid checks a uuid field and that it equals the last path segment of its resource URL.
func (d *decoder) uuid(name string, v any, resourceURL string) string {
	s := d.text(name, v, true, 36)
	if s == "" {
		return ""
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		d.fail(name, "invalid", "Not a valid UUID.")
		return ""
	}
	if resourceURL != "" {
		u, _ := url.Parse(resourceURL) // already checked
		if last, err := uuid.Parse(path.Base(u.Path)); err != nil || last != id {
			d.fail(name, "mismatch", "Does not match the last path segment of the URL.")
			return ""
		}
	}
	return id.String()
}
