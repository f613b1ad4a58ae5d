package pades

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TSA is an RFC 3161 time-stamp authority client.
type TSA struct {
	URL string
	// Client sends the requests; nil means a client with a 30 s timeout.
	Client *http.Client
	// Username and Password, when set, are sent as HTTP basic auth.
	Username, Password string
	// Policy, when set, is requested as the TSA policy.
	Policy asn1.ObjectIdentifier
	// Roots, when set, must anchor the TSA certificate, which must also
	// carry the time-stamping key purpose. Without Roots the token is
	// checked for integrity only; trust is then the verifier's business.
	Roots *x509.CertPool
}

// maxTSAResponse bounds what we read from a TSA.
const maxTSAResponse = 1 << 20

// Token asks the TSA to time-stamp data and returns the DER time-stamp token
// (a CMS ContentInfo) after checking status, nonce, message imprint and the
// token's own signature.
func (t *TSA) Token(ctx context.Context, data []byte) ([]byte, error) {
	h := sha256.Sum256(data)
	return t.token(ctx, h[:])
}

func (t *TSA) token(ctx context.Context, digest []byte) ([]byte, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		addMessageImprint(b, digest)
		if len(t.Policy) > 0 {
			addOID(b, t.Policy)
		}
		b.AddASN1BigInt(nonce)
		b.AddASN1Boolean(true) // certReq: the token must carry the TSA certificate
	})
	req, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(req))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTimestamp, err)
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	hr.Header.Set("Accept", "application/timestamp-reply")
	if t.Username != "" {
		hr.SetBasicAuth(t.Username, t.Password)
	}
	c := t.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTimestamp, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTSAResponse))
	if err != nil {
		return nil, fmt.Errorf("%w: read response: %v", ErrTimestamp, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %s", ErrTimestamp, resp.Status)
	}
	token, err := parseTimeStampResp(body)
	if err != nil {
		return nil, err
	}
	info, err := checkToken(token, digest)
	if err != nil {
		return nil, err
	}
	if info.nonce == nil || info.nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("%w: nonce mismatch", ErrTimestamp)
	}
	if t.Roots != nil {
		inter := x509.NewCertPool()
		for _, c := range info.info.certs {
			inter.AddCert(c)
		}
		if _, err := info.info.signer.Verify(x509.VerifyOptions{Roots: t.Roots, Intermediates: inter,
			CurrentTime: info.genTime, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
			return nil, fmt.Errorf("%w: TSA certificate: %v", ErrTimestamp, err)
		}
	}
	return token, nil
}

func addMessageImprint(b *cryptobyte.Builder, digest []byte) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addSHA256(b)
		b.AddASN1OctetString(digest)
	})
}

// parseTimeStampResp checks PKIStatusInfo and returns the token.
func parseTimeStampResp(der []byte) ([]byte, error) {
	in := cryptobyte.String(der)
	var resp, status cryptobyte.String
	var code int64
	if !in.ReadASN1(&resp, cbasn1.SEQUENCE) || !resp.ReadASN1(&status, cbasn1.SEQUENCE) ||
		!status.ReadASN1Integer(&code) {
		return nil, fmt.Errorf("%w: malformed response", ErrTimestamp)
	}
	if code != 0 && code != 1 { // granted, grantedWithMods
		msg := ""
		var text cryptobyte.String
		if status.ReadASN1(&text, cbasn1.SEQUENCE) {
			var s cryptobyte.String
			if text.ReadASN1(&s, cbasn1.UTF8String) {
				msg = ": " + string(s)
			}
		}
		return nil, fmt.Errorf("%w: TSA refused with status %d%s", ErrTimestamp, code, msg)
	}
	var token cryptobyte.String
	if !resp.ReadASN1Element(&token, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: response without token", ErrTimestamp)
	}
	return token, nil
}

// tstInfo is the part of a TSTInfo we check.
type tstInfo struct {
	digest  []byte
	genTime time.Time
	nonce   *big.Int
	serial  *big.Int
	info    *signedDataInfo
}

// checkToken verifies the token's CMS signature and that it time-stamps
// digest (SHA-256).
func checkToken(token, digest []byte) (*tstInfo, error) {
	sd, err := verifySignedData(token, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: token: %v", ErrTimestamp, err)
	}
	if !sd.contentType.Equal(oidTSTInfo) || sd.content == nil {
		return nil, fmt.Errorf("%w: token does not hold a TSTInfo", ErrTimestamp)
	}
	ti, err := parseTSTInfo(sd.content)
	if err != nil {
		return nil, err
	}
	ti.info = sd
	if !bytes.Equal(ti.digest, digest) {
		return nil, fmt.Errorf("%w: message imprint mismatch", ErrTimestamp)
	}
	return ti, nil
}

func parseTSTInfo(der []byte) (*tstInfo, error) {
	bad := fmt.Errorf("%w: malformed TSTInfo", ErrTimestamp)
	in := cryptobyte.String(der)
	var s, mi, alg cryptobyte.String
	var version int64
	var policy, algOID asn1.ObjectIdentifier
	ti := &tstInfo{serial: new(big.Int)}
	if !in.ReadASN1(&s, cbasn1.SEQUENCE) || !s.ReadASN1Integer(&version) ||
		!s.ReadASN1ObjectIdentifier(&policy) || !s.ReadASN1(&mi, cbasn1.SEQUENCE) ||
		!mi.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&algOID) ||
		!mi.ReadASN1Bytes(&ti.digest, cbasn1.OCTET_STRING) || !s.ReadASN1Integer(ti.serial) ||
		!s.ReadASN1GeneralizedTime(&ti.genTime) {
		return nil, bad
	}
	if !algOID.Equal(oidSHA256) {
		return nil, fmt.Errorf("%w: message imprint is not SHA-256", ErrTimestamp)
	}
	s.SkipOptionalASN1(cbasn1.SEQUENCE) // accuracy
	s.SkipOptionalASN1(cbasn1.BOOLEAN)  // ordering
	if s.PeekASN1Tag(cbasn1.INTEGER) {
		ti.nonce = new(big.Int)
		if !s.ReadASN1Integer(ti.nonce) {
			return nil, bad
		}
	}
	return ti, nil
}

// timestampAttribute returns the signature-time-stamp unsigned attribute for
// a signature value.
func (t *TSA) timestampAttribute(ctx context.Context, signature []byte) ([]byte, error) {
	token, err := t.Token(ctx, signature)
	if err != nil {
		return nil, err
	}
	return attribute(oidTimeStampToken, token)
}
