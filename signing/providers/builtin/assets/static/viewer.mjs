// Renders each document preview with pdf.js (vendored; no third-party requests). The download
// link next to every preview is the accessible alternative to the canvases.
import * as pdfjs from "./vendor/pdf.min.mjs";

pdfjs.GlobalWorkerOptions.workerSrc = new URL("./vendor/pdf.worker.min.mjs", import.meta.url).href;

async function render(el) {
  const doc = await pdfjs.getDocument({ url: el.dataset.pdf, isEvalSupported: false, withCredentials: true }).promise;
  const label = el.dataset.pageLabel || "Page";
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    const viewport = page.getViewport({ scale: 1.5 });
    const canvas = document.createElement("canvas");
    canvas.width = viewport.width;
    canvas.height = viewport.height;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${label} ${n} / ${doc.numPages}`);
    el.appendChild(canvas);
    await page.render({ canvasContext: canvas.getContext("2d"), canvas, viewport }).promise;
  }
  el.dataset.rendered = String(doc.numPages);
}

for (const el of document.querySelectorAll("[data-pdf]")) {
  render(el).catch((err) => {
    el.dataset.rendered = "error";
    console.error("preview failed", err);
  });
}
