package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"
)

type kind int

const (
	kString kind = iota
	kDate
	kDateTime
	kURI
	kEnum
	kBool
	kInt
	kStringList
	kOndertekening
	kIntegriteit
	kObject // free-form object (kenmerken, filters): string values 1..max
)

// field describes one request field the way the OAS (and DRF behind Open Zaak) validates it.
type field struct {
	name     string
	kind     kind
	min, max int
	nullable bool
	enum     []string // kEnum: allowed values ("" only when listed)
	required bool
}

var (
	vertrouwelijkheid = []string{"openbaar", "beperkt_openbaar", "intern", "zaakvertrouwelijk", "vertrouwelijk", "confidentieel", "geheim", "zeer_geheim"}
	eioStatussen      = []string{"in_bewerking", "ter_vaststelling", "definitief", "gearchiveerd"}
	soorten           = []string{"analoog", "digitaal", "pki"}
	algoritmen        = []string{"crc_16", "crc_32", "crc_64", "fletcher_4", "fletcher_8", "fletcher_16", "fletcher_32", "hmac", "md5", "sha_1", "sha_256", "sha_512", "sha_3"}
)

// eioFields are the writable metadata fields of an EnkelvoudigInformatieObject (request shape, DRC 1.5.0).
// inhoud and lock are handled separately.
var eioFields = []field{
	{name: "identificatie", kind: kString, max: 40},
	{name: "bronorganisatie", kind: kString, min: 1, max: 9, required: true},
	{name: "creatiedatum", kind: kDate, required: true},
	{name: "titel", kind: kString, min: 1, max: 200, required: true},
	{name: "vertrouwelijkheidaanduiding", kind: kEnum, enum: append([]string{""}, vertrouwelijkheid...)},
	{name: "auteur", kind: kString, min: 1, max: 200, required: true},
	{name: "status", kind: kEnum, enum: append([]string{""}, eioStatussen...)},
	{name: "inhoudIsVervallen", kind: kBool, nullable: true},
	{name: "formaat", kind: kString, max: 255},
	{name: "taal", kind: kString, min: 3, max: 3, required: true},
	{name: "bestandsnaam", kind: kString, max: 255},
	{name: "bestandsomvang", kind: kInt, nullable: true},
	{name: "link", kind: kURI, max: 200},
	{name: "beschrijving", kind: kString, max: 1000},
	{name: "ontvangstdatum", kind: kDate, nullable: true},
	{name: "verzenddatum", kind: kDate, nullable: true},
	{name: "indicatieGebruiksrecht", kind: kBool, nullable: true},
	{name: "verschijningsvorm", kind: kString},
	{name: "ondertekening", kind: kOndertekening, nullable: true},
	{name: "integriteit", kind: kIntegriteit, nullable: true},
	{name: "informatieobjecttype", kind: kURI, min: 1, max: 200, required: true},
	{name: "trefwoorden", kind: kStringList},
}

// decodeFields validates the given fields of body. With partial (PATCH) missing required fields are fine.
// It returns the normalised values of the fields present and every problem found, like DRF collects all errors.
func decodeFields(fields []field, body map[string]json.RawMessage, partial bool) (map[string]any, []InvalidParam) {
	out := map[string]any{}
	var errs []InvalidParam
	for _, f := range fields {
		raw, ok := body[f.name]
		if !ok {
			if f.required && !partial {
				errs = append(errs, InvalidParam{f.name, "required", "Dit veld is vereist."})
			}
			continue
		}
		v, ip := decodeField(f, raw)
		if ip != nil {
			errs = append(errs, *ip)
			continue
		}
		out[f.name] = v
	}
	return out, errs
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func decodeField(f field, raw json.RawMessage) (any, *InvalidParam) {
	bad := func(code, reason string) (any, *InvalidParam) {
		return nil, &InvalidParam{Name: f.name, Code: code, Reason: reason}
	}
	if isNull(raw) {
		if f.nullable {
			return nil, nil
		}
		return bad("null", "Dit veld mag niet leeg zijn.")
	}
	switch f.kind {
	case kBool:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return bad("invalid", "Must be a valid boolean.")
		}
		return b, nil
	case kInt:
		var n int64
		if json.Unmarshal(raw, &n) != nil {
			return bad("invalid", "Een geldig getal is vereist.")
		}
		if n < 0 {
			return bad("min_value", "Zorg ervoor dat deze waarde groter of gelijk is aan 0.")
		}
		return n, nil
	case kStringList:
		var l []string
		if json.Unmarshal(raw, &l) != nil {
			return bad("invalid", "Verwachtte een lijst met strings.")
		}
		if l == nil {
			l = []string{}
		}
		return l, nil
	case kOndertekening:
		var o struct {
			Soort string  `json:"soort"`
			Datum *string `json:"datum"`
		}
		if json.Unmarshal(raw, &o) != nil {
			return bad("invalid", "Ongeldige ondertekening.")
		}
		if o.Soort == "" && (o.Datum == nil || *o.Datum == "") {
			return nil, nil // the "empty" shape some providers send back means no ondertekening
		}
		if !slices.Contains(soorten, o.Soort) {
			return nil, &InvalidParam{"ondertekening.soort", "invalid_choice", fmt.Sprintf("%q is een ongeldige keuze.", o.Soort)}
		}
		if o.Datum == nil || !validDate(*o.Datum) {
			return nil, &InvalidParam{"ondertekening.datum", "invalid", "Datum heeft het verkeerde formaat."}
		}
		return map[string]any{"soort": o.Soort, "datum": *o.Datum}, nil
	case kIntegriteit:
		var o struct {
			Algoritme string  `json:"algoritme"`
			Waarde    string  `json:"waarde"`
			Datum     *string `json:"datum"`
		}
		if json.Unmarshal(raw, &o) != nil {
			return bad("invalid", "Ongeldige integriteit.")
		}
		if o.Algoritme == "" && o.Waarde == "" && (o.Datum == nil || *o.Datum == "") {
			return nil, nil
		}
		if !slices.Contains(algoritmen, o.Algoritme) {
			return nil, &InvalidParam{"integriteit.algoritme", "invalid_choice", fmt.Sprintf("%q is een ongeldige keuze.", o.Algoritme)}
		}
		if o.Waarde == "" || len(o.Waarde) > 128 {
			return nil, &InvalidParam{"integriteit.waarde", "invalid", "Waarde moet 1 tot 128 tekens zijn."}
		}
		if o.Datum == nil || !validDate(*o.Datum) {
			return nil, &InvalidParam{"integriteit.datum", "invalid", "Datum heeft het verkeerde formaat."}
		}
		return map[string]any{"algoritme": o.Algoritme, "waarde": o.Waarde, "datum": *o.Datum}, nil
	case kObject:
		var m map[string]string
		if json.Unmarshal(raw, &m) != nil {
			return bad("invalid", "Verwachtte een object met string-waarden.")
		}
		for k, v := range m {
			if n := utf8.RuneCountInString(v); n < 1 || (f.max > 0 && n > f.max) {
				return nil, &InvalidParam{f.name + "." + k, "invalid", fmt.Sprintf("Waarde moet 1 tot %d tekens zijn.", f.max)}
			}
		}
		return m, nil
	}
	// string kinds
	var str string
	if json.Unmarshal(raw, &str) != nil {
		return bad("invalid", "Not a valid string.")
	}
	n := utf8.RuneCountInString(str)
	if f.min > 0 && n == 0 {
		return bad("blank", "Dit veld mag niet leeg zijn.")
	}
	if f.min > 0 && n < f.min {
		return bad("min_length", fmt.Sprintf("Zorg ervoor dat dit veld minimaal %d tekens bevat.", f.min))
	}
	if f.max > 0 && n > f.max {
		return bad("max_length", fmt.Sprintf("Zorg ervoor dat dit veld niet meer dan %d tekens bevat.", f.max))
	}
	switch f.kind {
	case kDate:
		if !validDate(str) {
			return bad("invalid", "Datum heeft het verkeerde formaat. Gebruik YYYY-MM-DD.")
		}
	case kDateTime:
		if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
			return bad("invalid", "Datetime heeft het verkeerde formaat.")
		}
	case kURI:
		if str != "" && !validURL(str) {
			return bad("invalid", "Voer een geldige URL in.")
		}
	case kEnum:
		if !slices.Contains(f.enum, str) {
			return bad("invalid_choice", fmt.Sprintf("%q is een ongeldige keuze.", str))
		}
	}
	return str, nil
}

func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
