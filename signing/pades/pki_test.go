package pades

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// testPKI is a throw-away CA with an intermediate, signers of every
// supported key type, and a TSA certificate.
type testPKI struct {
	// crlServer publishes the CAs' (empty) CRLs at the certificates'
	// distribution points, so validators can check revocation.
	crlServer   *httptest.Server
	root, inter *x509.Certificate
	rootKey     crypto.Signer
	interKey    crypto.Signer
	signers     map[string]testSigner
	tsa         testSigner
}

type testSigner struct {
	key   crypto.Signer
	chain []*x509.Certificate // leaf, intermediate, root
	pss   bool
	name  string
}

func (s testSigner) options() Options {
	return Options{Signer: s.key, Certificates: s.chain, PSS: s.pss, Name: s.name,
		Reason: "Akkoord", Location: "Utrecht"}
}

var (
	pkiOnce sync.Once
	pki     *testPKI
	pkiErr  error
)

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pki, pkiErr = newTestPKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki
}

var serial int64 = 1000

func issue(tmpl *x509.Certificate, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func newTestPKI() (*testPKI, error) {
	p := &testPKI{signers: map[string]testSigner{}}
	p.crlServer = httptest.NewServer(http.HandlerFunc(p.serveCRL))
	rootDP := []string{p.crlServer.URL + "/root.crl"}
	interDP := []string{p.crlServer.URL + "/inter.crl"}
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	p.rootKey = rootKey
	p.root, err = issue(&x509.Certificate{Subject: pkix.Name{CommonName: "signingd Test Root CA", Organization: []string{"signingd"}},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		NotAfter: time.Now().Add(48 * time.Hour)}, nil, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	p.interKey = interKey
	p.inter, err = issue(&x509.Certificate{Subject: pkix.Name{CommonName: "signingd Test Issuing CA", Organization: []string{"signingd"}},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		NotAfter: time.Now().Add(36 * time.Hour), CRLDistributionPoints: rootDP}, p.root, interKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	// a second ECDSA signer, for tests with four signers: pdfsig does not
	// trust a certificate used twice in one file
	ecKey2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		id, cn string
		key    crypto.Signer
		pss    bool
	}{
		{"rsa", "Zoë Çelik-Łukasiewicz", rsaKey, false},
		{"pss", "Søren Brønnum", rsaKey, true},
		{"ecdsa", "Ayşe Kılıç", ecKey, false},
		{"ecdsa2", "Anouk de Vries", ecKey2, false},
	} {
		spki, err := x509.MarshalPKIXPublicKey(s.key.Public())
		if err != nil {
			return nil, err
		}
		ski := sha1.Sum(spki)
		leaf, err := issue(&x509.Certificate{Subject: pkix.Name{CommonName: s.cn, Organization: []string{"Gemeente Utrecht"}},
			SubjectKeyId:          ski[:],
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
			CRLDistributionPoints: interDP}, p.inter, s.key.Public(), interKey)
		if err != nil {
			return nil, err
		}
		p.signers[s.id] = testSigner{key: s.key, chain: []*x509.Certificate{leaf, p.inter, p.root}, pss: s.pss, name: s.cn}
	}
	tsaKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tsaCert, err := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "signingd Test TSA"},
		KeyUsage: x509.KeyUsageDigitalSignature,
		// RFC 3161 wants the timeStamping key purpose as the only, critical one
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: ekuTimeStamping}},
		CRLDistributionPoints: interDP},
		p.inter, tsaKey.Public(), interKey)
	if err != nil {
		return nil, err
	}
	p.tsa = testSigner{key: tsaKey, chain: []*x509.Certificate{tsaCert, p.inter, p.root}}
	return p, nil
}

// ekuTimeStamping is the DER SEQUENCE { id-kp-timeStamping }.
var ekuTimeStamping = []byte{0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08}

// serveCRL answers with a fresh, empty CRL of the root or the intermediate.
func (p *testPKI) serveCRL(w http.ResponseWriter, r *http.Request) {
	issuer, key := p.inter, p.interKey
	if r.URL.Path == "/root.crl" {
		issuer, key = p.root, p.rootKey
	}
	now := time.Now()
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(now.Unix()),
		ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}, issuer, key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Write(crl)
}
