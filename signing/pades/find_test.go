package pades

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/signingd/signingd/internal/testkit"
)

// TestFindTextHits finds a placeholder on the pages that have it, where poppler draws it, in the page
// as shown (a rotated page included), and the page sizes as shown.
func TestFindTextHits(t *testing.T) {
	t.Parallel()
	testkit.NeedTool(t, "pdftotext")
	for _, rot := range []int{0, 90} {
		pdf := makePDF(genPDF{rotate: rot, pages: [][]string{{"Inleiding"}, {"Besluit", "Getekend: {{Signer1}}"}, {"{{Signer1}} en {{Signer2}}"}}})
		ctx := context.Background()
		hits, err := FindText(ctx, bytes.NewReader(pdf), int64(len(pdf)), "{{Signer1}}")
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 2 || hits[0].Page != 2 || hits[1].Page != 3 {
			t.Fatalf("rotate %d: hits %+v, want pages 2 and 3", rot, hits)
		}
		sizes, err := PageSizes(ctx, bytes.NewReader(pdf), int64(len(pdf)))
		if err != nil {
			t.Fatal(err)
		}
		want := [2]float64{595, 842}
		if rot == 90 {
			want = [2]float64{842, 595}
		}
		if len(sizes) != 3 || sizes[2] != want || hits[0].PageSize != want {
			t.Errorf("rotate %d: sizes %v, hit size %v; want 3 of %v", rot, sizes, hits[0].PageSize, want)
		}
		// poppler's -bbox is in the page as shown, from its top left
		path := filepath.Join(t.TempDir(), "in.pdf")
		if err := os.WriteFile(path, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdftotext", "-f", "2", "-l", "2", "-bbox", path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">\{\{Signer1\}\}</word>`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("poppler does not show the placeholder:\n%s", out)
		}
		f := func(i int) float64 { v, _ := strconv.ParseFloat(string(m[i]), 64); return v }
		r, h := hits[0].Rect, hits[0].PageSize[1]
		if math.Abs(r[0]-f(1)) > 1 || math.Abs(r[2]-f(3)) > 2 || math.Abs((h-r[1])-f(4)) > 3 || math.Abs((h-r[3])-f(2)) > 3 {
			t.Errorf("rotate %d: found at %v (from the bottom), poppler draws it at x %s–%s, y %s–%s (from the top) of %g", rot, r, m[1], m[3], m[2], m[4], h)
		}
	}
	none := makePDF(genPDF{pages: [][]string{{"geen"}}})
	if hits, err := FindText(context.Background(), bytes.NewReader(none), int64(len(none)), "{{X}}"); err != nil || len(hits) != 0 {
		t.Errorf("hits %v, %v in a document without the text", hits, err)
	}
}
