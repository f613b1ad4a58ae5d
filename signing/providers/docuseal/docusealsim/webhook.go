package docusealsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Delivery is one webhook event: what was sent, and how it went.
type Delivery struct {
	Event    string
	URL      string
	Body     []byte // of the last attempt
	Attempts int
	Status   int    // of the last attempt; 0 when none answered
	Err      string // of the last attempt
	Dropped  bool   // lost on purpose (DropWebhooks)
	Done     bool   // delivered, or given up
	Sent     []time.Time
}

// Attempts is how often DocuSeal sends a webhook that keeps failing: its Send*WebhookRequestJob
// retries attempt n after 2^n minutes while n <= MAX_ATTEMPTS (12 for form.completed, 10 for the
// others), so attempts 0 to MAX_ATTEMPTS+1 are made.
func Attempts(event string) int {
	if event == "form.completed" {
		return 12 + 2
	}
	return 10 + 2
}

// SetWebhook configures the account's webhook: every event to url, signed with the HMAC secret
// (whsec_…) in X-Docuseal-Signature.
func (s *Server) SetWebhook(url, secret string) {
	s.mu.Lock()
	s.webhookURL, s.secret = url, secret
	s.mu.Unlock()
}

// SetWebhookHeader adds the webhook's custom static header (DocuSeal's older "secret": header
// name and value pairs merged into the request); an empty name removes it. A custom header named
// X-Docuseal-Signature replaces the HMAC signature, as in DocuSeal.
func (s *Server) SetWebhookHeader(name, value string) {
	s.mu.Lock()
	s.legacyName, s.legacyValue = name, value
	s.mu.Unlock()
}

// DropWebhooks loses the next n webhook events without sending them.
func (s *Server) DropWebhooks(n int) {
	s.mu.Lock()
	s.deliveries.Drop(n)
	s.mu.Unlock()
}

// Webhooks returns the webhook events so far, in order.
func (s *Server) Webhooks() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveries.List(func(d Delivery) Delivery {
		d.Sent = append([]time.Time(nil), d.Sent...)
		return d
	})
}

// Redeliver sends webhook event i again, once, with the body it last had, as the webhook log's
// resend button does.
func (s *Server) Redeliver(i int) error {
	s.mu.Lock()
	d, ok := s.deliveries.Get(i)
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: webhook %d", ErrNotFound, i)
	}
	body := d.Body
	s.mu.Unlock()
	if body == nil {
		return fmt.Errorf("%w: webhook %d was never sent", ErrNotFound, i)
	}
	return s.attempt(d, body)
}

type webhookBody struct {
	EventType string `json:"event_type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// emit queues event for sub (and submitter sb for form.* events). The body is made at each
// attempt, as DocuSeal's jobs serialize the record then (with fresh links); the timestamp is the
// event's. Caller holds s.mu.
func (s *Server) emit(sub *submission, sb *Submitter, event string) {
	if s.webhookURL == "" {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	stamp := s.now().Format("2006-01-02T15:04:05.000Z")
	build := func() []byte {
		var data any
		switch {
		case sb != nil:
			data = s.formData(sub, sb)
		case event == "submission.archived":
			data = map[string]any{"id": sub.ID, "archived_at": ts(sub.ArchivedAt)}
		default:
			data = s.submissionJSON(sub, true, true, true)
		}
		b, _ := json.Marshal(webhookBody{EventType: event, Timestamp: stamp, Data: data})
		return b
	}
	d := &Delivery{Event: event, URL: s.webhookURL}
	_, lost := s.deliveries.Record(d)
	if msg := s.spec.checkWebhook(event, build()); msg != "" {
		s.answerErrors = append(s.answerErrors, "webhook "+event+": "+msg)
	}
	if lost {
		d.Dropped, d.Done = true, true
		return
	}
	s.wg.Add(1)
	go s.deliver(d, build)
}

// formData is Submitters::SerializeForWebhook. Caller holds s.mu.
func (s *Server) formData(sub *submission, sb *Submitter) map[string]any {
	m := s.submitterJSON(sub, sb, true)
	m["ua"], m["ip"] = orNil(sb.UA), orNil(sb.IP)
	var reason any
	for _, e := range sub.Events {
		if e.SubmitterID == sb.ID && e.Type == "decline_form" {
			reason = e.Data["reason"]
		}
	}
	m["decline_reason"] = reason
	var audit any
	if sub.CompletedAt != nil {
		audit = s.link(sub.ID, -1, "Audit Log")
	}
	m["audit_log_url"] = audit
	m["submission_url"] = s.base + "/e/" + sub.Slug
	var tmpl any
	if t := sub.Template; t != nil {
		tmpl = map[string]any{"id": t.ID, "name": t.Name, "external_id": nil, "folder_name": "Default",
			"created_at": ts(&t.CreatedAt), "updated_at": ts(&t.CreatedAt)}
	}
	m["template"] = tmpl
	status := sub.status(s.now())
	m["submission"] = map[string]any{"id": sub.ID, "audit_log_url": audit, "combined_document_url": nil, "status": status,
		"url": s.base + "/e/" + sub.Slug, "variables": map[string]any{}, "created_at": ts(&sub.CreatedAt)}
	return m
}

// deliver sends an event with DocuSeal's retries: attempt n+1 after 2^n retry minutes.
func (s *Server) deliver(d *Delivery, build func() []byte) {
	defer s.wg.Done()
	last := Attempts(d.Event) - 1
	for n := 0; ; n++ {
		s.mu.Lock()
		body := build()
		s.mu.Unlock()
		err := s.attempt(d, body)
		if err == nil || n >= last {
			s.mu.Lock()
			d.Done = true
			s.mu.Unlock()
			return
		}
		select {
		case <-s.done:
			return
		case <-time.After(time.Duration(1<<n) * s.opts.RetryScale):
		}
	}
}

// attempt posts body once and records how it went.
func (s *Server) attempt(d *Delivery, body []byte) error {
	s.mu.Lock()
	secret, name, value := s.secret, s.legacyName, s.legacyValue
	unix := s.opts.Now().Unix()
	d.Sent = append(d.Sent, time.Now())
	s.mu.Unlock()
	status, err := s.post(d.URL, secret, name, value, unix, body)
	s.mu.Lock()
	defer s.mu.Unlock()
	d.Attempts++
	d.Body, d.Status, d.Err = body, status, ""
	if err != nil {
		d.Err = err.Error()
	}
	return err
}

// Sign returns DocuSeal's X-Docuseal-Signature for body at unix time ts
// (lib/webhook_urls/signatures.rb): "{ts}.{hex HMAC-SHA256(secret, "{ts}.{body}")}".
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	t := strconv.FormatInt(ts, 10)
	mac.Write([]byte(t + "."))
	mac.Write(body)
	return t + "." + hex.EncodeToString(mac.Sum(nil))
}

func (s *Server) post(url, secret, name, value string, unix int64, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 23*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "DocuSeal.com Webhook")
	if name != "" {
		req.Header.Set(name, value)
	}
	if req.Header.Get("X-Docuseal-Signature") == "" {
		req.Header.Set("X-Docuseal-Signature", Sign(secret, unix, body))
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
