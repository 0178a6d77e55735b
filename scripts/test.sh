#!/usr/bin/env bash
# The test command: installs what is missing, builds dist/ (when the sources changed), typechecks,
# checks generated files for drift, then runs the whole suite against real Redis, registry,
# buildah, bubblewrap and Debian repositories.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
npx tsc --noEmit
if npm run | grep -q '^  schema:check$'; then npm run --silent schema:check; fi
npx vitest run "$@"
