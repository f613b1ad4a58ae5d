// Package oasvalidate checks HTTP traffic against the official ZGW OpenAPI files (kin-openapi) so tests can assert
// that every request a client sends and every response the simulator returns conforms: zero violations.
//
// Use it as a client transport:
//
//	v, err := oasvalidate.New(oasvalidate.Options{})      // sim path layout, specs from zgw/testdata/oas
//	client := &http.Client{Transport: v.Transport(nil)}
//	... run the test ...
//	v.AssertClean(t)
//
// or as server middleware (v.Middleware(handler)). Requests are routed to a spec by path prefix (Mount); paths
// outside every mount (e.g. the simulator's /_sim API) are not checked.
//
// The loaded specs are adjusted for known quirks of the ZGW OAS files, each following OAS 3.0 semantics or
// documented provider behaviour rather than loosening the schemas:
//   - servers are replaced by the mount prefix (the files name vng.cloud/swaggerhub hosts);
//   - header parameters named Content-Type, Accept or Authorization are dropped: OAS 3.0 says such parameter
//     definitions SHALL be ignored (the ZGW files list Content-Type as a required header parameter, and its enum
//     "multipart/form-data" would reject the boundary parameter every multipart request carries);
//   - Content-Crs is not required on operations without a request body (ZRC lists it on GET/HEAD/DELETE /zaken;
//     Open Zaak and OneGround only require it on bodies);
//   - the JWT-Claims security scheme is not checked (the simulator checks tokens itself);
//   - a response status the operation does not declare (e.g. 412 from Open Zaak, 400 on NRC /notificaties, a 503
//     or 429 from fault injection) is accepted when its body is a valid Fout (ValidatieFout for 400) of that spec;
//     undeclared 304 without body is accepted when the request carried If-None-Match.
package oasvalidate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Mount routes requests whose path starts with Prefix to the OAS file File (relative to Options.Dir).
type Mount struct {
	Prefix string
	File   string
}

// DefaultMounts is the path layout of zgw/sim.
func DefaultMounts() []Mount {
	return []Mount{
		{Prefix: "/documenten/api/v1", File: "documenten-api-1.5.0.yaml"},
		{Prefix: "/zaken/api/v1", File: "zaken-api-1.5.1.yaml"},
		{Prefix: "/notificaties/api/v1", File: "notificaties-api-1.0.0.yaml"},
		{Prefix: "/catalogi/api/v1", File: "catalogi-api-1.3.1.yaml"},
	}
}

// SpecDir is the repository's zgw/testdata/oas directory (found relative to this source file).
func SpecDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "oas")
}

// Options configure a Validator.
type Options struct {
	Dir    string  // directory with the OAS files; SpecDir() when empty
	Mounts []Mount // DefaultMounts() when empty
	// MaxBody is the largest body (request or JSON response) buffered for validation; larger bodies are checked
	// without their body and counted in Skipped. 64 MiB when zero.
	MaxBody int64
}

// Violation is one request or response that does not conform.
type Violation struct {
	Phase  string // "request" or "response"
	Method string
	Path   string
	Status int // response status (0 for request violations)
	Err    string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s %s %s (status %d): %s", v.Phase, v.Method, v.Path, v.Status, v.Err)
}

// Validator validates exchanges and records violations; safe for concurrent use.
type Validator struct {
	mounts  []mounted
	maxBody int64

	mu         sync.Mutex
	violations []Violation
	checked    int
	skipped    int
}

type mounted struct {
	prefix    string
	doc       *openapi3.T
	templates []template
}

type template struct {
	path string
	segs []string
	item *openapi3.PathItem
}

func (t template) literals() int {
	n := 0
	for _, s := range t.segs {
		if !strings.HasPrefix(s, "{") {
			n++
		}
	}
	return n
}

// findRoute matches the request path (below the mount prefix) against the spec's path templates. A small router
// of our own: the ZGW files mix parameter names at the same position ({uuid} vs {enkelvoudiginformatieobject_uuid}),
// which kin-openapi's routers do not handle well.
func (m *mounted) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	rest := strings.Trim(strings.TrimPrefix(req.URL.Path, m.prefix), "/")
	segs := strings.Split(rest, "/")
	for _, t := range m.templates {
		if len(t.segs) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, s := range t.segs {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				if segs[i] == "" {
					ok = false
					break
				}
				params[s[1:len(s)-1]] = segs[i]
			} else if s != segs[i] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		op := t.item.GetOperation(req.Method)
		if op == nil {
			return nil, nil, routers.ErrMethodNotAllowed
		}
		return &routers.Route{Spec: m.doc, Server: m.doc.Servers[0], Path: t.path, PathItem: t.item, Method: req.Method, Operation: op}, params, nil
	}
	return nil, nil, routers.ErrPathNotFound
}

var (
	formatsOnce sync.Once
	cacheMu     sync.Mutex
	cache       = map[string]*mounted{}
)

// New loads the specs (cached per process) and returns a Validator.
func New(opts Options) (*Validator, error) {
	if opts.Dir == "" {
		opts.Dir = SpecDir()
	}
	if len(opts.Mounts) == 0 {
		opts.Mounts = DefaultMounts()
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 64 << 20
	}
	// kin-openapi checks date, date-time and byte by default; uuid (path parameters, ZRC uuid fields) is added.
	// uri is left out: ZGW providers return "" for blank URL fields, which a uri check would reject.
	formatsOnce.Do(func() {
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC4122))
	})
	v := &Validator{maxBody: opts.MaxBody}
	for _, m := range opts.Mounts {
		mt, err := load(filepath.Join(opts.Dir, m.File), strings.TrimRight(m.Prefix, "/"))
		if err != nil {
			return nil, err
		}
		v.mounts = append(v.mounts, *mt)
	}
	// longest prefix first
	slices.SortFunc(v.mounts, func(a, b mounted) int { return len(b.prefix) - len(a.prefix) })
	return v, nil
}

func load(file, prefix string) (*mounted, error) {
	key := file + "\x00" + prefix
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if m, ok := cache[key]; ok {
		return m, nil
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = localRefs(filepath.Dir(file))
	doc, err := loader.LoadFromFile(file)
	if err != nil {
		return nil, fmt.Errorf("oasvalidate: load %s: %w", file, err)
	}
	doc.Servers = openapi3.Servers{{URL: prefix + "/"}}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			op.Servers = nil
			op.Parameters = slices.DeleteFunc(op.Parameters, func(p *openapi3.ParameterRef) bool {
				if p.Value == nil || p.Value.In != openapi3.ParameterInHeader {
					return false
				}
				switch http.CanonicalHeaderKey(p.Value.Name) {
				case "Content-Type", "Accept", "Authorization":
					return true
				case "Content-Crs":
					return op.RequestBody == nil
				}
				return false
			})
		}
		item.Servers = nil
	}
	if err := doc.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("oasvalidate: %s: %w", file, err)
	}
	m := &mounted{prefix: prefix, doc: doc}
	for path, item := range doc.Paths.Map() {
		m.templates = append(m.templates, template{path: path, segs: strings.Split(strings.Trim(path, "/"), "/"), item: item})
	}
	// literal segments win over parameters (/enkelvoudiginformatieobjecten/_zoek before /{uuid})
	slices.SortFunc(m.templates, func(a, b template) int { return b.literals() - a.literals() })
	cache[key] = m
	return m, nil
}

// remoteZTC is where the DRC and ZRC files point for embedded catalogi schemas (_expand); it is served from the
// local ZTC file so loading never touches the network.
const remoteZTC = "https://raw.githubusercontent.com/VNG-Realisatie/gemma-zaken/master/api-specificatie/ztc/current_version/openapi.yaml"

func localRefs(dir string) openapi3.ReadFromURIFunc {
	return func(l *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme == "" || u.Scheme == "file" {
			return os.ReadFile(u.Path)
		}
		uu := *u
		uu.Fragment = ""
		if uu.String() == remoteZTC {
			return os.ReadFile(filepath.Join(dir, "catalogi-api-1.3.1.yaml"))
		}
		return nil, fmt.Errorf("oasvalidate: refusing remote reference %s", u)
	}
}

type invalidKey struct{}

// ExpectInvalidRequest marks a request (through its context) as deliberately invalid, for negative tests: its
// request violations are not recorded, but its response is still validated.
func ExpectInvalidRequest(ctx context.Context) context.Context {
	return context.WithValue(ctx, invalidKey{}, true)
}

// Violations returns what was recorded so far.
func (v *Validator) Violations() []Violation {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.violations)
}

// Checked is the number of exchanges validated (so a test can tell validation really ran).
func (v *Validator) Checked() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.checked
}

// Skipped is the number of bodies too large to validate.
func (v *Validator) Skipped() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.skipped
}

// Reset forgets recorded violations and counters.
func (v *Validator) Reset() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.violations, v.checked, v.skipped = nil, 0, 0
}

// TB is the part of testing.TB AssertClean needs.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// AssertClean fails t for every recorded violation.
func (v *Validator) AssertClean(t TB) {
	t.Helper()
	for _, x := range v.Violations() {
		t.Errorf("OAS violation: %s", x)
	}
}

func (v *Validator) add(x Violation) {
	v.mu.Lock()
	v.violations = append(v.violations, x)
	v.mu.Unlock()
}

func (v *Validator) mountFor(path string) *mounted {
	for i := range v.mounts {
		if m := &v.mounts[i]; strings.HasPrefix(path, m.prefix+"/") {
			return m
		}
	}
	return nil
}

var validateOpts = &openapi3filter.Options{
	AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
	MultiError:         true,
}

// exchange is the request half being validated, kept until the response arrives.
type exchange struct {
	m     *mounted
	input *openapi3filter.RequestValidationInput
}

// checkRequest validates req whose body (if any) is body; bodyOK false means the body was too large to check.
func (v *Validator) checkRequest(req *http.Request, body []byte, bodyOK bool) *exchange {
	m := v.mountFor(req.URL.Path)
	if m == nil {
		return nil
	}
	v.mu.Lock()
	v.checked++
	if !bodyOK {
		v.skipped++
	}
	v.mu.Unlock()
	clone := req.Clone(context.Background())
	clone.Body = io.NopCloser(bytes.NewReader(body))
	clone.ContentLength = int64(len(body))
	route, params, err := m.findRoute(clone)
	if err != nil {
		v.add(Violation{Phase: "request", Method: req.Method, Path: req.URL.Path, Err: "no operation in the OAS: " + err.Error()})
		return nil
	}
	opts := *validateOpts
	opts.ExcludeRequestBody = !bodyOK
	in := &openapi3filter.RequestValidationInput{Request: clone, PathParams: params, Route: route, Options: &opts}
	expectInvalid, _ := req.Context().Value(invalidKey{}).(bool)
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && !expectInvalid {
		v.add(Violation{Phase: "request", Method: req.Method, Path: req.URL.Path, Err: flatten(err)})
	}
	return &exchange{m: m, input: in}
}

// checkResponse validates a response to the exchange; body is nil when it was not buffered (non-JSON or too big).
func (v *Validator) checkResponse(x *exchange, status int, header http.Header, body []byte, bodyOK bool) {
	if x == nil {
		return
	}
	req := x.input.Request
	fail := func(msg string) {
		v.add(Violation{Phase: "response", Method: req.Method, Path: req.URL.Path, Status: status, Err: msg})
	}
	op := x.input.Route.Operation
	if op.Responses.Status(status) == nil && op.Responses.Default() == nil {
		switch {
		case status == http.StatusNotModified && req.Header.Get("If-None-Match") != "":
		case status >= 400:
			v.checkUndeclaredProblem(x.m, status, header, body, bodyOK, fail)
		default:
			fail("status " + strconv.Itoa(status) + " is not declared for " + op.OperationID)
		}
		return
	}
	opts := *validateOpts
	opts.ExcludeResponseBody = !bodyOK
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: x.input, Status: status, Header: header, Options: &opts,
		Body: io.NopCloser(bytes.NewReader(body)),
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		fail(flatten(err))
	}
}

// checkUndeclaredProblem accepts an undeclared error status only with a valid Fout / ValidatieFout body.
func (v *Validator) checkUndeclaredProblem(m *mounted, status int, header http.Header, body []byte, bodyOK bool, fail func(string)) {
	ct, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if ct != "application/problem+json" {
		fail("undeclared error status with Content-Type " + ct + ", want application/problem+json")
		return
	}
	if !bodyOK {
		return
	}
	name := "Fout"
	if status == 400 {
		name = "ValidatieFout"
	}
	ref := m.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		fail("spec has no " + name + " schema")
		return
	}
	var val any
	if err := json.Unmarshal(body, &val); err != nil {
		fail("problem body is not JSON: " + err.Error())
		return
	}
	if err := ref.Value.VisitJSON(val, openapi3.MultiErrors()); err != nil {
		fail(name + ": " + flatten(err))
	}
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
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// bufferable reports whether a response body of this type is validated (JSON only; downloads are streamed).
func bufferable(header http.Header) bool {
	ct, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	return ct == "application/json" || ct == "application/problem+json"
}

// readUpTo reads at most max+1 bytes; ok is false when there was more.
func readUpTo(r io.Reader, max int64) (data []byte, ok bool, err error) {
	data, err = io.ReadAll(io.LimitReader(r, max+1))
	if int64(len(data)) > max {
		return data, false, err
	}
	return data, true, err
}

// Transport returns a RoundTripper that validates each request before sending it with next
// (http.DefaultTransport when nil) and each response before handing it back.
func (v *Validator) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{v: v, next: next}
}

type transport struct {
	v    *Validator
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.v.mountFor(req.URL.Path) == nil {
		return t.next.RoundTrip(req)
	}
	var body []byte
	bodyOK := true
	out := req
	if req.Body != nil && req.Body != http.NoBody {
		data, ok, err := readUpTo(req.Body, t.v.maxBody)
		if err != nil {
			req.Body.Close()
			return nil, err
		}
		body, bodyOK = data, ok
		out = req.Clone(req.Context())
		if ok {
			req.Body.Close()
			out.Body = io.NopCloser(bytes.NewReader(data))
		} else {
			out.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(data), req.Body), req.Body}
		}
	}
	x := t.v.checkRequest(req, body, bodyOK)
	resp, err := t.next.RoundTrip(out)
	if err != nil || x == nil {
		return resp, err
	}
	if !bufferable(resp.Header) || req.Method == http.MethodHead {
		t.v.checkResponse(x, resp.StatusCode, resp.Header, nil, false)
		return resp, nil
	}
	data, ok, rerr := readUpTo(resp.Body, t.v.maxBody)
	if rerr != nil {
		resp.Body.Close()
		return nil, rerr
	}
	if ok {
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(data))
	} else {
		t.v.mu.Lock()
		t.v.skipped++
		t.v.mu.Unlock()
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(data), resp.Body), resp.Body}
	}
	t.v.checkResponse(x, resp.StatusCode, resp.Header, data, ok)
	return resp, nil
}

// Middleware validates requests reaching next and the responses it writes (JSON bodies are teed, not held back).
func (v *Validator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v.mountFor(r.URL.Path) == nil {
			next.ServeHTTP(w, r)
			return
		}
		var body []byte
		bodyOK := true
		if r.Body != nil && r.Body != http.NoBody {
			data, ok, err := readUpTo(r.Body, v.maxBody)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body, bodyOK = data, ok
			rest := r.Body
			r = r.Clone(r.Context())
			if ok {
				r.Body = io.NopCloser(bytes.NewReader(data))
			} else {
				r.Body = struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(data), rest), rest}
			}
		}
		x := v.checkRequest(r, body, bodyOK)
		rec := &recorder{ResponseWriter: w, max: v.maxBody}
		next.ServeHTTP(rec, r)
		if rec.hijacked {
			return
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		ok := rec.tee && !rec.over
		v.checkResponse(x, rec.status, w.Header(), rec.buf.Bytes(), ok && r.Method != http.MethodHead)
	})
}

type recorder struct {
	http.ResponseWriter
	status   int
	tee      bool
	over     bool
	hijacked bool
	max      int64
	buf      bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.tee = bufferable(r.Header())
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.tee && !r.over {
		if int64(r.buf.Len()+len(b)) > r.max {
			r.over = true
		} else {
			r.buf.Write(b)
		}
	}
	return r.ResponseWriter.Write(b)
}

// Hijack lets a handler take the connection over (the simulator's dropped-connection fault); such an exchange
// has no response to validate.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.hijacked = true
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// Flush forwards to the underlying writer.
func (r *recorder) Flush() { _ = http.NewResponseController(r.ResponseWriter).Flush() }

// Unwrap exposes the underlying writer to http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
