package builtin

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"
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

// MaxLogoSize bounds a logo: it is sent with every page.
const MaxLogoSize = 256 << 10

var colourRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// LogoType returns the media type of a logo, or an error for anything but PNG and SVG.
func LogoType(b []byte) (string, error) {
	switch {
	case len(b) > MaxLogoSize:
		return "", fmt.Errorf("logo of %d bytes, at most %d", len(b), MaxLogoSize)
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", nil
	case bytes.Contains(b[:min(len(b), 1024)], []byte("<svg")):
		return "image/svg+xml", nil
	}
	return "", fmt.Errorf("logo is neither PNG nor SVG")
}

// CheckColour refuses anything but #rrggbb: the colour goes into a style sheet.
func CheckColour(c string) error {
	if c != "" && !colourRE.MatchString(c) {
		return fmt.Errorf("colour %q is not #rrggbb", c)
	}
	return nil
}

// brand returns the organisation's brand; the zero Brand (signingd's own look) when it has none.
func (p *Provider) brand(rsin string) Brand { return p.o.Brands[rsin] }

// brandLogo serves an organisation's logo. An SVG is an image here and nothing else: no script
// runs in it, whatever it holds.
func (p *Provider) brandLogo(c echo.Context) error {
	b := p.brand(c.Param("rsin"))
	typ, err := LogoType(b.Logo)
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
	if b.Colour == "" || CheckColour(b.Colour) != nil {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	secure(h)
	h.Set("Cache-Control", "public, max-age=3600")
	css := fmt.Sprintf(".site-header { border-block-end: 4px solid %[1]s; }\n.utrecht-page { border-block-start: 6px solid %[1]s; }\n", b.Colour)
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", []byte(css))
}
