package onespansim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/signingd/signingd/signing/pades"
)

// authority is the simulator's certificate authority: every signer gets a certificate of their
// own under it, as OneSpan signs each signature with a per-signer certificate.
type authority struct {
	key  crypto.Signer
	root *x509.Certificate

	mu    sync.Mutex
	certs map[string]signerCert // by e-mail
}

type signerCert struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func newAuthority() (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	root, err := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "OneSpan Sign simulator CA", Organization: []string{"signingd onespansim"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, nil, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return &authority{key: key, root: root, certs: map[string]signerCert{}}, nil
}

func issue(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
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

// forSigner returns the signer's certificate, issuing it on first use.
func (a *authority) forSigner(name, email string) (signerCert, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.certs[strings.ToLower(email)]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return signerCert{}, err
	}
	now := time.Now()
	cert, err := issue(&x509.Certificate{Subject: pkix.Name{CommonName: name, Organization: []string{"signingd onespansim"}},
		EmailAddresses: []string{email}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(2, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}, a.root, key.Public(), a.key)
	if err != nil {
		return signerCert{}, err
	}
	c := signerCert{key: key, cert: cert}
	a.certs[strings.ToLower(email)] = c
	return c, nil
}

// roleOf finds the signer role of email; s.mu is held.
func (s *Server) roleOf(p *Package, email string) (*Role, *Signer) {
	for _, rl := range p.Roles {
		for _, sg := range rl.Signers {
			if rl.Type == "SIGNER" && strings.EqualFold(sg.Email, email) {
				return rl, sg
			}
		}
	}
	return nil, nil
}

// signLocked signs every approval of role rl, with a PAdES signature per document, and moves the
// package on; s.mu is held.
func (s *Server) signLocked(p *Package, rl *Role, ip string) error {
	if !isInvited(s.invited(p), rl) {
		return fmt.Errorf("%w: %s cannot sign a %s package now", ErrConflict, rl.ID, p.Status)
	}
	sg := rl.Signers[0]
	name := strings.TrimSpace(sg.FirstName + " " + sg.LastName)
	cert, err := s.ca.forSigner(name, sg.Email)
	if err != nil {
		return err
	}
	at := s.now()
	stamp := at.Format(dateLayout)
	fake := &http.Request{RemoteAddr: ip + ":0"}
	s.audit(p, "Login", p.Name, sg, fake)
	for _, d := range p.Documents {
		var mine []*Approval
		for _, a := range d.Approvals {
			if a.Role == rl.ID && a.Signed == nil {
				mine = append(mine, a)
			}
		}
		if len(mine) == 0 {
			continue
		}
		anchor := ""
		for _, f := range mine[0].Fields {
			if f.Type == "SIGNATURE" && f.ExtractAnchor != nil {
				anchor = f.ExtractAnchor.Text
			}
		}
		var out bytes.Buffer
		err := pades.Sign(context.Background(), bytes.NewReader(d.current), int64(len(d.current)), &out, pades.Options{
			Signer: cert.key, Certificates: []*x509.Certificate{cert.cert},
			Name: name, ContactInfo: sg.Email, Time: at, Placeholder: anchor,
			Reason: "Signed with OneSpan Sign (simulated), authentication " + sg.Auth.Scheme,
		})
		if err != nil {
			s.opts.Logger.Warn("onespansim: document not signed", "package", p.ID, "document", d.ID, "err", err)
		} else {
			d.current = out.Bytes()
		}
		for _, a := range mine {
			a.Signed, a.Accepted = &stamp, &stamp
		}
		s.audit(p, "Sign", d.Name, sg, fake)
		s.emit(p, EventDocumentSigned, sg.ID, d.ID)
	}
	p.Updated = stamp
	s.emit(p, EventSignerComplete, sg.ID, "")
	if s.allSigned(p) {
		if p.Autocomplete {
			s.complete(p, nil)
		} else {
			s.emit(p, EventPackageReadyForComplete, sg.ID, "")
		}
	}
	return nil
}

func isInvited(roles []*Role, rl *Role) bool {
	for _, r := range roles {
		if r == rl {
			return true
		}
	}
	return false
}

// complete finishes a package whose approvals are all signed; s.mu is held.
func (s *Server) complete(p *Package, r *http.Request) {
	stamp := s.stamp()
	p.Status, p.Updated, p.Completed = StatusCompleted, stamp, &stamp
	s.audit(p, "Complete", p.Name, nil, r)
	last := ""
	latest := ""
	for _, rl := range s.signerRoles(p) {
		for _, a := range s.approvals(p, rl.ID) {
			if a.Signed != nil && *a.Signed >= latest {
				latest, last = *a.Signed, rl.Signers[0].ID
			}
		}
	}
	s.emit(p, EventPackageComplete, last, "")
}

// declineLocked declines for the signer of role rl; s.mu is held.
func (s *Server) declineLocked(p *Package, rl *Role, reason, ip string) error {
	if !isInvited(s.invited(p), rl) {
		return fmt.Errorf("%w: %s cannot decline a %s package now", ErrConflict, rl.ID, p.Status)
	}
	sg := rl.Signers[0]
	stamp := s.stamp()
	p.Status, p.Updated = StatusDeclined, stamp
	p.Messages = append(p.Messages, Message{Content: reason, Created: stamp, Status: "NEW",
		From: map[string]any{"id": sg.ID, "email": sg.Email, "firstName": sg.FirstName, "lastName": sg.LastName},
		To:   []any{map[string]any{"email": senderSigner(p.Sender).Email}}})
	e := len(p.audit)
	s.audit(p, "Decline", p.Name, sg, &http.Request{RemoteAddr: ip + ":0"})
	p.audit[e].Data = reason
	s.emit(p, EventPackageDecline, sg.ID, "")
	return nil
}

// autoSignLocked signs for every invited signer until the package stops (SetAutoSign); s.mu is held.
func (s *Server) autoSignLocked(p *Package) {
	if !s.autoSign {
		return
	}
	for {
		inv := s.invited(p)
		if len(inv) == 0 {
			return
		}
		for _, rl := range inv {
			if err := s.signLocked(p, rl, "127.0.0.1"); err != nil {
				s.opts.Logger.Warn("onespansim: auto-sign", "package", p.ID, "err", err)
				return
			}
		}
	}
}
