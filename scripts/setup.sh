#!/usr/bin/env bash
# Installs what kiln needs on a fresh Debian machine with Node >= 20: the Debian packages of its
# real parts (Redis and Redis Sentinel, the registry, buildah, bubblewrap, skopeo, umoci, the
# Debian repository tools the tests use, Chromium for the catalog's browser test) and the npm
# dependencies.
# As root it installs; otherwise it prints the apt-get command to run and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(redis-server redis-sentinel docker-registry buildah bubblewrap skopeo umoci apt-utils gpg
  dpkg-dev patch xz-utils zstd ca-certificates debian-archive-keyring debootstrap chromium)
[ "${KILN_SETUP_WITHOUT:-}" = "" ] || packages=($(printf '%s\n' "${packages[@]}" | grep -vxF -f <(tr ' ' '\n' <<<"$KILN_SETUP_WITHOUT")))

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<18)) { console.error("setup: kiln needs Node >= 20.18, this is "+process.version); process.exit(1) }'

# npm ci only when the lockfile changed since the last install.
stamp=node_modules/.kiln-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
