package api

import (
	"bytes"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	signingd "github.com/signingd/signingd"
	"github.com/signingd/signingd/api/gen"
)

// mountDocs serves the contract and a docs page rendered from it on the server, with no script and
// no third-party request.
func mountDocs(e *echo.Echo) {
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", signingd.OpenAPI)
	})
	page, err := renderDocs()
	e.GET("/docs", func(c echo.Context) error {
		if err != nil {
			return err
		}
		c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		return c.HTMLBlob(http.StatusOK, page)
	})
}

type docOp struct {
	Method, Path, Summary, Description, Scope string
	Params                                    []*openapi3.Parameter
	Responses                                 []docResponse
	Body                                      string
}

type docResponse struct{ Status, Description string }

var docsTmpl = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} API</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}
code,pre{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px}pre{padding:1rem;overflow:auto}
.op{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1.5rem 0}.m{font-weight:bold;text-transform:uppercase;margin-right:.5rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}</style></head>
<body><h1>{{.Title}} <small>{{.Version}}</small></h1>
<p>The machine-readable contract: <a href="/openapi.yaml">openapi.yaml</a>.</p>
<pre>{{.Description}}</pre>
{{range .Ops}}<section class="op" id="{{.Method}}{{.Path}}"><h2><span class="m">{{.Method}}</span><code>{{.Path}}</code></h2>
<p><strong>{{.Summary}}</strong></p><pre>{{.Description}}</pre>
{{if .Params}}<h3>Parameters</h3><table><tr><th>Name</th><th>In</th><th>Required</th><th>Description</th></tr>
{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Required}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Body}}<h3>Request body</h3><pre>{{.Body}}</pre>{{end}}
<h3>Responses</h3><table>{{range .Responses}}<tr><td>{{.Status}}</td><td>{{.Description}}</td></tr>{{end}}</table>
</section>{{end}}</body></html>`))

func renderDocs() ([]byte, error) {
	spec, err := gen.GetSpec()
	if err != nil {
		return nil, err
	}
	var ops []docOp
	for _, path := range spec.Paths.InMatchingOrder() {
		for method, op := range spec.Paths.Value(path).Operations() {
			d := docOp{Method: method, Path: path, Summary: op.Summary, Description: strings.TrimSpace(op.Description)}
			for _, p := range op.Parameters {
				d.Params = append(d.Params, p.Value)
			}
			if op.RequestBody != nil {
				if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					d.Body = describeSchema(mt.Schema.Value, "", 0)
				}
			}
			for status, r := range op.Responses.Map() {
				d.Responses = append(d.Responses, docResponse{status, *r.Value.Description})
			}
			sort.Slice(d.Responses, func(i, j int) bool { return d.Responses[i].Status < d.Responses[j].Status })
			ops = append(ops, d)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Path+ops[i].Method < ops[j].Path+ops[j].Method })
	var buf bytes.Buffer
	err = docsTmpl.Execute(&buf, map[string]any{
		"Title": spec.Info.Title, "Version": spec.Info.Version, "Description": spec.Info.Description, "Ops": ops,
	})
	return buf.Bytes(), err
}

// describeSchema prints a schema as an indented outline of fields, types and constraints.
func describeSchema(s *openapi3.Schema, name string, depth int) string {
	if s == nil || depth > 6 {
		return ""
	}
	var b strings.Builder
	ind := strings.Repeat("  ", depth)
	typ := ""
	if s.Type != nil && len(*s.Type) > 0 {
		typ = (*s.Type)[0]
	}
	if name != "" {
		b.WriteString(ind + name + ": " + typ)
		if s.Format != "" {
			b.WriteString(" (" + s.Format + ")")
		}
		if s.Description != "" {
			b.WriteString(" — " + strings.TrimSpace(s.Description))
		}
		b.WriteString("\n")
		depth++
	}
	for _, sub := range s.AllOf {
		b.WriteString(describeSchema(sub.Value, "", depth))
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	req := map[string]bool{}
	for _, r := range s.Required {
		req[r] = true
	}
	for _, n := range names {
		label := n
		if req[n] {
			label += "*"
		}
		b.WriteString(describeSchema(s.Properties[n].Value, label, depth))
	}
	if s.Items != nil {
		b.WriteString(describeSchema(s.Items.Value, "[]", depth))
	}
	return b.String()
}
