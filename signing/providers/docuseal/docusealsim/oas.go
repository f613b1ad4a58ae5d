package docusealsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/signingd/signingd/signing/providers/docuseal"
)

// spec is DocuSeal's OpenAPI document (the adapter's snapshot), loaded once, with its path
// templates for routing. Deviations of DocuSeal from its own document that the simulator allows:
//   - submission_events[].event_type of GET /submissions/{id} also takes send_2fa_email and
//     email_verified, which DocuSeal records for an e-mail code (app/models/submission_event.rb)
//     but the document's enum lacks;
//   - expire_at of the POST /submissions/pdf answer may be null (no expiry), as in GET;
//   - submitters[].values of the submissionWebhook body is an array of {field, value}, as in GET
//     /submissions/{id} (DocuSeal serializes both alike); the document says object, with the
//     description of a request parameter;
//   - webhook bodies are checked with their null values left out: DocuSeal sends null for what
//     is not there yet (decline_reason, ua, ip, opened_at, completed_at, …), where the webhook
//     schemas say string;
//   - examples are not validated (the document's own example of GET /submissions has name null
//     where its schema says string).
type spec struct {
	doc      *openapi3.T
	routes   []specRoute
	webhooks map[string]*openapi3.Schema // by event prefix: form, submission
}

type specRoute struct {
	path string
	segs []string
	item *openapi3.PathItem
}

var (
	specOnce   sync.Once
	loadedSpec *spec
	specErr    error
)

func loadSpec() (*spec, error) {
	specOnce.Do(func() {
		loadedSpec, specErr = parseSpec(docuseal.OpenAPI())
	})
	return loadedSpec, specErr
}

func parseSpec(data []byte) (*spec, error) {
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("docusealsim: openapi: %w", err)
	}
	doc.Servers = openapi3.Servers{{URL: "/api"}}
	if item := doc.Paths.Value("/submissions/{id}"); item != nil && item.Get != nil {
		if r := item.Get.Responses.Status(http.StatusOK); r != nil && r.Value != nil {
			if mt := r.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				if ev := mt.Schema.Value.Properties["submission_events"]; ev != nil && ev.Value.Items != nil {
					if et := ev.Value.Items.Value.Properties["event_type"]; et != nil {
						et.Value.Enum = append(et.Value.Enum, "send_2fa_email", "email_verified")
					}
				}
			}
		}
	}
	if item := doc.Paths.Value("/submissions/pdf"); item != nil && item.Post != nil {
		if r := item.Post.Responses.Status(http.StatusOK); r != nil && r.Value != nil {
			if mt := r.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				if ea := mt.Schema.Value.Properties["expire_at"]; ea != nil {
					ea.Value.Type = &openapi3.Types{"string", "null"}
				}
			}
		}
	}
	if err := doc.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("docusealsim: openapi: %w", err)
	}
	s := &spec{doc: doc, webhooks: map[string]*openapi3.Schema{}}
	for path, item := range doc.Paths.Map() {
		s.routes = append(s.routes, specRoute{path: path, segs: strings.Split(strings.Trim(path, "/"), "/"), item: item})
	}
	literals := func(r specRoute) int {
		n := 0
		for _, seg := range r.segs {
			if !strings.HasPrefix(seg, "{") {
				n++
			}
		}
		return n
	}
	slices.SortFunc(s.routes, func(a, b specRoute) int { return literals(b) - literals(a) })
	for name, prefix := range map[string]string{"formWebhook": "form", "submissionWebhook": "submission"} {
		if item := doc.Webhooks[name]; item != nil && item.Post != nil && item.Post.RequestBody != nil {
			if mt := item.Post.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				s.webhooks[prefix] = mt.Schema.Value
			}
		}
	}
	if sw, gs := s.webhooks["submission"], doc.Paths.Value("/submissions/{id}"); sw != nil && gs != nil && gs.Get != nil {
		if r := gs.Get.Responses.Status(http.StatusOK); r != nil && r.Value != nil {
			if mt := r.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				values := mt.Schema.Value.Properties["submitters"].Value.Items.Value.Properties["values"]
				if d := sw.Properties["data"]; d != nil && d.Value.Properties["submitters"] != nil && values != nil {
					d.Value.Properties["submitters"].Value.Items.Value.Properties["values"] = values
				}
			}
		}
	}
	return s, nil
}

// route finds the operation for a request whose path is below /api.
func (s *spec) route(r *http.Request, path string) (*routers.Route, map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, t := range s.routes {
		if len(t.segs) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, seg := range t.segs {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				params[seg[1:len(seg)-1]] = segs[i]
			} else if seg != segs[i] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		op := t.item.GetOperation(r.Method)
		if op == nil {
			continue
		}
		return &routers.Route{Spec: s.doc, Server: s.doc.Servers[0], Path: t.path, PathItem: t.item, Method: r.Method, Operation: op}, params, true
	}
	return nil, nil, false
}

var filterOptions = openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}

// checkRequest validates r (whose body is body) against its operation; "" when it conforms.
func (s *spec) checkRequest(r *http.Request, route *routers.Route, params map[string]string, body []byte) (*openapi3filter.RequestValidationInput, string) {
	clone := r.Clone(context.Background())
	clone.Body = io.NopCloser(bytes.NewReader(body))
	clone.ContentLength = int64(len(body))
	opts := filterOptions
	in := &openapi3filter.RequestValidationInput{Request: clone, PathParams: params, Route: route, Options: &opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return in, flatten(err)
	}
	return in, ""
}

// checkResponse validates an answer with a status the operation declares; others (DocuSeal
// declares no error answers) are not checked.
func (s *spec) checkResponse(in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) string {
	if in.Route.Operation.Responses.Status(status) == nil {
		return ""
	}
	opts := filterOptions
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return flatten(err)
	}
	return ""
}

// checkWebhook validates a webhook body against formWebhook or submissionWebhook.
func (s *spec) checkWebhook(event string, body []byte) string {
	prefix, _, _ := strings.Cut(event, ".")
	sch := s.webhooks[prefix]
	if sch == nil {
		return ""
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err.Error()
	}
	if err := sch.VisitJSON(dropNulls(v), openapi3.MultiErrors()); err != nil {
		return flatten(err)
	}
	return ""
}

func flatten(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		parts := make([]string, 0, len(me))
		for _, e := range me {
			parts = append(parts, flatten(e))
		}
		return strings.Join(parts, "; ")
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nSchema:"); i > 0 {
		msg = msg[:i]
	}
	return strings.Join(strings.Fields(msg), " ")
}

func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
			} else {
				x[k] = dropNulls(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = dropNulls(e)
		}
	}
	return v
}
