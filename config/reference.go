package config

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"
)

// Reference renders the environment variables of Config — name, default and meaning, from the
// struct's env and doc tags — as a Markdown table, so the operator's guide cannot drift from the code.
func Reference() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	writeReference(&b, reflect.ValueOf(Defaults()))
	return b.String()
}

func writeReference(b *strings.Builder, v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		env := f.Tag.Get("env")
		if env == "-" || !f.IsExported() {
			continue
		}
		if env == "" {
			if f.Type.Kind() == reflect.Struct {
				writeReference(b, v.Field(i))
			}
			continue
		}
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", env, defaultText(v.Field(i)), strings.ReplaceAll(f.Tag.Get("doc"), "|", `\|`))
	}
}

func defaultText(v reflect.Value) string {
	if l, ok := v.Interface().(slog.Level); ok {
		return "`" + strings.ToLower(l.String()) + "`"
	}
	if v.IsZero() {
		return "—"
	}
	switch x := v.Interface().(type) {
	case Secret:
		return "(set)"
	case time.Duration:
		return "`" + x.String() + "`"
	case fmt.Stringer:
		return "`" + x.String() + "`"
	default:
		return fmt.Sprintf("`%v`", x)
	}
}
