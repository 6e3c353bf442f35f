#!/usr/bin/env bash
# `make run` in its one-shot form: the demo converges the example manifests on vyos-sim and
# switch-sim, and `netconverge status` shows every example port and VLAN interface applied (or
# disabled, as declared), with the hand-made rule and sub-interface left alone.
set -uo pipefail
SRC=$1
BUILD=$2
out=$(cd "$SRC" && DEMO_ONCE=1 scripts/demo.sh "$BUILD" 2>&1)
echo "$out"
applied=$(echo "$out" | grep -cE '^default/edge1 +default/[a-z0-9]+ +[a-z]+ +1[0-9]{4} +(Applied|Disabled) ')
declared=$(grep -c '^    - name:' "$SRC"/manifests/*.yaml | awk -F: '{s+=$2} END {print s}')
untouched=$(echo "$out" | grep -c "set nat destination rule 100 ")
vlans=$(echo "$out" | grep -cE '^default/sw1 +default/[a-z-]+ +ge100-0/0/[0-9]+\.[0-9]+ +[0-9]+ +(Applied|Disabled) ')
vlans_declared=$(grep -c '^kind: VlanInterface' "$SRC"/manifests/*.yaml | awk -F: '{s+=$2} END {print s}')
hand_made=$(echo "$out" | grep -c 'interface: ge100-0/0/5$')
echo "ports applied: $applied of $declared; hand-made rule 100 lines: $untouched"
echo "VLAN interfaces applied: $vlans of $vlans_declared; hand-made sub-interface still there: $hand_made"
if [ "$applied" -eq "$declared" ] && [ "$untouched" -eq 5 ] && [ "$vlans" -eq "$vlans_declared" ] && [ "$hand_made" -eq 1 ]; then
  echo "1 passed, 0 failed"; exit 0
fi
echo "0 passed, 1 failed"
exit 1
