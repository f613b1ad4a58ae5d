package docuseal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/vendorapi"
	"github.com/signingd/signingd/signing/providers/vendorkit"
)

type area struct {
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	W    float64 `json:"w"`
	H    float64 `json:"h"`
	Page int     `json:"page"`
}

type field struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Role     string `json:"role"`
	Required bool   `json:"required"`
	Areas    []area `json:"areas"`
}

type document struct {
	Name   string  `json:"name"`
	File   string  `json:"file"` // a token, replaced by the base64 of the PDF as the body streams
	Fields []field `json:"fields"`
}

type submitter struct {
	Name            string `json:"name,omitempty"`
	Role            string `json:"role"`
	Email           string `json:"email"`
	Phone           string `json:"phone,omitempty"`
	ExternalID      string `json:"external_id"`
	Order           int    `json:"order"`
	RequirePhone2FA bool   `json:"require_phone_2fa,omitempty"`
	RequireEmail2FA bool   `json:"require_email_2fa,omitempty"`
	SendEmail       bool   `json:"send_email"`
}

type message struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

type payload struct {
	Name       string      `json:"name"`
	Documents  []document  `json:"documents"`
	Submitters []submitter `json:"submitters"`
	Order      string      `json:"order"`
	SendEmail  bool        `json:"send_email"`
	ExpireAt   string      `json:"expire_at,omitempty"`
	Message    *message    `json:"message,omitempty"`
}

// The field's size, in points.
const fieldW, fieldH = 170.0, 50.0

// ExternalID is the external_id of the signer at position in the transaction's submission.
func ExternalID(txid string, position int) string { return txid + ":" + strconv.Itoa(position) }

// Role is the DocuSeal role of the signer at position.
func Role(position int) string { return "Ondertekenaar " + strconv.Itoa(position+1) }

// find returns the submission made for the transaction: the one whose first submitter carries
// the transaction's external id.
func (p *Provider) find(ctx context.Context, txid string) (string, bool, error) {
	var out struct {
		Data []struct {
			SubmissionID int64  `json:"submission_id"`
			ExternalID   string `json:"external_id"`
		} `json:"data"`
	}
	q := url.Values{"external_id": {ExternalID(txid, 0)}, "limit": {"10"}}
	if err := p.api.JSON(ctx, "find submission", http.MethodGet, "/submitters?"+q.Encode(), nil, &out); err != nil {
		return "", false, err
	}
	for _, s := range out.Data {
		if s.ExternalID == ExternalID(txid, 0) && s.SubmissionID > 0 {
			return strconv.FormatInt(s.SubmissionID, 10), true, nil
		}
	}
	return "", false, nil
}

// Create implements signing.Provider: it returns the submission already made for the
// transaction, or makes one from the documents with POST /submissions/pdf (which sends it).
func (p *Provider) Create(ctx context.Context, req signing.CreateRequest) (string, error) {
	if p.cfg.Edition == EditionFree {
		return "", fmt.Errorf("docuseal: %s: %w", NoDocumentsFree, signing.ErrPermanent)
	}
	if len(req.Signers) == 0 || len(req.Documents) == 0 {
		return "", fmt.Errorf("docuseal: a submission needs documents and signers: %w", signing.ErrPermanent)
	}
	txid := req.TransactionID.String()
	if id, ok, err := p.find(ctx, txid); err != nil || ok {
		return id, err
	}
	docs, err := vendorkit.Spool(ctx, "docuseal", req.Documents)
	if err != nil {
		return "", err
	}
	defer vendorkit.Remove(docs)
	parts, err := p.payload(ctx, req, docs)
	if err != nil {
		return "", err
	}
	// The PDFs are streamed: the body is written, base64 and all, as the transport reads it.
	resp, err := p.api.DoStreamed(ctx, "create submission", vendorapi.Request{Method: http.MethodPost, Path: "/submissions/pdf",
		ContentType: "application/json", Accept: "application/json"}, func(w io.Writer) error { return writeBody(w, parts, docs) })
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		ID int64 `json:"id"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&out); err != nil || out.ID <= 0 {
		return "", fmt.Errorf("docuseal: create submission: answer without id: %v", err)
	}
	return strconv.FormatInt(out.ID, 10), nil
}

// writeBody writes the JSON parts with each document's base64 between them.
func writeBody(w io.Writer, parts [][]byte, docs []vendorkit.Spooled) error {
	for i, part := range parts {
		if _, err := w.Write(part); err != nil {
			return err
		}
		if i == len(docs) {
			break
		}
		enc := base64.NewEncoder(base64.StdEncoding, w)
		if _, err := io.Copy(enc, docs[i].Reader()); err != nil {
			return err
		}
		if err := enc.Close(); err != nil {
			return err
		}
	}
	return nil
}

// payload returns the request body split where each document's base64 goes.
func (p *Provider) payload(ctx context.Context, req signing.CreateRequest, docs []vendorkit.Spooled) ([][]byte, error) {
	title := vendorkit.Title(req, 255)
	send := p.cfg.SendEmail == nil || *p.cfg.SendEmail
	pl := payload{Name: title, Order: "preserved", SendEmail: send}
	if !req.Deadline.IsZero() {
		pl.ExpireAt = req.Deadline.UTC().Format("2006-01-02T15:04:05Z")
	}
	org := strings.TrimSpace(req.Organisation.Name)
	if org == "" {
		org = "De gemeente"
	}
	pl.Message = &message{
		Subject: vendorkit.Truncate(org+": "+title+" ondertekenen", 255),
		Body: org + " vraagt u om " + title + " te ondertekenen.\n\n" +
			"Open de documenten en onderteken ze via deze link:\n{{submitter.link}}\n\nMet vriendelijke groet,\n" + org,
	}
	// order: the rank of the signer's volgorde among the distinct values
	ranks := vendorkit.Ranks(req.Signers)
	for _, s := range req.Signers {
		sub := submitter{Role: Role(s.Position), Email: s.Email, ExternalID: ExternalID(req.TransactionID.String(), s.Position),
			Name: vendorkit.Truncate(strings.TrimSpace(s.Voornaam+" "+s.Achternaam), 255), SendEmail: send}
		sub.Order = ranks[s.Volgorde]
		if s.Authenticatie != nil {
			switch s.Authenticatie.Methode {
			case signing.AuthSMS:
				if s.Authenticatie.Waarde == "" {
					return nil, fmt.Errorf("docuseal: signer %d: sms without a number: %w", s.Position, signing.ErrPermanent)
				}
				sub.Phone, sub.RequirePhone2FA = s.Authenticatie.Waarde, true
			case signing.AuthEmail:
				sub.RequireEmail2FA = true
			case "", "null":
			default:
				return nil, fmt.Errorf("docuseal: signer %d: authentication %q is not offered: %w", s.Position, s.Authenticatie.Methode, signing.ErrPermanent)
			}
		}
		pl.Submitters = append(pl.Submitters, sub)
	}
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	token := func(i int) string {
		return "@@signingd-file-" + hex.EncodeToString(nonce) + "-" + strconv.Itoa(i) + "@@"
	}
	for i, d := range docs {
		doc := document{Name: docName(d.Doc), File: token(i)}
		slot := 0
		for _, s := range req.Signers {
			b, err := vendorkit.FieldBox(ctx, "docuseal", d, signing.Placeholder(s.Identificatie), fieldW, fieldH, &slot)
			if err != nil {
				return nil, err
			}
			a := fraction(b)
			doc.Fields = append(doc.Fields, field{Name: fmt.Sprintf("Handtekening %d (%s)", s.Position+1, doc.Name), Type: "signature",
				Role: Role(s.Position), Required: true, Areas: []area{a}})
		}
		pl.Documents = append(pl.Documents, doc)
	}
	b, err := json.Marshal(pl)
	if err != nil {
		return nil, fmt.Errorf("docuseal: payload: %w", err)
	}
	parts := make([][]byte, 0, len(docs)+1)
	for i := range docs {
		before, after, ok := bytes.Cut(b, []byte(token(i)))
		if !ok {
			return nil, fmt.Errorf("docuseal: payload: document %d has no place", i)
		}
		parts = append(parts, before)
		b = after
	}
	return append(parts, b), nil
}

// fraction makes an area of the box: DocuSeal's areas are fractions of the page as shown, from
// its top left.
func fraction(b vendorkit.Box) area {
	w, h := b.PageSize[0], b.PageSize[1]
	x, top := b.Rect[0], b.Rect[3]
	fr := func(v, of float64) float64 { return min(1, max(0, v/of)) }
	a := area{Page: b.Page, W: fr(fieldW, w), H: fr(fieldH, h)}
	a.X = min(fr(x, w), 1-a.W)
	a.Y = min(fr(h-top, h), 1-a.H)
	return a
}

func docName(d signing.ProviderDocument) string {
	n := strings.TrimSpace(d.Titel)
	if n == "" {
		n = strings.TrimSuffix(strings.TrimSuffix(d.Bestandsnaam, ".pdf"), ".PDF")
	}
	if n == "" {
		n = "Document " + strconv.Itoa(d.Position+1)
	}
	return vendorkit.Truncate(n, 200)
}
