#!/usr/bin/env bash
# `make run`: start vyos-sim on loopback (with one hand-made rule 100 that netconverge must leave
# alone) and switch-sim behind SSH (with one hand-made sub-interface), then the netconverge daemon
# on manifests/ with the embedded SQLite store; wait until both devices have converged and show
# `netconverge status`. The daemon then keeps running (edit manifests/ and
# watch it converge) until Ctrl-C. DEMO_ONCE=1 stops after the status.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
BIN=$BUILD_DIR/bin
RUN=demo/run
STORE=$BUILD_DIR/demo/netconverge.db
PORT=${DEMO_PORT:-18443}
SWITCH_PORT=${DEMO_SWITCH_PORT:-18022}
mkdir -p "$RUN" "$BUILD_DIR/demo"
rm -f "$STORE" "$STORE-wal" "$STORE-shm"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

echo "== starting vyos-sim on 127.0.0.1:$PORT (HTTPS, CA in $RUN/edge1-ca.pem)"
"$BIN/vyos-sim" --listen "127.0.0.1:$PORT" --cert-dir "$RUN" --config-commands demo/edge1-initial.commands \
  --latency-request-ms 5 --latency-op-ms 1 --latency-commit-ms 200 --latency-commit-per-rule-ms 1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$RUN/ca.pem" ] && break; sleep 0.1; done
mv "$RUN/ca.pem" "$RUN/edge1-ca.pem"
for _ in $(seq 50); do
  curl -sS --cacert "$RUN/edge1-ca.pem" "https://127.0.0.1:$PORT/info" > /dev/null 2>&1 && break
  sleep 0.1
done

echo "== starting switch-sim on 127.0.0.1:$SWITCH_PORT (SSH; netconverge records its host key on first contact)"
rm -f "$RUN/known_hosts" "$RUN/sw1_host_key"
"$BIN/switch-sim" --port "$SWITCH_PORT" --host-key "$RUN/sw1_host_key" --password netconverge-demo-switch \
  --config demo/sw1-initial.flat --latency-command-ms 2 --latency-commit-ms 300 &
pids+=($!)
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$SWITCH_PORT") 2>/dev/null && break
  sleep 0.1
done

echo "== netconverge validate"
"$BIN/netconverge" validate --manifests manifests

echo "== starting: netconverge run --config demo/netconverge.yaml --store $STORE"
"$BIN/netconverge" run --config demo/netconverge.yaml --store "$STORE" --listen "${DEMO_LISTEN:-127.0.0.1:8800}" &
pids+=($!)

for _ in $(seq 150); do
  json=$("$BIN/netconverge" status --store "$STORE" -o json 2>/dev/null || true)
  if [ "$(grep -o '"synced": true' <<< "$json" | wc -l)" -ge 2 ]; then break; fi
  sleep 0.2
done
sleep 0.2
echo
echo "== netconverge status --store $STORE"
"$BIN/netconverge" status --store "$STORE"
echo
echo "== the router's destination NAT now (rule 100 is the hand-made one, untouched):"
curl -sS --cacert "$RUN/edge1-ca.pem" "https://127.0.0.1:$PORT/_sim/config?format=commands" | grep 'nat destination' | sed 's/^/   /'
echo
echo "== the switch's sub-interfaces now (netconverge import reads them live; ge100-0/0/5.100 is the hand-made one):"
"$BIN/netconverge" import --device sw1 --manifests manifests 2>/dev/null | grep -E '^  (interface|vlan|bridgeDomain|description):' | sed 's/^/   /'
if [ "${DEMO_ONCE:-0}" = 1 ]; then exit 0; fi
echo
echo "The daemon keeps the router and the switch converged: edit manifests/*.yaml and watch the log; try"
echo "  $BIN/netconverge events --store $STORE"
echo "Ctrl-C stops both."
wait "${pids[1]}"
