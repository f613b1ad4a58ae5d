package documensosim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Delivery is one webhook call: the event, the body sent, and how it went.
type Delivery struct {
	Event    string
	URL      string
	Body     []byte
	Attempts int
	Status   int    // of the last attempt; 0 when none answered
	Err      string // of the last attempt
	Dropped  bool   // lost on purpose (DropWebhooks)
}

// Attempts is how often Documenso's job runner tries a webhook: once and 3 retries (BackgroundJob
// maxRetries 3) on a non-2xx answer, a redirect, or no answer within 10 s.
const Attempts = 4

// SetWebhook configures the team's webhook: all events to url with X-Documenso-Secret: secret.
func (s *Server) SetWebhook(url, secret string) {
	s.mu.Lock()
	s.webhookURL, s.secret = url, secret
	s.mu.Unlock()
}

// DropWebhooks loses the next n webhooks without sending them.
func (s *Server) DropWebhooks(n int) {
	s.mu.Lock()
	s.deliveries.Drop(n)
	s.mu.Unlock()
}

// Webhooks returns the webhooks so far, in order.
func (s *Server) Webhooks() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveries.List(nil)
}

// Redeliver sends webhook i again, once, as the webhook log's resend does.
func (s *Server) Redeliver(i int) error {
	s.mu.Lock()
	d, ok := s.deliveries.Get(i)
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: webhook %d", ErrNotFound, i)
	}
	body, url, secret := d.Body, d.URL, s.secret
	s.mu.Unlock()
	status, err := s.post(url, secret, body)
	s.mu.Lock()
	defer s.mu.Unlock()
	d.Attempts++
	d.Status, d.Err = status, ""
	if err != nil {
		d.Err = err.Error()
		return err
	}
	return nil
}

// emit queues event for e. Caller holds s.mu.
func (s *Server) emit(e *envelope, event string) {
	if s.webhookURL == "" {
		return
	}
	body, _ := json.Marshal(map[string]any{"event": event, "payload": e.webhookPayload(),
		"createdAt": s.now().Format("2006-01-02T15:04:05.000Z"), "webhookEndpoint": s.webhookURL})
	d := &Delivery{Event: event, URL: s.webhookURL, Body: body}
	i, lost := s.deliveries.Record(d)
	if lost {
		d.Dropped = true
		return
	}
	select {
	case s.hooks <- i:
	default:
		d.Err = "queue full"
	}
}

// deliver sends queued webhooks one after another, with Documenso's retries.
func (s *Server) deliver() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case i := <-s.hooks:
			s.mu.Lock()
			d, _ := s.deliveries.Get(i)
			body, url, secret := d.Body, d.URL, s.secret
			s.mu.Unlock()
			for attempt := 1; attempt <= Attempts; attempt++ {
				status, err := s.post(url, secret, body)
				s.mu.Lock()
				d.Attempts, d.Status, d.Err = attempt, status, ""
				if err != nil {
					d.Err = err.Error()
				}
				s.mu.Unlock()
				if err == nil {
					break
				}
				select {
				case <-s.done:
					return
				case <-time.After(s.opts.RetryDelay):
				}
			}
		}
	}
}

func (s *Server) post(url, secret string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Documenso-Secret", secret)
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
