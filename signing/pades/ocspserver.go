package pades

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSPServer is a small OCSP responder (RFC 6960) for a demo CA of its own, for signingd dev and
// tests: it answers good for the certificates it issued, revoked for those it was told to revoke
// and unknown for any other, signing with the CA's key. Requests come by POST or GET. It is no
// real CA.
type OCSPServer struct {
	CA  *x509.Certificate
	Key crypto.Signer
	// Down makes it answer 503, as a responder that is down does.
	Down atomic.Bool
	// Validity is how long an answer is current (its nextUpdate); an hour when zero.
	Validity time.Duration

	requests atomic.Int64
	mu       sync.Mutex
	issued   map[string]bool      // serials, as hex
	revoked  map[string]time.Time // serials, as hex
}

// NewDemoOCSP returns a responder with a new demo CA named name, whose certificate is
// s.CA: a verifier that trusts it trusts what the responder's CA issues.
func NewDemoOCSP(name string) (*OCSPServer, error) {
	key, ca, err := newDemoCA(name)
	if err != nil {
		return nil, err
	}
	return &OCSPServer{CA: ca, Key: key, issued: map[string]bool{}, revoked: map[string]time.Time{}}, nil
}

// Certificate issues a document signing certificate for name under the responder's CA, naming
// ocspURL (where the responder will be served) in its authority information access. The chain is
// the certificate and the CA.
func (s *OCSPServer) Certificate(name, ocspURL string) (crypto.Signer, []*x509.Certificate, error) {
	return s.issue(name, ocspURL, signerTemplate())
}

// TSA returns a time-stamping authority whose certificate the responder's CA issued, naming
// ocspURL, so that time-stamps made with it can be checked for revocation too.
func (s *OCSPServer) TSA(name, ocspURL string) (*TSAServer, error) {
	tmpl, err := tsaTemplate()
	if err != nil {
		return nil, err
	}
	key, chain, err := s.issue(name, ocspURL, tmpl)
	if err != nil {
		return nil, err
	}
	return &TSAServer{Key: key, Chain: chain}, nil
}

func (s *OCSPServer) issue(name, ocspURL string, tmpl *x509.Certificate) (crypto.Signer, []*x509.Certificate, error) {
	if ocspURL != "" {
		tmpl.OCSPServer = []string{ocspURL}
	}
	key, cert, err := demoLeaf(name, tmpl, s.CA, s.Key)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	s.issued[cert.SerialNumber.Text(16)] = true
	s.mu.Unlock()
	return key, []*x509.Certificate{cert, s.CA}, nil
}

// Revoke marks the certificate with serial revoked, from now on.
func (s *OCSPServer) Revoke(serial *big.Int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[serial.Text(16)] = time.Now().Add(-time.Second).UTC()
}

// Requests counts the requests the responder received, answered or not.
func (s *OCSPServer) Requests() int64 { return s.requests.Load() }

func (s *OCSPServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.Down.Load() {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	var der []byte
	var err error
	switch r.Method {
	case http.MethodPost:
		der, err = io.ReadAll(io.LimitReader(r.Body, 1<<14))
	case http.MethodGet: // RFC 6960 A.1: the base64 of the request, URL-escaped, as the last segment
		var seg string
		if seg, err = url.PathUnescape(r.URL.EscapedPath()[strings.LastIndexByte(r.URL.EscapedPath(), '/')+1:]); err == nil {
			der, err = base64.StdEncoding.DecodeString(seg)
		}
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	if err != nil {
		_, _ = w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		_, _ = w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	if !s.ours(req) {
		_, _ = w.Write(ocsp.UnauthorizedErrorResponse)
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := ocsp.Response{Status: ocsp.Unknown, SerialNumber: req.SerialNumber, IssuerHash: req.HashAlgorithm,
		ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(cmp.Or(s.Validity, time.Hour))}
	key := req.SerialNumber.Text(16)
	s.mu.Lock()
	if at, ok := s.revoked[key]; ok {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at, ocsp.Unspecified
	} else if s.issued[key] {
		tmpl.Status = ocsp.Good
	}
	s.mu.Unlock()
	resp, err := ocsp.CreateResponse(s.CA, s.CA, tmpl, s.Key)
	if err != nil {
		_, _ = w.Write(ocsp.InternalErrorErrorResponse)
		return
	}
	_, _ = w.Write(resp)
}

// ours reports whether the request names the responder's CA as the issuer (by its key's hash).
func (s *OCSPServer) ours(req *ocsp.Request) bool {
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(s.CA.RawSubjectPublicKeyInfo, &spki); err != nil || !req.HashAlgorithm.Available() {
		return false
	}
	h := req.HashAlgorithm.New()
	h.Write(spki.PublicKey.RightAlign())
	return bytes.Equal(h.Sum(nil), req.IssuerKeyHash)
}
