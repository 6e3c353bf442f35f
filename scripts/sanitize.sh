#!/usr/bin/env bash
# scripts/sanitize.sh SANITIZERS BUILD_DIR: builds everything with -fsanitize=SANITIZERS (g++)
# in BUILD_DIR and runs the unit and integration tests there; any report fails the run.
#   scripts/sanitize.sh address,undefined build-asan
#   scripts/sanitize.sh thread build-tsan
set -euo pipefail
cd "$(dirname "$0")/.."
SAN=$1
B=$2
# Warnings are errors in the plain build; here g++ 12 warns falsely on Asio's coroutine frames
# under ASan (-Wmismatched-new-delete), so they are not.
# -O1 -g1: what sanitizers need for usable reports, at half the compile time of -O2 -g. Only the
# test executables (and what they link) are built.
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE= -DCMAKE_CXX_FLAGS="-O1 -g1" -DNC_WERROR=OFF -DNC_SANITIZE="$SAN" > /dev/null
TESTS=(core_test api_test vyos_codec_test store_test http_test runtime_test source_test switch_dialect_test integration_test reconciler_test
       kube_test switch_test)
cmake --build "$B" -j"${JOBS:-2}" --target "${TESTS[@]}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
cd "$B"
# The unit and integration tests of those executables (the chart's need the plain build's
# binaries and are not about memory or threads).
ctest --output-on-failure -j"${JOBS:-2}" -L "unit|integration" --timeout 900
