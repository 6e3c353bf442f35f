#!/usr/bin/env bash
# clang-tidy (.clang-tidy) over every production translation unit of BUILD_DIR's compilation
# database (controller/, adapters/, transport/); any finding fails. Used by .ci/run after the
# build. Usage: scripts/tidy.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -f "$build/compile_commands.json" ] || { echo "tidy: $build/compile_commands.json missing (configure first)" >&2; exit 1; }
# The compilation database is g++'s; clang needs to be told that Asio may use C++20 coroutines.
# -Werror: clang's own warnings count as findings whatever the build was configured with.
out=$(run-clang-tidy -p "$build" -j "${JOBS:-2}" -quiet \
  -extra-arg=-DBOOST_ASIO_HAS_CO_AWAIT=1 -extra-arg=-DBOOST_ASIO_HAS_STD_COROUTINE=1 -extra-arg=-Werror \
  "$PWD/(controller|adapters|transport)/" 2>&1)
rc=$?
findings=$(sed 's/\x1b\[[0-9;]*m//g' <<<"$out" | grep -E ': (error|warning): ' | sort -u)
if [ $rc -ne 0 ] || [ -n "$findings" ]; then
  if [ -n "$findings" ]; then echo "$findings" >&2; else tail -20 <<<"$out" >&2; fi
  echo "clang-tidy: $(grep -c . <<<"$findings") finding(s)" >&2
  exit 1
fi
echo "clang-tidy: $(grep -c '^clang-tidy' <<<"$out") translation units clean ($(clang-tidy --version | grep -m1 version | sed 's/^ *//'))"
