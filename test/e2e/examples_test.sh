#!/usr/bin/env bash
# docs/EXAMPLES.md is a test: every example applied to a fresh vyos-sim must leave exactly the
# lines the document shows on the router (its own rendering), and the refused one must be refused
# with the message shown. Usage: examples_test.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN=$1
SRC=$2
. "$(dirname "$0")/lib.sh"
python3 "$SRC/test/e2e/examples_check.py" "$SRC/docs/EXAMPLES.md" "$BIN" "$work"
