package pades

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Errors of Revocation.Collect, for errors.Is.
var (
	// ErrRevoked means a certificate of a signature or time-stamp is revoked: the document must
	// not be finished as if it were valid.
	ErrRevoked = errors.New("pades: certificate revoked")
	// ErrRevocation means revocation data was to be had (a given file, or a host the caller
	// allows) but none could be obtained or trusted: unreachable, refused, badly signed, out of
	// date or "unknown". Retrying later may help.
	ErrRevocation = errors.New("pades: no usable revocation data")
)

// Revocation says where the revocation data for the document security store (PAdES B-LT) comes
// from: given by the caller (offline setups), or fetched from the OCSP responders and CRL
// distribution points the certificates name — but only from the hosts in Hosts. A certificate
// pointing elsewhere is not fetched; Collect reports it.
type Revocation struct {
	// FetchOCSP asks the responder in a certificate's authority information access (preferred).
	FetchOCSP bool
	// FetchCRL downloads the certificate's CRL distribution point when OCSP gives nothing.
	FetchCRL bool
	// Hosts are the only hosts asked: "host" (any port) or "host:port", case-insensitive.
	Hosts []string
	// Client sends the requests; nil means a plain client. Redirects are never followed.
	Client *http.Client
	// Timeout bounds each request; 10 s when zero.
	Timeout time.Duration
	// MaxResponse bounds each response body; 1 MiB when zero.
	MaxResponse int64
	// Given returns data held offline: issuer certificates the signatures do not embed, DER CRLs
	// and DER OCSP responses. It is called once per Collect, so files may be refreshed meanwhile.
	Given func() (ValidationData, error)
	// MaxAge is how old an OCSP response without nextUpdate may be; 24 h when zero.
	MaxAge time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// CertStatus is what Collect did for one certificate.
type CertStatus struct {
	Subject string
	Serial  string // hexadecimal
	// Source is where its revocation data came from: "ocsp" or "crl" (fetched, with URL), "given
	// ocsp" or "given crl"; "root" for a self-signed certificate, which needs none; empty when the
	// store holds none for it, Note then says why.
	Source string
	URL    string
	Note   string
}

// Missing reports whether the certificate is left without revocation data.
func (s CertStatus) Missing() bool { return s.Source == "" }

// Collect gathers the validation data of every signature in the PDF: the signer's certificate
// chain, the chain of the TSA of each signature time-stamp and document time-stamp, and for every
// certificate below a root its revocation status (OCSP response or CRL), each checked: signed by
// the certificate's issuer (or its designated responder), covering the certificate, current and
// good. A revoked certificate fails with ErrRevoked. extra are certificates the signatures may not
// embed (issuers of the signer's certificate). A signature that cannot be checked is reported (its
// certificates left out), not an error.
func (r *Revocation) Collect(ctx context.Context, in io.ReaderAt, size int64, extra ...*x509.Certificate) (ValidationData, []CertStatus, error) {
	doc, err := openDocument(in, size)
	if err != nil {
		return ValidationData{}, nil, err
	}
	fields, err := doc.signatureFields()
	if err != nil {
		return ValidationData{}, nil, err
	}
	pool := slices.Clone(extra)
	var targets []*x509.Certificate
	var skipped []CertStatus
	for _, f := range fields {
		if err := ctx.Err(); err != nil {
			return ValidationData{}, nil, err
		}
		_, info, err := doc.checkSignature(ctx, f.sig)
		if err != nil {
			// an earlier signature this package cannot check (another digest, a broken one) does
			// not stop the document: its certificates are left out, and the report says so
			skipped = append(skipped, CertStatus{Subject: fmt.Sprintf("signature field %q", f.name),
				Note: fmt.Sprintf("the signature could not be checked, so its certificates are left out: %v", err)})
			continue
		}
		pool = append(pool, info.certs...)
		targets = append(targets, info.signer)
		if token := info.unsigned[oidTimeStampToken.String()]; token != nil {
			ts, err := verifySignedData(token, nil)
			if err != nil {
				return ValidationData{}, nil, fmt.Errorf("field %q: time-stamp: %w", f.name, err)
			}
			pool = append(pool, ts.certs...)
			targets = append(targets, ts.signer)
		}
	}
	var given ValidationData
	if r.Given != nil {
		if given, err = r.Given(); err != nil {
			return ValidationData{}, nil, fmt.Errorf("%w: given validation data: %v", ErrRevocation, err)
		}
		pool = append(pool, given.Certs...)
	}
	c := &collector{r: r, pool: pool, given: given, now: time.Now, status: skipped}
	if r.Now != nil {
		c.now = r.Now
	}
	for _, t := range targets {
		if err := c.chain(ctx, t); err != nil {
			return c.vd, c.status, err
		}
	}
	return c.vd, c.status, nil
}

type collector struct {
	r      *Revocation
	pool   []*x509.Certificate
	given  ValidationData
	now    func() time.Time
	vd     ValidationData
	status []CertStatus
	done   [][]byte // Raw of the certificates handled
}

func (c *collector) seen(cert *x509.Certificate) bool {
	for _, d := range c.done {
		if bytes.Equal(d, cert.Raw) {
			return true
		}
	}
	c.done = append(c.done, cert.Raw)
	return false
}

func (c *collector) addCert(cert *x509.Certificate) {
	for _, have := range c.vd.Certs {
		if bytes.Equal(have.Raw, cert.Raw) {
			return
		}
	}
	c.vd.Certs = append(c.vd.Certs, cert)
}

// chain handles cert and its issuers up to a root (or to an issuer nobody gave).
func (c *collector) chain(ctx context.Context, cert *x509.Certificate) error {
	for depth := 0; cert != nil && depth < 10; depth++ {
		if c.seen(cert) {
			return nil
		}
		c.addCert(cert)
		st := CertStatus{Subject: cert.Subject.String(), Serial: fmt.Sprintf("%x", cert.SerialNumber)}
		if selfSigned(cert) {
			st.Source = "root"
			c.status = append(c.status, st)
			return nil
		}
		issuer := c.issuer(cert)
		if issuer == nil {
			st.Note = "its issuer certificate is unknown (neither embedded nor given), so no revocation data can be checked"
			c.status = append(c.status, st)
			return nil
		}
		if err := c.revocation(ctx, cert, issuer, &st); err != nil {
			return err
		}
		c.status = append(c.status, st)
		cert = issuer
	}
	return nil
}

func selfSigned(cert *x509.Certificate) bool {
	return bytes.Equal(cert.RawSubject, cert.RawIssuer) &&
		cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) == nil
}

func (c *collector) issuer(cert *x509.Certificate) *x509.Certificate {
	for _, p := range c.pool {
		if bytes.Equal(p.RawSubject, cert.RawIssuer) && cert.CheckSignatureFrom(p) == nil {
			return p
		}
	}
	return nil
}

var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// revocation finds revocation data for cert: given OCSP responses, given CRLs, then (as allowed)
// the certificate's OCSP responders and CRL distribution points. It fills st.
func (c *collector) revocation(ctx context.Context, cert, issuer *x509.Certificate, st *CertStatus) error {
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidOCSPNoCheck) {
			st.Source, st.Note = "root", "an OCSP responder's certificate (id-pkix-ocsp-nocheck)"
			return nil
		}
	}
	var failures, notes []string
	for _, der := range c.given.OCSPs {
		resp, err := c.checkOCSP(der, cert, issuer)
		if errors.Is(err, errNotFor) {
			continue
		}
		if err != nil {
			if errors.Is(err, ErrRevoked) {
				return fmt.Errorf("%w (given OCSP response)", err)
			}
			failures = append(failures, "given OCSP response: "+err.Error())
			continue
		}
		c.useOCSP(resp)
		st.Source = "given ocsp"
		return nil
	}
	for _, der := range c.given.CRLs {
		err := c.checkCRL(der, cert, issuer)
		if errors.Is(err, errNotFor) {
			continue
		}
		if err != nil {
			if errors.Is(err, ErrRevoked) {
				return fmt.Errorf("%w (given CRL)", err)
			}
			failures = append(failures, "given CRL: "+err.Error())
			continue
		}
		c.vd.CRLs = append(c.vd.CRLs, der)
		st.Source = "given crl"
		return nil
	}
	type source struct {
		kind string
		urls []string
		on   bool
	}
	for _, s := range []source{{"ocsp", cert.OCSPServer, c.r.FetchOCSP}, {"crl", cert.CRLDistributionPoints, c.r.FetchCRL}} {
		if !s.on {
			if len(s.urls) > 0 {
				notes = append(notes, fmt.Sprintf("%s fetching is off (%s)", s.kind, strings.Join(s.urls, ", ")))
			}
			continue
		}
		for _, u := range s.urls {
			if !HostAllowed(c.r.Hosts, u) {
				notes = append(notes, fmt.Sprintf("%s %s not fetched: its host is not among the allowed hosts", s.kind, u))
				continue
			}
			var err error
			if s.kind == "ocsp" {
				var resp *ocsp.Response
				if resp, err = c.fetchOCSP(ctx, u, cert, issuer); err == nil {
					c.useOCSP(resp)
				}
			} else {
				var der []byte
				if der, err = c.fetch(ctx, http.MethodGet, u, nil); err == nil {
					if err = c.checkCRL(der, cert, issuer); errors.Is(err, errNotFor) {
						err = errors.New("the CRL is not the issuer's")
					}
					if err == nil {
						c.vd.CRLs = append(c.vd.CRLs, der)
					}
				}
			}
			if errors.Is(err, ErrRevoked) {
				return fmt.Errorf("%w (%s %s)", err, s.kind, u)
			}
			if err != nil {
				failures = append(failures, fmt.Sprintf("%s %s: %v", s.kind, u, err))
				continue
			}
			st.Source, st.URL = s.kind, u
			return nil
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("%w for %q: %s", ErrRevocation, cert.Subject.String(), strings.Join(failures, "; "))
	}
	if len(notes) == 0 {
		notes = append(notes, "no revocation data given, and the certificate names no OCSP responder or CRL")
	}
	st.Note = strings.Join(notes, "; ")
	return nil
}

func (c *collector) useOCSP(resp *ocsp.Response) {
	c.vd.OCSPs = append(c.vd.OCSPs, resp.Raw)
	if resp.Certificate != nil {
		c.addCert(resp.Certificate)
	}
}

// errNotFor means a given OCSP response or CRL is about other certificates.
var errNotFor = errors.New("not about this certificate")

var oidOCSPSigning = x509.ExtKeyUsageOCSPSigning

// checkOCSP parses and checks an OCSP response for cert.
func (c *collector) checkOCSP(der []byte, cert, issuer *x509.Certificate) (*ocsp.Response, error) {
	resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		var re ocsp.ResponseError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("the responder answered %v", re.Status)
		}
		if strings.Contains(err.Error(), "no response matching") || strings.Contains(err.Error(), "bad OCSP signature") {
			return nil, fmt.Errorf("%w: %v", errNotFor, err)
		}
		return nil, err
	}
	if d := resp.Certificate; d != nil && !bytes.Equal(d.Raw, issuer.Raw) && !slices.Contains(d.ExtKeyUsage, oidOCSPSigning) {
		return nil, errors.New("signed by a certificate that is neither the issuer nor a designated OCSP responder")
	}
	now := c.now()
	switch resp.Status {
	case ocsp.Good:
	case ocsp.Revoked:
		return nil, fmt.Errorf("%w: %q (serial %x) was revoked at %s (reason %d), says its issuer's OCSP responder",
			ErrRevoked, cert.Subject.String(), cert.SerialNumber, resp.RevokedAt.UTC().Format(time.RFC3339), resp.RevocationReason)
	default:
		return nil, errors.New("status unknown: the responder does not know the certificate")
	}
	const skew = 5 * time.Minute
	if resp.ThisUpdate.After(now.Add(skew)) {
		return nil, fmt.Errorf("thisUpdate %s lies in the future", resp.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if !resp.NextUpdate.IsZero() && resp.NextUpdate.Before(now) {
		return nil, fmt.Errorf("out of date since %s (nextUpdate)", resp.NextUpdate.UTC().Format(time.RFC3339))
	}
	maxAge := cmp.Or(c.r.MaxAge, 24*time.Hour)
	if resp.NextUpdate.IsZero() && resp.ThisUpdate.Before(now.Add(-maxAge)) {
		return nil, fmt.Errorf("older than %s (thisUpdate %s, no nextUpdate)", maxAge, resp.ThisUpdate.UTC().Format(time.RFC3339))
	}
	return resp, nil
}

// checkCRL parses and checks a CRL (DER) of issuer for cert.
func (c *collector) checkCRL(der []byte, cert, issuer *x509.Certificate) error {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("not a CRL: %v", err)
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) || crl.CheckSignatureFrom(issuer) != nil {
		return errNotFor
	}
	now := c.now()
	if crl.ThisUpdate.After(now.Add(5 * time.Minute)) {
		return fmt.Errorf("thisUpdate %s lies in the future", crl.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if crl.NextUpdate.IsZero() || crl.NextUpdate.Before(now) {
		return fmt.Errorf("out of date since %s (nextUpdate)", crl.NextUpdate.UTC().Format(time.RFC3339))
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return fmt.Errorf("%w: %q (serial %x) was revoked at %s (reason %d), says its issuer's CRL",
				ErrRevoked, cert.Subject.String(), cert.SerialNumber, e.RevocationTime.UTC().Format(time.RFC3339), e.ReasonCode)
		}
	}
	return nil
}

func (c *collector) fetchOCSP(ctx context.Context, u string, cert, issuer *x509.Certificate) (*ocsp.Response, error) {
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return nil, err
	}
	der, err := c.fetch(ctx, http.MethodPost, u, req)
	if err != nil {
		return nil, err
	}
	resp, err := c.checkOCSP(der, cert, issuer)
	if errors.Is(err, errNotFor) {
		return nil, fmt.Errorf("the answer is not about this certificate or not signed by its issuer: %v", err)
	}
	return resp, err
}

// fetch sends one request to an allowed host, with the timeout and size limit.
func (c *collector) fetch(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	if !HostAllowed(c.r.Hosts, u) { // checked by the callers too: never a request elsewhere
		return nil, fmt.Errorf("host of %s not allowed", u)
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(c.r.Timeout, 10*time.Second))
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if method == http.MethodPost {
		hr.Header.Set("Content-Type", "application/ocsp-request")
		hr.Header.Set("Accept", "application/ocsp-response")
	}
	client := http.Client{}
	if c.r.Client != nil {
		client = *c.r.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error {
		return errors.New("redirects are not followed")
	}
	resp, err := client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	limit := cmp.Or(c.r.MaxResponse, int64(1<<20))
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("response larger than %d bytes", limit)
	}
	return data, nil
}

// HostAllowed reports whether the http(s) URL u points at one of hosts: "host" allows any port,
// "host:port" that port only; names compare case-insensitively.
func HostAllowed(hosts []string, u string) bool {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
		return false
	}
	host, port := strings.ToLower(p.Hostname()), p.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[p.Scheme]
	}
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if hh, hp, err := net.SplitHostPort(h); err == nil {
			if hh == host && hp == port {
				return true
			}
			continue
		}
		if strings.Trim(h, "[]") == host {
			return true
		}
	}
	return false
}
