#!/usr/bin/env bash
# Checks renovate/kiln.json with Renovate's own code: its config validator, its preset arguments,
# its package rules (matchCurrentValue picks the rule) and its regex versioning and lookup filter,
# over a list of kiln tags (scripts/check-renovate-preset.mjs says what is asserted).
#
# The renovate npm package is large (~350 MB): it is installed into a temporary folder, never into
# kiln's package.json or node_modules, from the registry the host's npm configuration names.
#   RENOVATE_VERSION  the renovate version to check against (default below)
#   RENOVATE_DIR      reuse this folder (installed there once, kept); default: a temporary one, removed
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
version="${RENOVATE_VERSION:-44.121.2}"

if [[ -n "${RENOVATE_DIR:-}" ]]; then
  dir="$RENOVATE_DIR"
  mkdir -p "$dir"
else
  dir="$(mktemp -d "${TMPDIR:-/tmp}/kiln-renovate-check.XXXXXX")"
  trap 'rm -rf "$dir"' EXIT
fi

installed="$(node -e 'try { console.log(require(process.argv[1]).version) } catch { }' \
  "$dir/node_modules/renovate/package.json")"
if [[ "$installed" != "$version" ]]; then
  echo "installing renovate@$version into $dir (from the registry of this host's npm configuration)" >&2
  [[ -f "$dir/package.json" ]] || echo '{ "private": true }' >"$dir/package.json"
  # No install scripts and no optional dependencies: re2 would be compiled from source. Renovate
  # then uses JavaScript's RegExp, as it does wherever re2 is missing; the unit test of the preset
  # (test/renovate/preset.test.ts) keeps the patterns within what re2 accepts too.
  (cd "$dir" && npm install --no-save --no-audit --no-fund --ignore-scripts --omit=optional \
    --loglevel=error "renovate@$version" >&2)
fi

echo "renovate $(node -p 'require(process.argv[1]).version' "$dir/node_modules/renovate/package.json"), node $(node --version)"

# Renovate's validator, on the preset as a consumer's extends would expand it.
checked="$dir/kiln-preset-expanded.json"
sed 's|{{arg0}}|registry.example.org/kiln/**|g' "$root/renovate/kiln.json" >"$checked"
(cd "$dir" && RENOVATE_X_IGNORE_RE2=true LOG_LEVEL=warn \
  node_modules/.bin/renovate-config-validator --no-global "$checked") >&2
echo "renovate-config-validator: renovate/kiln.json is valid"

RENOVATE_X_IGNORE_RE2=true LOG_LEVEL=fatal \
  node "$here/check-renovate-preset.mjs" "$dir/node_modules/renovate" "$root/renovate/kiln.json"
