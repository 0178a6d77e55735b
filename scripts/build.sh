#!/usr/bin/env bash
# Builds the CLI into dist/ (esbuild, well under a second) unless dist/ already holds a build of
# the sources as they are: bin/kiln.js runs dist/ only then. See scripts/build.js for the details.
# Options: --force (build even when current), --prune-all (drop every other build, for npm pack).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node scripts/build.js "$@"
