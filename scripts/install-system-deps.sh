#!/usr/bin/env bash
# Installs the system tools used by the end-to-end tests (not needed to run poli-kg):
# Debian's chromium (browser tests), raptor2-utils (independent RDF parser),
# virtuoso-opensource (external triple store), wrk (load tool), nginx (the deployment's
# reverse proxy and cache, run by the tests on 127.0.0.1), and comunica-sparql from npm.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(chromium raptor2-utils virtuoso-opensource wrk nginx)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ -f tools/package.json ]; then
  (cd tools && npm ci --silent --no-audit --no-fund)
fi
if [ -f tools/a11y/package.json ]; then   # axe-core and Lighthouse for the page checks
  (cd tools/a11y && npm ci --silent --no-audit --no-fund)
fi
