#!/usr/bin/env bash
# Crash test: kill the daemon with SIGKILL at random points during applies, over varied plans.
# After each kill a fresh `netconverge apply` must converge the device, no rule may be duplicated
# or half-configured, no port's rule number may move, and the store must pass integrity_check.
# The churn between rounds is deliberate: the mass-deletion guard and the settle delay are off.
# Usage: crash_test.sh BIN_DIR KILLS   (ctest runs a short smoke; `make crash-test` runs 60)
set -uo pipefail
BIN=$1
KILLS=${2:-60}
source "$(dirname "$0")/lib.sh"

# Slow commits so that kills land inside applies: 150 ms per commit, 2 ms per operation.
start_vyos_sim --latency-request-ms 2 --latency-op-ms 2 --latency-commit-ms 150 --latency-commit-per-rule-ms 0.2
M=$work/manifests
mkdir -p "$M"
write_edge1_device "$M/device.yaml" $'  pollInterval: 2s\n  commitConfirm: {enabled: false}\n'
STORE=$work/nc.db

# A varied plan per round: each of 12 VMs is present with a random set of 1-4 ports, or absent.
write_manifests() {
  local round=$1
  rm -f "$M"/vm*.yaml
  for vm in $(seq 1 12); do
    if (( (RANDOM + round) % 4 == 0 )); then continue; fi
    {
      echo "apiVersion: netconverge.io/v1alpha1"
      echo "kind: PortForward"
      echo "metadata: {name: vm$vm}"
      echo "spec:"
      echo "  deviceRef: edge1"
      echo "  vm: vm$vm"
      echo "  internalAddress: 192.168.$vm.10"
      echo "  inboundInterface: eth0"
      echo "  ports:"
      for p in 1 2 3 4; do
        if (( p > 1 && RANDOM % 2 == 0 )); then continue; fi
        echo "    - {name: p$p, protocol: tcp, externalPort: $((20000 + vm * 10 + p)), internalPort: $((8000 + RANDOM % 50))}"
      done
    } > "$M/vm$vm.yaml"
  done
}

check_device() {
  python3 - "$work" "$PORT" "$STORE" <<'PY'
import json, subprocess, sys, collections
work, port, store = sys.argv[1], sys.argv[2], sys.argv[3]
cfg = subprocess.run(["curl", "-sS", "--cacert", f"{work}/ca.pem", f"https://127.0.0.1:{port}/_sim/config?format=json"],
                     capture_output=True, text=True).stdout
rules = json.loads(cfg).get("nat", {}).get("destination", {}).get("rule", {})
problems = []
seen = collections.Counter()
for n, r in rules.items():
    for leaf in ("description", "protocol", "inbound-interface", "destination", "translation"):
        if leaf not in r:
            problems.append(f"rule {n} is half-configured: no {leaf}")
    seen[r.get("description", "")] += 1
for d, c in seen.items():
    if c > 1:
        problems.append(f"{c} rules share the description {d!r}")
for p in problems:
    print("  " + p)
sys.exit(1 if problems else 0)
PY
}

allocations() { sqlite3 "$STORE" "SELECT resource || '/' || port || '=' || rule_number FROM allocations ORDER BY 1" 2>/dev/null; }

fails=0
kills=0
declare -A number_of
for round in $(seq 1 "$KILLS"); do
  write_manifests "$round"
  "$BIN/netconverge" run --manifests "$M" --store "$STORE" --watch-interval-ms 100 --settle-ms 0 --deletion-guard 100 --listen 127.0.0.1:0 > "$work/daemon.log" 2>&1 &
  d=$!
  sleep "0.$(printf '%03d' $((RANDOM % 400 + 20)))"
  kill -9 "$d" 2>/dev/null && kills=$((kills + 1))
  wait "$d" 2>/dev/null
  # A fresh process converges the device.
  if ! "$BIN/netconverge" apply --manifests "$M" --store "$STORE" --deletion-guard 100 --log-level error > "$work/apply.log" 2>&1; then
    echo "FAIL round $round: apply after the kill did not converge"; cat "$work/apply.log"; fails=$((fails + 1)); continue
  fi
  if ! "$BIN/netconverge" plan --manifests "$M" --store "$STORE" --deletion-guard 100 > "$work/plan.log" 2>&1; then
    echo "FAIL round $round: changes still pending after apply"; cat "$work/plan.log"; fails=$((fails + 1))
  fi
  if ! check_device; then echo "FAIL round $round: device state"; fails=$((fails + 1)); fi
  if [ "$(sqlite3 "$STORE" 'PRAGMA integrity_check')" != ok ]; then echo "FAIL round $round: integrity_check"; fails=$((fails + 1)); fi
  # A port that exists in consecutive rounds keeps its number.
  while IFS='=' read -r key n; do
    [ -z "$key" ] && continue
    if [ -n "${number_of[$key]:-}" ] && [ "${number_of[$key]}" != "$n" ]; then
      echo "FAIL round $round: $key moved from ${number_of[$key]} to $n"; fails=$((fails + 1))
    fi
    number_of[$key]=$n
  done < <(allocations)
  # Ports no longer declared may be re-created later with a new number: forget them.
  for key in "${!number_of[@]}"; do allocations | grep -q "^$key=" || unset "number_of[$key]"; done
done
recovered=$(sqlite3 "$STORE" "SELECT COUNT(*) FROM events WHERE reason = 'Recovered'")
echo "$kills kills, $recovered recoveries of interrupted applies"
echo "$((KILLS - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
