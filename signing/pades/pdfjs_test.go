package pades

import (
	"embed"
	"encoding/base64"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signingd/signingd/internal/testkit"
)

// pdf.js, the viewer of Firefox (and of many web applications), vendored from the npm package
// pdfjs-dist (see testdata/pdfjs/README.md): the modern build, as Firefox runs it.
//
//go:embed testdata/pdfjs
var pdfjsFiles embed.FS

// pdfjsPage renders a page with pdf.js, as its viewer does (annotationMode ENABLE_FORMS: form
// fields in the HTML layer, signature widgets drawn on the canvas) or without annotations
// (DISABLE), and counts the dark pixels inside a rectangle given in PDF user space.
const pdfjsPage = `<!doctype html><meta charset="utf-8"><title>pdf.js</title>
<script type="module">
import * as pdfjs from "/pdfjs/pdf.min.mjs";
pdfjs.GlobalWorkerOptions.workerSrc = "/pdfjs/pdf.worker.min.mjs";
window.darkInRect = async (url, pageNum, rect, withAnnotations) => {
  const task = pdfjs.getDocument({url, isEvalSupported: false});
  const doc = await task.promise;
  const page = await doc.getPage(pageNum);
  const viewport = page.getViewport({scale: 2});
  const canvas = document.createElement("canvas");
  canvas.width = Math.ceil(viewport.width);
  canvas.height = Math.ceil(viewport.height);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  await page.render({canvas, canvasContext: ctx, viewport,
    annotationMode: withAnnotations ? pdfjs.AnnotationMode.ENABLE_FORMS : pdfjs.AnnotationMode.DISABLE}).promise;
  const [a, b, c, d, e, f] = viewport.transform;
  const at = (x, y) => [a * x + c * y + e, b * x + d * y + f];
  const [x0, y0] = at(rect[0], rect[1]), [x1, y1] = at(rect[2], rect[3]);
  const left = Math.max(0, Math.floor(Math.min(x0, x1))), top = Math.max(0, Math.floor(Math.min(y0, y1)));
  const w = Math.min(canvas.width, Math.ceil(Math.max(x0, x1))) - left, h = Math.min(canvas.height, Math.ceil(Math.max(y0, y1))) - top;
  const px = ctx.getImageData(left, top, w, h).data;
  let dark = 0;
  for (let i = 0; i < px.length; i += 4) {
    if (0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2] < 128) dark++;
  }
  await task.destroy();
  return {dark, png: withAnnotations ? canvas.toDataURL("image/png") : ""};
};
window.pdfjsReady = true;
</script>`

// TestPDFJSDrawsStamp signs at a placeholder and on a signature page, in the clear and
// encrypted, and has pdf.js in headless Chromium draw the page: inside the stamp's rectangle
// the page must be much darker with annotations drawn than without, so the stamp shows in
// Firefox's viewer too, not only in poppler.
func TestPDFJSDrawsStamp(t *testing.T) {
	testkit.NeedTool(t, "qpdf")
	p := getPKI(t)
	var ph string
	for _, f := range corpus(t) {
		if f.name == "placeholder" {
			ph = f.path
		}
	}
	dir := t.TempDir()
	r6 := encVariant{name: "R6 AESV3", file: "placeholder", args: []string{"--encrypt", "", "eigenaar", "256", "--"}}.encrypt(t, dir)

	var mu sync.Mutex
	docs := map[string][]byte{}
	mux := http.NewServeMux()
	sub, _ := fs.Sub(pdfjsFiles, "testdata/pdfjs")
	files := http.FileServerFS(sub)
	mux.Handle("/pdfjs/", http.StripPrefix("/pdfjs/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".mjs") {
			w.Header().Set("Content-Type", "text/javascript")
		}
		files.ServeHTTP(w, r)
	})))
	mux.HandleFunc("/doc/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		data, ok := docs[strings.TrimPrefix(r.URL.Path, "/doc/")]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Write(data)
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(pdfjsPage))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)

	ctx := testkit.Chromium(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.Poll[chromedp.Void]("window.pdfjsReady === true", chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("load pdf.js: %v", err)
	}

	tests := []struct {
		name, src, placeholder string
		page                   int
	}{
		{"placeholder", ph, "{{Signer1}}", 2},
		{"signature page", ph, "", 3},
		{"placeholder, encrypted R6", r6, "{{Signer2}}", 2},
	}
	for i, tc := range tests {
		t.Run(strings.NewReplacer(" ", "_", ",", "").Replace(tc.name), func(t *testing.T) {
			o := p.signers["rsa"].options()
			o.Placeholder = tc.placeholder
			out := filepath.Join(t.TempDir(), "signed.pdf")
			data := signFile(t, tc.src, out, o)
			if keep := os.Getenv("PADES_KEEP"); keep != "" {
				os.WriteFile(filepath.Join(keep, "pdfjs-"+itoa(i)+".pdf"), data, 0o644)
			}
			var st *stampInfo
			for _, s := range stamps(t, data) {
				if s.page == tc.page {
					st = &s
				}
			}
			if st == nil {
				t.Fatalf("no stamp on page %d", tc.page)
			}
			key := itoa(i) + ".pdf"
			mu.Lock()
			docs[key] = data
			mu.Unlock()
			rect := []float64{st.rect[0], st.rect[1], st.rect[2], st.rect[3]}
			type result struct {
				Dark int    `json:"dark"`
				PNG  string `json:"png"`
			}
			render := func(with bool) result {
				r, err := chromedp.Run(ctx, chromedp.Evaluate[result](`darkInRect("/doc/`+key+`", `+itoa(tc.page)+`, `+jsArray(rect)+`, `+boolJS(with)+`)`,
					chromedp.EvalAwaitPromise))
				if err != nil {
					t.Fatalf("pdf.js: %v", err)
				}
				return r
			}
			shown, bare := render(true), render(false)
			with, without := shown.Dark, bare.Dark
			// the page as pdf.js shows it, for a person to look at
			if png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(shown.PNG, "data:image/png;base64,")); err == nil {
				os.WriteFile(filepath.Join(testkit.Artifacts(t), "pdfjs.png"), png, 0o644)
			}
			// the stamp's 200 × 62 pt at scale 2: its lines are a few thousand dark pixels
			area := int((st.rect[2] - st.rect[0]) * (st.rect[3] - st.rect[1]) * 4)
			t.Logf("pdf.js: %d dark pixels in the stamp's %d with annotations, %d without", with, area, without)
			if with-without < area/100 || with-without < 300 {
				t.Errorf("pdf.js does not draw the stamp: %d dark pixels in its rectangle with annotations, %d without", with, without)
			}
		})
	}
}

func jsArray(v []float64) string {
	s := make([]string, len(v))
	for i, f := range v {
		s[i] = formatReal(f)
	}
	return "[" + strings.Join(s, ",") + "]"
}

func boolJS(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
