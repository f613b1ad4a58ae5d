package e2e

import (
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/documenso"
	"github.com/signingd/signingd/signing/providers/documenso/documensosim"
)

// TestConformanceDocumenso runs the conformance suite against the Documenso simulator (with
// e-mail codes where the suite asks for SMS: Documenso has none).
func TestConformanceDocumenso(t *testing.T) {
	t.Parallel()
	conformance(t, func() vendorKit { return newDocumensoKit(t) })
}

const (
	documensoAPIKey = "api_e2econformance01"
	documensoSecret = "e2e-documenso-webhook-secret"
)

// documensoKit is the Documenso simulator as a vendorKit.
type documensoKit struct{ sim *documensosim.Server }

func newDocumensoKit(t testing.TB) *documensoKit {
	s, err := documensosim.New(documensosim.Options{APIKey: documensoAPIKey, RetryDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &documensoKit{sim: s}
}

func (k *documensoKit) Name() string            { return documenso.Name }
func (k *documensoKit) Handler() http.Handler   { return k.sim.Handler() }
func (k *documensoKit) Root() *x509.Certificate { return k.sim.Root() }
func (k *documensoKit) SetWebhook(url string)   { k.sim.SetWebhook(url, documensoSecret) }
func (k *documensoKit) SMS() string             { return signing.AuthEmail }
func (k *documensoKit) Lacks() string           { return signing.AuthSMS }

// Signatures: Documenso seals a completed document once, with its own certificate.
func (k *documensoKit) Signatures(int) int { return 1 }

// Close fails the test when the adapter sent anything Documenso's request schemas lack.
func (k *documensoKit) Close(t testing.TB) {
	k.sim.Close()
	for _, e := range k.sim.ShapeErrors() {
		t.Errorf("the Documenso adapter sent a request the vendor refuses: %s", e)
	}
}

func (k *documensoKit) Provider(baseURL string, poll time.Duration) signing.Provider {
	p, err := documenso.New(documenso.Config{BaseURL: baseURL, APIKey: documensoAPIKey, WebhookSecret: documensoSecret, PollInterval: poll})
	if err != nil {
		panic(err)
	}
	return p
}

func (k *documensoKit) Sign(t testing.TB, ref, email string) {
	t.Helper()
	retryUntil(t, "sign as "+email, func() error { return k.sim.Sign(ref, email) })
}

func (k *documensoKit) Decline(t testing.TB, ref, email, reason string) {
	t.Helper()
	retryUntil(t, "reject as "+email, func() error { return k.sim.Reject(ref, email, reason) })
}

func (k *documensoKit) Expire(t testing.TB, ref string) {
	t.Helper()
	retryUntil(t, "expire", func() error { return k.sim.Expire(ref) })
}
