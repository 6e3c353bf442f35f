#!/usr/bin/env bash
# make bench-http: the admin API under load while a big device is reconciled.
#   vyos-sim (the bench's latency model) + 10,000 declared rules (1,000 PortForwards of 10 ports),
#   the daemon on them; while it converges and keeps re-converging (every PortForward's internal
#   address flips every FLIP_S seconds, so each pass rewrites all 10,000 rules), wrk offers RATE
#   requests/s for DURATION seconds, alternating GET /metrics and GET /v1/health.
# Prints the latency table for docs/benchmarks.md. Loopback only; bounded in time and count.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
BIN=$BUILD_DIR/bin
RULES=${RULES:-10000}
DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-4}
RATE=${RATE:-200}
FLIP_S=${FLIP_S:-5}
scripts/install-deps.sh wrk
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] && cp "$work/daemon.log" /tmp/bench-daemon.log; rm -rf "$work"; }
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$BIN/vyos-sim" --listen 127.0.0.1:0 --port-file "$work/port" --cert-dir "$work" --body-limit 268435456 \
  --latency-request-ms 0.5 --latency-op-ms 0.02 --latency-commit-ms 50 --latency-commit-per-rule-ms 0.05 > "$work/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
PORT=$(cat "$work/port")
mkdir -p "$work/m"
echo "apiKey: netconverge-demo-key" > "$work/creds.yaml"
printf 'apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: edge1}\nspec:\n  platform: vyos\n  address: 127.0.0.1:%s\n  credentialsRef: {file: ../creds.yaml}\n  tls: {caFile: ../ca.pem}\n  pollInterval: 2s\n' "$PORT" > "$work/m/edge1.yaml"
python3 - "$work/m/vms.yaml" "$RULES" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for vm in range(n // 10):
        f.write(f"---\napiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {{name: vm{vm}}}\nspec:\n"
                f"  deviceRef: edge1\n  vm: vm{vm}\n  internalAddress: 10.0.{vm // 250}.{vm % 250 + 1}\n  inboundInterface: eth0\n  ports:\n")
        for p in range(10):
            f.write(f"    - {{name: p{p}, protocol: tcp, externalPort: {1024 + vm * 10 + p}, internalPort: {8000 + p}}}\n")
PY
HPORT=$(free_port)
"$BIN/netconverge" run --manifests "$work/m" --store "$work/nc.db" --listen "127.0.0.1:$HPORT" --watch-interval-ms 500 \
  > "$work/daemon.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HPORT/healthz" > /dev/null && break; sleep 0.1; done

metric() { curl -s "http://127.0.0.1:$HPORT/metrics" | awk -v m="$1" '$1 ~ "^"m {s += $2} END {print s + 0}'; }
# Keep the device busy: flip every internal address (10.0.x.y <-> 10.1.x.y) every FLIP_S seconds.
( while true; do sleep "$FLIP_S"; sed -i 's/internalAddress: 10\.0\./internalAddress: 10.X./; s/internalAddress: 10\.1\./internalAddress: 10.0./; s/internalAddress: 10\.X\./internalAddress: 10.1./' "$work/m/vms.yaml"; done ) &
pids+=($!)
passes0=$(metric 'netconverge_reconcile_total{')
ops0=$(metric 'netconverge_operations_sent_total')
echo "bench-http: $RULES rules on vyos-sim; wrk $CONNECTIONS connections at $RATE req/s total for ${DURATION}s" >&2
# wrk (not wrk2) paces each connection by a delay after each answer, so a connection runs a little
# below 1000/delay requests/s; 6 % headroom makes the achieved total reach RATE (the table says).
WRK_RATE_PER_CONNECTION=$(python3 -c "print($RATE / $CONNECTIONS * 1.06)") \
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency -s scripts/wrk-paced.lua "http://127.0.0.1:$HPORT" > "$work/wrk.txt"
passes=$(( $(metric 'netconverge_reconcile_total{') - passes0 ))
ops=$(( $(metric 'netconverge_operations_sent_total') - ops0 ))
commits=$(metric 'netconverge_commits_total')
cat "$work/wrk.txt" >&2
res=$(grep '^RESULT' "$work/wrk.txt")
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $res"; }
echo
echo "Admin API under load (wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $CONNECTIONS paced connections, target ${RATE} req/s, ${DURATION} s, GET /metrics and GET /v1/health alternately) while a $RULES-rule device was reconciled: $passes passes, $ops operations sent, $commits commits in total."
echo
echo "| requests | achieved req/s | p50 ms | p90 ms | p99 ms | max ms | errors |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
echo "| $(get requests) | $(get rps) | $(get p50_ms) | $(get p90_ms) | $(get p99_ms) | $(get max_ms) | $(get errors) |"
