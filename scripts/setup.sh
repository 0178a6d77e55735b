#!/usr/bin/env bash
# Installs what kiln needs on a fresh Debian machine with Node >= 20: the Debian packages of its
# real parts (Redis and Redis Sentinel, the registry, buildah, bubblewrap, skopeo, umoci, the
# Debian repository tools the tests use, Chromium for the catalog's browser test) and the npm
# dependencies, and (on an amd64 host) qemu-user-static registered for arm64, so arm64 images' tests run,
# and a C++ cross compiler for the other arch (the cc image's C++ test).
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

# arm64 images' tests run under qemu-user-static through binfmt_misc (with the F flag, so the
# emulator works inside bubblewrap's sandbox). Without it they are built but their tests are
# reported as skipped. Only as root; idempotent and quiet when already in place.
if [ "$(dpkg --print-architecture)" != arm64 ] && ! grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    emulation=()
    for p in qemu-user-static binfmt-support; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || emulation+=("$p")
    done
    if [ ${#emulation[@]} -gt 0 ]; then
      echo "setup: installing ${emulation[*]} (arm64 tests under emulation)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${emulation[@]}" >/dev/null
    fi
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || true
    update-binfmts --enable qemu-aarch64 2>/dev/null || true
    grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null ||
      echo "setup: qemu-aarch64 is not registered in binfmt_misc: arm64 tests will be skipped" >&2
  else
    echo "setup: arm64 tests will be skipped; to run them, as root: apt-get install qemu-user-static binfmt-support && update-binfmts --enable qemu-aarch64" >&2
  fi
fi

# A C++ cross compiler for the other arch, so the cc image's C++ program test
# (test/recipes/runtimes.test.ts) is compiled for both arches and run under qemu-user-static.
# Without it that test runs on the host's arch only and says so.
case "$(dpkg --print-architecture)" in
  amd64) cross=g++-aarch64-linux-gnu ;;
  arm64) cross=g++-x86-64-linux-gnu ;;
  *) cross= ;;
esac
if [ -n "$cross" ] && ! dpkg-query -W -f='${Status}' "$cross" 2>/dev/null | grep -q 'install ok installed'; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing $cross (the cc image's C++ test on both arches)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$cross" >/dev/null
  else
    echo "setup: the cc C++ test will run on $(dpkg --print-architecture) only; to run it on both, as root: apt-get install $cross" >&2
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
