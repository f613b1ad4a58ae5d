package onespan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/vendorapi"
	"github.com/signingd/signingd/signing/providers/vendorkit"
)

// The package JSON as Create sends it: the field names of the OneSpan object model
// (esl.sdk.java api/model).
type (
	packageIn struct {
		Name         string            `json:"name"`
		Description  string            `json:"description"`
		Language     string            `json:"language"`
		Status       string            `json:"status"`
		Type         string            `json:"type"`
		Autocomplete bool              `json:"autocomplete"`
		Due          string            `json:"due,omitempty"`
		EmailMessage string            `json:"emailMessage,omitempty"`
		Sender       *senderIn         `json:"sender,omitempty"`
		Data         map[string]string `json:"data"`
		Documents    []documentIn      `json:"documents"`
		Roles        []roleIn          `json:"roles"`
	}
	senderIn struct {
		Email string `json:"email"`
	}
	roleIn struct {
		ID      string     `json:"id"`
		Name    string     `json:"name"`
		Type    string     `json:"type"`
		Index   int        `json:"index"`
		Signers []signerIn `json:"signers"`
	}
	signerIn struct {
		ID        string `json:"id"`
		Email     string `json:"email"`
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
		Language  string `json:"language"`
		Auth      authIn `json:"auth"`
	}
	authIn struct {
		Scheme     string        `json:"scheme"`
		Challenges []challengeIn `json:"challenges"`
	}
	challengeIn struct {
		Question string `json:"question"`
	}
	documentIn struct {
		ID        string       `json:"id"`
		Name      string       `json:"name"`
		Index     int          `json:"index"`
		Approvals []approvalIn `json:"approvals"`
	}
	approvalIn struct {
		Role   string    `json:"role"`
		Fields []fieldIn `json:"fields"`
	}
	fieldIn struct {
		Type          string    `json:"type"`
		Subtype       string    `json:"subtype"`
		ExtractAnchor *anchorIn `json:"extractAnchor,omitempty"`
		Page          *int      `json:"page,omitempty"`
		Top           *float64  `json:"top,omitempty"`
		Left          *float64  `json:"left,omitempty"`
		Width         *float64  `json:"width,omitempty"`
		Height        *float64  `json:"height,omitempty"`
	}
	anchorIn struct {
		Text           string  `json:"text"`
		Index          int     `json:"index"`
		Width          float64 `json:"width"`
		Height         float64 `json:"height"`
		AnchorPoint    string  `json:"anchorPoint"`
		CharacterIndex int     `json:"characterIndex"`
		LeftOffset     float64 `json:"leftOffset"`
		TopOffset      float64 `json:"topOffset"`
	}
)

// Signature field size in points, at an anchor or on the page.
const (
	fieldWidth  = 200.0
	fieldHeight = 50.0
)

// payload builds the package JSON for req.
func (p *Provider) payload(req signing.CreateRequest) (packageIn, error) {
	in := packageIn{Name: req.Naam, Description: description(req), Language: p.cfg.Language, Status: "SENT", Type: "PACKAGE",
		Autocomplete: true, Data: map[string]string{TransactionKey: req.TransactionID.String()},
		EmailMessage: emailMessage(req)}
	if !req.Deadline.IsZero() {
		in.Due = req.Deadline.UTC().Format("2006-01-02T15:04:05Z")
	}
	if p.cfg.Sender != "" {
		in.Sender = &senderIn{Email: p.cfg.Sender}
	}
	// Equal volgorde signs in parallel: the sorted distinct values become indexes 0, 1, 2, …
	ranks := vendorkit.Ranks(req.Signers)
	for _, s := range req.Signers {
		auth := authIn{Scheme: "NONE", Challenges: []challengeIn{}}
		if a := s.Authenticatie; a != nil && a.Methode != "" {
			switch a.Methode {
			case signing.AuthSMS:
				auth = authIn{Scheme: "SMS", Challenges: []challengeIn{{Question: strings.TrimSpace(a.Waarde)}}}
			default:
				return in, fmt.Errorf("%w: onespan: signer %d: authentication %q is not offered", signing.ErrPermanent, s.Position, a.Methode)
			}
		}
		in.Roles = append(in.Roles, roleIn{ID: roleID(s.Position), Name: roleID(s.Position), Type: "SIGNER",
			Index: ranks[s.Volgorde],
			Signers: []signerIn{{ID: roleID(s.Position), Email: s.Email, FirstName: s.Voornaam, LastName: s.Achternaam,
				Language: p.cfg.Language, Auth: auth}}})
	}
	for _, d := range req.Documents {
		doc := documentIn{ID: docID(d.Position), Name: docName(d), Index: d.Position}
		for i, s := range req.Signers {
			doc.Approvals = append(doc.Approvals, approvalIn{Role: roleID(s.Position), Fields: []fieldIn{signatureField(s, i)}})
		}
		in.Documents = append(in.Documents, doc)
	}
	return in, nil
}

// signatureField is the signer's signature: at the anchor text "{{id}}" when the signer has an
// identificatie, else in a slot at the foot of the first page, one per signer.
func signatureField(s signing.ProviderSigner, slot int) fieldIn {
	if anchor := signing.Placeholder(s.Identificatie); anchor != "" {
		return fieldIn{Type: "SIGNATURE", Subtype: "FULLNAME", ExtractAnchor: &anchorIn{Text: anchor, Index: 0,
			Width: fieldWidth, Height: fieldHeight, AnchorPoint: "TOPLEFT"}}
	}
	page, w, h := 0, fieldWidth, fieldHeight
	left := 50.0 + float64(slot%2)*(fieldWidth+20)
	top := 560.0 + float64(slot/2%4)*(fieldHeight+10)
	return fieldIn{Type: "SIGNATURE", Subtype: "FULLNAME", Page: &page, Top: &top, Left: &left, Width: &w, Height: &h}
}

func docName(d signing.ProviderDocument) string {
	if d.Bestandsnaam != "" {
		return d.Bestandsnaam
	}
	if d.Titel != "" {
		return d.Titel
	}
	return docID(d.Position) + ".pdf"
}

func description(req signing.CreateRequest) string {
	if req.Organisation.Name != "" {
		return "Ter ondertekening namens " + req.Organisation.Name
	}
	return "Ter ondertekening"
}

func emailMessage(req signing.CreateRequest) string {
	who := req.Organisation.Name
	if who == "" {
		who = "de gemeente"
	}
	return "U wordt gevraagd namens " + who + " te ondertekenen: " + req.Naam + "."
}

// Create implements signing.Provider: one multipart request (a payload part and a file part per
// document, streamed) creates and sends the package. The transaction id travels in the package's
// data; a repeated Create finds the package by it (see find) and returns it.
func (p *Provider) Create(ctx context.Context, req signing.CreateRequest) (string, error) {
	in, err := p.payload(req)
	if err != nil {
		return "", err
	}
	if id, ok, err := p.find(ctx, req.TransactionID.String()); err != nil {
		return "", err
	} else if ok {
		return id, nil
	}
	payload, err := json.Marshal(in)
	if err != nil {
		return "", fmt.Errorf("onespan: create: %w", err)
	}
	resp, err := p.api.DoMultipart(ctx, "create package", vendorapi.Request{Method: http.MethodPost, Path: "/packages",
		Accept: jsonType}, func(mw *multipart.Writer) error { return writeParts(ctx, mw, payload, req.Documents) })
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil || out.ID == "" {
		return "", fmt.Errorf("onespan: create package: no id in the answer: %v", err)
	}
	return out.ID, nil
}

// writeParts writes the payload part and one file part per document, each streamed from Open.
func writeParts(ctx context.Context, mw *multipart.Writer, payload []byte, docs []signing.ProviderDocument) error {
	if err := vendorapi.JSONPart(mw, "payload", payload); err != nil {
		return err
	}
	for _, d := range docs {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, escapeQuotes(docName(d))))
		h.Set("Content-Type", "application/pdf")
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		rc, err := d.Open(ctx)
		if err != nil {
			return fmt.Errorf("onespan: open document %d: %w", d.Position, err)
		}
		_, err = io.Copy(w, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("onespan: send document %d: %w", d.Position, err)
		}
	}
	return nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "", "\n", "")

func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }

// lookbackDays bounds the idempotency search: packages updated in this window (a package is
// updated no earlier than it was created, and a retried Create follows the first within hours).
const lookbackDays = 14

// pageSize is how many packages one list request asks for.
const pageSize = 50

// maxPages bounds the idempotency search per status.
const maxPages = 20

// find looks for the package made for a transaction: OneSpan has no external id to query by, so
// it lists the account's packages updated lately, per status a fresh package can have reached,
// and matches data.signingd_transaction_id.
func (p *Provider) find(ctx context.Context, txID string) (string, bool, error) {
	now := p.cfg.Now().UTC()
	start := now.AddDate(0, 0, -lookbackDays).Format("2006-01-02T15:04:05Z")
	end := now.Add(24 * time.Hour).Format("2006-01-02T15:04:05Z")
	for _, status := range []string{"SENT", "COMPLETED", "DECLINED", "OPTED_OUT", "EXPIRED", "DRAFT"} {
		for page := range maxPages {
			from := page*pageSize + 1
			q := url.Values{"query": {status}, "from": {strconv.Itoa(from)}, "to": {strconv.Itoa(from + pageSize - 1)},
				"startDate": {start}, "endDate": {end}}
			var res struct {
				Results []struct {
					ID   string         `json:"id"`
					Data map[string]any `json:"data"`
				} `json:"results"`
				Count int `json:"count"`
			}
			if err := p.api.JSON(ctx, "find package", http.MethodGet, "/packages?"+q.Encode(), nil, &res); err != nil {
				return "", false, err
			}
			for _, r := range res.Results {
				if v, _ := r.Data[TransactionKey].(string); v == txID {
					return r.ID, true, nil
				}
			}
			if len(res.Results) < pageSize || from+pageSize > res.Count {
				break
			}
		}
	}
	return "", false, nil
}

// Evidence implements signing.Provider: the audit trail as events, and the evidence summary PDF.
func (p *Provider) Evidence(ctx context.Context, ref string) (signing.Evidence, error) {
	v, err := p.get(ctx, ref)
	if err != nil {
		return signing.Evidence{}, err
	}
	byEmail := map[string]int{}
	for _, r := range v.Roles {
		if pos, ok := positionOf(r.ID); ok && len(r.Signers) > 0 {
			byEmail[strings.ToLower(r.Signers[0].Email)] = pos
		}
	}
	var audit struct {
		Events []auditEvent `json:"audit-events"`
	}
	if err := p.api.JSON(ctx, "audit", http.MethodGet, packagePath(ref)+"/audit", nil, &audit); err != nil {
		return signing.Evidence{}, err
	}
	var ev signing.Evidence
	for _, a := range audit.Events {
		signer := -1
		if pos, ok := byEmail[strings.ToLower(a.Email)]; ok {
			signer = pos
		}
		e := signing.EvidenceEvent{At: parseTime(a.DateTime), Signer: signer, Type: a.Type, Words: auditWords(a.Type, a.Target), IP: a.IP}
		if strings.EqualFold(a.Type, "Decline") {
			e.Reden = a.Data
		}
		ev.Events = append(ev.Events, e)
	}
	b, err := p.api.Download(ctx, "evidence summary", packagePath(ref)+"/evidence/summary", signing.MaxEvidenceFile)
	if err != nil {
		return signing.Evidence{}, err
	}
	ev.Files = []signing.EvidenceFile{{Name: "evidence-summary.pdf", MediaType: "application/pdf",
		Description: "Evidence summary van OneSpan Sign / ValidSign", Content: b}}
	return ev, nil
}

// auditEvent is an audit entry as the API writes it; the camel-case names of the SDK's Audit
// class are read too.
type auditEvent struct {
	Type     string `json:"type"`
	DateTime string `json:"date-time"`
	Target   string `json:"target"`
	User     string `json:"user"`
	Email    string `json:"user-email"`
	IP       string `json:"user-ip"`
	Data     string `json:"data"`
}

func (a *auditEvent) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	str := func(keys ...string) string {
		for _, k := range keys {
			if s, ok := m[k].(string); ok && s != "" {
				return s
			}
		}
		return ""
	}
	*a = auditEvent{Type: str("type"), DateTime: str("date-time", "dateTime"), Target: str("target"), User: str("user"),
		Email: str("user-email", "email"), IP: str("user-ip", "ip"), Data: str("data")}
	return nil
}

// auditWords says what an audit entry means, in Dutch.
func auditWords(typ, target string) string {
	words := map[string]string{
		"create": "pakket aangemaakt", "send": "pakket verstuurd", "login": "ondertekenaar aangemeld",
		"view": "document bekeken", "accept": "voorwaarden geaccepteerd", "sign": "document ondertekend",
		"click to sign": "document ondertekend", "decline": "ondertekening geweigerd", "opt out": "ondertekening afgewezen",
		"complete": "pakket voltooid", "expire": "pakket verlopen", "draft": "pakket teruggezet naar concept",
		"trash": "pakket naar prullenbak", "archive": "pakket gearchiveerd",
	}[strings.ToLower(typ)]
	if words == "" {
		return typ
	}
	if strings.ToLower(typ) == "sign" && target != "" {
		return words + ": " + target
	}
	return words
}
