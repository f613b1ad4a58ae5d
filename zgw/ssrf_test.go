package zgw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// countingServer records every request it gets; the SSRF tests assert it got none.
type countingServer struct {
	*httptest.Server
	n       atomic.Int64
	mu      sync.Mutex
	headers []http.Header
}

func newCountingServer(t *testing.T, h http.HandlerFunc) *countingServer {
	cs := &countingServer{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.n.Add(1)
		cs.mu.Lock()
		cs.headers = append(cs.headers, r.Header.Clone())
		cs.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, `{"lock":"stolen"}`)
	}))
	t.Cleanup(cs.Close)
	return cs
}

func TestSSRFRefused(t *testing.T) {
	evil := newCountingServer(t, nil)
	evilURL, _ := url.Parse(evil.URL)
	var drcHits atomic.Int64
	drc := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		drcHits.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/redirect-away/lock"):
			http.Redirect(w, r, evil.URL+"/api/v1/enkelvoudiginformatieobjecten/x/lock", http.StatusTemporaryRedirect)
		case strings.HasSuffix(r.URL.Path, "/redirect-localhost/lock"):
			http.Redirect(w, r, "http://localhost:"+evilURL.Port()+"/api/v1/x/lock", http.StatusTemporaryRedirect)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/enkelvoudiginformatieobjecten"):
			// A hostile or broken DRC pointing the part uploads elsewhere.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"url":"%s/api/v1/enkelvoudiginformatieobjecten/new","lock":"l1","versie":1,"bestandsdelen":[{"url":"%s/api/v1/bestandsdelen/p1","volgnummer":1,"omvang":10,"voltooid":false,"lock":"l1"}]}`,
				"http://"+r.Host, evil.URL)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	drcURL, _ := url.Parse(drc.URL)
	reg := mustRegistry(t, testLandscape(ServiceSpec{Kind: KindDRC, APIRoot: drc.URL + "/api/v1",
		Auth: ServiceAuth{Mode: AuthZGWJWT, ClientID: "signingd", Secret: "s3cret"}}))
	cl := NewClient(reg, testRSIN, ClientOptions{Upload: UploadOptions{PartThreshold: 5}})
	ctx := context.Background()

	refused := []string{
		evil.URL + "/api/v1/enkelvoudiginformatieobjecten/x",                                     // another host
		"http://localhost:" + drcURL.Port() + "/api/v1/enkelvoudiginformatieobjecten/x",          // same server, other name
		"http://" + drcURL.Host + "@" + evilURL.Host + "/api/v1/enkelvoudiginformatieobjecten/x", // drc@evil
		"http://[::1]:" + evilURL.Port() + "/api/v1/enkelvoudiginformatieobjecten/x",             // IP literal
		"http://127.1:" + evilURL.Port() + "/api/v1/enkelvoudiginformatieobjecten/x",             // short IP form
		drc.URL + "/api/v1/../../admin",                                                          // path escape
		drc.URL + "/other/enkelvoudiginformatieobjecten/x",                                       // outside root
	}
	for _, u := range refused {
		_, err := cl.Lock(ctx, u)
		var ue *URLError
		if !errors.As(err, &ue) || !IsPermanent(err) {
			t.Errorf("Lock(%q) = %v, want a permanent *URLError", u, err)
		}
		if _, err := cl.Download(ctx, u, 1); !errors.As(err, &ue) {
			t.Errorf("Download(%q) = %v, want *URLError", u, err)
		}
	}
	if n := drcHits.Load(); n != 0 {
		t.Errorf("the DRC got %d requests for refused URLs", n)
	}

	for _, u := range []string{drc.URL + "/api/v1/redirect-away", drc.URL + "/api/v1/redirect-localhost"} {
		_, err := cl.Lock(ctx, u)
		var re *RedirectError
		if !errors.As(err, &re) || !IsPermanent(err) {
			t.Errorf("redirect %s: %v, want a permanent *RedirectError", u, err)
		}
	}

	// Bestandsdelen URLs come from the DRC's answer and are checked like trigger URLs.
	_, err := cl.CreateEIO(ctx, "", EIOFields{Titel: "x"}, &Content{Reader: strings.NewReader("0123456789"), Size: 10})
	var ue *URLError
	if !errors.As(err, &ue) {
		t.Errorf("part upload to another host: %v, want *URLError", err)
	}
	if n := evil.n.Load(); n != 0 {
		t.Fatalf("the other host got %d requests", n)
	}
}

// A redirect on the same host but outside the API root is followed without credentials; one that
// stays under the root keeps them.
func TestRedirectStripsCredentials(t *testing.T) {
	var mu sync.Mutex
	auth := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth[r.URL.Path] = r.Header.Get("Authorization")
		mu.Unlock()
		switch r.URL.Path {
		case "/api/v1/enkelvoudiginformatieobjecten/a/download":
			http.Redirect(w, r, "/public/a.pdf", http.StatusFound)
		case "/api/v1/enkelvoudiginformatieobjecten/b/download":
			http.Redirect(w, r, "/api/v1/inhoud/b", http.StatusFound)
		default:
			fmt.Fprint(w, "content")
		}
	}))
	defer srv.Close()
	reg := mustRegistry(t, testLandscape(ServiceSpec{Kind: KindDRC, APIRoot: srv.URL + "/api/v1",
		Auth: ServiceAuth{Mode: AuthZGWJWT, ClientID: "signingd", Secret: "s3cret"}}))
	cl := NewClient(reg, testRSIN, ClientOptions{})
	for _, id := range []string{"a", "b"} {
		rc, err := cl.Download(context.Background(), srv.URL+"/api/v1/enkelvoudiginformatieobjecten/"+id, 0)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if auth["/api/v1/enkelvoudiginformatieobjecten/a/download"] == "" {
		t.Error("no credentials on the configured service")
	}
	if got := auth["/public/a.pdf"]; got != "" {
		t.Errorf("credentials sent outside the API root: %q", got)
	}
	if got := auth["/api/v1/inhoud/b"]; !strings.HasPrefix(got, "Bearer ") {
		t.Errorf("credentials dropped inside the API root: %q", got)
	}
}

// A document URL from a DRC's answer goes on to the ZRC only if it passes the check a trigger URL
// passes: under a configured DRC root, no query, no ;-parameters.
func TestAnswerURLsSentOnAreChecked(t *testing.T) {
	zrc := newCountingServer(t, nil)
	reg := mustRegistry(t, testLandscape(
		ServiceSpec{Kind: KindDRC, APIRoot: "https://drc.example/api/v1", Auth: ServiceAuth{Mode: AuthNone}},
		ServiceSpec{Kind: KindZRC, APIRoot: zrc.URL + "/api/v1", Auth: ServiceAuth{Mode: AuthNone}}))
	cl := NewClient(reg, testRSIN, ClientOptions{})
	zaak := zrc.URL + "/api/v1/zaken/2cc803a9-7404-4289-8f3d-f2300f666eac"
	for _, doc := range []string{
		"https://evil.example/api/v1/enkelvoudiginformatieobjecten/x",
		"https://drc.example/api/v1/enkelvoudiginformatieobjecten/x?download=1",
		"https://drc.example/api/v1/enkelvoudiginformatieobjecten/x;v=1",
		"https://drc.example/api/v1/enkelvoudiginformatieobjecten/x#f",
		"https://drc.example/api/v1/enkelvoudiginformatieobjecten/../../x",
		"https://drc.other.example/api/v1/enkelvoudiginformatieobjecten/x", // another organisation's DRC
	} {
		_, err := cl.CreateZaakInformatieObject(context.Background(), ZaakInformatieObject{Informatieobject: doc, Zaak: zaak})
		var ue *URLError
		if !errors.As(err, &ue) {
			t.Errorf("%s: %v, want *URLError", doc, err)
		}
	}
	if n := zrc.n.Load(); n != 0 {
		t.Fatalf("the ZRC got %d requests", n)
	}
}
