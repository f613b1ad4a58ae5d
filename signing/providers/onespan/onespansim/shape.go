package onespansim

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// The object model of the OneSpan Sign API (esl.sdk.java api/model/*.java, the FIELD_* constants):
// every field an object may carry, with its kind. A payload with a field not listed here, a value
// of the wrong kind or without a required field is refused with 400 and recorded, so that tests
// see an adapter send exactly the vendor's shapes.
//
// Kinds: "string", "bool", "int", "number", "date", "any" (free-form), "obj:<name>",
// "list:<name>" (a list of objects), "list:string", "enum:A|B|C".
var model = map[string]map[string]string{
	"package": {
		"id": "string", "name": "string", "description": "string", "emailMessage": "string", "language": "string",
		"status": "enum:DRAFT|SENT|COMPLETED|ARCHIVED|DECLINED|OPTED_OUT|EXPIRED", "type": "enum:PACKAGE|TEMPLATE",
		"autocomplete": "bool", "due": "date", "visibility": "string", "documents": "list:document", "roles": "list:role",
		"settings": "any", "sender": "obj:sender", "messages": "list:message", "data": "any", "consent": "string",
		"signedDocumentDelivery": "any", "notarized": "bool", "notaryRoleId": "string", "created": "date",
		"updated": "date", "completed": "date", "trashed": "bool", "timezoneId": "string", "conditions": "any",
		"limits": "any", "alerts": "any",
	},
	"role": {
		"id": "string", "name": "string", "type": "enum:SIGNER|SENDER", "index": "int", "signers": "list:signer",
		"reassign": "bool", "locked": "bool", "emailMessage": "obj:emailMessage", "attachmentRequirements": "any",
		"specialTypes": "any", "data": "any",
	},
	"signer": {
		"id": "string", "email": "string", "firstName": "string", "lastName": "string", "name": "string",
		"company": "string", "title": "string", "language": "string", "phone": "string", "auth": "obj:auth",
		"delivery": "obj:delivery", "signerType": "string", "group": "any", "knowledgeBasedAuthentication": "any",
		"notificationMethods": "obj:notificationMethods", "data": "any", "created": "date", "updated": "date",
		"address": "any", "external": "any", "professionalIdentityFields": "any", "signature": "any",
		"specialTypes": "any", "userCustomFields": "any",
	},
	"auth": {
		"scheme":     "enum:NONE|CHALLENGE|SMS|KBA|SSO|ID_VERIFICATION|QASMS",
		"challenges": "list:challenge", "idvWorkflow": "any",
	},
	"challenge":           {"question": "string", "answer": "string", "maskInput": "bool", "challengeType": "string"},
	"delivery":            {"email": "bool", "download": "bool", "provider": "bool"},
	"notificationMethods": {"primary": "list:string"},
	"emailMessage":        {"content": "string"},
	"sender": {
		"id": "string", "email": "string", "firstName": "string", "lastName": "string", "name": "string",
		"company": "string", "title": "string", "language": "string", "phone": "string",
	},
	"message": {"content": "string", "created": "date", "from": "any", "to": "any", "status": "string", "documents": "any"},
	"document": {
		"id": "string", "name": "string", "description": "string", "index": "int", "approvals": "list:approval",
		"fields": "list:field", "pages": "any", "extract": "bool", "extractionTypes": "list:string", "size": "int",
		"status": "string", "signedHash": "string", "data": "any", "tagged": "bool", "external": "any",
		"signerVerificationToken": "string", "externalSigned": "bool",
	},
	"approval": {
		"id": "string", "role": "string", "name": "string", "fields": "list:field", "optional": "bool",
		"signed": "date", "accepted": "date", "disabled": "bool", "enforceCaptureSignature": "bool",
		"fromFile": "bool", "tooltip": "string", "data": "any",
	},
	"field": {
		"id": "string", "name": "string", "type": "enum:SIGNATURE|INPUT|IMAGE",
		"subtype": "enum:FULLNAME|CAPTURE|INITIALS|MOBILE_CAPTURE|CHOOSE_SIGNATURE|LABEL|TEXTFIELD|CHECKBOX|RADIO|LIST|TEXTAREA|DATEPICKER|CUSTOMFIELD|SEAL|QRCODE",
		"page":    "int", "top": "number", "left": "number", "width": "number", "height": "number",
		"extract": "bool", "extractAnchor": "obj:extractAnchor", "binding": "string", "value": "string",
		"validation": "any", "data": "any", "fontSize": "int", "tooltip": "string",
	},
	"extractAnchor": {
		"text": "string", "index": "int", "width": "number", "height": "number",
		"anchorPoint": "enum:TOPLEFT|TOPRIGHT|BOTTOMLEFT|BOTTOMRIGHT", "characterIndex": "int",
		"leftOffset": "number", "topOffset": "number",
	},
	"callback": {"url": "string", "key": "string", "events": "list:string"},
}

// required lists the fields an object must have where the simulator creates it.
var required = map[string][]string{
	"package":       {"name"},
	"role":          {"signers"},
	"signer":        {"email", "firstName", "lastName"},
	"auth":          {"scheme"},
	"challenge":     {"question"},
	"document":      {"name"},
	"approval":      {"role"},
	"field":         {"type"},
	"extractAnchor": {"text", "anchorPoint", "width", "height"},
	"callback":      {"url"},
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// checkShape returns what is wrong with v as an object of kind obj; where names the place.
// create says the object is new: required fields apply.
func checkShape(obj, where string, v any, create bool) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return []string{where + ": not an object"}
	}
	spec := model[obj]
	var errs []string
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kind, ok := spec[k]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s.%s: unknown field of %s", where, k, obj))
			continue
		}
		errs = append(errs, checkValue(kind, where+"."+k, m[k], create)...)
	}
	if create {
		for _, k := range required[obj] {
			if v, ok := m[k]; !ok || v == nil || v == "" {
				errs = append(errs, fmt.Sprintf("%s.%s: required field of %s missing", where, k, obj))
			}
		}
		if obj == "auth" && m["scheme"] == "SMS" {
			ch, _ := m["challenges"].([]any)
			q := ""
			if len(ch) == 1 {
				if c, ok := ch[0].(map[string]any); ok {
					q, _ = c["question"].(string)
				}
			}
			if !e164.MatchString(q) {
				errs = append(errs, where+".challenges: SMS needs one challenge whose question is the phone number (E.164)")
			}
		}
		if obj == "field" && m["extractAnchor"] == nil {
			for _, k := range []string{"page", "top", "left", "width", "height"} {
				if _, ok := m[k]; !ok {
					errs = append(errs, fmt.Sprintf("%s.%s: a field without extractAnchor needs page, top, left, width and height", where, k))
				}
			}
		}
	}
	return errs
}

func checkValue(kind, where string, v any, create bool) []string {
	if v == nil {
		return nil // null is accepted for any field, as Jackson does
	}
	bad := func(want string) []string { return []string{fmt.Sprintf("%s: want %s, got %T", where, want, v)} }
	switch {
	case kind == "any":
		return nil
	case kind == "string":
		if _, ok := v.(string); !ok {
			return bad("string")
		}
	case kind == "bool":
		if _, ok := v.(bool); !ok {
			return bad("boolean")
		}
	case kind == "number":
		if _, ok := v.(float64); !ok {
			return bad("number")
		}
	case kind == "int":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return bad("integer")
		}
	case kind == "date":
		s, ok := v.(string)
		if !ok {
			return bad("date string")
		}
		if _, err := parseDate(s); err != nil {
			return []string{fmt.Sprintf("%s: %q is no date", where, s)}
		}
	case strings.HasPrefix(kind, "enum:"):
		s, ok := v.(string)
		if !ok || !slices.Contains(strings.Split(kind[5:], "|"), s) {
			return []string{fmt.Sprintf("%s: %v is not one of %s", where, v, kind[5:])}
		}
	case kind == "list:string":
		l, ok := v.([]any)
		if !ok {
			return bad("list")
		}
		for i, e := range l {
			if _, ok := e.(string); !ok {
				return []string{fmt.Sprintf("%s[%d]: want string", where, i)}
			}
		}
	case strings.HasPrefix(kind, "list:"):
		l, ok := v.([]any)
		if !ok {
			return bad("list")
		}
		var errs []string
		for i, e := range l {
			errs = append(errs, checkShape(kind[5:], fmt.Sprintf("%s[%d]", where, i), e, create)...)
		}
		return errs
	case strings.HasPrefix(kind, "obj:"):
		return checkShape(kind[4:], where, v, create)
	}
	return nil
}

// dateLayout is how OneSpan writes dates.
const dateLayout = "2006-01-02T15:04:05Z"

func parseDate(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("onespansim: %q is no date", s)
}
