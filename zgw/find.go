package zgw

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// FindEIOs lists the documents in the DRC under drcRoot (the organisation's first DRC when empty)
// with this bronorganisatie and identificatie, which the DRC keeps unique together. It lets a
// retry find a document that an interrupted run created before it could record the URL.
func (c *Client) FindEIOs(ctx context.Context, drcRoot, bronorganisatie, identificatie string) ([]EnkelvoudigInformatieObject, error) {
	if drcRoot == "" {
		var ok bool
		if drcRoot, ok = c.reg.Root(c.rsin, KindDRC); !ok {
			return nil, fmt.Errorf("zgw: find documents: organisation %s has no DRC", c.rsin)
		}
	}
	u := strings.TrimSuffix(drcRoot, "/") + "/enkelvoudiginformatieobjecten"
	q := url.Values{"bronorganisatie": {bronorganisatie}, "identificatie": {identificatie}}
	var out []EnkelvoudigInformatieObject
	// A handful of pages at most: the pair is unique, more than one hit is a DRC without that rule.
	for range 10 {
		var page struct {
			Next    *string                       `json:"next"`
			Results []EnkelvoudigInformatieObject `json:"results"`
		}
		if err := c.doJSON(ctx, request{op: "find documents", kind: KindDRC, method: http.MethodGet,
			url: u, query: q, okStatus: []int{http.StatusOK}}, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Results...)
		if page.Next == nil || *page.Next == "" {
			break
		}
		next, err := url.Parse(*page.Next)
		if err != nil {
			return nil, fmt.Errorf("zgw: find documents: next page %q: %w", *page.Next, err)
		}
		q = next.Query()
	}
	return out, nil
}
