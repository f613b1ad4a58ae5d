package e2e

import (
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/onespan"
	"github.com/signingd/signingd/signing/providers/onespan/onespansim"
)

// TestConformanceOneSpan runs the conformance suite against the OneSpan Sign / ValidSign
// simulator, and checks that the adapter sent nothing but the vendor's own shapes.
func TestConformanceOneSpan(t *testing.T) {
	t.Parallel()
	conformance(t, func() vendorKit { return newOneSpanKit() })
}

const (
	oneSpanAPIKey      = "ZTJlLW9uZXNwYW4ta2V5"
	oneSpanCallbackKey = "e2e-onespan-callback-key"
)

// oneSpanKit is the OneSpan simulator as a vendorKit.
type oneSpanKit struct{ sim *onespansim.Server }

func newOneSpanKit() *oneSpanKit {
	return &oneSpanKit{sim: onespansim.New(onespansim.Options{APIKey: oneSpanAPIKey})}
}

func (k *oneSpanKit) Name() string            { return onespan.DefaultName }
func (k *oneSpanKit) Handler() http.Handler   { return k.sim.Handler() }
func (k *oneSpanKit) Root() *x509.Certificate { return k.sim.Root() }
func (k *oneSpanKit) SMS() string             { return signing.AuthSMS }
func (k *oneSpanKit) Signatures(n int) int    { return n }
func (k *oneSpanKit) Lacks() string           { return signing.AuthEmail }

// Close fails the test when the adapter sent anything the vendor's object model does not have.
func (k *oneSpanKit) Close(t testing.TB) {
	k.sim.Close()
	for _, e := range k.sim.ShapeErrors() {
		t.Errorf("the OneSpan adapter sent a request the vendor refuses: %s", e)
	}
}

func (k *oneSpanKit) Provider(baseURL string, poll time.Duration) signing.Provider {
	p, err := onespan.New(onespan.Config{BaseURL: baseURL + "/api", APIKey: oneSpanAPIKey, CallbackKey: oneSpanCallbackKey, PollInterval: poll})
	if err != nil {
		panic(err)
	}
	return p
}

// SetWebhook registers the account's callback as an operator does: the events a signing's
// progress shows in.
func (k *oneSpanKit) SetWebhook(url string) {
	k.sim.SetCallback(url, oneSpanCallbackKey, []string{onespansim.EventPackageComplete, onespansim.EventPackageDecline,
		onespansim.EventPackageOptOut, onespansim.EventPackageExpire, onespansim.EventSignerComplete, onespansim.EventPackageReadyForComplete})
}

func (k *oneSpanKit) Sign(t testing.TB, ref, email string) {
	t.Helper()
	retryUntil(t, "sign as "+email, func() error { return k.sim.Sign(ref, email) })
}

func (k *oneSpanKit) Decline(t testing.TB, ref, email, reason string) {
	t.Helper()
	retryUntil(t, "decline as "+email, func() error { return k.sim.Decline(ref, email, reason) })
}

func (k *oneSpanKit) Expire(t testing.TB, ref string) {
	t.Helper()
	retryUntil(t, "expire", func() error { return k.sim.Expire(ref) })
}

// retryUntil retries act until the vendor allows it (a signer's turn comes when the previous
// group has signed).
func retryUntil(t testing.TB, what string, act func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := act()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
