package config

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The environment is described once, in the struct tags of Config and its sub-configurations; the
// loader reads them and Reference prints them, so a name or a default cannot differ between the two:
//
//	env      the variable's name; "-" for a field that is not read from the environment
//	default  the value when the variable is empty or unset, in the variable's own syntax
//	min      the least value a number or a duration may take (inclusive)
//	oneof    the values a string may take, separated by spaces
//	doc      the meaning, for the reference
//
// A field without an env tag that is a struct holds more settings. Adding a variable is adding a
// field with these tags; a rule across fields goes into Config.check.

// getenvFunc reads one variable; os.Getenv, or a map in tests.
type getenvFunc = func(string) string

// load fills the tagged fields of the struct v points to from getenv, over their default tags, and
// reports every variable it could not take.
func load(getenv getenvFunc, v reflect.Value) error {
	var errs []error
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		name := f.Tag.Get("env")
		switch {
		case name == "-" || !f.IsExported():
			continue
		case name == "":
			if f.Type.Kind() == reflect.Struct {
				errs = append(errs, load(getenv, fv))
			}
			continue
		}
		raw := getenv(name)
		if raw == "" {
			raw = f.Tag.Get("default")
		}
		if raw == "" {
			continue
		}
		if err := set(fv, raw, f.Tag); err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	levelType    = reflect.TypeFor[slog.Level]()
	secretType   = reflect.TypeFor[Secret]()
	prefixesType = reflect.TypeFor[Prefixes]()
	locationType = reflect.TypeFor[*time.Location]()
)

// set parses raw into the field v by the field's type and checks its min and oneof tags.
func set(v reflect.Value, raw string, tag reflect.StructTag) error {
	switch v.Type() {
	case durationType:
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 30s or 24h, got %q", raw)
		}
		if m := tag.Get("min"); m != "" && d < mustDuration(m) {
			return fmt.Errorf("want a duration of at least %s, got %q", m, raw)
		}
		v.SetInt(int64(d))
		return nil
	case levelType:
		var l slog.Level
		if err := l.UnmarshalText([]byte(raw)); err != nil {
			return fmt.Errorf("want debug, info, warn or error, got %q", raw)
		}
		v.Set(reflect.ValueOf(l))
		return nil
	case secretType:
		s, err := ParseSecret(raw)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(s))
		return nil
	case locationType:
		loc, err := time.LoadLocation(raw)
		if err != nil || raw == "" || raw == "Local" {
			return fmt.Errorf("want an IANA time zone such as Europe/Amsterdam, got %q", raw)
		}
		v.Set(reflect.ValueOf(loc))
		return nil
	case prefixesType:
		p, err := ParsePrefixes(raw)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(p))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		if one := tag.Get("oneof"); one != "" && !slices.Contains(strings.Fields(one), raw) {
			return fmt.Errorf("want one of %s, got %q", strings.Join(strings.Fields(one), ", "), raw)
		}
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", raw)
		}
		v.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(raw)
		if err != nil || (tag.Get("min") != "" && n < mustInt(tag.Get("min"))) {
			return fmt.Errorf("want a whole number of at least %s, got %q", tag.Get("min"), raw)
		}
		v.SetInt(int64(n))
	case reflect.Float64:
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil || (tag.Get("min") != "" && x < mustFloat(tag.Get("min"))) {
			return fmt.Errorf("want a number of at least %s, got %q", tag.Get("min"), raw)
		}
		v.SetFloat(x)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			panic("config: no loader for " + v.Type().String())
		}
		var out []string
		for s := range strings.SplitSeq(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		v.Set(reflect.ValueOf(out))
	default:
		panic("config: no loader for " + v.Type().String()) // a field type the loader does not know: a programming error
	}
	return nil
}

// The must* helpers read min tags, which are written in the code: a bad one is a programming error
// that TestDefaults finds.
func mustDuration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic("config: min tag " + s + ": " + err.Error())
	}
	return d
}

func mustInt(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic("config: min tag " + s + ": " + err.Error())
	}
	return n
}

func mustFloat(s string) float64 {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic("config: min tag " + s + ": " + err.Error())
	}
	return x
}
