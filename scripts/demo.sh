#!/usr/bin/env bash
# The demo: kiln's main job on its single-machine defaults. Starts its own Redis and registry,
# makes a signing key, builds the `static` image from the Debian archive this host uses, pushes,
# signs and attests it, then verifies it with kiln verify and inspects it with skopeo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
export KILN_LOG_LEVEL="${KILN_LOG_LEVEL:-warn}"
exec node bin/kiln.js up --once --verify "${@:-static}"
