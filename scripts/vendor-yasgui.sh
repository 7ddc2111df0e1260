#!/usr/bin/env bash
# Reproduces src/poli_kg/static/vendor/yasgui/ (the SPARQL editor of the query page) from npm.
#
# The vendored files are committed: nothing runs this script at build, run or test time.
# Run it by hand (needs node + npm and access to the npm registry) to check the committed
# files or to move to another version (then update VERSION and INTEGRITY below).
#
#   1. `npm pack` the exact version of @zazuko/yasgui and check the tarball's sha512
#      against the integrity the registry published for it;
#   2. copy the self-contained browser bundle (build/yasgui.min.js, which includes Yasqe,
#      Yasr and all their dependencies) and its stylesheet, unmodified;
#   3. write LICENSE (the package is MIT-licensed per its package.json, but ships no licence
#      file) and THIRD-PARTY-LICENSES.txt (the licences of the packages bundled into
#      yasgui.min.js, collected from an `npm install --omit=dev` of the same version);
#   4. write SOURCE.txt with the version, tarball integrity and the files' sha256.
set -euo pipefail

VERSION=4.6.2
INTEGRITY="sha512-Zw45KdPoAE1KRaAoxIHdQqeJxvaVG1oQdntw0hy0ktX35Zu8ZccuOLrXCLwR+GU+0xMzLw8Mjw6BkSZV2vUuQw=="

cd "$(dirname "$0")/.."
dest=src/poli_kg/static/vendor/yasgui
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "npm pack @zazuko/yasgui@$VERSION" >&2
tarball=$(cd "$tmp" && npm pack --silent "@zazuko/yasgui@$VERSION" 2>/dev/null | tail -n 1)
actual="sha512-$(openssl dgst -sha512 -binary "$tmp/$tarball" | base64 | tr -d '\n')"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "integrity mismatch for $tarball: $actual" >&2
  exit 1
fi
tar -xzf "$tmp/$tarball" -C "$tmp"

mkdir -p "$dest"
cp "$tmp/package/build/yasgui.min.js" "$tmp/package/build/yasgui.min.css" "$dest/"

author=$(node -p "require('$tmp/package/package.json').author")
cat > "$dest/LICENSE" <<LICENSE
YASGUI (@zazuko/yasgui $VERSION, https://github.com/rdfjs/Yasgui), a fork by Zazuko GmbH
of software written by Triply. Its package.json declares
  "license": "MIT", "author": "$author", "contributors": [{"name": "Zazuko GmbH"}];
the npm package ships no licence file, so the MIT licence text is reproduced here.
The licences of the third-party packages bundled into yasgui.min.js are in
THIRD-PARTY-LICENSES.txt.

MIT License

Copyright (c) Triply and Zazuko GmbH

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
LICENSE

echo "npm install --omit=dev @zazuko/yasgui@$VERSION (for the bundled packages' licences)" >&2
mkdir "$tmp/install"
(cd "$tmp/install" && echo '{"private": true}' > package.json \
  && npm install --silent --omit=dev --ignore-scripts --no-audit --no-fund "@zazuko/yasgui@$VERSION" >/dev/null 2>&1)
node - "$tmp/install/node_modules" "$VERSION" > "$dest/THIRD-PARTY-LICENSES.txt" <<'NODE'
const fs = require("fs"), path = require("path");
const [root, version] = process.argv.slice(2);
const found = [];
(function walk(dir) {
  for (const name of fs.readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const p = path.join(dir, name);
    if (name.startsWith("@")) { walk(p); continue; }
    const pj = path.join(p, "package.json");
    if (fs.existsSync(pj)) {
      const j = JSON.parse(fs.readFileSync(pj, "utf8"));
      if (!j.name.startsWith("@types/") && !j.name.startsWith("@zazuko/")) found.push([j, p]);
    }
    if (fs.existsSync(path.join(p, "node_modules"))) walk(path.join(p, "node_modules"));
  }
})(root);
console.log(`Licences of the packages bundled into yasgui.min.js (@zazuko/yasgui ${version}).`);
console.log("Collected from `npm install --omit=dev` of that version; the bundle may hold other");
console.log("patch releases of the same packages. @zazuko/yasgui, yasqe, yasr and yasgui-utils are");
console.log("MIT (see LICENSE).\n");
for (const [j] of found) console.log(`  ${j.name}@${j.version}  ${j.license || "(see text)"}`);
for (const [j, p] of found) {
  const files = fs.readdirSync(p).filter((f) => /^(licen[cs]e|copying)/i.test(f)).sort();
  console.log("\n" + "=".repeat(78) + `\n${j.name}@${j.version} (${j.license || "see below"})\n` + "=".repeat(78));
  if (!files.length) console.log(`No licence file in the package; package.json declares: ${j.license}`);
  for (const f of files) console.log(fs.readFileSync(path.join(p, f), "utf8").trimEnd());
}
NODE

{
  echo "@zazuko/yasgui $VERSION from the npm registry (npm pack), tarball integrity $INTEGRITY."
  echo "Files copied unmodified from the package's build/ folder; regenerate with scripts/vendor-yasgui.sh."
  echo
  (cd "$dest" && sha256sum yasgui.min.js yasgui.min.css)
} > "$dest/SOURCE.txt"
echo "wrote $dest" >&2
