package zgw

import (
	"errors"
	"strings"
	"testing"
)

const testRSIN = "002220647"

func testLandscape(services ...ServiceSpec) []Organisation {
	return []Organisation{
		{RSIN: testRSIN, Services: services},
		{RSIN: "123456782", Services: []ServiceSpec{
			{Kind: KindDRC, APIRoot: "https://drc.other.example/api/v1"},
		}},
	}
}

func mustRegistry(t testing.TB, l []Organisation) *Registry {
	t.Helper()
	r, err := NewRegistry(l, RegistryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheckURL(t *testing.T) {
	r := mustRegistry(t, testLandscape(
		ServiceSpec{Kind: KindDRC, APIRoot: "https://DRC.example/documenten/api/v1/"},
		ServiceSpec{Kind: KindZRC, APIRoot: "https://zrc.example:8443/zaken/api/v1"},
		ServiceSpec{Kind: KindZTC, APIRoot: "http://127.0.0.1:8000/catalogi/api/v1"},
	))
	const eio = "https://drc.example/documenten/api/v1/enkelvoudiginformatieobjecten/f491249e-0651-4d22-a8a8-bb35885e9245"
	ok := []struct{ kind, url string }{
		{KindDRC, eio},
		{KindDRC, "https://drc.example:443/documenten/api/v1/enkelvoudiginformatieobjecten/x"},
		{KindDRC, "https://Drc.Example/documenten/api/v1/enkelvoudiginformatieobjecten/x?versie=2"},
		{KindDRC, "https://drc.example/documenten/api/v1"},
		{KindZRC, "https://zrc.example:8443/zaken/api/v1/zaken/1"},
		{KindZTC, "http://127.0.0.1:8000/catalogi/api/v1/informatieobjecttypen/1"},
	}
	for _, c := range ok {
		if err := r.CheckURL(testRSIN, c.kind, c.url); err != nil {
			t.Errorf("CheckURL(%s, %q) = %v, want nil", c.kind, c.url, err)
		}
	}
	bad := []struct{ kind, url, reason string }{
		{KindDRC, "", "empty"},
		{KindDRC, "https://evil.test/documenten/api/v1/enkelvoudiginformatieobjecten/x", "does not lie under"},
		{KindDRC, "https://drc.example@evil.test/documenten/api/v1/enkelvoudiginformatieobjecten/x", "userinfo"},
		{KindDRC, "https://user:pw@drc.example/documenten/api/v1/enkelvoudiginformatieobjecten/x", "userinfo"},
		{KindDRC, "https://drc.example.evil.test/documenten/api/v1/x", "does not lie under"},
		{KindDRC, "https://drc.example./documenten/api/v1/x", "does not lie under"},
		{KindDRC, "http://drc.example/documenten/api/v1/x", "does not lie under"},
		{KindDRC, "https://drc.example:8443/documenten/api/v1/x", "does not lie under"},
		{KindDRC, "https://drc.example/documenten/api/v10/x", "does not lie under"},
		{KindDRC, "https://drc.example/documenten/api/v1/../../admin", "dot segment"},
		{KindDRC, "https://drc.example/documenten/api/v1/%2e%2e/admin", "encoded dot"},
		{KindDRC, "https://drc.example/documenten/api/v1/a%2fb", "encoded slash"},
		{KindDRC, "https://drc.example/documenten/api/v1//x", "canonical"},
		{KindDRC, "https://drc.example/documenten/api/v1/x#frag", "fragment"},
		{KindDRC, "https://127.0.0.1/documenten/api/v1/x", "IP literal"},
		{KindDRC, "https://[::1]/documenten/api/v1/x", "IP literal"},
		{KindDRC, "https://2130706433/documenten/api/v1/x", "IP literal"},
		{KindDRC, "https://0x7f.0.0.1/documenten/api/v1/x", "IP literal"},
		{KindDRC, "file:///etc/passwd", "absolute http"},
		{KindDRC, "gopher://drc.example/documenten/api/v1/x", "scheme"},
		{KindDRC, "/documenten/api/v1/x", "absolute"},
		{KindDRC, "https://drc.example/documenten/api/v1/x y", "whitespace"},
		{KindZRC, eio, "does not lie under"}, // right org, wrong kind
		{KindNRC, "https://nrc.example/api/v1/kanaal", "no nrc service"},
		{KindZTC, "http://127.0.0.2:8000/catalogi/api/v1/informatieobjecttypen/1", "IP literal"},
	}
	for _, c := range bad {
		err := r.CheckURL(testRSIN, c.kind, c.url)
		var ue *URLError
		if !errors.As(err, &ue) {
			t.Errorf("CheckURL(%s, %q) = %v, want *URLError", c.kind, c.url, err)
			continue
		}
		if !strings.Contains(err.Error(), c.reason) {
			t.Errorf("CheckURL(%s, %q) = %q, want reason containing %q", c.kind, c.url, err, c.reason)
		}
	}
	// Another organisation's DRC is not ours, nor is ours theirs.
	if err := r.CheckURL(testRSIN, KindDRC, "https://drc.other.example/api/v1/enkelvoudiginformatieobjecten/x"); err == nil {
		t.Error("URL of another organisation's DRC accepted")
	}
	if err := r.CheckURL("123456782", KindDRC, eio); err == nil {
		t.Error("our DRC accepted for another organisation")
	}
	if err := r.CheckURL("999999999", KindDRC, eio); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("unknown organisation: %v", err)
	}
}

func TestResolveNormalises(t *testing.T) {
	r := mustRegistry(t, testLandscape(ServiceSpec{Kind: KindDRC, APIRoot: "https://drc.example:443/api/v1/"}))
	svc, u, err := r.Resolve(testRSIN, KindDRC, "https://DRC.example/api/v1/enkelvoudiginformatieobjecten/a?versie=3")
	if err != nil {
		t.Fatal(err)
	}
	if svc.Root != "https://drc.example/api/v1" {
		t.Errorf("root = %q", svc.Root)
	}
	if got := u.String(); got != "https://drc.example/api/v1/enkelvoudiginformatieobjecten/a?versie=3" {
		t.Errorf("url = %q", got)
	}
	if root, ok := r.Root(testRSIN, KindDRC); !ok || root != "https://drc.example/api/v1" {
		t.Errorf("Root = %q, %v", root, ok)
	}
}

func TestNewRegistryRefusesBadRoots(t *testing.T) {
	for _, root := range []string{"drc.example/api", "ftp://drc.example/", "https://u@drc.example/", "https://drc.example/a?x=1",
		"https://drc.example/a/../b", "https:///api"} {
		_, err := NewRegistry(testLandscape(ServiceSpec{Kind: KindDRC, APIRoot: root}), RegistryOptions{})
		if err == nil {
			t.Errorf("root %q accepted", root)
		}
	}
	_, err := NewRegistry(testLandscape(ServiceSpec{Kind: KindDRC, APIRoot: "https://drc.example/",
		Auth: ServiceAuth{Mode: AuthZGWJWT, ClientID: "x"}}), RegistryOptions{})
	if err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("zgw-jwt without secret: %v", err)
	}
}
