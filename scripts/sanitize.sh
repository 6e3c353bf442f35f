#!/usr/bin/env bash
# scripts/sanitize.sh SANITIZERS BUILD_DIR: builds everything with -fsanitize=SANITIZERS (g++)
# in BUILD_DIR and runs the unit and integration tests there; any report fails the run.
#   scripts/sanitize.sh address,undefined build-asan
#   scripts/sanitize.sh thread build-tsan
set -euo pipefail
cd "$(dirname "$0")/.."
SAN=$1
B=$2
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNC_WERROR=ON -DNC_SANITIZE="$SAN" > /dev/null
cmake --build "$B" -j"${JOBS:-2}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
cd "$B"
ctest --output-on-failure -j"${JOBS:-2}" -L "unit|integration" --timeout 900
