package documenso

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/pades"
	"github.com/signingd/signingd/signing/providers/vendorapi"
)

type field struct {
	Type       string  `json:"type"`
	Identifier int     `json:"identifier"`
	Page       int     `json:"page"`
	PositionX  float64 `json:"positionX"`
	PositionY  float64 `json:"positionY"`
	Width      float64 `json:"width"`
	Height     float64 `json:"height"`
}

type recipient struct {
	Email        string   `json:"email"`
	Name         string   `json:"name"`
	Role         string   `json:"role"`
	SigningOrder *int     `json:"signingOrder,omitempty"`
	AccessAuth   []string `json:"accessAuth"`
	ActionAuth   []string `json:"actionAuth"`
	Fields       []field  `json:"fields"`
}

type payload struct {
	Title      string      `json:"title"`
	Type       string      `json:"type"`
	ExternalID string      `json:"externalId"`
	Recipients []recipient `json:"recipients"`
	Meta       struct {
		Subject            string `json:"subject,omitempty"`
		Message            string `json:"message,omitempty"`
		SigningOrder       string `json:"signingOrder"`
		DistributionMethod string `json:"distributionMethod"`
		Language           string `json:"language"`
	} `json:"meta"`
}

// The field's size, in points, and the free slots at the foot of the last page.
const (
	fieldW, fieldH = 170.0, 50.0
	slotCols       = 3
)

// envelopeRef is what find and get return of an envelope.
type envelopeRef struct {
	ID         string `json:"id"`
	ExternalID string `json:"externalId"`
	Status     string `json:"status"`
}

// findByExternalID looks the envelope with externalId up: GET /envelope?query= searches titles,
// external ids and recipients (ilike), so the answer is filtered on the exact externalId.
func (p *Provider) findByExternalID(ctx context.Context, externalID string) (envelopeRef, bool, error) {
	for page := 1; page <= 10; page++ {
		var out struct {
			Data       []envelopeRef `json:"data"`
			TotalPages int           `json:"totalPages"`
		}
		q := url.Values{"query": {externalID}, "type": {"DOCUMENT"}, "page": {strconv.Itoa(page)}, "perPage": {"100"}}
		if err := p.api.JSON(ctx, "find envelope", http.MethodGet, "/envelope?"+q.Encode(), nil, &out); err != nil {
			return envelopeRef{}, false, err
		}
		for _, e := range out.Data {
			if e.ExternalID == externalID {
				return e, true, nil
			}
		}
		if page >= out.TotalPages {
			break
		}
	}
	return envelopeRef{}, false, nil
}

// Create implements signing.Provider: it returns the envelope already made for the transaction
// (distributing it when it is still a draft), or uploads one and distributes it.
func (p *Provider) Create(ctx context.Context, req signing.CreateRequest) (string, error) {
	ext := req.TransactionID.String()
	found, ok, err := p.findByExternalID(ctx, ext)
	if err != nil {
		return "", err
	}
	if !ok {
		id, err := p.create(ctx, req)
		if err != nil {
			return "", err
		}
		found = envelopeRef{ID: id, Status: "DRAFT"}
	}
	if found.Status == "DRAFT" {
		err := p.api.JSON(ctx, "distribute envelope", http.MethodPost, "/envelope/distribute", map[string]string{"envelopeId": found.ID}, nil)
		if err != nil {
			return "", err
		}
	}
	return found.ID, nil
}

type spooled struct {
	doc  signing.ProviderDocument
	file *os.File
	size int64
}

func (p *Provider) create(ctx context.Context, req signing.CreateRequest) (string, error) {
	docs := make([]spooled, 0, len(req.Documents))
	defer func() {
		for _, d := range docs {
			d.file.Close()
			os.Remove(d.file.Name())
		}
	}()
	for _, d := range req.Documents {
		sp, err := spool(ctx, d)
		if err != nil {
			return "", err
		}
		docs = append(docs, sp)
	}
	pl, err := p.payload(ctx, req, docs)
	if err != nil {
		return "", err
	}
	// The files are streamed: the multipart body is written as the transport reads it.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeMultipart(mw, pl, docs))
	}()
	resp, err := p.api.Do(ctx, "create envelope", vendorapi.Request{Method: http.MethodPost, Path: "/envelope/create", Body: pr,
		ContentType: mw.FormDataContentType(), Accept: "application/json"})
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	if err := decode(resp.Body, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("documenso: create envelope: answer without id: %v", err)
	}
	return out.ID, nil
}

func writeMultipart(mw *multipart.Writer, pl []byte, docs []spooled) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="payload"`)
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(pl); err != nil {
		return err
	}
	for _, d := range docs {
		w, err := mw.CreateFormFile("files", fileName(d.doc))
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, io.NewSectionReader(d.file, 0, d.size)); err != nil {
			return err
		}
	}
	return mw.Close()
}

func fileName(d signing.ProviderDocument) string {
	n := d.Bestandsnaam
	if n == "" {
		n = d.Titel
	}
	if n == "" {
		n = "document-" + strconv.Itoa(d.Position)
	}
	if !strings.HasSuffix(strings.ToLower(n), ".pdf") {
		n += ".pdf"
	}
	return n
}

// spool copies a document to a temporary file: finding the placeholders reads it at random.
func spool(ctx context.Context, d signing.ProviderDocument) (spooled, error) {
	rc, err := d.Open(ctx)
	if err != nil {
		return spooled{}, fmt.Errorf("documenso: open document %d: %w", d.Position, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "signingd-documenso-*.pdf")
	if err != nil {
		return spooled{}, fmt.Errorf("documenso: spool document %d: %w", d.Position, err)
	}
	n, err := io.Copy(f, rc)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return spooled{}, fmt.Errorf("documenso: read document %d: %w", d.Position, err)
	}
	return spooled{doc: d, file: f, size: n}, nil
}

func (p *Provider) payload(ctx context.Context, req signing.CreateRequest, docs []spooled) ([]byte, error) {
	var pl payload
	pl.Title, pl.Type, pl.ExternalID = title(req), "DOCUMENT", req.TransactionID.String()
	pl.Meta.SigningOrder, pl.Meta.DistributionMethod, pl.Meta.Language = "PARALLEL", p.cfg.Distribution, p.cfg.Language
	if req.Organisation.Name != "" {
		pl.Meta.Subject = truncate(req.Organisation.Name+": "+title(req)+" ondertekenen", 255)
		pl.Meta.Message = truncate(req.Organisation.Name+" vraagt u om "+title(req)+" te ondertekenen.", 5000)
	}
	for _, s := range req.Signers {
		if s.Volgorde != req.Signers[0].Volgorde {
			pl.Meta.SigningOrder = "SEQUENTIAL"
		}
	}
	// free slots on each document's last page, in signer order
	slot := make([]int, len(docs))
	for _, s := range req.Signers {
		r := recipient{Email: s.Email, Name: truncate(strings.TrimSpace(s.Voornaam+" "+s.Achternaam), 255), Role: "SIGNER",
			AccessAuth: []string{}, ActionAuth: []string{}}
		if r.Name == "" {
			r.Name = s.Email
		}
		if pl.Meta.SigningOrder == "SEQUENTIAL" {
			o := s.Volgorde
			r.SigningOrder = &o
		}
		if s.Authenticatie != nil {
			switch s.Authenticatie.Methode {
			case signing.AuthEmail:
				r.AccessAuth = []string{"TWO_FACTOR_AUTH"}
			case "", "null":
			default:
				return nil, fmt.Errorf("documenso: signer %d: authentication %q is not offered: %w", s.Position, s.Authenticatie.Methode, signing.ErrPermanent)
			}
		}
		for i, d := range docs {
			f, err := place(ctx, d, signing.Placeholder(s.Identificatie), &slot[i])
			if err != nil {
				return nil, err
			}
			f.Identifier = i
			r.Fields = append(r.Fields, f)
		}
		pl.Recipients = append(pl.Recipients, r)
	}
	return jsonMarshal(pl)
}

// place puts a signer's field at the placeholder's first occurrence, or in the next free slot at
// the foot of the last page: percent of the page as shown, from its top left.
func place(ctx context.Context, d spooled, placeholder string, slot *int) (field, error) {
	sizes, err := pades.PageSizes(ctx, d.file, d.size)
	if err != nil || len(sizes) == 0 {
		return field{}, fmt.Errorf("documenso: document %d is not a PDF that reads: %v: %w", d.doc.Position, err, signing.ErrPermanent)
	}
	if placeholder != "" {
		hits, err := pades.FindText(ctx, d.file, d.size, placeholder)
		if err != nil {
			return field{}, fmt.Errorf("documenso: document %d: %w", d.doc.Position, err)
		}
		if len(hits) > 0 {
			h := hits[0]
			return percent(h.Page, h.PageSize, h.Rect[0], h.Rect[3]), nil
		}
	}
	n := *slot
	*slot++
	size := sizes[len(sizes)-1]
	x := 40 + float64(n%slotCols)*(fieldW+10)
	top := 40 + float64(n/slotCols+1)*(fieldH+10) // from the foot, rows upward
	return percent(len(sizes), size, x, top), nil
}

// percent makes a field whose top left corner is at (x, top) in points from the page's lower left.
func percent(page int, size [2]float64, x, top float64) field {
	w, h := size[0], size[1]
	pct := func(v, of float64) float64 { return min(100, max(0, v/of*100)) }
	f := field{Type: "SIGNATURE", Page: page, Width: pct(fieldW, w), Height: pct(fieldH, h)}
	f.PositionX = min(pct(x, w), 100-f.Width)
	f.PositionY = min(pct(h-top, h), 100-f.Height)
	return f
}

func title(req signing.CreateRequest) string {
	t := strings.TrimSpace(req.Naam)
	if t == "" && len(req.Documents) > 0 {
		t = req.Documents[0].Titel
	}
	if t == "" {
		t = "Ondertekening " + req.TransactionID.String()
	}
	return truncate(t, 255)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
