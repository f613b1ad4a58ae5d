package pades

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidData            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningCertV2   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidTimeStampToken  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidTSTInfo         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidRSAPSS          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// cmsParams describes one SignedData with a single signer.
type cmsParams struct {
	contentType asn1.ObjectIdentifier // eContentType; id-data for PAdES
	content     []byte                // encapsulated content; nil for detached
	digest      []byte                // SHA-256 of the (detached) content
	certs       []*x509.Certificate   // signer first, then its chain
	signer      crypto.Signer
	pss         bool
	// unsigned, when set, returns unsigned attributes (DER Attribute
	// values) for the finished signature value, e.g. a timestamp.
	unsigned func(signature []byte) ([][]byte, error)
}

// checkKey makes sure the signer's key matches the certificate and is a type
// we can express in CMS.
func checkKey(signer crypto.Signer, cert *x509.Certificate, pss bool) error {
	pub := signer.Public()
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if !k.Equal(cert.PublicKey) {
			return fmt.Errorf("%w: signer key does not match the certificate", ErrInvalidOptions)
		}
	case *ecdsa.PublicKey:
		if pss {
			return fmt.Errorf("%w: PSS requires an RSA key", ErrInvalidOptions)
		}
		if !k.Equal(cert.PublicKey) {
			return fmt.Errorf("%w: signer key does not match the certificate", ErrInvalidOptions)
		}
	default:
		return fmt.Errorf("%w: unsupported key type %T", ErrInvalidOptions, pub)
	}
	return nil
}

func addOID(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
	b.AddASN1ObjectIdentifier(oid)
}

// addAttribute adds Attribute ::= SEQUENCE { type, values SET OF ANY }.
func attribute(oid asn1.ObjectIdentifier, value []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addOID(b, oid)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(value) })
	})
	return b.Bytes()
}

// derSet encodes a SET OF from encoded elements, sorted as DER requires.
func derSet(tag cbasn1.Tag, elems [][]byte) ([]byte, error) {
	s := slices.Clone(elems)
	slices.SortFunc(s, bytes.Compare)
	var b cryptobyte.Builder
	b.AddASN1(tag, func(b *cryptobyte.Builder) {
		for _, e := range s {
			b.AddBytes(e)
		}
	})
	return b.Bytes()
}

func derOID(oid asn1.ObjectIdentifier) []byte {
	b, _ := asn1.Marshal(oid) // only fails for invalid OIDs, which are constants here
	return b
}

func derOctets(v []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1OctetString(v)
	return b.BytesOrPanic() // cannot fail: no nested errors
}

// signingCertificateV2 encodes ESS SigningCertificateV2 with the SHA-256 of
// the signer certificate (hashAlgorithm SHA-256 is the DEFAULT and omitted).
func signingCertificateV2(cert *x509.Certificate) []byte {
	h := sha256.Sum256(cert.Raw)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(h[:])
			})
		})
	})
	return b.BytesOrPanic()
}

func addSHA256(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { addOID(b, oidSHA256) })
}

// signatureAlgorithm returns the AlgorithmIdentifier and signer options.
func signatureAlgorithm(pub crypto.PublicKey, pss bool) ([]byte, crypto.SignerOpts) {
	var b cryptobyte.Builder
	var opts crypto.SignerOpts = crypto.SHA256
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		switch {
		case pss:
			opts = &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}
			addOID(b, oidRSAPSS)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					addSHA256(b)
				})
				b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						addOID(b, oidMGF1)
						addSHA256(b)
					})
				})
				b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1Int64(32)
				})
			})
		default:
			if _, ok := pub.(*ecdsa.PublicKey); ok {
				addOID(b, oidECDSAWithSHA256)
				return
			}
			addOID(b, oidSHA256WithRSA)
			b.AddASN1NULL()
		}
	})
	return b.BytesOrPanic(), opts
}

// buildSignedData signs and encodes a ContentInfo holding SignedData.
func buildSignedData(p cmsParams) ([]byte, error) {
	if len(p.certs) == 0 || p.signer == nil {
		return nil, fmt.Errorf("%w: no signer or certificate", ErrInvalidOptions)
	}
	leaf := p.certs[0]
	if err := checkKey(p.signer, leaf, p.pss); err != nil {
		return nil, err
	}
	var attrs [][]byte
	for _, a := range []struct {
		oid asn1.ObjectIdentifier
		val []byte
	}{
		{oidContentType, derOID(p.contentType)},
		{oidMessageDigest, derOctets(p.digest)},
		{oidSigningCertV2, signingCertificateV2(leaf)},
	} {
		e, err := attribute(a.oid, a.val)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, e)
	}
	signedAttrs, err := derSet(cbasn1.SET, attrs)
	if err != nil {
		return nil, err
	}
	algo, opts := signatureAlgorithm(p.signer.Public(), p.pss)
	h := sha256.Sum256(signedAttrs)
	sig, err := p.signer.Sign(rand.Reader, h[:], opts)
	if err != nil {
		return nil, fmt.Errorf("pades: signer: %w", err)
	}
	var unsigned [][]byte
	if p.unsigned != nil {
		if unsigned, err = p.unsigned(sig); err != nil {
			return nil, err
		}
	}
	// [0] IMPLICIT: same content as the SET, context tag
	implicitAttrs := append([]byte{0xa0}, signedAttrs[1:]...)

	version := int64(1)
	if !p.contentType.Equal(oidData) {
		version = 3
	}
	var certs [][]byte
	for _, c := range p.certs {
		certs = append(certs, c.Raw)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addOID(b, oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(version)
				b.AddASN1(cbasn1.SET, addSHA256)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					addOID(b, p.contentType)
					if p.content != nil {
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddASN1OctetString(p.content)
						})
					}
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, c := range certs {
						b.AddBytes(c)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(leaf.RawIssuer)
							b.AddASN1BigInt(leaf.SerialNumber)
						})
						addSHA256(b)
						b.AddBytes(implicitAttrs)
						b.AddBytes(algo)
						b.AddASN1OctetString(sig)
						if len(unsigned) > 0 {
							b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								for _, u := range unsigned {
									b.AddBytes(u)
								}
							})
						}
					})
				})
			})
		})
	})
	return b.Bytes()
}

// signedDataInfo is what verifySignedData learns from a ContentInfo.
type signedDataInfo struct {
	contentType asn1.ObjectIdentifier
	content     []byte // encapsulated content, nil when detached
	certs       []*x509.Certificate
	signer      *x509.Certificate
	signature   []byte
	unsigned    map[string][]byte // OID string -> first value (DER)
}

var errCMS = errors.New("pades: malformed CMS")

// verifySignedData parses a ContentInfo with one SignerInfo and checks the
// signature against the embedded signer certificate. digest is the SHA-256
// of the detached content; it is computed from the content when encapsulated.
// It does not build a trust chain; callers check the certificate themselves.
func verifySignedData(der []byte, digest []byte) (*signedDataInfo, error) {
	in := cryptobyte.String(der)
	var ci, sd cryptobyte.String
	var ctype asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&ctype) ||
		!ctype.Equal(oidSignedData) || !ci.ReadASN1(&ci, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!ci.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, errCMS
	}
	var version int64
	var digestAlgs, encap, certsRaw, signerInfos cryptobyte.String
	info := &signedDataInfo{unsigned: map[string][]byte{}}
	if !sd.ReadASN1Integer(&version) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) ||
		!sd.ReadASN1(&encap, cbasn1.SEQUENCE) || !encap.ReadASN1ObjectIdentifier(&info.contentType) {
		return nil, errCMS
	}
	if encap.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		var ec cryptobyte.String
		var octets []byte
		if !encap.ReadASN1(&ec, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
			!ec.ReadASN1Bytes(&octets, cbasn1.OCTET_STRING) {
			return nil, errCMS
		}
		info.content = octets
		h := sha256.Sum256(octets)
		digest = h[:]
	}
	if sd.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		if !sd.ReadASN1(&certsRaw, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return nil, errCMS
		}
		for !certsRaw.Empty() {
			var c cryptobyte.String
			if !certsRaw.ReadASN1Element(&c, cbasn1.SEQUENCE) {
				return nil, errCMS
			}
			cert, err := x509.ParseCertificate(c)
			if err != nil {
				return nil, fmt.Errorf("%w: certificate: %v", errCMS, err)
			}
			info.certs = append(info.certs, cert)
		}
	}
	if sd.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		var crls cryptobyte.String
		sd.ReadASN1(&crls, cbasn1.Tag(1).Constructed().ContextSpecific())
	}
	var si, sid, attrsEl, sigAlg, unsigned cryptobyte.String
	var siVersion int64
	if !sd.ReadASN1(&signerInfos, cbasn1.SET) || !signerInfos.ReadASN1(&si, cbasn1.SEQUENCE) ||
		!si.ReadASN1Integer(&siVersion) || !si.ReadASN1(&sid, cbasn1.SEQUENCE) ||
		!si.SkipASN1(cbasn1.SEQUENCE) ||
		!si.ReadASN1Element(&attrsEl, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!si.ReadASN1Element(&sigAlg, cbasn1.SEQUENCE) ||
		!si.ReadASN1Bytes(&info.signature, cbasn1.OCTET_STRING) {
		return nil, errCMS
	}
	if si.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		if !si.ReadASN1(&unsigned, cbasn1.Tag(1).Constructed().ContextSpecific()) {
			return nil, errCMS
		}
		for !unsigned.Empty() {
			var a, vals, v cryptobyte.String
			var oid asn1.ObjectIdentifier
			if !unsigned.ReadASN1(&a, cbasn1.SEQUENCE) || !a.ReadASN1ObjectIdentifier(&oid) ||
				!a.ReadASN1(&vals, cbasn1.SET) || !readAnyElement(&vals, &v) {
				return nil, errCMS
			}
			info.unsigned[oid.String()] = v
		}
	}
	// signer: issuer and serial number
	var issuer cryptobyte.String
	serial := new(big.Int)
	if !sid.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !sid.ReadASN1Integer(serial) {
		return nil, errCMS
	}
	for _, c := range info.certs {
		if bytes.Equal(c.RawIssuer, issuer) && c.SerialNumber.Cmp(serial) == 0 {
			info.signer = c
		}
	}
	if info.signer == nil {
		return nil, fmt.Errorf("%w: signer certificate not embedded", errCMS)
	}
	// signed attributes: check message digest, verify over the SET encoding
	attrs := cryptobyte.String(attrsEl)
	var body cryptobyte.String
	if !attrs.ReadASN1(&body, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, errCMS
	}
	var gotDigest []byte
	for !body.Empty() {
		var a, vals cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !body.ReadASN1(&a, cbasn1.SEQUENCE) || !a.ReadASN1ObjectIdentifier(&oid) || !a.ReadASN1(&vals, cbasn1.SET) {
			return nil, errCMS
		}
		if oid.Equal(oidMessageDigest) && !vals.ReadASN1Bytes(&gotDigest, cbasn1.OCTET_STRING) {
			return nil, errCMS
		}
	}
	if !bytes.Equal(gotDigest, digest) {
		return nil, fmt.Errorf("%w: message digest mismatch", errCMS)
	}
	setEnc := append([]byte{0x31}, attrsEl[1:]...)
	h := sha256.Sum256(setEnc)
	var algOID asn1.ObjectIdentifier
	alg := cryptobyte.String(sigAlg)
	if !alg.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&algOID) {
		return nil, errCMS
	}
	var err error
	switch pub := info.signer.PublicKey.(type) {
	case *rsa.PublicKey:
		if algOID.Equal(oidRSAPSS) {
			err = rsa.VerifyPSS(pub, crypto.SHA256, h[:], info.signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		} else {
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], info.signature)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, h[:], info.signature) {
			err = errors.New("ecdsa verification failed")
		}
	default:
		err = fmt.Errorf("unsupported key %T", pub)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", errCMS, err)
	}
	return info, nil
}

func readAnyElement(s *cryptobyte.String, out *cryptobyte.String) bool {
	var tag cbasn1.Tag
	return s.ReadAnyASN1Element(out, &tag)
}
