package e2e

import (
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/docuseal"
	"github.com/signingd/signingd/signing/providers/docuseal/docusealsim"
)

// TestConformanceDocuSeal runs the conformance suite against the DocuSeal (Pro) simulator, which
// checks the adapter's requests, and its own answers and webhooks, against DocuSeal's OpenAPI
// document.
func TestConformanceDocuSeal(t *testing.T) {
	t.Parallel()
	conformance(t, func() vendorKit { return newDocuSealKit(t) })
}

const (
	docuSealAPIKey = "e2e-docuseal-token"
	docuSealSecret = "whsec_ZTJlLWRvY3VzZWFsLXNlY3JldA"
)

// docuSealKit is the DocuSeal simulator as a vendorKit.
type docuSealKit struct {
	sim  *docusealsim.Server
	free bool // the community edition
}

func newDocuSealKit(t testing.TB) *docuSealKit {
	s, err := docusealsim.New(docusealsim.Options{APIKey: docuSealAPIKey, RetryScale: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &docuSealKit{sim: s}
}

func (k *docuSealKit) Name() string            { return docuseal.Name }
func (k *docuSealKit) Handler() http.Handler   { return k.sim.Handler() }
func (k *docuSealKit) Root() *x509.Certificate { return k.sim.Root() }
func (k *docuSealKit) SetWebhook(url string)   { k.sim.SetWebhook(url, docuSealSecret) }
func (k *docuSealKit) SMS() string             { return signing.AuthSMS }
func (k *docuSealKit) Lacks() string           { return "" }

// Signatures: DocuSeal signs a completed document once, with its own certificate.
func (k *docuSealKit) Signatures(int) int { return 1 }

// Close fails the test when a request, an answer or a webhook left DocuSeal's OpenAPI document.
func (k *docuSealKit) Close(t testing.TB) {
	k.sim.Close()
	for _, e := range k.sim.ShapeErrors() {
		t.Errorf("the DocuSeal adapter sent a request outside DocuSeal's OpenAPI document: %s", e)
	}
	for _, e := range k.sim.AnswerErrors() {
		t.Errorf("the DocuSeal simulator answered outside DocuSeal's OpenAPI document: %s", e)
	}
}

func (k *docuSealKit) Provider(baseURL string, poll time.Duration) signing.Provider {
	edition := docuseal.EditionPro
	if k.free {
		edition = docuseal.EditionFree
	}
	p, err := docuseal.New(docuseal.Config{BaseURL: baseURL + "/api", APIKey: docuSealAPIKey, WebhookSecret: docuSealSecret, PollInterval: poll, Edition: edition})
	if err != nil {
		panic(err)
	}
	return p
}

func (k *docuSealKit) Sign(t testing.TB, ref, email string) {
	t.Helper()
	retryUntil(t, "sign as "+email, func() error { return k.sim.Sign(ref, email) })
}

func (k *docuSealKit) Decline(t testing.TB, ref, email, reason string) {
	t.Helper()
	retryUntil(t, "decline as "+email, func() error { return k.sim.Decline(ref, email, reason) })
}

func (k *docuSealKit) Expire(t testing.TB, ref string) {
	t.Helper()
	retryUntil(t, "expire", func() error { return k.sim.Expire(ref) })
}

// TestDocuSealFreeEditionRefusesAtIntake: an organisation signed for by DocuSeal's free edition,
// which takes no documents through its API, gets a 400 naming documenten with the reason, and
// nothing is stored or sent to DocuSeal.
func TestDocuSealFreeEditionRefusesAtIntake(t *testing.T) {
	t.Parallel()
	kit := newDocuSealKit(t)
	kit.free = true
	e := newEnv(t, envOptions{kit: kit})
	status, body := e.do(http.MethodPost, "/api/v1/transactions", e.scenario(1, 1).trigger)
	if status != http.StatusBadRequest || !strings.Contains(string(body), `"name":"documenten"`) || !strings.Contains(string(body), "gratis editie") {
		t.Fatalf("trigger at the free edition: %d %s; want 400 naming documenten with the reason", status, body)
	}
	if n := e.transactions(); n != 0 {
		t.Errorf("%d transactions stored", n)
	}
	if n := kit.sim.Submissions(); n != 0 {
		t.Errorf("%d submissions at DocuSeal", n)
	}
}
