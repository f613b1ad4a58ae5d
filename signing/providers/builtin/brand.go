package builtin

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/signingd/signingd/internal/branding"
)

// Brand is how signers see an organisation: its name on every page, in the mails and the stamps,
// its logo in the pages' header, its colour as the pages' accent.
type Brand struct {
	Name       string // e.g. "Gemeente Voorbeeld"
	Logo       []byte // PNG or SVG; none when empty
	Colour     string // #rrggbb; none when empty
	SenderName string // the mails' From name; Name when empty
	ReplyTo    string // where a signer's answer to a mail goes; none when empty
}

// brand returns the organisation's brand; the zero Brand (signingd's own look) when it has none.
func (p *Provider) brand(rsin string) Brand { return p.o.Brands[rsin] }

// brandLogo serves an organisation's logo. An SVG is an image here and nothing else: no script
// runs in it, whatever it holds.
func (p *Provider) brandLogo(c echo.Context) error {
	b := p.brand(c.Param("rsin"))
	typ, err := branding.LogoType(b.Logo)
	if len(b.Logo) == 0 || err != nil {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	secure(h)
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	h.Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, typ, b.Logo)
}

// brandStyle serves the organisation's accent colour as a style sheet (the pages allow no inline
// styles).
func (p *Provider) brandStyle(c echo.Context) error {
	b := p.brand(c.Param("rsin"))
	if b.Colour == "" || branding.CheckColour(b.Colour) != nil {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	secure(h)
	h.Set("Cache-Control", "public, max-age=3600")
	css := fmt.Sprintf(".site-header { border-block-end: 4px solid %[1]s; }\n.utrecht-page { border-block-start: 6px solid %[1]s; }\n", b.Colour)
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", []byte(css))
}
