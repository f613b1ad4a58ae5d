package e2e

import (
	"crypto/x509"
	"net/http"
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
type docuSealKit struct{ sim *docusealsim.Server }

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
	p, err := docuseal.New(docuseal.Config{BaseURL: baseURL + "/api", APIKey: docuSealAPIKey, WebhookSecret: docuSealSecret, PollInterval: poll})
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
