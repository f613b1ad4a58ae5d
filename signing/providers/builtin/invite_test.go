package builtin

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/store/dbtest"
)

// refusingMailer stands in for an SMTP server that refuses the first n mails.
type refusingMailer struct {
	mu   sync.Mutex
	n    int
	next Mailer
}

func (m *refusingMailer) SendMail(ctx context.Context, mail Mail) error {
	m.mu.Lock()
	refuse := m.n > 0
	m.n--
	m.mu.Unlock()
	if refuse {
		return errors.New("550 mailbox unavailable")
	}
	return m.next.SendMail(ctx, mail)
}

// TestInvitationMailedOnlyWhenRecorded: a link is mailed only after it is stored, and a mail that
// cannot be sent leaves the signer pending, without a link, to be invited again by the retried
// Create — never a mailed link that does not work.
func TestInvitationMailedOnlyWhenRecorded(t *testing.T) {
	e := setup(t)
	e.p.o.Mailer = &refusingMailer{n: 1, next: e.outbox}
	ctx := context.Background()
	req := signing.CreateRequest{TransactionID: uuid.New(), Naam: "Besluit", Deadline: e.clock.Now().Add(30 * 24 * time.Hour),
		Documents: []signing.ProviderDocument{pdfDoc(0, "Besluit", makePDF([]string{"Besluit {{Signer1}}"}))},
		Signers:   []signing.ProviderSigner{signer(0, 1, "anna@gemeente.example", "", "", "Signer1")}}
	if _, err := e.p.Create(ctx, req); err == nil {
		t.Fatal("Create succeeded although the invitation could not be mailed")
	}
	var status string
	var hasLink bool
	var failed int
	err := dbtest.Pool(t).QueryRow(ctx, `SELECT s.status, EXISTS (SELECT 1 FROM builtin_links l WHERE l.signing_id = g.id AND l.position = s.position),
			(SELECT count(*) FROM builtin_events v WHERE v.signing_id = g.id AND v.type = 'invite_failed')
		FROM builtin_signers s JOIN builtin_signings g ON g.id = s.signing_id WHERE g.transaction_id = $1`, req.TransactionID).Scan(&status, &hasLink, &failed)
	if err != nil {
		t.Fatal(err)
	}
	if status != signing.SignerPending || hasLink || failed != 1 {
		t.Fatalf("after a refused mail: status %s, link %v, invite_failed events %d", status, hasLink, failed)
	}
	if _, err := e.p.Create(ctx, req); err != nil { // the workflow retries Create
		t.Fatalf("retried Create: %v", err)
	}
	mails := 0
	for _, m := range e.outbox.Messages() {
		if m.Kind == "email" && m.To == "anna@gemeente.example" {
			mails++
		}
	}
	code, body := newBrowser(t).get(e.link(t, "anna@gemeente.example"))
	if mails != 1 || code != 200 || strings.Contains(body, "werkt niet") {
		t.Fatalf("mails %d; the mailed link answers %d:\n%.300s", mails, code, body)
	}
}
