package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/zgw/sim"
)

// TestWorkflowProviderOutputChecked: the vendor hands back a signed PDF that is not what was sent.
// Each case aborts after collecting with a reden naming the document and what is wrong, before
// anything is uploaded: the DRC document keeps its one version, nothing is locked, and the case
// system gets one OndertekenenAfgebroken. A correct output (the original and a signature page with
// the vendor's signature) is the control.
func TestWorkflowProviderOutputChecked(t *testing.T) {
	t.Parallel()
	other := twoPagesSigned(t)
	cases := []struct {
		name   string
		output func(signed []byte) []byte
		reden  string
	}{
		{"not a PDF", func([]byte) []byte { return []byte("<html><body>Er is iets misgegaan</body></html>") },
			`Document "Besluit 1": de ondertekende versie van de leverancier is geen geldige PDF`},
		{"a page more that is no signature page", func([]byte) []byte { return other },
			`Document "Besluit 1": de ondertekende versie van de leverancier heeft 2 pagina's, het origineel 1`},
		{"the signature value altered", alterSignature,
			`Document "Besluit 1": de ondertekende versie van de leverancier heeft een handtekening die niet klopt`},
		{"bytes added after the last signature", func(b []byte) []byte { return append(b, "\n% na het ondertekenen\n"...) },
			`Document "Besluit 1": de ondertekende versie van de leverancier is na de laatste handtekening nog gewijzigd`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{autoSign: true})
			e.vendor.SetOutput(tc.output)
			sc := e.scenario(1, 1)
			id := e.start(sc)
			tx := e.aborted(id, tc.reden) // one notification, no lock left
			if tx.Reden != tc.reden {
				t.Errorf("reden %q, want %q", tx.Reden, tc.reden)
			}
			if vs, err := e.zgw.Versions(sc.docs[0]); err != nil || len(vs) != 1 {
				t.Errorf("versions %+v (%v), want only the original", vs, err)
			}
			if puts := len(e.zgw.RequestsTo(http.MethodPatch, lastSegment(sc.docs[0]))) + len(e.zgw.RequestsTo(http.MethodPost, lastSegment(sc.docs[0])+"/lock")); puts != 0 {
				t.Errorf("%d lock or update requests for the document, want none", puts)
			}
			status, body := e.do(http.MethodGet, "/api/v1/transactions/"+id, nil)
			var view struct {
				Reden string `json:"reden"`
			}
			if err := json.Unmarshal(body, &view); status != http.StatusOK || err != nil || view.Reden != tc.reden {
				t.Errorf("status API: %d %s, want reden %q", status, body, tc.reden)
			}
		})
	}
	t.Run("the vendor's real output", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{autoSign: true})
		sc := e.scenario(1, 1)
		id := e.start(sc)
		if tx := e.wait(id, 30*time.Second); tx.State != signing.StateCompleted {
			t.Fatalf("state %s reden %q", tx.State, tx.Reden)
		}
		if vs, err := e.zgw.Versions(sc.docs[0]); err != nil || len(vs) != 2 {
			t.Errorf("versions %+v (%v), want the signed version 2", vs, err)
		}
	})
}

// twoPagesSigned is a two-page PDF with a valid signature of a key that is not the vendor's: a
// signed file, but of another document than the one-page original.
func twoPagesSigned(t *testing.T) []byte {
	t.Helper()
	lines := make([]string, 80)
	for i := range lines {
		lines[i] = "Regel " + strconv.Itoa(i+1) + " van een ander document"
	}
	doc, err := report.Plain(lines...)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Andere leverancier"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := pades.Sign(context.Background(), bytes.NewReader(doc), int64(len(doc)), &out,
		pades.Options{Signer: key, Certificates: []*x509.Certificate{cert}, Invisible: true}); err != nil {
		t.Fatal(err)
	}
	ins, err := pades.Verify(context.Background(), bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil || ins.Pages != 2 || ins.SignaturePages != 0 {
		t.Fatalf("the other document: %+v, %v; want two pages, validly signed", ins, err)
	}
	return out.Bytes()
}

var byteRangeRE = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// alterSignature changes one hex digit near the end of the last signature's CMS, in its signature
// value (the zeros after it are padding).
func alterSignature(signed []byte) []byte {
	ms := byteRangeRE.FindAllSubmatch(signed, -1)
	if len(ms) == 0 {
		return signed // not signed: the check finds that too
	}
	m := ms[len(ms)-1]
	start, _ := strconv.Atoi(string(m[2]))
	end, _ := strconv.Atoi(string(m[3]))
	hexDigits := strings.TrimRight(string(signed[start+1:end-1]), "0")
	i := start + 1 + len(hexDigits) - 10
	if signed[i] == 'a' {
		signed[i] = 'b'
	} else {
		signed[i] = 'a'
	}
	return signed
}

// TestWorkflowUploadPartsGivenUp: the DRC refuses every part of a signed document's new version.
// On the upload step's last attempt the lock is released instead of left for a person to force
// open, and the transaction aborts with a reden saying what the DRC keeps: version 2, without
// content. The simulated DRC (as Open Zaak) unlocks incomplete parts only for a client with
// documenten.geforceerd-unlock, abandoning them; without that scope the document stays locked,
// and the reden says so.
func TestWorkflowUploadPartsGivenUp(t *testing.T) {
	t.Parallel()
	for _, forced := range []bool{true, false} {
		t.Run(map[bool]string{true: "forced", false: "no scope"}[forced], func(t *testing.T) {
			t.Parallel()
			o := envOptions{autoSign: true, sim: sim.Options{PartSize: 512},
				jobs: func(c *jobsConfig) { c.PartThreshold = 1 << 10; c.MaxAttempts = 3 }}
			scopes := slices.Clone(sim.DefaultScopes)
			if forced {
				scopes = append(scopes, "documenten.geforceerd-unlock")
			}
			forcedUnlockAuth(&o, scopes...)
			e := newEnv(t, o)
			e.zgw.AddFault(sim.Fault{Kind: sim.FaultError, Status: 503, Method: http.MethodPut, PathPrefix: sim.DRCPath + "/bestandsdelen/", Times: 1000})
			sc := e.scenario(1, 1)
			id := e.start(sc)
			if !forced {
				want := `Document "Besluit 1": upload in delen mislukt; het document blijft vergrendeld met een nieuwe versie zonder inhoud;` +
					` geforceerd ontgrendelen is niet toegestaan (scope documenten.geforceerd-unlock ontbreekt)`
				if tx := e.wait(id, 30*time.Second); tx.State != signing.StateAborted || tx.Reden != want {
					t.Fatalf("state %s reden %q, want aborted with %q", tx.State, tx.Reden, want)
				}
				if msgs := e.waitMessages(id, 1); len(msgs) != 1 || msgs[0].Actie != signing.ActieAfgebroken || msgs[0].Kenmerken["reden"] != want {
					t.Errorf("notifications %+v", msgs)
				}
				if l := e.zgw.Locks(); len(l) != 1 {
					t.Errorf("locks %v, want the document still locked, as the reden says", l)
				}
				return
			}
			want := `Document "Besluit 1": upload in delen mislukt; vergrendeling opgeheven, nieuwe versie 2 zonder inhoud blijft bestaan`
			if tx := e.aborted(id, want); tx.Reden != want { // one notification, no lock left
				t.Errorf("reden %q, want %q", tx.Reden, want)
			}
			checkEmptyVersion(t, e, sc)
		})
	}
}

// TestWorkflowUploadPartsCancelledGivenUp: cancelled while the parts of a signed document's new
// version keep being refused, the abort tries to finish the upload with the stored lock; when its
// last attempt cannot either, it releases the lock rather than give up on it (the scope
// documenten.geforceerd-unlock lets the DRC drop the incomplete parts), and adds what the DRC keeps
// to the reden.
func TestWorkflowUploadPartsCancelledGivenUp(t *testing.T) {
	t.Parallel()
	o := envOptions{autoSign: true, sim: sim.Options{PartSize: 512}, jobs: func(c *jobsConfig) {
		c.PartThreshold = 1 << 10
		c.MaxAttempts = 4
		c.RetryBase, c.RetryMax = 300*time.Millisecond, 600*time.Millisecond
	}}
	forcedUnlockAuth(&o, append(slices.Clone(sim.DefaultScopes), "documenten.geforceerd-unlock")...)
	e := newEnv(t, o)
	e.zgw.AddFault(sim.Fault{Kind: sim.FaultError, Status: 503, Method: http.MethodPut, PathPrefix: sim.DRCPath + "/bestandsdelen/", Times: 1000})
	sc := e.scenario(1, 1)
	id := e.start(sc)
	e.waitFault("the upload in parts")
	e.cancel(id, "toch niet")
	want := `Ingetrokken: toch niet; Document "Besluit 1": upload mislukt; vergrendeling opgeheven, nieuwe versie 2 zonder inhoud blijft bestaan`
	if tx := e.aborted(id, want); tx.Reden != want {
		t.Errorf("reden %q, want %q", tx.Reden, want)
	}
	checkEmptyVersion(t, e, sc)
}

// checkEmptyVersion: the document has its original and the version the abandoned upload made,
// without content, and is not locked.
func checkEmptyVersion(t *testing.T, e *env, sc scenario) {
	t.Helper()
	vs, err := e.zgw.Versions(sc.docs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || !vs[0].HasContent || vs[1].HasContent {
		t.Errorf("versions %+v, want the original and a version 2 without content", vs)
	}
	if l := e.zgw.Locks(); len(l) != 0 {
		t.Errorf("locks left: %v", l)
	}
}
