package auth

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/signingd/signingd/internal/text"
	"github.com/signingd/signingd/store"
)

// Audit events.
const (
	EventIssued        = "issued"
	EventRefused       = "refused"
	EventRevoked       = "revoked"
	EventIntrospected  = "introspected"
	EventClientCreated = "client_created"
	EventClientChanged = "client_changed"
	EventClientRevoked = "client_revoked"
	EventClientDeleted = "client_deleted"
	EventKeysRotated   = "keys_rotated"
)

// Auditor writes the audit trail in batches, off the request path: a token request costs a channel
// send, not a database round trip. Entries reach the table within auditFlushInterval; a full queue
// makes callers wait rather than lose entries. Refusals are counted per (client id, address,
// reason, minute) and written once their minute is over, so a flood cannot flood the table.
type Auditor struct {
	st     *store.Store
	logger *slog.Logger
	ch     chan store.AuditEntry
	flush  chan chan struct{}
	done   chan struct{}
	once   sync.Once

	mu     sync.RWMutex
	closed bool
}

const (
	auditFlushInterval = 100 * time.Millisecond
	auditBatch         = 1000
	// maxRefusalKeys bounds the refusals counted in memory; when full they are written at once.
	maxRefusalKeys = 10_000
)

// refusalKey is what refusals are counted by: a flood of bad requests costs a row per minute per
// (client id, address, reason), not a row per request.
type refusalKey struct {
	clientID, address, reason string
	minute                    time.Time
}

// NewAuditor starts the writer. Close it to write what is queued.
func NewAuditor(st *store.Store, logger *slog.Logger) *Auditor {
	a := &Auditor{st: st, logger: logger, ch: make(chan store.AuditEntry, 8192), flush: make(chan chan struct{}), done: make(chan struct{})}
	go a.run()
	return a
}

// Record queues an entry. Its texts may come from the caller (a client id, a grant type); they are
// made storable first, or one bad byte would cost the whole batch.
func (a *Auditor) Record(e store.AuditEntry) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	for _, f := range []*string{&e.Event, &e.ClientID, &e.Address, &e.Method, &e.Reason, &e.JTI, &e.Scope} {
		*f = storable(*f)
	}
	e.ClientID = cutClientID(e.ClientID)
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed { // shutting down: write it ourselves
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.st.InsertAudit(ctx, []store.AuditEntry{e}); err != nil {
			a.logger.Error("write auth audit trail", "err", err, "entries", 1)
		}
		return
	}
	a.ch <- e
}

// Flush writes everything recorded so far.
func (a *Auditor) Flush() {
	a.mu.RLock()
	closed := a.closed
	a.mu.RUnlock()
	if closed {
		return
	}
	done := make(chan struct{})
	select {
	case a.flush <- done:
		<-done
	case <-a.done:
	}
}

// Close writes what is queued and stops the writer.
func (a *Auditor) Close() {
	a.once.Do(func() {
		a.mu.Lock()
		a.closed = true
		close(a.ch)
		a.mu.Unlock()
		<-a.done
	})
}

// storable replaces what Postgres text can't hold: invalid UTF-8 and NUL.
func storable(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// cutClientID cuts a client id longer than any client's to that length and a "…": enough to
// recognise it in the audit trail, and no more.
func cutClientID(id string) string {
	if len(id) <= store.MaxClientIDLen {
		return id
	}
	return text.Truncate(id, store.MaxClientIDLen+1)
}

func (a *Auditor) run() {
	defer close(a.done)
	t := time.NewTicker(auditFlushInterval)
	defer t.Stop()
	batch := make([]store.AuditEntry, 0, auditBatch)
	refusals := map[refusalKey]*store.AuditEntry{}
	// settle moves counted refusals to the batch: those of minutes that are over, or all.
	settle := func(all bool) {
		now := time.Now()
		for k, e := range refusals {
			if all || !now.Before(k.minute.Add(time.Minute)) {
				batch = append(batch, *e)
				delete(refusals, k)
			}
		}
	}
	add := func(e store.AuditEntry) {
		if e.Event != EventRefused {
			batch = append(batch, e)
			return
		}
		k := refusalKey{clientID: e.ClientID, address: e.Address, reason: e.Reason, minute: e.At.Truncate(time.Minute)}
		if r, ok := refusals[k]; ok {
			r.Count++
			return
		}
		if len(refusals) >= maxRefusalKeys {
			settle(true)
		}
		e.At, e.Count = k.minute, 1
		refusals[k] = &e
	}
	write := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.st.InsertAudit(ctx, batch); err != nil {
			a.logger.Error("write auth audit trail", "err", err, "entries", len(batch))
		}
		batch = batch[:0]
	}
	for {
		select {
		case e, ok := <-a.ch:
			if !ok {
				settle(true)
				write()
				return
			}
			add(e)
			if len(batch) >= auditBatch {
				write()
			}
		case done := <-a.flush:
			for drained := false; !drained; {
				select {
				case e := <-a.ch:
					add(e)
				default:
					drained = true
				}
			}
			settle(true)
			write()
			close(done)
		case <-t.C:
			settle(false)
			write()
		}
	}
}
