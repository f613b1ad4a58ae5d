package pades

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TSAServer is a small RFC 3161 time-stamping authority, for signingd dev and for tests of the
// signers: its tokens are real, its clock is the machine's, and it keeps nothing. It is no
// qualified TSA.
type TSAServer struct {
	Key    crypto.Signer
	Chain  []*x509.Certificate // its certificate (extended key usage time stamping) first
	Policy asn1.ObjectIdentifier
	// Down makes it answer 503, as a TSA that is down does.
	Down atomic.Bool

	serial   atomic.Int64
	status   int64 // PKIStatus to answer with (tests)
	badNonce bool  // answer with another nonce (tests)
}

func (ts *TSAServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ts.Down.Load() {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	resp, err := ts.respond(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

func (ts *TSAServer) respond(req []byte) ([]byte, error) {
	in := cryptobyte.String(req)
	var s, mi cryptobyte.String
	var version int64
	nonce := new(big.Int)
	if !in.ReadASN1(&s, cbasn1.SEQUENCE) || !s.ReadASN1Integer(&version) ||
		!s.ReadASN1Element(&mi, cbasn1.SEQUENCE) {
		return nil, errors.New("malformed request")
	}
	s.SkipOptionalASN1(cbasn1.OBJECT_IDENTIFIER)
	if !s.ReadASN1Integer(nonce) {
		return nil, errors.New("request without nonce")
	}
	if ts.badNonce {
		nonce.Add(nonce, big.NewInt(1))
	}
	var b cryptobyte.Builder
	if ts.status != 0 {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(ts.status)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte("weiger")) })
				})
			})
		})
		return b.Bytes()
	}
	policy := ts.Policy
	if len(policy) == 0 {
		policy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
	}
	var ti cryptobyte.Builder
	ti.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(policy)
		b.AddBytes(mi)
		b.AddASN1Int64(ts.serial.Add(1))
		b.AddASN1GeneralizedTime(time.Now().UTC().Truncate(time.Second))
		b.AddASN1BigInt(nonce)
	})
	tst, err := ti.Bytes()
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(tst)
	token, err := buildSignedData(cmsParams{contentType: oidTSTInfo, content: tst, digest: h[:],
		certs: ts.Chain, signer: ts.Key})
	if err != nil {
		return nil, err
	}
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(0) })
		b.AddBytes(token)
	})
	return b.Bytes()
}

// NewDemoTSA returns a TSA server with a certificate of its own demo CA, which it also returns:
// a verifier that trusts the CA trusts the time-stamps.
func NewDemoTSA(name string) (*TSAServer, *x509.Certificate, error) {
	tmpl, err := tsaTemplate()
	if err != nil {
		return nil, nil, err
	}
	key, cert, ca, err := demoChain(name, tmpl)
	if err != nil {
		return nil, nil, err
	}
	return &TSAServer{Key: key, Chain: []*x509.Certificate{cert, ca}}, ca, nil
}

// tsaTemplate is a TSA certificate's usage: RFC 3161 wants the time-stamping key purpose, the
// only one, critical.
func tsaTemplate() (*x509.Certificate, error) {
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}}}, nil
}

// signerTemplate is a document signing certificate's usage.
func signerTemplate() *x509.Certificate {
	return &x509.Certificate{
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}
}

// DemoCertificate makes a signing certificate under a demo CA of its own, for signingd dev, the
// simulated vendor and tests: a verifier that trusts the returned CA trusts the signatures. The
// chain is the certificate alone, as is usual: verifiers have the root. Not for production.
func DemoCertificate(name string) (crypto.Signer, []*x509.Certificate, *x509.Certificate, error) {
	key, cert, ca, err := demoChain(name, signerTemplate())
	if err != nil {
		return nil, nil, nil, err
	}
	return key, []*x509.Certificate{cert}, ca, nil
}

// demoChain issues leaf (its usages set by the caller) for name under a new demo CA.
func demoChain(name string, leaf *x509.Certificate) (crypto.Signer, *x509.Certificate, *x509.Certificate, error) {
	caKey, ca, err := newDemoCA(name + " CA")
	if err != nil {
		return nil, nil, nil, err
	}
	key, cert, err := demoLeaf(name, leaf, ca, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	return key, cert, ca, nil
}

// newDemoCA makes a self-signed demo CA, valid for five years.
func newDemoCA(cn string) (crypto.Signer, *x509.Certificate, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	ca, err := demoCert(&x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: []string{"signingd demo"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, nil, caKey.Public(), caKey)
	if err != nil {
		return nil, nil, err
	}
	return caKey, ca, nil
}

// demoLeaf issues leaf for name under ca, with a new key, valid for two years.
func demoLeaf(name string, leaf, ca *x509.Certificate, caKey crypto.Signer) (crypto.Signer, *x509.Certificate, error) {
	now := time.Now()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	leaf.Subject = pkix.Name{CommonName: name, Organization: []string{"signingd demo"}}
	leaf.NotBefore, leaf.NotAfter = now.Add(-time.Hour), now.AddDate(2, 0, 0)
	cert, err := demoCert(leaf, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}

func demoCert(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
