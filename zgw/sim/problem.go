package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// InvalidParam is one entry of a ValidatieFout's invalidParams.
type InvalidParam struct {
	Name   string `json:"name"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// problem is a ZGW Fout/ValidatieFout. It is also used as an error inside handlers.
type problem struct {
	Status        int
	Code          string
	Title         string
	Detail        string
	InvalidParams []InvalidParam
	RetryAfter    int
}

func (p *problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail) }

// validation builds a 400 ValidatieFout the way vng-api-common does: code "invalid" and one entry per field.
func validation(params ...InvalidParam) *problem {
	return &problem{Status: 400, Code: "invalid", Title: "Invalid input.", Detail: "Ongeldige invoer.", InvalidParams: params}
}

func invalid(name, code, reason string) *problem {
	return validation(InvalidParam{Name: name, Code: code, Reason: reason})
}

func notFound() *problem {
	return &problem{Status: 404, Code: "not_found", Title: "Niet gevonden.", Detail: "Niet gevonden."}
}

func permissionDenied(detail string) *problem {
	return &problem{Status: 403, Code: "permission_denied", Title: "U heeft geen toestemming om deze actie uit te voeren.", Detail: detail}
}

var problemTypes = map[int]string{
	400: "ValidationError", 401: "NotAuthenticated", 403: "PermissionDenied", 404: "NotFound", 405: "MethodNotAllowed",
	406: "NotAcceptable", 409: "Conflict", 410: "Gone", 412: "PreconditionFailed", 413: "PayloadTooLarge",
	415: "UnsupportedMediaType", 429: "Throttled", 500: "APIException", 502: "BadGateway", 503: "ServiceUnavailable",
}

// writeProblem writes p as application/problem+json. invalidParams is always present (empty when none) so both the
// Fout and the ValidatieFout shapes are satisfied; detail and instance are never empty (the NRC OAS demands that).
func (s *Sim) writeProblem(w http.ResponseWriter, r *http.Request, p *problem) {
	typ := problemTypes[p.Status]
	if typ == "" {
		typ = "APIException"
	}
	if p.Detail == "" {
		p.Detail = p.Title
	}
	params := p.InvalidParams
	if params == nil {
		params = []InvalidParam{}
	}
	body := map[string]any{
		"type":     s.base(r) + "/ref/fouten/" + typ + "/",
		"code":     p.Code,
		"title":    p.Title,
		"status":   p.Status,
		"detail":   p.Detail,
		"instance": "urn:uuid:" + newUUID(),
	}
	if p.Status == 400 || len(p.InvalidParams) > 0 {
		body["invalidParams"] = params
	}
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	writeJSONType(w, "application/problem+json", p.Status, body)
}

// fail writes err as a problem; errors that are not problems become 500.
func (s *Sim) fail(w http.ResponseWriter, r *http.Request, err error) {
	var p *problem
	if !errors.As(err, &p) {
		s.log.Error("sim: internal error", "err", err, "path", r.URL.Path)
		p = &problem{Status: 500, Code: "error", Title: "Er is een serverfout opgetreden.", Detail: err.Error()}
	}
	s.writeProblem(w, r, p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, "application/json", status, v)
}

func writeJSONType(w http.ResponseWriter, ctype string, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// readJSONObject reads a JSON object body into raw fields, so handlers can tell absent from null.
func (s *Sim) readJSONObject(r *http.Request) (map[string]json.RawMessage, error) {
	if ct := mediaType(r.Header.Get("Content-Type")); ct != "application/json" && ct != "" {
		return nil, &problem{Status: 415, Code: "unsupported_media_type", Title: "Unsupported media type.",
			Detail: fmt.Sprintf("Ongeldige media type %q in aanvraag.", ct)}
	}
	body := http.MaxBytesReader(nil, r.Body, s.opts.MaxJSONBody)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &problem{Status: 413, Code: "request_too_large", Title: "Request too large.", Detail: err.Error()}
		}
		return nil, invalid("nonFieldErrors", "parse_error", "Could not read body: "+err.Error())
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return nil, &problem{Status: 400, Code: "parse_error", Title: "Malformed request.",
			Detail: "JSON parse error.", InvalidParams: []InvalidParam{{Name: "nonFieldErrors", Code: "parse_error", Reason: "Body must be a JSON object."}}}
	}
	return m, nil
}

func mediaType(ct string) string {
	for i := 0; i < len(ct); i++ {
		if ct[i] == ';' {
			ct = ct[:i]
			break
		}
	}
	return string(bytes.ToLower(bytes.TrimSpace([]byte(ct))))
}
