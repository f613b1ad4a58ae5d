package config

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/signingd/signingd/signing/pades"
)

// Validation is where the revocation data of long-term documents comes from: the OCSP responses
// and CRLs that, beside the certificates, go into the document security store of every document
// the built-in signer completes with a TSA (PAdES B-LTA with revocation data). It is one block for
// the whole service, because it is about certificate authorities — those of the service's signing
// certificate and of the organisations' TSAs — not about an organisation.
//
// Fetching is off unless asked for, and goes only to the hosts listed: a certificate whose OCSP
// responder or CRL lies elsewhere is not fetched, and the log says so.
type Validation struct {
	// OCSP: fetch asks the OCSP responder a certificate names (its authority information access);
	// off (the default) does not.
	OCSP string `yaml:"ocsp"`
	// CRL: fetch downloads a certificate's CRL distribution point when OCSP gives nothing; off
	// (the default) does not.
	CRL string `yaml:"crl"`
	// Hosts are the only hosts asked: "host" (any port) or "host:port". Required for fetching.
	Hosts []string `yaml:"hosts"`
	// Timeout bounds each request (default 10s, at most 2m).
	Timeout time.Duration `yaml:"timeout"`
	// MaxResponseBytes bounds each answer (default 1 MiB, at most 64 MiB).
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// Certs are files (path or file:/path) of issuer certificates, PEM or DER, for chains the
	// signatures do not carry whole (an intermediate CA, the root).
	Certs []string `yaml:"certs"`
	// CRLs are files of CRLs (DER or PEM), for offline setups; re-read for every document.
	CRLs []string `yaml:"crls"`
	// OCSPResponses are files of DER OCSP responses, for offline setups; re-read for every document.
	OCSPResponses []string `yaml:"ocsp_responses"`
}

// Fetch modes of Validation.OCSP and Validation.CRL.
const (
	FetchOff = "off"
	Fetch    = "fetch"
)

// Default limits of revocation requests.
const (
	DefaultValidationTimeout  = 10 * time.Second
	DefaultValidationMaxBytes = 1 << 20
)

// Fetches reports whether any revocation data is fetched.
func (v *Validation) Fetches() bool { return v != nil && (v.OCSP == Fetch || v.CRL == Fetch) }

// HasSource reports whether the block gives any revocation data: fetched or from files.
func (v *Validation) HasSource() bool {
	return v != nil && (v.Fetches() || len(v.CRLs) > 0 || len(v.OCSPResponses) > 0)
}

// ValidationFiles is what the files of a Validation hold.
type ValidationFiles struct {
	Certs []*x509.Certificate
	CRLs  [][]byte // DER
	OCSPs [][]byte // DER
}

// Load reads and parses the files of the block.
func (v *Validation) Load() (ValidationFiles, error) {
	var out ValidationFiles
	if v == nil {
		return out, nil
	}
	var errs []error
	for i, f := range v.Certs {
		certs, err := readCerts(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("certs[%d]: %w", i, err))
		}
		out.Certs = append(out.Certs, certs...)
	}
	for i, f := range v.CRLs {
		der, err := readDER(f, "X509 CRL")
		if err == nil {
			if _, perr := x509.ParseRevocationList(der); perr != nil {
				err = fmt.Errorf("%s: not a CRL: %v", f, perr)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("crls[%d]: %w", i, err))
			continue
		}
		out.CRLs = append(out.CRLs, der)
	}
	for i, f := range v.OCSPResponses {
		der, err := readDER(f, "OCSP RESPONSE")
		if err == nil {
			if _, perr := ocsp.ParseResponse(der, nil); perr != nil {
				err = fmt.Errorf("%s: not an OCSP response: %v", f, perr)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("ocsp_responses[%d]: %w", i, err))
			continue
		}
		out.OCSPs = append(out.OCSPs, der)
	}
	return out, errors.Join(errs...)
}

func readDER(path, pemType string) ([]byte, error) {
	data, err := os.ReadFile(strings.TrimPrefix(path, "file:"))
	if err != nil {
		return nil, err
	}
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != pemType {
			return nil, fmt.Errorf("%s: a PEM %s, want %s", path, b.Type, pemType)
		}
		return b.Bytes, nil
	}
	return data, nil
}

func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(strings.TrimPrefix(path, "file:"))
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(data), "-----BEGIN") {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return []*x509.Certificate{c}, nil
	}
	var out []*x509.Certificate
	for b, rest := pem.Decode(data); b != nil; b, rest = pem.Decode(rest) {
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return out, nil
}

// problems is the meaning check of the block.
func (v *Validation) problems(add func(path, format string, args ...any)) {
	const p = "validation"
	for _, m := range []struct{ key, val string }{{"ocsp", v.OCSP}, {"crl", v.CRL}} {
		if m.val != "" && m.val != FetchOff && m.val != Fetch {
			add(p+"."+m.key, "%q is not off or fetch", m.val)
		}
	}
	if v.Fetches() && len(v.Hosts) == 0 {
		add(p+".hosts", "required when fetching: list the hosts of the OCSP responders and CRL distribution points signingd may ask (nothing else is contacted)")
	}
	for i, h := range v.Hosts {
		if !validHost(h) {
			add(fmt.Sprintf("%s.hosts[%d]", p, i), "%q is not a host or host:port (no scheme, no path)", h)
		}
	}
	if v.Timeout < 0 || v.Timeout > 2*time.Minute {
		add(p+".timeout", "%s is not between 0 (the default, 10s) and 2m", v.Timeout)
	}
	if v.MaxResponseBytes < 0 || v.MaxResponseBytes > 64<<20 {
		add(p+".max_response_bytes", "%d is not between 0 (the default, 1 MiB) and 64 MiB", v.MaxResponseBytes)
	}
	if _, err := v.Load(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			field, msg, _ := strings.Cut(line, ": ")
			add(p+"."+field, "%s", msg)
		}
	}
}

func validHost(h string) bool {
	if h == "" || strings.ContainsAny(h, "/@?# \t") {
		return false
	}
	if host, port, err := net.SplitHostPort(h); err == nil {
		return host != "" && port != ""
	}
	return !strings.Contains(h, ":") || net.ParseIP(strings.Trim(h, "[]")) != nil
}

// validationWarnings: organisations with a TSA but no revocation source, and given certificates
// whose responders would not be asked.
func (l Landscape) validationWarnings(add func(path, format string, args ...any)) {
	var withTSA []string
	for _, o := range l.Organisations {
		if o.TSA != nil {
			withTSA = append(withTSA, o.RSIN)
		}
	}
	v := l.Validation
	if len(withTSA) > 0 && !v.HasSource() {
		add("validation", "organisations with a tsa (%s) get B-LTA documents without revocation data: the document security store "+
			"holds the certificates only, so whoever checks a signature later must still ask the CA whether the certificates "+
			"were revoked, which works only as long as the CA answers; once a certificate has expired, that answer is usually "+
			"gone and the signature cannot be shown to have been valid when made. Give validation.ocsp: fetch with validation.hosts, "+
			"or files under validation.crls / validation.ocsp_responses", strings.Join(withTSA, ", "))
	}
	if v == nil {
		return
	}
	if len(withTSA) == 0 && v.HasSource() {
		add("validation", "no organisation has a tsa, so no document is made long-term and this block is not used")
	}
	files, _ := v.Load() // problems reported the errors
	for i, c := range files.Certs {
		for _, u := range append(append([]string(nil), c.OCSPServer...), c.CRLDistributionPoints...) {
			if v.Fetches() && !pades.HostAllowed(v.Hosts, u) {
				add(fmt.Sprintf("validation.certs[%d]", i), "%q names %s, whose host is not under validation.hosts: it will not be asked", c.Subject.CommonName, u)
			}
		}
	}
}
