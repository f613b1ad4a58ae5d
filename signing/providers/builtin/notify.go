package builtin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"strings"
	"sync"
	"time"

	"github.com/signingd/signingd/internal/loopback"
)

// Mail is one e-mail to a signer (plain text).
type Mail struct {
	To      string
	Subject string
	Body    string
	// SenderName replaces the From name (the address stays the operator's); ReplyTo, when set,
	// is where a signer's answer goes: the organisation, not a no-reply address.
	SenderName, ReplyTo string
}

// Mailer sends e-mail to signers.
type Mailer interface {
	SendMail(ctx context.Context, m Mail) error
}

// SMSSender sends text messages to signers' phones.
type SMSSender interface {
	SendSMS(ctx context.Context, to, text string) error
}

// Message is what the dev outbox keeps of one e-mail or SMS.
type Message struct {
	At      time.Time
	Kind    string // "email" or "sms"
	To      string
	Subject string
	Body    string
	From    string // the sender's name, when the organisation gives one
	ReplyTo string
}

// Outbox keeps every e-mail and SMS in memory instead of sending it; `signingd dev` shows it at
// /dev/outbox and the tests read codes and links from it. It holds the last 500 messages.
type Outbox struct {
	mu   sync.Mutex
	msgs []Message
	now  func() time.Time
}

// NewOutbox returns an empty outbox.
func NewOutbox() *Outbox { return &Outbox{now: time.Now} }

// SendMail keeps m.
func (o *Outbox) SendMail(_ context.Context, m Mail) error {
	o.add(Message{Kind: "email", To: m.To, Subject: m.Subject, Body: m.Body, From: m.SenderName, ReplyTo: m.ReplyTo})
	return nil
}

// SendSMS keeps the message.
func (o *Outbox) SendSMS(_ context.Context, to, text string) error {
	o.add(Message{Kind: "sms", To: to, Body: text})
	return nil
}

func (o *Outbox) add(m Message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m.At = o.now().UTC()
	o.msgs = append(o.msgs, m)
	if len(o.msgs) > 500 {
		o.msgs = o.msgs[len(o.msgs)-500:]
	}
}

// Messages returns the kept messages, newest first.
func (o *Outbox) Messages() []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Message, len(o.msgs))
	for i, m := range o.msgs {
		out[len(o.msgs)-1-i] = m
	}
	return out
}

// SMTPTLS says how SMTPMailer protects its session. A signing link is a bearer secret, so there is
// no "TLS when offered": a server, or someone in the path, that does not offer it gets nothing.
type SMTPTLS string

const (
	// SMTPStartTLS upgrades the session with STARTTLS before AUTH and MAIL, and refuses to send
	// when the server does not offer it. It is the default (also as the zero value).
	SMTPStartTLS SMTPTLS = "starttls"
	// SMTPImplicitTLS speaks TLS from the first byte, as on the submissions port 465.
	SMTPImplicitTLS SMTPTLS = "tls"
	// SMTPPlain sends in plain text, never using STARTTLS; only to a loopback host (a local mail
	// catcher), else SendMail refuses.
	SMTPPlain SMTPTLS = "none"
)

// ErrNoSTARTTLS is SendMail's error when the server does not offer STARTTLS in SMTPStartTLS mode:
// nothing was sent, neither the password nor the mail.
var ErrNoSTARTTLS = errors.New("server does not offer STARTTLS; refusing to send in plain text (BUILTIN_SMTP_TLS=starttls)")

// SMTPMailer sends e-mail through an SMTP server with net/smtp: over TLS as TLS says, with PLAIN
// auth when a username is set.
type SMTPMailer struct {
	Addr     string // host:port
	Username string
	Password string
	From     string  // "Name <address>" or an address
	TLS      SMTPTLS // empty: SMTPStartTLS
	// TLSConfig checks the server's certificate (STARTTLS or implicit TLS); nil: the system's roots.
	// Its ServerName defaults to the host of Addr. The certificate is always verified.
	TLSConfig *tls.Config
}

// smtpTimeout bounds one mail when the caller's context has no deadline.
const smtpTimeout = time.Minute

// SendMail sends m. net/smtp knows no context, so the connection is closed when ctx ends: whatever
// command was under way fails, and nothing of the session goes on after SendMail returned.
func (s SMTPMailer) SendMail(ctx context.Context, m Mail) error {
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return fmt.Errorf("builtin: smtp: sender %q: %w", s.From, err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("builtin: smtp: recipient: %w", err)
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("builtin: smtp: address %q: %w", s.Addr, err)
	}
	mode := s.TLS
	switch mode {
	case "":
		mode = SMTPStartTLS
	case SMTPStartTLS, SMTPImplicitTLS:
	case SMTPPlain:
		if !loopback.Host(host) {
			return fmt.Errorf("builtin: smtp: plain text (TLS %q) only to a loopback host, not %q", mode, host)
		}
	default:
		return fmt.Errorf("builtin: smtp: unknown TLS mode %q", mode)
	}
	if m.SenderName != "" {
		from.Name = m.SenderName
	}
	msg := message(from, to, m, time.Now())
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, smtpTimeout)
		defer cancel()
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("builtin: smtp: %w", err)
	}
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	conn := raw
	if mode == SMTPImplicitTLS {
		tc := tls.Client(raw, s.tlsConfig(host))
		if err := tc.HandshakeContext(ctx); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return fmt.Errorf("builtin: smtp: tls: %w", err)
		}
		conn = tc // net/smtp sees a *tls.Conn and knows the session is encrypted
	}
	if err := s.send(conn, host, mode, from.Address, to.Address, msg); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("builtin: smtp: send: %w", err)
	}
	return nil
}

// tlsConfig is TLSConfig (or the system's roots) for the server host.
func (s SMTPMailer) tlsConfig(host string) *tls.Config {
	cfg := &tls.Config{}
	if s.TLSConfig != nil {
		cfg = s.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.InsecureSkipVerify = false // a link must not go to whoever answers
	return cfg
}

// send is smtp.SendMail on a connection of ours.
func (s SMTPMailer) send(conn net.Conn, host string, mode SMTPTLS, from, to string, msg []byte) error {
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if mode == SMTPStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return ErrNoSTARTTLS
		}
		if err := c.StartTLS(s.tlsConfig(host)); err != nil {
			return err
		}
	}
	if s.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("server does not offer AUTH")
		}
		// PlainAuth sends the password only over TLS or to localhost.
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message is m as an RFC 5322 message: plain UTF-8 text, CRLF line ends, and a Message-ID of the
// sender's domain.
func message(from, to *mail.Address, m Mail, now time.Time) []byte {
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	id := make([]byte, 16)
	_, _ = rand.Read(id) // crypto/rand never fails on supported platforms
	var msg bytes.Buffer
	if m.ReplyTo != "" {
		if rt, err := mail.ParseAddress(m.ReplyTo); err == nil {
			fmt.Fprintf(&msg, "Reply-To: %s\r\n", rt.String())
		}
	}
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		from.String(), to.String(), mime.QEncoding.Encode("utf-8", m.Subject), now.Format(time.RFC1123Z), hex.EncodeToString(id), domain)
	msg.WriteString(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n"))
	return msg.Bytes()
}

// HTTPSMS is a generic HTTP JSON SMS gateway: it POSTs {"to","from","text"} to URL with a bearer
// token and expects a 2xx answer. Most gateways accept this shape directly or through a small
// adapter.
type HTTPSMS struct {
	URL    string
	Token  string
	From   string
	Client *http.Client // nil: 15 s timeout
}

// SendSMS sends text to the phone number to.
func (g HTTPSMS) SendSMS(ctx context.Context, to, text string) error {
	body, _ := json.Marshal(map[string]string{"to": to, "from": g.From, "text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("builtin: sms gateway: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	c := g.Client
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("builtin: sms gateway: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("builtin: sms gateway: status %d", resp.StatusCode)
	}
	return nil
}
