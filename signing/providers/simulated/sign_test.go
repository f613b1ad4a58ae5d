package simulated

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/internal/testkit"
	"github.com/signingd/signingd/signing"
)

// TestSignedPDFsCarryPAdESSignatures runs a signing with two signers at the simulated vendor: the
// document it hands back carries one valid PAdES signature per signer, made with the vendor's own
// certificate, with no page added (each stamp goes to its signer's placeholder).
func TestSignedPDFsCarryPAdESSignatures(t *testing.T) {
	t.Parallel()
	testkit.NeedTool(t, "pdfsig", "pdfinfo")
	srv := NewServer(ServerOptions{AutoSign: true})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	p := New(Config{BaseURL: hs.URL})

	doc, err := report.Plain("Besluit", "Eerste handtekening: {{Signer1}}", "", "", "", "Tweede handtekening: {{Signer2}}")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref, err := p.Create(ctx, signing.CreateRequest{TransactionID: uuid.New(), Naam: "Besluit",
		Signers: []signing.ProviderSigner{
			{Position: 0, Email: "a@example.org", Voornaam: "Anna", Achternaam: "Eerst", Identificatie: "Signer1", Volgorde: 1},
			{Position: 1, Email: "b@example.org", Voornaam: "Bram", Achternaam: "Later", Identificatie: "{{Signer2}}", Volgorde: 2},
		},
		Documents: []signing.ProviderDocument{{Position: 0, Bestandsnaam: "besluit.pdf", Formaat: "application/pdf", Size: int64(len(doc)),
			Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(doc)), nil }}},
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pr, err := p.Status(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if pr.Status == signing.ProgressCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("signing still %s", pr.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	signed := testkit.ReadAll(t)(p.Signed(ctx, ref, 0))
	if !bytes.HasPrefix(signed, doc) {
		t.Error("the original bytes are not kept (signatures must be incremental updates)")
	}
	rep := testkit.PDFSigBytes(t, signed, srv.sealer.root)
	if total, valid := testkit.ValidSignatures(rep); total != 2 || valid != 2 {
		t.Errorf("%d signatures, %d valid and trusted; want 2 and 2:\n%s", total, valid, rep)
	}
	for _, name := range []string{"Anna Eerst", "Bram Later"} {
		if !bytes.Contains(signed, []byte("/Name ("+name+")")) {
			t.Errorf("no signature of %s", name)
		}
	}
	if a, b := testkit.Pages(t, doc), testkit.Pages(t, signed); a != b {
		t.Errorf("signed document has %d pages, the original %d", b, a)
	}
}
