package builtin

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"github.com/signingd/signingd/signing"
)

// smtpServer is a real SMTP server (go-smtp) on loopback. By default it offers STARTTLS with a
// certificate of its own CA and AUTH PLAIN only after STARTTLS, requires authentication before
// MAIL, and keeps every message it accepts; smtpOptions change that.
type smtpServer struct {
	addr      string
	roots     *x509.CertPool // trusts the server's certificate
	anonymous bool           // MAIL without AUTH is accepted

	mu       sync.Mutex
	mails    []receivedMail
	mailFrom []string        // every MAIL FROM the server saw, accepted or not
	refuse   map[string]bool // recipients answered 550
	hold     chan struct{}   // when set, RCPT waits until it is closed
	held     chan struct{}   // told when a RCPT waits
	sessions chan struct{}   // told when a session ends
	logins   []string        // usernames that tried to authenticate
}

type receivedMail struct {
	From string
	Body smtp.BodyType // BODY= of MAIL FROM
	To   []string
	TLS  bool   // the session was encrypted (STARTTLS or implicit TLS) before MAIL
	User string // authenticated user
	Data []byte
}

const (
	smtpUser     = "signingd"
	smtpPassword = "smtp password of the test"
)

// smtpOptions change what newSMTPServerWith's server offers.
type smtpOptions struct {
	// implicitTLS: TLS from the first byte, as on port 465, and AUTH in it; no STARTTLS.
	implicitTLS bool
	// plain: no TLS at all, as a server (or an attacker in the path who strips STARTTLS) may offer.
	// AUTH PLAIN is offered in plain text and MAIL is accepted without it.
	plain bool
}

func newSMTPServer(t *testing.T) *smtpServer { return newSMTPServerWith(t, smtpOptions{}) }

func newSMTPServerWith(t *testing.T, o smtpOptions) *smtpServer {
	t.Helper()
	cert, roots := smtpCertificate(t)
	srv := &smtpServer{refuse: map[string]bool{}, held: make(chan struct{}, 10), sessions: make(chan struct{}, 100), roots: roots,
		anonymous: o.plain}
	s := smtp.NewServer(srv)
	s.Domain = "mx.testdorp.example"
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.TLSConfig = tlsConfig
	s.AllowInsecureAuth = false // AUTH is offered only after STARTTLS
	if o.plain {
		s.TLSConfig = nil // no STARTTLS
		s.AllowInsecureAuth = true
	}
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.addr = l.Addr().String()
	if o.implicitTLS {
		l = tls.NewListener(l, tlsConfig)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(l) }()
	t.Cleanup(func() {
		srv.mu.Lock()
		if srv.hold != nil {
			select {
			case <-srv.hold:
			default:
				close(srv.hold)
			}
		}
		srv.mu.Unlock()
		s.Close()
		<-done
	})
	return srv
}

// smtpCertificate returns a self-signed certificate for 127.0.0.1 and a pool that trusts it.
func smtpCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.testdorp.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, roots
}

// mailer returns the production mailer pointed at the server, trusting its certificate.
func (srv *smtpServer) mailer() SMTPMailer {
	return SMTPMailer{Addr: srv.addr, Username: smtpUser, Password: smtpPassword, From: "Gemeente Testdorp <noreply@testdorp.example>",
		TLSConfig: &tls.Config{RootCAs: srv.roots}}
}

func (srv *smtpServer) received() []receivedMail {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return append([]receivedMail(nil), srv.mails...)
}

// NewSession implements smtp.Backend.
func (srv *smtpServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{srv: srv, conn: c}, nil
}

type smtpSession struct {
	srv  *smtpServer
	conn *smtp.Conn
	user string
	mail receivedMail
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		s.srv.mu.Lock()
		s.srv.logins = append(s.srv.logins, username)
		s.srv.mu.Unlock()
		if username != smtpUser || password != smtpPassword {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, opts *smtp.MailOptions) error {
	s.srv.mu.Lock()
	s.srv.mailFrom = append(s.srv.mailFrom, from)
	s.srv.mu.Unlock()
	if s.user == "" && !s.srv.anonymous {
		return smtp.ErrAuthRequired
	}
	_, tlsOn := s.conn.TLSConnectionState()
	s.mail = receivedMail{From: from, Body: opts.Body, TLS: tlsOn, User: s.user}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	refuse, hold := s.srv.refuse[to], s.srv.hold
	s.srv.mu.Unlock()
	if hold != nil {
		s.srv.held <- struct{}{}
		<-hold
	}
	if refuse {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Mailbox unavailable"}
	}
	s.mail.To = append(s.mail.To, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mail.Data = b
	s.srv.mu.Lock()
	s.srv.mails = append(s.srv.mails, s.mail)
	s.srv.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset() { s.mail = receivedMail{} }

func (s *smtpSession) Logout() error {
	s.srv.sessions <- struct{}{}
	return nil
}

// parsed is one received message, parsed as a mail client would.
type parsed struct {
	raw     []byte
	header  mail.Header
	subject string
	body    string // with LF line ends
}

func parseMail(t *testing.T, m receivedMail) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, m.Data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject %q: %v", msg.Header.Get("Subject"), err)
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	return parsed{raw: m.Data, header: msg.Header, subject: subject, body: strings.ReplaceAll(string(body), "\r\n", "\n")}
}

var messageIDRE = regexp.MustCompile(`^<[A-Za-z0-9._-]+@testdorp\.example>$`)

// An invitation and a one-time code travel through the production mailer and a real SMTP server:
// STARTTLS before AUTH PLAIN, the envelope, every header a mail client needs, the Dutch text with
// its English part, and a link that opens the signer page; the code in the second mail signs in.
func TestSMTPInvitationAndCode(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	e := setup(t)
	e.p.o.Mailer = srv.mailer()
	before := time.Now()
	e.create(t, []signing.ProviderDocument{pdfDoc(0, "Besluit", makePDF([]string{"Besluit"}))},
		signer(0, 1, "Anna.de.Vries@burger.example", "email", "", ""))

	got := srv.received()
	if len(got) != 1 {
		t.Fatalf("%d messages arrived, want 1", len(got))
	}
	m := got[0]
	if m.From != "noreply@testdorp.example" || len(m.To) != 1 || m.To[0] != "Anna.de.Vries@burger.example" {
		t.Fatalf("envelope: MAIL FROM %q, RCPT TO %q", m.From, m.To)
	}
	if !m.TLS || m.User != smtpUser {
		t.Fatalf("STARTTLS %v, authenticated as %q", m.TLS, m.User)
	}
	if m.Body != smtp.Body8BitMIME {
		t.Errorf("MAIL FROM BODY=%q, want 8BITMIME for an 8-bit body", m.Body)
	}
	if bytes.Contains(bytes.ReplaceAll(m.Data, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("the message has a bare LF; SMTP wants CRLF line ends")
	}
	for _, line := range bytes.Split(m.Data, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("line of %d octets, the limit is 998", len(line))
		}
	}
	inv := parseMail(t, m)
	if from, err := inv.header.AddressList("From"); err != nil || len(from) != 1 || from[0].Name != "Gemeente Testdorp" || from[0].Address != "noreply@testdorp.example" {
		t.Errorf("From: %q (%v)", inv.header.Get("From"), err)
	}
	// The organisation's brand: answers go to its desk, not to the operator's no-reply address.
	if rt, err := inv.header.AddressList("Reply-To"); err != nil || len(rt) != 1 || rt[0].Address != "balie@testdorp.example" {
		t.Errorf("Reply-To: %q (%v)", inv.header.Get("Reply-To"), err)
	}
	if to, err := inv.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "Anna.de.Vries@burger.example" {
		t.Errorf("To: %q (%v)", inv.header.Get("To"), err)
	}
	if want := "Verzoek om te ondertekenen — Omgevingsvergunning Dorpsstraat 1"; inv.subject != want {
		t.Errorf("Subject decodes to %q, want %q", inv.subject, want)
	}
	if raw := inv.header.Get("Subject"); !strings.HasPrefix(strings.ToLower(raw), "=?utf-8?q?") {
		t.Errorf("Subject %q is not an RFC 2047 encoded word", raw)
	}
	if d, err := inv.header.Date(); err != nil || d.Before(before.Add(-time.Second)) || d.After(time.Now().Add(time.Second)) {
		t.Errorf("Date: %q (%v)", inv.header.Get("Date"), err)
	}
	if id := inv.header.Get("Message-Id"); !messageIDRE.MatchString(id) {
		t.Errorf("Message-ID %q, want <unique@testdorp.example>", id)
	}
	if v := inv.header.Get("Mime-Version"); v != "1.0" {
		t.Errorf("MIME-Version %q", v)
	}
	if mt, params, err := mime.ParseMediaType(inv.header.Get("Content-Type")); err != nil || mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type %q (%v)", inv.header.Get("Content-Type"), err)
	}
	if cte := inv.header.Get("Content-Transfer-Encoding"); cte != "8bit" {
		t.Errorf("Content-Transfer-Encoding %q", cte)
	}
	for _, want := range []string{"Beste Test Ondertekenaar 1,", `Gemeente Testdorp (behandelaar@testdorp.example) vraagt u om "Omgevingsvergunning Dorpsstraat 1" digitaal te ondertekenen.`,
		"Open deze persoonlijke link", "stuur deze e-mail niet door", `Na het openen van de link kiest u "Stuur mij een code"; u ontvangt dan een code per e-mail`,
		`Gemeente Testdorp (behandelaar@testdorp.example) asks you to sign "Omgevingsvergunning Dorpsstraat 1" digitally.`, "Open your personal link"} {
		if !strings.Contains(inv.body, want) {
			t.Errorf("body lacks %q:\n%s", want, inv.body)
		}
	}
	links := regexp.MustCompile(regexp.QuoteMeta(e.url)+`/sign/[A-Za-z0-9_-]{43}`).FindAllString(inv.body, -1)
	if len(links) != 2 || links[0] != links[1] || !strings.Contains(inv.body, links[0]+"?lang=en\n") {
		t.Fatalf("links in the body: %q", links)
	}
	link := links[0]

	b := newBrowser(t)
	if c, page := b.get(link); c != http.StatusOK || !strings.Contains(page, "Bevestig dat u het bent") {
		t.Fatalf("the mailed link answers %d:\n%.300s", c, page)
	}
	if _, page := b.post(link, "/code", nil); !strings.Contains(page, "We hebben een code van 6 cijfers per") {
		t.Fatalf("after asking for a code: %.300s", page)
	}
	got = srv.received()
	if len(got) != 2 {
		t.Fatalf("%d messages arrived, want the invitation and the code", len(got))
	}
	cm := parseMail(t, got[1])
	if cm.subject != "Uw code om te ondertekenen" || got[1].To[0] != "Anna.de.Vries@burger.example" {
		t.Fatalf("code mail: %q to %q", cm.subject, got[1].To)
	}
	if cm.header.Get("Message-Id") == inv.header.Get("Message-Id") || !messageIDRE.MatchString(cm.header.Get("Message-Id")) {
		t.Errorf("Message-IDs %q and %q: want two different ones", inv.header.Get("Message-Id"), cm.header.Get("Message-Id"))
	}
	code := codeRE.FindStringSubmatch(cm.body)
	if code == nil || !strings.Contains(cm.body, "5 minuten geldig") {
		t.Fatalf("code mail body: %q", cm.body)
	}
	if _, page := b.post(link, "/verify", url.Values{"code": {code[1]}}); !strings.Contains(page, `id="sign-form"`) {
		t.Fatalf("the mailed code did not sign in: %.300s", page)
	}
}

// A server that refuses the recipient makes the invitation fail as designed: Create returns the
// server's 550, the signer is pending again without a link and an invite_failed event records why;
// the workflow's retried Create mails a link that works.
func TestSMTPRecipientRefused(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	srv.refuse["onbekend@burger.example"] = true
	e := setup(t)
	e.p.o.Mailer = srv.mailer()
	ctx := context.Background()
	req := signing.CreateRequest{TransactionID: uuid.New(), Naam: "Besluit", Deadline: e.clock.Now().Add(30 * 24 * time.Hour),
		Documents: []signing.ProviderDocument{pdfDoc(0, "Besluit", makePDF([]string{"Besluit"}))},
		Signers:   []signing.ProviderSigner{signer(0, 1, "onbekend@burger.example", "", "", "")}}
	_, err := e.p.Create(ctx, req)
	var reply *textproto.Error
	if !errors.As(err, &reply) || reply.Code != 550 {
		t.Fatalf("Create with a refused recipient: %v, want the server's 550", err)
	}
	if n := len(srv.received()); n != 0 {
		t.Fatalf("%d messages arrived", n)
	}
	id, ok, err := e.st.BuiltinSigningByTransaction(ctx, req.TransactionID)
	if err != nil || !ok {
		t.Fatalf("signing: %v %v", ok, err)
	}
	sg, err := e.st.BuiltinSigning(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if s := sg.Signers[0]; s.Status != signing.SignerPending || s.LinkExpires != nil || s.InvitedAt != nil {
		t.Fatalf("signer after the refusal: %+v", s)
	}
	events, err := e.st.BuiltinEvents(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, ev := range events {
		if ev.Type == "invite_failed" {
			msg, _ := ev.Detail["error"].(string)
			failed = append(failed, msg)
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0], "550") || strings.Contains(failed[0], smtpPassword) {
		t.Fatalf("invite_failed events: %q", failed)
	}

	srv.mu.Lock()
	delete(srv.refuse, "onbekend@burger.example") // the mailbox exists now
	srv.mu.Unlock()
	if _, err := e.p.Create(ctx, req); err != nil {
		t.Fatalf("retried Create: %v", err)
	}
	got := srv.received()
	if len(got) != 1 {
		t.Fatalf("%d messages after the retry, want 1", len(got))
	}
	link := regexp.MustCompile(`/sign/[A-Za-z0-9_-]{43}`).FindString(parseMail(t, got[0]).body)
	if c, page := newBrowser(t).get(e.url + link); c != http.StatusOK || !strings.Contains(page, `id="sign-form"`) {
		t.Fatalf("the mailed link answers %d:\n%.300s", c, page)
	}
}

// The mailer checks the server's certificate (its CA and name) and password, and gives up when its context ends
// without leaving the session to carry on: a mail the provider was told had failed (and whose
// invitation it undid) must never arrive later.
func TestSMTPMailerRefusals(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	m := Mail{To: "a@burger.example", Subject: "Onderwerp", Body: "Tekst\n"}
	ctx := context.Background()

	t.Run("untrusted certificate", func(t *testing.T) {
		mailer := srv.mailer()
		mailer.TLSConfig = nil // the system's roots do not know the test CA
		err := mailer.SendMail(ctx, m)
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("STARTTLS with an unknown CA: %v", err)
		}
	})
	t.Run("another name", func(t *testing.T) {
		mailer := srv.mailer()
		_, port, _ := net.SplitHostPort(srv.addr)
		mailer.Addr = net.JoinHostPort("localhost", port) // the certificate names 127.0.0.1 only
		var mismatch x509.HostnameError
		if err := mailer.SendMail(ctx, m); !errors.As(err, &mismatch) {
			t.Fatalf("STARTTLS to a name the certificate lacks: %v", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		mailer := srv.mailer()
		mailer.Password = "wrong"
		err := mailer.SendMail(ctx, m)
		var reply *textproto.Error
		if !errors.As(err, &reply) || reply.Code != 535 || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("wrong password: %v", err)
		}
	})
	srv.mu.Lock()
	logins := len(srv.logins)
	srv.mu.Unlock()
	if logins != 1 || len(srv.received()) != 0 {
		t.Fatalf("%d logins (want only the one after a verified STARTTLS), %d messages", logins, len(srv.received()))
	}

	t.Run("context ends", func(t *testing.T) {
		srv := newSMTPServer(t) // a server of its own: its only session is this one
		srv.hold = make(chan struct{})
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := srv.mailer().SendMail(ctx, m)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Fatalf("SendMail with a stalled server: %v after %v", err, time.Since(start))
		}
		held := false
		select {
		case <-srv.held:
			held = true
		case <-srv.sessions: // on a busy machine the mailer may give up before it reaches RCPT
		case <-time.After(10 * time.Second):
			t.Fatal("the session neither reached RCPT nor ended")
		}
		if held {
			srv.mu.Lock()
			close(srv.hold) // the server answers RCPT now
			srv.mu.Unlock()
			select {
			case <-srv.sessions:
			case <-time.After(10 * time.Second):
				t.Fatal("the session did not end")
			}
		}
		if n := len(srv.received()); n != 0 {
			t.Fatalf("%d messages arrived after SendMail had failed", n)
		}
	})
}

// BUILTIN_SMTP_TLS=starttls, the default, requires STARTTLS: a server that does not offer it (or
// whose offer an attacker in the path stripped) gets neither the password nor the link, with or
// without a username, and Create fails with ErrNoSTARTTLS so that the invitation is retried.
func TestSMTPStartTLSRequired(t *testing.T) {
	t.Parallel()
	srv := newSMTPServerWith(t, smtpOptions{plain: true})
	m := Mail{To: "a@burger.example", Subject: "Onderwerp", Body: "Uw link: https://signingd.example/sign/geheim\n"}
	for name, mailer := range map[string]SMTPMailer{
		"default":            srv.mailer(),
		"starttls":           func() SMTPMailer { x := srv.mailer(); x.TLS = SMTPStartTLS; return x }(),
		"without a username": func() SMTPMailer { x := srv.mailer(); x.Username, x.Password = "", ""; return x }(),
	} {
		if err := mailer.SendMail(context.Background(), m); !errors.Is(err, ErrNoSTARTTLS) || !strings.Contains(err.Error(), "STARTTLS") {
			t.Errorf("%s: SendMail to a server without STARTTLS: %v, want ErrNoSTARTTLS", name, err)
		}
	}

	e := setup(t)
	e.p.o.Mailer = srv.mailer()
	req := signing.CreateRequest{TransactionID: uuid.New(), Naam: "Besluit", Deadline: e.clock.Now().Add(30 * 24 * time.Hour),
		Documents: []signing.ProviderDocument{pdfDoc(0, "Besluit", makePDF([]string{"Besluit"}))},
		Signers:   []signing.ProviderSigner{signer(0, 1, "anna@burger.example", "", "", "")}}
	if _, err := e.p.Create(context.Background(), req); !errors.Is(err, ErrNoSTARTTLS) {
		t.Errorf("Create with a server without STARTTLS: %v, want ErrNoSTARTTLS", err)
	}

	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.logins) != 0 || len(srv.mailFrom) != 0 || len(srv.mails) != 0 {
		t.Fatalf("the server saw logins %q, MAIL FROM %q and %d messages; want nothing", srv.logins, srv.mailFrom, len(srv.mails))
	}
}

// BUILTIN_SMTP_TLS=tls speaks TLS from the first byte (port 465): the mail arrives encrypted and
// authenticated; an unknown CA, a certificate for another name, or a server that answers in plain
// text gets nothing.
func TestSMTPImplicitTLS(t *testing.T) {
	t.Parallel()
	srv := newSMTPServerWith(t, smtpOptions{implicitTLS: true})
	m := Mail{To: "a@burger.example", Subject: "Onderwerp", Body: "Tekst\n"}
	ctx := context.Background()
	tlsMailer := func() SMTPMailer { x := srv.mailer(); x.TLS = SMTPImplicitTLS; return x }

	t.Run("untrusted certificate", func(t *testing.T) {
		mailer := tlsMailer()
		mailer.TLSConfig = nil // the system's roots do not know the test CA
		var unknown x509.UnknownAuthorityError
		if err := mailer.SendMail(ctx, m); !errors.As(err, &unknown) {
			t.Fatalf("implicit TLS with an unknown CA: %v", err)
		}
	})
	t.Run("another name", func(t *testing.T) {
		mailer := tlsMailer()
		_, port, _ := net.SplitHostPort(srv.addr)
		mailer.Addr = net.JoinHostPort("localhost", port) // the certificate names 127.0.0.1 only
		var mismatch x509.HostnameError
		if err := mailer.SendMail(ctx, m); !errors.As(err, &mismatch) {
			t.Fatalf("implicit TLS to a name the certificate lacks: %v", err)
		}
	})
	t.Run("plain server", func(t *testing.T) {
		plain := newSMTPServerWith(t, smtpOptions{plain: true})
		mailer := plain.mailer()
		mailer.TLS = SMTPImplicitTLS
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := mailer.SendMail(ctx, m); err == nil {
			t.Fatal("implicit TLS to a plain-text server succeeded")
		}
		plain.mu.Lock()
		defer plain.mu.Unlock()
		if len(plain.mailFrom) != 0 {
			t.Fatalf("the plain server saw MAIL FROM %q", plain.mailFrom)
		}
	})
	if n := len(srv.received()); n != 0 {
		t.Fatalf("%d messages arrived over unverified TLS", n)
	}

	if err := tlsMailer().SendMail(ctx, m); err != nil {
		t.Fatalf("implicit TLS: %v", err)
	}
	got := srv.received()
	if len(got) != 1 || !got[0].TLS || got[0].User != smtpUser || got[0].To[0] != "a@burger.example" {
		t.Fatalf("received over implicit TLS: %+v", got)
	}
	if body := parseMail(t, got[0]).body; body != "Tekst\n" {
		t.Fatalf("body %q", body)
	}
}

// BUILTIN_SMTP_TLS=none sends in plain text to a mail catcher on loopback, and refuses any other
// host before dialling it.
func TestSMTPPlainOnLoopback(t *testing.T) {
	t.Parallel()
	srv := newSMTPServerWith(t, smtpOptions{plain: true})
	m := Mail{To: "a@burger.example", Subject: "Onderwerp", Body: "Tekst\n"}
	mailer := SMTPMailer{Addr: srv.addr, TLS: SMTPPlain, From: "Gemeente Testdorp <noreply@testdorp.example>"}
	if err := mailer.SendMail(context.Background(), m); err != nil {
		t.Fatalf("plain text on loopback: %v", err)
	}
	got := srv.received()
	if len(got) != 1 || got[0].TLS || got[0].User != "" || got[0].From != "noreply@testdorp.example" {
		t.Fatalf("received in plain text: %+v", got)
	}
	if body := parseMail(t, got[0]).body; body != "Tekst\n" {
		t.Fatalf("body %q", body)
	}

	for _, addr := range []string{"mail.testdorp.example:25", "192.0.2.25:25", "[2001:db8::25]:25"} {
		mailer.Addr = addr // never dialled: the refusal comes first
		if err := mailer.SendMail(context.Background(), m); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("plain text to %s: %v, want a refusal", addr, err)
		}
	}
}
