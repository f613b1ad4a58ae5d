package vendorkit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"testing"

	"github.com/signingd/signingd/internal/report"
	"github.com/signingd/signingd/signing"
)

func TestRanks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []int
		want map[int]int
	}{
		{"none", nil, map[int]int{}},
		{"one", []int{7}, map[int]int{7: 0}},
		{"parallel", []int{1, 1, 1}, map[int]int{1: 0}},
		{"gaps close up", []int{1, 5, 5, 9}, map[int]int{1: 0, 5: 1, 9: 2}},
		{"unsorted", []int{3, 1, 2, 1}, map[int]int{1: 0, 2: 1, 3: 2}},
		{"negative and zero", []int{0, -2}, map[int]int{-2: 0, 0: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var signers []signing.ProviderSigner
			for _, v := range tc.in {
				signers = append(signers, signing.ProviderSigner{Volgorde: v})
			}
			got := Ranks(signers)
			if len(got) != len(tc.want) {
				t.Fatalf("Ranks(%v) = %v, want %v", tc.in, got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("Ranks(%v) = %v, want %v", tc.in, got, tc.want)
				}
			}
		})
	}
}

func document(pos int, b []byte, openErr error) signing.ProviderDocument {
	return signing.ProviderDocument{Position: pos, Size: int64(len(b)), Open: func(context.Context) (io.ReadCloser, error) {
		if openErr != nil {
			return nil, openErr
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}}
}

func TestSpool(t *testing.T) {
	t.Parallel()
	errOpen := errors.New("gone")
	for _, tc := range []struct {
		name    string
		docs    []signing.ProviderDocument
		wantErr error
	}{
		{"none", nil, nil},
		{"two", []signing.ProviderDocument{document(0, []byte("%PDF-a"), nil), document(1, []byte("%PDF-bb"), nil)}, nil},
		{"second fails to open", []signing.ProviderDocument{document(0, []byte("%PDF-a"), nil), document(1, nil, errOpen)}, errOpen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Spool(t.Context(), "test", tc.docs)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Spool: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if got != nil {
					t.Fatalf("Spool failed but returned %d files", len(got))
				}
				return
			}
			defer Remove(got)
			if len(got) != len(tc.docs) {
				t.Fatalf("Spool: %d files, want %d", len(got), len(tc.docs))
			}
			for i, sp := range got {
				b, err := io.ReadAll(sp.Reader())
				if err != nil || sp.Size != tc.docs[i].Size || int64(len(b)) != sp.Size || sp.Doc.Position != i {
					t.Fatalf("file %d: %d bytes (size %d, position %d), %v", i, len(b), sp.Size, sp.Doc.Position, err)
				}
			}
			Remove(got)
			for _, sp := range got {
				if _, err := os.Stat(sp.File.Name()); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("Remove left %s: %v", sp.File.Name(), err)
				}
			}
		})
	}
}

func TestFieldBox(t *testing.T) {
	t.Parallel()
	onePage, err := report.Plain("Besluit", "Voor akkoord: {{Signer1}}")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := Spool(t.Context(), "test", []signing.ProviderDocument{document(0, onePage, nil), document(1, []byte("not a pdf"), nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Remove(docs) })
	const w, h = 170.0, 50.0
	slot := func(n int) [4]float64 {
		x, top := 40+float64(n%SlotCols)*(w+10), 40+float64(n/SlotCols+1)*(h+10)
		return [4]float64{x, top - h, x + w, top}
	}
	for _, tc := range []struct {
		name        string
		doc         int
		placeholder string
		slot        int
		wantSlot    int // *slot after the call
		wantRect    [4]float64
		atHit       bool
		wantErr     error
	}{
		{"no placeholder: first slot", 0, "", 0, 1, slot(0), false, nil},
		{"placeholder not in the text: next slot", 0, "{{Nobody}}", 1, 2, slot(1), false, nil},
		{"slot on a new row", 0, "", SlotCols, SlotCols + 1, slot(SlotCols), false, nil},
		{"placeholder found: slot unused", 0, "{{Signer1}}", 2, 2, [4]float64{}, true, nil},
		{"not a PDF", 1, "", 0, 0, [4]float64{}, false, signing.ErrPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := tc.slot
			b, err := FieldBox(t.Context(), "test", docs[tc.doc], tc.placeholder, w, h, &n)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("FieldBox: %v, want %v", err, tc.wantErr)
			}
			if n != tc.wantSlot {
				t.Fatalf("slot %d after, want %d", n, tc.wantSlot)
			}
			if err != nil {
				return
			}
			if b.Page != 1 || b.PageSize[0] <= 0 || b.PageSize[1] <= 0 {
				t.Fatalf("box %+v: want page 1 of a sized page", b)
			}
			if gw, gh := b.Rect[2]-b.Rect[0], b.Rect[3]-b.Rect[1]; math.Abs(gw-w) > 1e-9 || math.Abs(gh-h) > 1e-9 {
				t.Fatalf("box %+v is %v×%v, want %v×%v", b, gw, gh, w, h)
			}
			if tc.atHit {
				// the placeholder is in the upper half of the page, well above the slots
				if b.Rect[3] < b.PageSize[1]/2 {
					t.Fatalf("box %+v is not at the placeholder near the top", b)
				}
				return
			}
			if b.Rect != tc.wantRect {
				t.Fatalf("box %v, want %v", b.Rect, tc.wantRect)
			}
		})
	}
}
