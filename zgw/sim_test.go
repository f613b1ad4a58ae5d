package zgw_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/zgw"
	"github.com/signingd/signingd/zgw/sim"
)

const rsin = "002220647"

// env is a sim on loopback and a client configured with all four of its APIs.
type env struct {
	sim *sim.Server
	c   *zgw.Client
	reg *zgw.Registry
}

type envOpts struct {
	sim    sim.Options
	auth   zgw.ServiceAuth
	now    func() time.Time
	upload zgw.UploadOptions
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	srv := sim.NewServer(o.sim)
	t.Cleanup(srv.Close)
	var services []zgw.ServiceSpec
	for kind, root := range map[string]string{zgw.KindDRC: srv.DRC(), zgw.KindZRC: srv.ZRC(),
		zgw.KindNRC: srv.NRC(), zgw.KindZTC: srv.ZTC()} {
		services = append(services, zgw.ServiceSpec{Kind: kind, APIRoot: root, Auth: o.auth})
	}
	reg, err := zgw.NewRegistry([]zgw.Organisation{{RSIN: rsin, Services: services}},
		zgw.RegistryOptions{Now: o.now})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: validatingTransport(t, srv.HTTP.Client().Transport)}
	return &env{sim: srv, reg: reg, c: zgw.NewClient(reg, rsin, zgw.ClientOptions{HTTPClient: hc, Now: o.now, Upload: o.upload})}
}

func TestSimDocumentCalls(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	read := testkit.ReadAll(t)
	orig := []byte("origineel document, versie 1")
	doc, err := e.sim.SeedDocument(orig, sim.DocumentSeed{Titel: "Besluit", Bestandsnaam: "besluit.docx",
		Formaat: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Status: "in_bewerking"})
	if err != nil {
		t.Fatal(err)
	}

	eio, err := e.c.RetrieveEIO(ctx, doc, 1)
	if err != nil {
		t.Fatal(err)
	}
	if eio.Versie != 1 || eio.Titel != "Besluit" || eio.Locked || eio.Ondertekening != nil || eio.Integriteit != nil {
		t.Errorf("retrieved %+v", eio)
	}
	if got := read(e.c.Download(ctx, doc, 1)); !bytes.Equal(got, orig) {
		t.Errorf("download v1 = %q", got)
	}
	if got := read(e.c.DownloadInhoud(ctx, eio.Inhoud)); !bytes.Equal(got, orig) {
		t.Errorf("download via inhoud = %q", got)
	}

	lock, err := e.c.Lock(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Lock(ctx, doc); !zgw.IsLocked(err) || zgw.IsTransient(err) {
		t.Errorf("second lock: %v, want IsLocked", err)
	}
	if _, err := e.c.UpdateEIO(ctx, doc, "not-the-lock", zgw.EIOFields{Titel: "x"}, nil); !zgw.IsWrongLock(err) || !zgw.IsPermanent(err) {
		t.Errorf("update with wrong lock: %v, want IsWrongLock", err)
	}

	signed := []byte("%PDF-1.7 ondertekend")
	sum := sha256.Sum256(signed)
	today := time.Now().Format(time.DateOnly)
	v2, err := e.c.UpdateEIO(ctx, doc, lock, zgw.EIOFields{
		Bestandsnaam: "besluit.pdf", Formaat: "application/pdf", Status: "definitief",
		Ondertekening: &zgw.Ondertekening{Soort: "digitaal", Datum: today},
		Integriteit:   &zgw.Integriteit{Algoritme: "sha_256", Waarde: hex.EncodeToString(sum[:]), Datum: today},
	}, &zgw.Content{Reader: bytes.NewReader(signed), Size: int64(len(signed))})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Versie != 2 || v2.Ondertekening == nil || v2.Ondertekening.Soort != "digitaal" || v2.Bestandsomvang == nil || *v2.Bestandsomvang != int64(len(signed)) {
		t.Errorf("new version %+v", v2)
	}
	if err := e.c.Unlock(ctx, doc, lock); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Unlock(ctx, doc, lock); !zgw.IsWrongLock(err) {
		t.Errorf("unlock of an unlocked document: %v, want IsWrongLock", err)
	}
	if got := read(e.c.Download(ctx, doc, 2)); !bytes.Equal(got, signed) {
		t.Errorf("download v2 = %q", got)
	}
	if got := read(e.c.Download(ctx, doc, 1)); !bytes.Equal(got, orig) {
		t.Errorf("download v1 after update = %q", got)
	}
	if old, err := e.c.RetrieveEIO(ctx, doc, 1); err != nil || old.Versie != 1 || old.Bestandsnaam != "besluit.docx" {
		t.Errorf("v1 after update: %+v, %v", old, err)
	}
	if latest, err := e.c.RetrieveEIO(ctx, doc, 0); err != nil || latest.Versie != 2 || latest.Integriteit == nil {
		t.Errorf("latest: %+v, %v", latest, err)
	}

	// Forced unlock needs documenten.geforceerd-unlock, which the default sim scopes lack.
	if _, err := e.sim.LockDocument(doc); err != nil {
		t.Fatal(err)
	}
	if err := e.c.ForceUnlock(ctx, doc); err == nil || !zgw.IsPermanent(err) {
		t.Errorf("forced unlock without scope: %v", err)
	}
}

func TestSimForcedUnlock(t *testing.T) {
	e := newEnv(t, envOpts{
		sim:  sim.Options{Tokens: sim.TokensOpenZaak, Clients: map[string]sim.Client{"signingd": {Secret: "geheim", Scopes: []string{sim.AllScopes}}}},
		auth: zgw.ServiceAuth{Mode: zgw.AuthZGWJWT, ClientID: "signingd", Secret: "geheim", UserID: "signingd", UserRepresentation: "Ondertekenservice"},
	})
	doc, _ := e.sim.SeedDocument([]byte("x"), sim.DocumentSeed{})
	if _, err := e.sim.LockDocument(doc); err != nil {
		t.Fatal(err)
	}
	if err := e.c.ForceUnlock(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	if locks := e.sim.Locks(); len(locks) != 0 {
		t.Errorf("locks after forced unlock: %+v", locks)
	}
}

func TestSimZaakAndNotificaties(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	read := testkit.ReadAll(t)
	iot := e.sim.DefaultIOT()
	zaakURL, err := e.sim.SeedZaak(sim.ZaakSeed{Informatieobjecttypen: []string{iot}})
	if err != nil {
		t.Fatal(err)
	}
	zaak, err := e.c.RetrieveZaak(ctx, zaakURL)
	if err != nil {
		t.Fatal(err)
	}
	if zaak.URL != zaakURL || zaak.Bronorganisatie != sim.DefaultRSIN || zaak.Zaaktype == "" {
		t.Errorf("zaak %+v", zaak)
	}
	it, err := e.c.RetrieveInformatieObjectType(ctx, iot)
	if err != nil || it.URL != iot || it.Concept {
		t.Errorf("iot %+v, %v", it, err)
	}
	// The zaaktype's allowed informatieobjecttypen (Catalogi 1.3: by omschrijving), every page.
	unrelated := e.sim.SeedInformatieobjecttype(sim.IOTSeed{Omschrijving: "Niet bij dit zaaktype"})
	rels, err := e.c.ListZaaktypeInformatieObjectTypen(ctx, zaak.Zaaktype)
	if err != nil || len(rels) != 1 || rels[0].Informatieobjecttype != it.Omschrijving || rels[0].Zaaktype != zaak.Zaaktype {
		t.Errorf("zaaktype-informatieobjecttypen %+v, %v; want only %q", rels, err, it.Omschrijving)
	}
	if unrelated == iot {
		t.Fatal("seeded the same informatieobjecttype twice")
	}

	f := false
	bewijs := []byte("%PDF-1.7 bewijs van ondertekening")
	created, err := e.c.CreateEIO(ctx, "", zgw.EIOFields{Bronorganisatie: zaak.Bronorganisatie, Creatiedatum: time.Now().Format(time.DateOnly),
		Titel: "Bewijs van ondertekening", Auteur: "Ondertekenservice", Taal: "dut", Informatieobjecttype: iot,
		Status: "definitief", Formaat: "application/pdf", Bestandsnaam: "bewijs.pdf", IndicatieGebruiksrecht: &f},
		&zgw.Content{Reader: bytes.NewReader(bewijs), Size: int64(len(bewijs))})
	if err != nil {
		t.Fatal(err)
	}
	if created.Versie != 1 || created.Locked {
		t.Errorf("created %+v", created)
	}
	if got := read(e.c.Download(ctx, created.URL, 1)); !bytes.Equal(got, bewijs) {
		t.Errorf("bewijs content %q", got)
	}

	existing, err := e.c.ListZaakInformatieObjecten(ctx, zaakURL, created.URL)
	if err != nil || len(existing) != 0 {
		t.Fatalf("before link: %v, %v", existing, err)
	}
	zio, err := e.c.CreateZaakInformatieObject(ctx, zgw.ZaakInformatieObject{Informatieobject: created.URL, Zaak: zaakURL, Titel: "Bewijs"})
	if err != nil {
		t.Fatal(err)
	}
	if zio.URL == "" || zio.Zaak != zaakURL || zio.Informatieobject != created.URL {
		t.Errorf("zio %+v", zio)
	}
	existing, err = e.c.ListZaakInformatieObjecten(ctx, zaakURL, created.URL)
	if err != nil || len(existing) != 1 || existing[0].URL != zio.URL {
		t.Errorf("after link: %+v, %v", existing, err)
	}

	// zrc-017: an IOT not allowed for the zaaktype is refused, permanently.
	other := e.sim.SeedInformatieobjecttype(sim.IOTSeed{Omschrijving: "Ander"})
	doc2, err := e.c.CreateEIO(ctx, "", zgw.EIOFields{Bronorganisatie: rsin, Creatiedatum: "2025-03-27", Titel: "t",
		Auteur: "a", Taal: "dut", Informatieobjecttype: other}, &zgw.Content{Reader: strings.NewReader("x"), Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.CreateZaakInformatieObject(ctx, zgw.ZaakInformatieObject{Informatieobject: doc2.URL, Zaak: zaakURL}); !zgw.IsPermanent(err) || zgw.StatusCode(err) != 400 {
		t.Errorf("zrc-017: %v", err)
	}

	// Notificatie before the kanaal exists is refused; EnsureKanaal creates it once.
	n := zgw.Notificatie{Kanaal: "documentacties", HoofdObject: zaakURL, Resource: "zaak", ResourceURL: zaakURL,
		Actie: "OndertekenenGereed", Aanmaakdatum: time.Now().UTC().Truncate(time.Second),
		Kenmerken: map[string]string{"transaction_id": "3f2c6a4e-0000-4000-8000-000000000001"}}
	if _, err := e.c.Notify(ctx, "", n); zgw.StatusCode(err) != 400 {
		t.Errorf("notify on a missing kanaal: %v", err)
	}
	k := zgw.Kanaal{Naam: "documentacties", DocumentatieLink: "https://dev.oneground.nl/blog/integrating-signing-software-with-zgw"}
	k1, err := e.c.EnsureKanaal(ctx, "", k)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := e.c.EnsureKanaal(ctx, "", k)
	if err != nil || k2.URL != k1.URL {
		t.Errorf("second EnsureKanaal: %+v, %v (first %+v)", k2, err, k1)
	}
	if ks, err := e.c.ListKanalen(ctx, "", ""); err != nil || len(ks) != 1 {
		t.Errorf("kanalen %+v, %v", ks, err)
	}
	if _, err := e.c.CreateKanaal(ctx, "", k); zgw.StatusCode(err) != 400 {
		t.Errorf("duplicate kanaal: %v", err)
	}
	out, err := e.c.Notify(ctx, "", n)
	if err != nil {
		t.Fatal(err)
	}
	if out.Kanaal != n.Kanaal || out.Kenmerken["transaction_id"] != n.Kenmerken["transaction_id"] {
		t.Errorf("notify echo %+v", out)
	}
	if got := e.sim.Notifications(); len(got) != 1 {
		t.Errorf("sim stored %d notifications", len(got))
	}
}

// genReader yields n deterministic pseudo-random bytes without storing them.
func genReader(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1, 2, 3}), n)
}

func hashOf(t testing.TB, r io.Reader) string {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// uploadVersion writes size generated bytes as a new version through bestandsdelen and checks the
// DRC assembled exactly those bytes.
func uploadVersion(t testing.TB, e *env, size int64) {
	ctx := context.Background()
	doc, err := e.sim.SeedDocument([]byte("v1"), sim.DocumentSeed{})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := e.c.Lock(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	eio, err := e.c.UpdateEIO(ctx, doc, lock, zgw.EIOFields{Bestandsnaam: "groot.pdf", Formaat: "application/pdf"},
		&zgw.Content{Reader: genReader(7, size), Size: size})
	if err != nil {
		t.Fatal(err)
	}
	if len(eio.Bestandsdelen) < 2 {
		t.Fatalf("no chunked upload: %d bestandsdelen", len(eio.Bestandsdelen))
	}
	if err := e.c.Unlock(ctx, doc, lock); err != nil {
		t.Fatal(err)
	}
	latest, err := e.c.RetrieveEIO(ctx, doc, 0)
	if err != nil || latest.Versie != 2 || latest.Bestandsomvang == nil || *latest.Bestandsomvang != size || len(latest.Bestandsdelen) != 0 {
		t.Fatalf("after unlock: %+v, %v", latest, err)
	}
	if t, ok := t.(*testing.T); ok {
		rc, err := e.c.Download(ctx, doc, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if got, want := hashOf(t, rc), hashOf(t, genReader(7, size)); got != want {
			t.Fatalf("assembled content differs: %s, want %s", got, want)
		}
	}
}

func TestSimBestandsdelen(t *testing.T) {
	e := newEnv(t, envOpts{sim: sim.Options{PartSize: 1 << 20}, upload: zgw.UploadOptions{PartThreshold: 1 << 20}})
	uploadVersion(t, e, 3<<20+12345)

	// Create with bestandsdelen: the DRC locks the new document, the client uploads and unlocks.
	ctx := context.Background()
	size := int64(2<<20 + 1)
	eio, err := e.c.CreateEIO(ctx, "", zgw.EIOFields{Bronorganisatie: rsin, Creatiedatum: "2025-03-27", Titel: "groot bewijs",
		Auteur: "Ondertekenservice", Taal: "dut", Informatieobjecttype: e.sim.DefaultIOT()}, &zgw.Content{Reader: genReader(9, size), Size: size})
	if err != nil {
		t.Fatal(err)
	}
	if eio.Locked || eio.Bestandsomvang == nil || *eio.Bestandsomvang != size {
		t.Errorf("created %+v", eio)
	}
	rc, err := e.c.Download(ctx, eio.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, want := hashOf(t, rc), hashOf(t, genReader(9, size)); got != want {
		t.Error("created content differs")
	}

	// A short reader fails the upload instead of sending a wrong Content-Length.
	doc, _ := e.sim.SeedDocument([]byte("v1"), sim.DocumentSeed{})
	lock, _ := e.c.Lock(ctx, doc)
	if _, err := e.c.UpdateEIO(ctx, doc, lock, zgw.EIOFields{}, &zgw.Content{Reader: genReader(1, 10), Size: 2 << 20}); err == nil {
		t.Error("short content accepted")
	}
}

// Test200MiBBestandsdelen runs the 200 MiB document through bestandsdelen (about 2 s on loopback);
// -short skips it.
func Test200MiBBestandsdelen(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	e := newEnv(t, envOpts{sim: sim.Options{PartSize: 8 << 20}})
	start := time.Now()
	uploadVersion(t, e, 200<<20)
	t.Logf("200 MiB through bestandsdelen, verified: %v", time.Since(start))
}

func TestSimFaults(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	doc, _ := e.sim.SeedDocument([]byte("x"), sim.DocumentSeed{})

	e.sim.AddFault(sim.Fault{Kind: sim.FaultError, Status: 503, Times: 1})
	_, err := e.c.RetrieveEIO(ctx, doc, 0)
	if !zgw.IsTransient(err) || zgw.StatusCode(err) != 503 {
		t.Errorf("503: %v", err)
	}
	e.sim.AddFault(sim.Fault{Kind: sim.FaultRateLimit, RetryAfter: 12, Times: 1})
	_, err = e.c.Lock(ctx, doc)
	if d, ok := zgw.RetryAfter(err); !zgw.IsTransient(err) || zgw.StatusCode(err) != 429 || !ok || d != 12*time.Second {
		t.Errorf("429: %v (retry after %v)", err, d)
	}
	e.sim.AddFault(sim.Fault{Kind: sim.FaultDrop, Times: 1})
	_, err = e.c.Lock(ctx, doc)
	var ze *zgw.Error
	if !zgw.IsTransient(err) || errors.As(err, &ze) {
		t.Errorf("dropped connection: %v", err)
	}
	// After the faults, the calls work.
	if _, err := e.c.Lock(ctx, doc); err != nil {
		t.Errorf("after faults: %v", err)
	}
}

// Tokens as Open Zaak and OneGround check them: a client clock 20 s ahead makes iat lie in the
// future, which Open Zaak refuses and OneGround (iat ignored, 30 s skew) accepts; the correct clock
// passes both.
func TestSimTokenModes(t *testing.T) {
	auth := zgw.ServiceAuth{Mode: zgw.AuthZGWJWT, ClientID: "signingd", Secret: "geheim",
		UserID: "signingd", UserRepresentation: "Ondertekenservice", Claims: map[string]any{"exp": 300, "rsin": rsin}}
	clients := map[string]sim.Client{"signingd": {Secret: "geheim", Scopes: []string{"documenten.lezen"}}}
	ahead := func() time.Time { return time.Now().Add(20 * time.Second) }
	behind := func() time.Time { return time.Now().Add(-320 * time.Second) } // exp 20 s in the past
	for _, c := range []struct {
		name  string
		mode  sim.TokenMode
		now   func() time.Time
		code  string
		allow bool
	}{
		{"open zaak, true clock", sim.TokensOpenZaak, nil, "", true},
		{"open zaak, iat 20 s ahead", sim.TokensOpenZaak, ahead, "jwt-immaturesignatureerror", false},
		{"open zaak, exp 20 s past", sim.TokensOpenZaak, behind, "jwt-expired", false},
		{"oneground, true clock", sim.TokensOneGround, nil, "", true},
		{"oneground, iat 20 s ahead", sim.TokensOneGround, ahead, "", true},
		{"oneground, exp 20 s past", sim.TokensOneGround, behind, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOpts{sim: sim.Options{Tokens: c.mode, Clients: clients}, auth: auth, now: c.now})
			doc, _ := e.sim.SeedDocument([]byte("x"), sim.DocumentSeed{})
			_, err := e.c.RetrieveEIO(context.Background(), doc, 0)
			if c.allow {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ze *zgw.Error
			if !errors.As(err, &ze) || ze.Code != c.code || !zgw.IsPermanent(err) {
				t.Fatalf("err = %v, want code %s", err, c.code)
			}
		})
	}
	// Missing scope: 403 in both modes.
	e := newEnv(t, envOpts{sim: sim.Options{Tokens: sim.TokensOpenZaak, Clients: clients}, auth: auth})
	doc, _ := e.sim.SeedDocument([]byte("x"), sim.DocumentSeed{})
	if _, err := e.c.Lock(context.Background(), doc); zgw.StatusCode(err) != 403 {
		t.Errorf("lock without documenten.lock: %v", err)
	}
}
