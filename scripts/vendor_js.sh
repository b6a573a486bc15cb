#!/usr/bin/env bash
# Refresh the app's vendored browser libraries from the npm registry (pinned versions).
# The results are committed under src/assay/app/static/vendor, so users need neither npm nor a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm install --silent --no-audit --no-fund marked@12.0.2 dompurify@3.2.6 katex@0.16.22 uplot@1.6.32 >/dev/null)
out=src/assay/app/static/vendor
rm -rf "$out"
mkdir -p "$out/fonts"
cp "$work/node_modules/marked/marked.min.js" "$out/marked.min.js"
cp "$work/node_modules/dompurify/dist/purify.min.js" "$out/purify.min.js"
cp "$work/node_modules/katex/dist/katex.min.js" "$work/node_modules/katex/dist/katex.min.css" "$out/"
cp "$work/node_modules/katex/dist/fonts/"*.woff2 "$out/fonts/"
cp "$work/node_modules/uplot/dist/uPlot.iife.min.js" "$work/node_modules/uplot/dist/uPlot.min.css" "$out/"
for package in marked dompurify katex uplot; do
  cp "$work/node_modules/$package/LICENSE"* "$out/LICENSE-$package" 2>/dev/null || true
done
echo "vendored into $out"
