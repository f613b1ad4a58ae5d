package builtin

import (
	"bytes"
	"context"
	"encoding/json"
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
)

// Mail is one e-mail to a signer (plain text).
type Mail struct {
	To      string
	Subject string
	Body    string
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
	o.add(Message{Kind: "email", To: m.To, Subject: m.Subject, Body: m.Body})
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

// SMTPMailer sends e-mail through an SMTP server with net/smtp (STARTTLS when the server offers
// it, PLAIN auth when a username is set).
type SMTPMailer struct {
	Addr     string // host:port
	Username string
	Password string
	From     string // "Name <address>" or an address
}

// SendMail sends m. net/smtp has no context, so the dial honours ctx's deadline only.
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
	var auth smtp.Auth
	if s.Username != "" {
		auth = smtp.PlainAuth("", s.Username, s.Password, host)
	}
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		from.String(), to.String(), mime.QEncoding.Encode("utf-8", m.Subject), time.Now().Format(time.RFC1123Z))
	msg.WriteString(strings.ReplaceAll(m.Body, "\n", "\r\n"))
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(s.Addr, auth, from.Address, []string{to.Address}, msg.Bytes()) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("builtin: smtp: send: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("builtin: smtp: send: %w", ctx.Err())
	}
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
