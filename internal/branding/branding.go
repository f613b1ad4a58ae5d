// Package branding checks what an organisation gives of its look: the logo the signer pages show
// and the colour their style sheet uses. config check and the built-in signer apply the same rules.
package branding

import (
	"bytes"
	"fmt"
	"regexp"
)

// MaxLogoSize bounds a logo: it is sent with every page.
const MaxLogoSize = 256 << 10

var colourRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// LogoType returns the media type of a logo, or an error for anything but PNG and SVG.
func LogoType(b []byte) (string, error) {
	switch {
	case len(b) > MaxLogoSize:
		return "", fmt.Errorf("%d bytes, at most 256 KiB: it goes with every page", len(b))
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", nil
	case bytes.Contains(b[:min(len(b), 1024)], []byte("<svg")):
		return "image/svg+xml", nil
	}
	return "", fmt.Errorf("neither PNG nor SVG")
}

// CheckColour refuses anything but #rrggbb: the colour goes into a style sheet.
func CheckColour(c string) error {
	if c != "" && !colourRE.MatchString(c) {
		return fmt.Errorf("%q is not #rrggbb", c)
	}
	return nil
}
