// Renders each document preview with pdf.js (vendored; no third-party requests), at the width of
// its column so that text stays readable on a phone, sharp on dense screens, with zoom buttons.
// The download link next to every preview is the accessible alternative to the canvases.
import * as pdfjs from "./vendor/pdf.min.mjs";

pdfjs.GlobalWorkerOptions.workerSrc = new URL("./vendor/pdf.worker.min.mjs", import.meta.url).href;

const zoomSteps = [1, 1.5, 2, 3];

async function render(el, doc, zoom) {
  const label = el.dataset.pageLabel || "Page";
  const column = Math.max(el.clientWidth - 16, 200); // the preview's padding
  const pixels = window.devicePixelRatio || 1;
  const canvases = [];
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    const cssWidth = column * zoom;
    const scale = cssWidth / page.getViewport({ scale: 1 }).width;
    const viewport = page.getViewport({ scale: scale * pixels });
    const canvas = document.createElement("canvas");
    canvas.width = Math.floor(viewport.width);
    canvas.height = Math.floor(viewport.height);
    canvas.style.width = `${Math.floor(cssWidth)}px`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${label} ${n} / ${doc.numPages}`);
    await page.render({ canvasContext: canvas.getContext("2d"), canvas, viewport }).promise;
    canvases.push(canvas);
  }
  el.replaceChildren(...canvases);
  el.dataset.rendered = String(doc.numPages);
  el.dataset.zoom = String(zoom);
  el.dataset.column = String(column);
}

function zoomControls(el, doc) {
  let step = 0;
  // A turned phone or a resized window gets pages at its new column width.
  let timer;
  window.addEventListener("resize", () => {
    clearTimeout(timer);
    timer = setTimeout(() => render(el, doc, zoomSteps[step]).catch((err) => console.error("preview failed", err)), 150);
  });
  const bar = document.createElement("div");
  bar.className = "zoom";
  const button = (text, delta) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "utrecht-button utrecht-button--secondary-action";
    b.textContent = text;
    b.addEventListener("click", () => {
      step = Math.min(Math.max(step + delta, 0), zoomSteps.length - 1);
      render(el, doc, zoomSteps[step]).catch((err) => console.error("preview failed", err));
    });
    return b;
  };
  bar.append(button(el.dataset.zoomOut || "−", -1), button(el.dataset.zoomIn || "+", +1));
  el.before(bar);
}

for (const el of document.querySelectorAll("[data-pdf]")) {
  pdfjs.getDocument({ url: el.dataset.pdf, isEvalSupported: false, withCredentials: true }).promise
    .then(async (doc) => {
      await render(el, doc, zoomSteps[0]);
      zoomControls(el, doc);
    })
    .catch((err) => {
      el.dataset.rendered = "error";
      console.error("preview failed", err);
    });
}
