package documensosim

import (
	"bytes"
	"context"
	"fmt"

	"github.com/signingd/signingd/signing/pades"
)

// seal signs every item of a completed envelope once, as Documenso's seal-document job does
// (packages/signing: pdf.sign with the instance's certificate, reason "Signed by Documenso",
// ETSI.CAdES.detached, no appearance): one PAdES signature over the whole document, made by the
// instance and not per signer. The signers' marks are in Documenso's burnt-in field images, which
// the simulator does not draw; their positions are in the envelope's fields. Documenso appends
// its signing certificate as pages unless the team turns "include signing certificate" off; the
// simulator models that setting off (signingd needs the signed PDF to hold the original's pages
// only) and serves the certificate as its own download. Caller holds s.mu.
func (s *Server) seal(e *envelope) error {
	for _, it := range e.Items {
		var out bytes.Buffer
		err := pades.Sign(context.Background(), bytes.NewReader(it.Original), int64(len(it.Original)), &out, pades.Options{
			Signer: s.key, Certificates: s.chain, Invisible: true, Time: s.now(),
			Name: "Documenso", Reason: "Signed by Documenso", Location: "documensosim", ContactInfo: "support@documenso.example",
		})
		if err != nil {
			return fmt.Errorf("documensosim: seal %s: %w", it.Title, err)
		}
		it.Signed = out.Bytes()
	}
	return nil
}
