#!/usr/bin/env bash
# vendor.sh copies the few front-end files the signer pages use from npm into the embedded assets,
# and axe-core into testdata for the browser tests. The result is committed, so neither building
# nor running signingd needs npm. Run it to upgrade: bash signing/providers/builtin/assets/vendor.sh
set -euo pipefail

PDFJS=${PDFJS:-pdfjs-dist@5.6.205}
UTRECHT_CSS=${UTRECHT_CSS:-@utrecht/component-library-css@9.0.4}
UTRECHT_TOKENS=${UTRECHT_TOKENS:-@utrecht/design-tokens@5.0.1}
AXE=${AXE:-axe-core@4.14.1}

here=$(cd "$(dirname "$0")" && pwd)
out=$here/static/vendor
testdata=$here/../testdata
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "$PDFJS" "$UTRECHT_CSS" "$UTRECHT_TOKENS" "$AXE" >/dev/null
for f in *.tgz; do mkdir -p "x/${f%.tgz}"; tar xzf "$f" -C "x/${f%.tgz}"; done

mkdir -p "$out" "$testdata"
cp x/pdfjs-dist-*/package/build/pdf.min.mjs "$out/pdf.min.mjs"
cp x/pdfjs-dist-*/package/build/pdf.worker.min.mjs "$out/pdf.worker.min.mjs"
cp x/pdfjs-dist-*/package/LICENSE "$out/pdfjs.LICENSE"
cp x/utrecht-component-library-css-*/package/dist/index.css "$out/utrecht.css"
cp x/utrecht-component-library-css-*/package/LICENSE.md "$out/utrecht.LICENSE.md"
cp x/utrecht-design-tokens-*/package/dist/theme.css "$out/utrecht-theme.css"
cp x/axe-core-*/package/axe.min.js "$testdata/axe.min.js"
{
  echo "Vendored by vendor.sh from npm; do not edit."
  for p in "$PDFJS" "$UTRECHT_CSS" "$UTRECHT_TOKENS" "$AXE"; do echo "$p"; done
} >"$out/VERSIONS"
echo "vendored into $out and $testdata"
