package zgw

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// crsHeaders are required on every ZRC /zaken operation, geometry or not.
var crsHeaders = http.Header{"Accept-Crs": {"EPSG:4326"}, "Content-Crs": {"EPSG:4326"}}

// RetrieveZaak reads a zaak.
func (c *Client) RetrieveZaak(ctx context.Context, zaakURL string) (*Zaak, error) {
	var z Zaak
	err := c.doJSON(ctx, request{op: "retrieve zaak", kind: KindZRC, method: http.MethodGet, url: zaakURL,
		header: crsHeaders.Clone(), okStatus: []int{http.StatusOK}}, nil, &z)
	if err != nil {
		return nil, err
	}
	return &z, nil
}

// zrcRootOf returns the API root of the ZRC that holds zaakURL.
func (c *Client) zrcRootOf(zaakURL string) (string, error) {
	svc, _, err := c.reg.Resolve(c.rsin, KindZRC, zaakURL)
	if err != nil {
		return "", err
	}
	return svc.Root, nil
}

// CreateZaakInformatieObject links a document to a zaak, in the ZRC that holds the zaak.
func (c *Client) CreateZaakInformatieObject(ctx context.Context, zio ZaakInformatieObject) (*ZaakInformatieObject, error) {
	root, err := c.zrcRootOf(zio.Zaak)
	if err != nil {
		return nil, fmt.Errorf("zgw: create zaakinformatieobject: zaak: %w", err)
	}
	// The document's URL came from a DRC's answer; it goes to the ZRC only if a trigger could name it.
	if err := c.reg.CheckResource(c.rsin, KindDRC, zio.Informatieobject); err != nil {
		return nil, fmt.Errorf("zgw: create zaakinformatieobject: informatieobject: %w", err)
	}
	in := struct {
		Informatieobject string `json:"informatieobject"`
		Zaak             string `json:"zaak"`
		Titel            string `json:"titel,omitempty"`
		Beschrijving     string `json:"beschrijving,omitempty"`
	}{zio.Informatieobject, zio.Zaak, zio.Titel, zio.Beschrijving}
	var out ZaakInformatieObject
	err = c.doJSON(ctx, request{op: "create zaakinformatieobject", kind: KindZRC, method: http.MethodPost,
		url: root + "/zaakinformatieobjecten", okStatus: []int{http.StatusCreated}}, in, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListZaakInformatieObjecten lists the links between a zaak and a document (either may be empty),
// to check whether a link exists before creating it.
func (c *Client) ListZaakInformatieObjecten(ctx context.Context, zaakURL, informatieobjectURL string) ([]ZaakInformatieObject, error) {
	root, err := c.zrcRootOf(zaakURL)
	if err != nil {
		return nil, fmt.Errorf("zgw: list zaakinformatieobjecten: zaak: %w", err)
	}
	q := url.Values{"zaak": {zaakURL}}
	if informatieobjectURL != "" {
		q.Set("informatieobject", informatieobjectURL)
	}
	var out []ZaakInformatieObject
	err = c.doJSON(ctx, request{op: "list zaakinformatieobjecten", kind: KindZRC, method: http.MethodGet,
		url: root + "/zaakinformatieobjecten", query: q, okStatus: []int{http.StatusOK}}, nil, &out)
	return out, err
}

// RetrieveInformatieObjectType reads an informatieobjecttype from the Catalogi API.
func (c *Client) RetrieveInformatieObjectType(ctx context.Context, iotURL string) (*InformatieObjectType, error) {
	var iot InformatieObjectType
	err := c.doJSON(ctx, request{op: "retrieve informatieobjecttype", kind: KindZTC, method: http.MethodGet,
		url: iotURL, okStatus: []int{http.StatusOK}}, nil, &iot)
	if err != nil {
		return nil, err
	}
	return &iot, nil
}

// ZaaktypeInformatieObjectType is one relation of a zaaktype with an informatieobjecttype that its
// zaken may hold. Catalogi 1.3 names the informatieobjecttype by its omschrijving; some
// implementations give its URL.
type ZaaktypeInformatieObjectType struct {
	URL                  string `json:"url"`
	Zaaktype             string `json:"zaaktype"`
	Informatieobjecttype string `json:"informatieobjecttype"`
	Volgnummer           int    `json:"volgnummer"`
	Richting             string `json:"richting"`
}

// maxListPages bounds how many pages of a list are read: far beyond any real zaaktype.
const maxListPages = 50

// ListZaaktypeInformatieObjectTypen returns the informatieobjecttypen a zaaktype allows, every page,
// from the organisation's Catalogi API that holds the zaaktype (its first one when none does).
func (c *Client) ListZaaktypeInformatieObjectTypen(ctx context.Context, zaaktypeURL string) ([]ZaaktypeInformatieObjectType, error) {
	root := ""
	if svc, _, err := c.reg.Resolve(c.rsin, KindZTC, zaaktypeURL); err == nil {
		root = svc.Root
	} else if r, ok := c.reg.Root(c.rsin, KindZTC); ok {
		root = r
	} else {
		return nil, fmt.Errorf("zgw: list zaaktype-informatieobjecttypen: organisation %s has no ZTC", c.rsin)
	}
	next, q := strings.TrimSuffix(root, "/")+"/zaaktype-informatieobjecttypen", url.Values{"zaaktype": {zaaktypeURL}}
	var out []ZaaktypeInformatieObjectType
	for range maxListPages {
		var page struct {
			Next    *string                        `json:"next"`
			Results []ZaaktypeInformatieObjectType `json:"results"`
		}
		if err := c.doJSON(ctx, request{op: "list zaaktype-informatieobjecttypen", kind: KindZTC, method: http.MethodGet,
			url: next, query: q, okStatus: []int{http.StatusOK}}, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Results...)
		if page.Next == nil || *page.Next == "" {
			return out, nil
		}
		next, q = *page.Next, nil // the next link carries the query
	}
	return nil, fmt.Errorf("zgw: list zaaktype-informatieobjecttypen: more than %d pages", maxListPages)
}

// nrcRoot returns nrcRoot, or the organisation's first NRC when empty.
func (c *Client) nrcRoot(nrcRoot string) (string, error) {
	if nrcRoot != "" {
		return strings.TrimSuffix(nrcRoot, "/"), nil
	}
	root, ok := c.reg.Root(c.rsin, KindNRC)
	if !ok {
		return "", fmt.Errorf("organisation %s has no NRC", c.rsin)
	}
	return root, nil
}

// ListKanalen lists the NRC's kanalen, filtered by name when naam is set. nrcRoot empty means the
// organisation's first NRC.
func (c *Client) ListKanalen(ctx context.Context, nrcRoot, naam string) ([]Kanaal, error) {
	root, err := c.nrcRoot(nrcRoot)
	if err != nil {
		return nil, fmt.Errorf("zgw: list kanalen: %w", err)
	}
	var q url.Values
	if naam != "" {
		q = url.Values{"naam": {naam}}
	}
	var out []Kanaal
	err = c.doJSON(ctx, request{op: "list kanalen", kind: KindNRC, method: http.MethodGet,
		url: root + "/kanaal", query: q, okStatus: []int{http.StatusOK}}, nil, &out)
	return out, err
}

// CreateKanaal registers a kanaal.
func (c *Client) CreateKanaal(ctx context.Context, nrcRoot string, k Kanaal) (*Kanaal, error) {
	root, err := c.nrcRoot(nrcRoot)
	if err != nil {
		return nil, fmt.Errorf("zgw: create kanaal: %w", err)
	}
	if k.Filters == nil {
		k.Filters = []string{}
	}
	k.URL = ""
	var out Kanaal
	err = c.doJSON(ctx, request{op: "create kanaal", kind: KindNRC, method: http.MethodPost,
		url: root + "/kanaal", okStatus: []int{http.StatusCreated}}, k, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// EnsureKanaal returns the kanaal with k's name, creating it when it does not exist yet.
func (c *Client) EnsureKanaal(ctx context.Context, nrcRoot string, k Kanaal) (*Kanaal, error) {
	ks, err := c.ListKanalen(ctx, nrcRoot, k.Naam)
	if err != nil {
		return nil, err
	}
	for _, have := range ks {
		if have.Naam == k.Naam {
			return &have, nil
		}
	}
	return c.CreateKanaal(ctx, nrcRoot, k)
}

// Notify publishes a notificatie; nrcRoot empty means the organisation's first NRC.
func (c *Client) Notify(ctx context.Context, nrcRoot string, n Notificatie) (*Notificatie, error) {
	root, err := c.nrcRoot(nrcRoot)
	if err != nil {
		return nil, fmt.Errorf("zgw: notify: %w", err)
	}
	for k, v := range n.Kenmerken {
		if v == "" {
			return nil, fmt.Errorf("zgw: notify: kenmerk %q is empty (the NRC requires 1-1000 characters)", k)
		}
	}
	var out Notificatie
	err = c.doJSON(ctx, request{op: "notify", kind: KindNRC, method: http.MethodPost,
		url: root + "/notificaties", okStatus: []int{http.StatusOK, http.StatusCreated}}, n, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}
