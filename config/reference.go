package config

import (
	"fmt"
	"reflect"
	"strings"
)

// Reference renders the environment variables of Config — name, default and meaning, from the same
// struct tags the loader reads — as a Markdown table, so the operator's guide cannot drift from the
// code.
func Reference() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	writeReference(&b, reflect.TypeFor[Config]())
	return b.String()
}

func writeReference(b *strings.Builder, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		env := f.Tag.Get("env")
		if env == "-" || !f.IsExported() {
			continue
		}
		if env == "" {
			if f.Type.Kind() == reflect.Struct {
				writeReference(b, f.Type)
			}
			continue
		}
		def := "—"
		if d := f.Tag.Get("default"); d != "" {
			def = "`" + d + "`"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", env, def, strings.ReplaceAll(f.Tag.Get("doc"), "|", `\|`))
	}
}
