package signing

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/signingd/signingd"
)

var testOpts = ValidateOptions{AuthMethods: []string{AuthSMS, AuthEmail}}

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeTriggerExamples(t *testing.T) {
	full, err := DecodeTrigger(readExample(t, "trigger-full.json"), testOpts)
	if err != nil {
		t.Fatalf("full example: %v", err)
	}
	if full.Eigenaar != "behandelaar@gemeente.example" || len(full.Documenten) != 2 || len(full.Ondertekenaars) != 2 {
		t.Errorf("full example decoded wrong: %+v", full)
	}
	if a := full.Ondertekenaars[0].Authenticatie; a == nil || a.Methode != "sms" || a.Waarde != "+31612345678" {
		t.Errorf("sms authenticatie = %+v", a)
	}
	if full.Ondertekenaars[1].Authenticatie != nil {
		t.Errorf("null authenticatie decoded as %+v", full.Ondertekenaars[1].Authenticatie)
	}
	if full.Documenten[0].Versie != 3 || full.BewijsInformatieobjecttype == "" {
		t.Errorf("document or IOT lost: %+v", full)
	}
	min, err := DecodeTrigger(readExample(t, "trigger-minimal.json"), testOpts)
	if err != nil {
		t.Fatalf("minimal example: %v", err)
	}
	if min.Eigenaar != "" || min.BewijsInformatieobjecttype != "" {
		t.Errorf("optional fields invented: %+v", min)
	}
}

// mutate decodes the full example into a generic tree, applies f and encodes it again.
func mutate(t *testing.T, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readExample(t, "trigger-full.json"), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func doc(m map[string]any, i int) map[string]any {
	return m["documenten"].([]any)[i].(map[string]any)
}

func signer(m map[string]any, i int) map[string]any {
	return m["ondertekenaars"].([]any)[i].(map[string]any)
}

func TestDecodeTriggerInvalidFields(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   map[string]string // field → code
	}{
		{"naam missing", func(m map[string]any) { delete(m, "naam") }, map[string]string{"naam": "required"}},
		{"naam blank", func(m map[string]any) { m["naam"] = "  " }, map[string]string{"naam": "blank"}},
		{"naam too long", func(m map[string]any) { m["naam"] = strings.Repeat("x", 201) }, map[string]string{"naam": "max_length"}},
		{"naam wrong type", func(m map[string]any) { m["naam"] = 12 }, map[string]string{"naam": "type"}},
		{"eigenaar not an e-mail", func(m map[string]any) { m["eigenaar"] = "jan" }, map[string]string{"eigenaar": "invalid"}},
		{"zaak missing", func(m map[string]any) { delete(m, "zaak") }, map[string]string{"zaak": "required"}},
		{"zaak url relative", func(m map[string]any) { m["zaak"].(map[string]any)["url"] = "/api/v1/zaken/x" }, map[string]string{"zaak.url": "invalid"}},
		{"zaak url ftp", func(m map[string]any) {
			m["zaak"].(map[string]any)["url"] = "ftp://zaken.gemeente.example/api/v1/zaken/2cc803a9-7404-4289-8f3d-f2300f666eac"
		}, map[string]string{"zaak.url": "invalid"}},
		{"zaak uuid mismatch", func(m map[string]any) {
			m["zaak"].(map[string]any)["uuid"] = "f491249e-0651-4d22-a8a8-bb35885e9245"
		}, map[string]string{"zaak.uuid": "mismatch"}},
		{"zaak uuid garbage", func(m map[string]any) { m["zaak"].(map[string]any)["uuid"] = "nope" }, map[string]string{"zaak.uuid": "invalid"}},
		{"iot not a url", func(m map[string]any) { m["bewijs_informatieobjecttype"] = "iot" }, map[string]string{"bewijs_informatieobjecttype": "invalid"}},
		{"no documents", func(m map[string]any) { m["documenten"] = []any{} }, map[string]string{"documenten": "min_items"}},
		{"documents not an array", func(m map[string]any) { m["documenten"] = "x" }, map[string]string{"documenten": "type"}},
		{"too many documents", func(m map[string]any) {
			d := doc(m, 0)
			var docs []any
			for range 101 {
				docs = append(docs, d)
			}
			m["documenten"] = docs
		}, map[string]string{"documenten": "max_items"}},
		{"document url missing", func(m map[string]any) { delete(doc(m, 1), "url") }, map[string]string{"documenten.1.url": "required"}},
		{"document uuid mismatch", func(m map[string]any) { doc(m, 1)["uuid"] = doc(m, 0)["uuid"] }, map[string]string{"documenten.1.uuid": "mismatch"}},
		{"document versie zero", func(m map[string]any) { doc(m, 0)["versie"] = 0 }, map[string]string{"documenten.0.versie": "min_value"}},
		{"document versie fraction", func(m map[string]any) { doc(m, 0)["versie"] = 1.5 }, map[string]string{"documenten.0.versie": "type"}},
		{"document versie string", func(m map[string]any) { doc(m, 0)["versie"] = "1" }, map[string]string{"documenten.0.versie": "type"}},
		{"document versie missing", func(m map[string]any) { delete(doc(m, 0), "versie") }, map[string]string{"documenten.0.versie": "required"}},
		{"duplicate document", func(m map[string]any) { m["documenten"] = append(m["documenten"].([]any), doc(m, 0)) }, map[string]string{"documenten.2.url": "unique"}},
		{"no signers", func(m map[string]any) { m["ondertekenaars"] = []any{} }, map[string]string{"ondertekenaars": "min_items"}},
		{"too many signers", func(m map[string]any) {
			s := signer(m, 0)
			var ss []any
			for range 51 {
				ss = append(ss, s)
			}
			m["ondertekenaars"] = ss
		}, map[string]string{"ondertekenaars": "max_items"}},
		{"signer e-mail missing", func(m map[string]any) { delete(signer(m, 0), "e-mail") }, map[string]string{"ondertekenaars.0.e-mail": "required"}},
		{"signer e-mail invalid", func(m map[string]any) { signer(m, 1)["e-mail"] = "Jan <jan@x.nl>" }, map[string]string{"ondertekenaars.1.e-mail": "invalid"}},
		{"signer achternaam missing", func(m map[string]any) { delete(signer(m, 0), "achternaam") }, map[string]string{"ondertekenaars.0.achternaam": "required"}},
		{"signer volgorde zero", func(m map[string]any) { signer(m, 0)["volgorde"] = 0 }, map[string]string{"ondertekenaars.0.volgorde": "min_value"}},
		{"signer not an object", func(m map[string]any) { m["ondertekenaars"].([]any)[1] = "x" }, map[string]string{"ondertekenaars.1": "type"}},
		{"unsupported method", func(m map[string]any) {
			signer(m, 0)["authenticatie"] = map[string]any{"methode": "itsme"}
		}, map[string]string{"ondertekenaars.0.authenticatie.methode": "unsupported"}},
		{"sms without number", func(m map[string]any) {
			signer(m, 0)["authenticatie"] = map[string]any{"methode": "sms"}
		}, map[string]string{"ondertekenaars.0.authenticatie.waarde": "invalid"}},
		{"sms national number", func(m map[string]any) {
			signer(m, 0)["authenticatie"] = map[string]any{"methode": "sms", "waarde": "0612345678"}
		}, map[string]string{"ondertekenaars.0.authenticatie.waarde": "invalid"}},
		{"several at once", func(m map[string]any) {
			delete(m, "naam")
			doc(m, 0)["versie"] = -1
			signer(m, 1)["e-mail"] = "x"
		}, map[string]string{"naam": "required", "documenten.0.versie": "min_value", "ondertekenaars.1.e-mail": "invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeTrigger(mutate(t, tt.mutate), testOpts)
			var e *signingd.Error
			if !errors.As(err, &e) || e.Code != signingd.EINVALID {
				t.Fatalf("err = %v, want signingd.EINVALID", err)
			}
			got := map[string]string{}
			for _, f := range e.Fields {
				got[f.Name] = f.Code
				if f.Reason == "" {
					t.Errorf("field %s has no reason", f.Name)
				}
			}
			for name, code := range tt.want {
				if got[name] != code {
					t.Errorf("field %s: code %q, want %q (all: %v)", name, got[name], code, got)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %d invalid fields %v, want %d", len(got), got, len(tt.want))
			}
		})
	}
}

func TestDecodeTriggerIgnoresUnknownFields(t *testing.T) {
	b := mutate(t, func(m map[string]any) {
		m["toekomstig_veld"] = map[string]any{"x": 1}
		doc(m, 0)["extra"] = true
	})
	if _, err := DecodeTrigger(b, testOpts); err != nil {
		t.Fatalf("unknown fields refused: %v", err)
	}
}

// A list longer than its limit is reported as such, whatever its length, and an unknown member's
// value is skipped, whatever it holds.
func TestDecodeTriggerLongLists(t *testing.T) {
	body := `{"extra": [` + strings.Repeat(`{"a":[1,2,3]},`, 10_000) + `1], "documenten": [` + strings.Repeat(`{},`, 100_000) + `{}]}`
	_, err := DecodeTrigger([]byte(body), testOpts)
	var e *signingd.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	found := false
	for _, f := range e.Fields {
		found = found || f.Name == "documenten" && f.Code == "max_items"
		if strings.HasPrefix(f.Name, "documenten.") {
			t.Errorf("items of an oversized list checked: %v", f)
		}
	}
	if !found {
		t.Errorf("documenten not reported too long: %v", e.Fields)
	}
}

func TestDecodeTriggerMalformed(t *testing.T) {
	deep := `{"x":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`
	for _, body := range []string{``, `{`, `[]`, `"x"`, `null`, `{"naam": }`, deep, `{"x": [1,}`, `{} {}`} {
		_, err := DecodeTrigger([]byte(body), testOpts)
		var e *signingd.Error
		if !errors.As(err, &e) || e.Code != signingd.EINVALID || len(e.Fields) == 0 || e.Fields[0].Name != "body" {
			t.Errorf("body %q: err = %v, want signingd.EINVALID naming body", body, err)
		}
	}
}

func TestDecodeTriggerCheckURL(t *testing.T) {
	var kinds []string
	opts := testOpts
	opts.CheckURL = func(kind, u string) error {
		kinds = append(kinds, kind)
		if strings.Contains(u, "0b9e7c52") {
			return signingd.Errorf(signingd.EINVALID, "Not under a configured DRC.")
		}
		return nil
	}
	_, err := DecodeTrigger(readExample(t, "trigger-full.json"), opts)
	var e *signingd.Error
	if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Name != "documenten.1.url" || e.Fields[0].Code != "not_allowed" {
		t.Fatalf("err = %#v, want documenten.1.url not_allowed", err)
	}
	if strings.Join(kinds, ",") != "zrc,ztc,drc,drc" {
		t.Errorf("checked kinds %v", kinds)
	}
}

// FuzzDecodeTrigger checks that no input panics the decoder and that an accepted trigger survives a
// round trip through its own JSON form unchanged.
func FuzzDecodeTrigger(f *testing.F) {
	f.Add(readExample(f, "trigger-full.json"))
	f.Add(readExample(f, "trigger-minimal.json"))
	f.Add([]byte(`{"naam":"x","documenten":[{"versie":1e400}],"ondertekenaars":[{"volgorde":-0}]}`))
	f.Add([]byte(`{"zaak":{"url":"https://a@b/c/%zz","uuid":"00000000-0000-0000-0000-000000000000"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := DecodeTrigger(data, testOpts)
		if err != nil {
			var e *signingd.Error
			if !errors.As(err, &e) || e.Code != signingd.EINVALID || len(e.Fields) == 0 {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		again, err := json.Marshal(tr)
		if err != nil {
			t.Fatal(err)
		}
		tr2, err := DecodeTrigger(again, testOpts)
		if err != nil {
			t.Fatalf("re-encoded trigger refused: %v\n%s", err, again)
		}
		b1, _ := json.Marshal(tr2)
		if string(b1) != string(again) {
			t.Fatalf("round trip changed the trigger:\n%s\n%s", again, b1)
		}
	})
}

func BenchmarkDecodeTrigger(b *testing.B) {
	data := readExample(b, "trigger-full.json")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTrigger(data, testOpts); err != nil {
			b.Fatal(err)
		}
	}
}

// A resource URL is the resource itself: a query, a fragment, ;-parameters or dot segments are
// refused, naming the field, whatever the landscape allows.
func TestDecodeTriggerResourceURLShape(t *testing.T) {
	for _, suffix := range []string{"?x=", "?", "#f", ";v=1", "/./", "/../x", "/%2E%2e/x", "/%2e"} {
		b := mutate(t, func(m map[string]any) {
			doc(m, 0)["url"] = doc(m, 0)["url"].(string) + suffix
			m["zaak"].(map[string]any)["url"] = m["zaak"].(map[string]any)["url"].(string) + suffix
		})
		_, err := DecodeTrigger(b, testOpts)
		var e *signingd.Error
		if !errors.As(err, &e) {
			t.Fatalf("%q: err = %v", suffix, err)
		}
		names := map[string]bool{}
		for _, f := range e.Fields {
			names[f.Name] = true
		}
		if !names["documenten.0.url"] || !names["zaak.url"] {
			t.Errorf("%q: fields %v, want documenten.0.url and zaak.url", suffix, e.Fields)
		}
	}
}

// TestDecodeTriggerPatternExample: the trigger exactly as the pattern publishes it is accepted;
// without the optional eigenaar too; without a signer's e-mail it is a 400 that names the field
// and says why the pattern's own text needs it.
func TestDecodeTriggerPatternExample(t *testing.T) {
	const pattern = `{
  "naam": "string",
  "eigenaar": "user@domain.example",
  "zaak": {"uuid": "2cc803a9-7404-4289-8f3d-f2300f666eac", "url": "https://zaken.gemeente.example/api/v1/zaken/2cc803a9-7404-4289-8f3d-f2300f666eac"},
  "bewijs_informatieobjecttype": "https://catalogi.gemeente.example/api/v1/informatieobjecttypen/0e0b5a4c-5b1e-4c52-9d7c-1f2a3b4c5d6e",
  "documenten": [{"uuid": "f491249e-0651-4d22-a8a8-bb35885e9245",
    "url": "https://documenten.gemeente.example/api/v1/enkelvoudiginformatieobjecten/f491249e-0651-4d22-a8a8-bb35885e9245",
    "titel": "Some document", "versie": 1, "bestandsnaam": "some file.docx"}],
  "ondertekenaars": [{"e-mail": "john.doe@some.domain", "voornaam": "John", "achternaam": "Doe", "identificatie": "Signer1",
    "volgorde": 1, "authenticatie": {"methode": "sms", "waarde": "+31655555555"}}]
}`
	if _, err := DecodeTrigger([]byte(pattern), testOpts); err != nil {
		t.Fatalf("the pattern's example: %v", err)
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(pattern), &m)
	delete(m, "eigenaar")
	b, _ := json.Marshal(m)
	if _, err := DecodeTrigger(b, testOpts); err != nil {
		t.Fatalf("without eigenaar: %v", err)
	}
	delete(m["ondertekenaars"].([]any)[0].(map[string]any), "e-mail")
	b, _ = json.Marshal(m)
	_, err := DecodeTrigger(b, testOpts)
	var e *signingd.Error
	if !errors.As(err, &e) || e.Code != signingd.EINVALID || len(e.Fields) != 1 || e.Fields[0].Name != "ondertekenaars.0.e-mail" ||
		!strings.Contains(e.Fields[0].Reason, "invited") {
		t.Errorf("without e-mail: %v %+v, want a 400 naming ondertekenaars.0.e-mail and why", err, e)
	}
}

// A provider that signs one after the other refuses signers who share a volgorde, naming the
// second; one that signs in parallel takes them.
func TestDecodeTriggerSequentialProvider(t *testing.T) {
	b := mutate(t, func(m map[string]any) { signer(m, 1)["volgorde"] = 1 })
	if _, err := DecodeTrigger(b, testOpts); err != nil {
		t.Fatalf("parallel signers refused by a parallel provider: %v", err)
	}
	_, err := DecodeTrigger(b, ValidateOptions{AuthMethods: testOpts.AuthMethods, Sequential: true})
	var e *signingd.Error
	if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Name != "ondertekenaars.1.volgorde" || e.Fields[0].Code != "unsupported" {
		t.Fatalf("err = %v, want ondertekenaars.1.volgorde unsupported", err)
	}
	if _, err := DecodeTrigger(readExample(t, "trigger-full.json"), ValidateOptions{AuthMethods: testOpts.AuthMethods, Sequential: true}); err != nil {
		t.Fatalf("signers one after the other refused by a sequential provider: %v", err)
	}
}

// A provider that cannot take documents refuses every trigger, naming documenten with its reason.
func TestDecodeTriggerProviderWithoutDocuments(t *testing.T) {
	_, err := DecodeTrigger(readExample(t, "trigger-full.json"), ValidateOptions{AuthMethods: testOpts.AuthMethods, NoDocuments: "Deze editie neemt geen documenten aan."})
	var e *signingd.Error
	if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Name != "documenten" || e.Fields[0].Code != "unsupported" ||
		!strings.Contains(e.Fields[0].Reason, "Deze editie") {
		t.Fatalf("err = %v, want documenten unsupported with the provider's reason", err)
	}
}
