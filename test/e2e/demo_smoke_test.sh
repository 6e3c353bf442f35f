#!/usr/bin/env bash
# `make run` in its one-shot form: the demo converges the example manifests on vyos-sim and
# `netconverge status` shows every example port applied (or disabled, as declared).
set -uo pipefail
SRC=$1
BUILD=$2
out=$(cd "$SRC" && DEMO_ONCE=1 scripts/demo.sh "$BUILD" 2>&1)
echo "$out"
applied=$(echo "$out" | grep -cE '^default/edge1 +default/[a-z0-9]+ +[a-z]+ +1[0-9]{4} +(Applied|Disabled) ')
declared=$(grep -c '^    - name:' "$SRC"/manifests/*.yaml | awk -F: '{s+=$2} END {print s}')
untouched=$(echo "$out" | grep -c "set nat destination rule 100 ")
echo "ports applied: $applied of $declared; hand-made rule 100 lines: $untouched"
if [ "$applied" -eq "$declared" ] && [ "$untouched" -eq 5 ]; then echo "1 passed, 0 failed"; exit 0; fi
echo "0 passed, 1 failed"
exit 1
