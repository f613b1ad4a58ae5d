package documenso

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/signingd/signingd/signing"
	"github.com/signingd/signingd/signing/providers/vendorapi"
	"github.com/signingd/signingd/signing/providers/vendorkit"
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

// The field's size, in points.
const fieldW, fieldH = 170.0, 50.0

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

func (p *Provider) create(ctx context.Context, req signing.CreateRequest) (string, error) {
	docs, err := vendorkit.Spool(ctx, "documenso", req.Documents)
	if err != nil {
		return "", err
	}
	defer vendorkit.Remove(docs)
	pl, err := p.payload(ctx, req, docs)
	if err != nil {
		return "", err
	}
	// The files are streamed: the multipart body is written as the transport reads it.
	resp, err := p.api.DoMultipart(ctx, "create envelope", vendorapi.Request{Method: http.MethodPost, Path: "/envelope/create",
		Accept: "application/json"}, func(mw *multipart.Writer) error { return writeMultipart(mw, pl, docs) })
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

func writeMultipart(mw *multipart.Writer, pl []byte, docs []vendorkit.Spooled) error {
	if err := vendorapi.JSONPart(mw, "payload", pl); err != nil {
		return err
	}
	for _, d := range docs {
		w, err := mw.CreateFormFile("files", fileName(d.Doc))
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, d.Reader()); err != nil {
			return err
		}
	}
	return nil
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

func (p *Provider) payload(ctx context.Context, req signing.CreateRequest, docs []vendorkit.Spooled) ([]byte, error) {
	title := vendorkit.Title(req, 255)
	var pl payload
	pl.Title, pl.Type, pl.ExternalID = title, "DOCUMENT", req.TransactionID.String()
	pl.Meta.SigningOrder, pl.Meta.DistributionMethod, pl.Meta.Language = "PARALLEL", p.cfg.Distribution, p.cfg.Language
	if req.Organisation.Name != "" {
		pl.Meta.Subject = vendorkit.Truncate(req.Organisation.Name+": "+title+" ondertekenen", 255)
		pl.Meta.Message = vendorkit.Truncate(req.Organisation.Name+" vraagt u om "+title+" te ondertekenen.", 5000)
	}
	for _, s := range req.Signers {
		if s.Volgorde != req.Signers[0].Volgorde {
			pl.Meta.SigningOrder = "SEQUENTIAL"
		}
	}
	// free slots on each document's last page, in signer order
	slot := make([]int, len(docs))
	for _, s := range req.Signers {
		r := recipient{Email: s.Email, Name: vendorkit.Truncate(strings.TrimSpace(s.Voornaam+" "+s.Achternaam), 255), Role: "SIGNER",
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
			b, err := vendorkit.FieldBox(ctx, "documenso", d, signing.Placeholder(s.Identificatie), fieldW, fieldH, &slot[i])
			if err != nil {
				return nil, err
			}
			f := percent(b)
			f.Identifier = i
			r.Fields = append(r.Fields, f)
		}
		pl.Recipients = append(pl.Recipients, r)
	}
	return jsonMarshal(pl)
}

// percent makes a field of the box: Documenso places fields in percent of the page as shown,
// from its top left.
func percent(b vendorkit.Box) field {
	w, h := b.PageSize[0], b.PageSize[1]
	x, top := b.Rect[0], b.Rect[3]
	pct := func(v, of float64) float64 { return min(100, max(0, v/of*100)) }
	f := field{Type: "SIGNATURE", Page: b.Page, Width: pct(fieldW, w), Height: pct(fieldH, h)}
	f.PositionX = min(pct(x, w), 100-f.Width)
	f.PositionY = min(pct(h-top, h), 100-f.Height)
	return f
}
