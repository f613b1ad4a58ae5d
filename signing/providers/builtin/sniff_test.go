package builtin

import (
	"context"
	"testing"

	"github.com/signingd/signingd/signing"
)

// A PDF is never converted, whatever its name says: the DRC may hold besluit.docx with formaat
// application/pdf (the workflow then uploads it as besluit.pdf). Converting it with LibreOffice
// failed, and the transaction aborted.
func TestPDFNamedDocxIsNotConverted(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.p.o.Converter = Converter{Soffice: "/nonexistent/soffice"} // any conversion attempt fails
	d := pdfDoc(0, "Besluit", makePDF([]string{"Besluit"}))
	d.Bestandsnaam = "besluit.docx"
	for _, formaat := range []string{"application/pdf", ""} {
		d.Formaat = formaat
		ref := e.create(t, []signing.ProviderDocument{d}, signer(0, 1, "pdf@example.nl", "", "", ""))
		sg, err := e.st.BuiltinSigning(context.Background(), mustUUID(t, ref))
		if err != nil {
			t.Fatal(err)
		}
		if len(sg.Documents) != 1 || sg.Documents[0].OriginalSHA256 == "" {
			t.Fatalf("formaat %q: documents %+v", formaat, sg.Documents)
		}
	}
}
