#!/usr/bin/env bash
# End to end with the real binaries over loopback HTTPS: validate, plan exit codes, apply, status,
# the daemon facing broken manifests (nothing deleted, with and without earlier good content),
# the db commands and import. Usage: cli_e2e_test.sh BIN_DIR SOURCE_DIR SHARED_DIR
set -uo pipefail
BIN=$1
SRC=$2
SHARED=${3:-$SRC/../shared}
source "$(dirname "$0")/lib.sh"

cat > "$work/initial.commands" <<'C'
set nat destination rule 100 description 'hand-made mail relay'
set nat destination rule 100 destination port '25'
set nat destination rule 100 inbound-interface name 'eth0'
set nat destination rule 100 protocol 'tcp'
set nat destination rule 100 translation address '192.168.10.5'
C
start_vyos_sim --config-commands "$work/initial.commands"
rules() { curl -sS --cacert "$work/ca.pem" "https://127.0.0.1:$PORT/_sim/config?format=commands" | grep 'nat destination' ; }

M=$work/manifests
mkdir -p "$M"
write_edge1_device "$M/device.yaml" $'  pollInterval: 1s\n'
cat > "$M/web1.yaml" <<'Y'
apiVersion: netconverge.io/v1alpha1
kind: PortForward
metadata: {name: web1}
spec:
  deviceRef: edge1
  vm: web1
  internalAddress: 192.168.10.11
  inboundInterface: eth0
  ports:
    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}
    - {name: http, protocol: tcp, externalPort: 80}
Y
cat > "$M/game1.yaml" <<'Y'
apiVersion: netconverge.io/v1alpha1
kind: PortForward
metadata: {name: game1}
spec:
  deviceRef: edge1
  vm: game1
  internalAddress: 192.168.10.21
  inboundInterface: eth0
  ports:
    - {name: game, protocol: udp, externalPort: 27015-27020}
Y
STORE=$work/nc.db

"$BIN/netconverge" validate --manifests "$M" > "$work/out" 2>&1
check "validate accepts the good manifests (exit 0)" '[ $? -eq 0 ] && grep -q "valid (1 device(s), 3 port(s))" "$work/out"'

"$BIN/netconverge" plan --manifests "$M" --store "$STORE" > "$work/plan" 2>&1; rc=$?
check "plan exits 2 with changes pending" '[ $rc -eq 2 ]'
check "plan lists the exact operations" 'grep -q "set nat destination rule 10000 description" "$work/plan" && grep -q "commit-confirm" "$work/plan"'
check "plan wrote nothing to the device" '[ "$(rules | grep -c "rule 100 ")" = 5 ] && [ "$(rules | wc -l)" = 5 ]'

"$BIN/netconverge" apply --manifests "$M" --store "$STORE" --log-level warn > "$work/apply" 2>&1; rc=$?
check "apply exits 0 and converges" '[ $rc -eq 0 ] && grep -q "3 added" "$work/apply"'
check "the device holds the three rules and rule 100" '[ "$(rules | grep -c "\[netconverge\]")" = 3 ] && [ "$(rules | grep -c "rule 100 ")" = 5 ]'

"$BIN/netconverge" plan --manifests "$M" --store "$STORE" > "$work/plan" 2>&1; rc=$?
check "plan exits 0 once converged" '[ $rc -eq 0 ] && grep -q "no changes" "$work/plan"'

"$BIN/netconverge" status --store "$STORE" > "$work/status" 2>&1
check "status shows every port applied" '[ "$(grep -c " Applied " "$work/status")" = 3 ] && grep -q "default/edge1  True       True" "$work/status"'
"$BIN/netconverge" status --store "$STORE" -o json > "$work/status.json"
check "status -o json is JSON" 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d[\"devices\"][0][\"ports\"])==3" "$work/status.json"'
"$BIN/netconverge" events --store "$STORE" > "$work/events"
check "events record the apply" 'grep -q "Applied" "$work/events"'

# validate on the shared broken directory: every problem, file:line and field path, exit 1.
"$BIN/netconverge" validate --manifests "$SRC/test/data/broken-manifests" > "$work/broken" 2>&1; rc=$?
check "validate exits 1 on broken manifests" '[ $rc -eq 1 ]'
for expect in "broken-yaml.yaml:8:1: YAML syntax error" \
              "bad-port.yaml:13:7: PortForward default/badport: spec.ports\[0\].externalPort: '70000'" \
              "translation-list.yaml:14:7: PortForward default/translist: spec.ports\[0\].internalPort: '80,443' is a list" \
              "descriptions.yaml:14:7: PortForward default/descriptions: spec.ports\[0\].description: is 300 bytes" \
              "descriptions.yaml:18:7: PortForward default/descriptions: spec.ports\[1\].description: contains a newline" \
              "claims-a.yaml:13:7: PortForward default/claim-a: spec.ports\[0\].externalPort: '443' overlaps" \
              "claims-b.yaml:13:7: PortForward default/claim-b: spec.ports\[0\].externalPort: '400-500' overlaps"; do
  check "validate reports: $expect" 'grep -q "$expect" "$work/broken"'
done

# The daemon on good content, then the files break: nothing may be deleted.
before=$(rules)
"$BIN/netconverge" run --manifests "$M" --store "$STORE" --watch-interval-ms 200 --listen 127.0.0.1:0 > "$work/daemon1.log" 2>&1 &
d1=$!
pids+=($d1)
# The admin HTTP API's health endpoints (the port comes from the log: --listen 127.0.0.1:0).
wait_until 20 'grep -q "admin HTTP API on" "$work/daemon1.log"'
HPORT=$(sed -n 's|.*admin HTTP API on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$work/daemon1.log" | head -1)
H=http://127.0.0.1:$HPORT
check "the daemon comes up and finishes its first pass" 'wait_until 20 "idle $H"'
# A second daemon on the same store would plan and apply the same changes: it is refused.
"$BIN/netconverge" run --manifests "$M" --store "$STORE" --listen 127.0.0.1:0 > "$work/second.log" 2>&1; rc=$?
check "a second daemon on the same store exits 1 naming the first" '[ $rc -eq 1 ] && grep -q "is in use by netconverge run (pid $d1" "$work/second.log"'
"$BIN/netconverge" apply --manifests "$M" --store "$STORE" > "$work/second-apply.log" 2>&1; rc=$?
check "so is apply while the daemon runs" '[ $rc -eq 1 ] && grep -q "is in use by netconverge run" "$work/second-apply.log"'
check "readers still work beside it" '"$BIN/netconverge" status --store "$STORE" > /dev/null'
check "GET /healthz and /readyz answer 200" '[ "$(curl -s "$H/healthz")" = "{\"status\":\"ok\"}" ] && [ "$(curl -s -o /dev/null -w "%{http_code}" "$H/readyz")" = 200 ]'
check "GET /v1/health: store schema, the device, the loop" 'curl -s "$H/v1/health" | tr -d " \n" | grep -q "\"schemaVersion\":11.*\"device\":\"default/edge1\",\"reachable\":true.*\"queueDepth\":"'
check "unknown route: 404 with a JSON error" '[ "$(curl -s -o "$work/404" -w "%{http_code}" "$H/nope")" = 404 ] && grep -q "{\"error\":{\"code\":404" "$work/404"'
curl -s "$H/metrics" > "$work/metrics.txt"
check "GET /metrics passes promtool check metrics and counts the passes" 'promtool check metrics < "$work/metrics.txt" && grep -q "^netconverge_reconcile_total{device=\"default/edge1\",result=\"success\"} [1-9]" "$work/metrics.txt" && grep -q "^controller_runtime_reconcile_total{controller=\"device\",result=\"success\"}" "$work/metrics.txt" && grep -q "^workqueue_depth{name=\"device\"}" "$work/metrics.txt" && grep -q "^netconverge_http_requests_total{code=\"200\",route=\"/healthz\"} 1" "$work/metrics.txt"'
head -c 1100000 /dev/zero | tr '\0' 'x' > "$work/big"
check "a body above 1 MiB: 413 with a JSON error" '[ "$(curl -s -o "$work/413" -w "%{http_code}" -X POST --data-binary @"$work/big" "$H/v1/health")" = 413 ] && grep -q "\"code\":413" "$work/413"'
printf 'apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: web1}\nspec: [oops\n' > "$M/web1.yaml"
sed -i 's/27015-27020/70000/' "$M/game1.yaml"
cp "$SRC/test/data/broken-manifests/descriptions.yaml" "$M/"
sed -i 's/deviceRef: edge1/deviceRef: edge1/' "$M/descriptions.yaml"
# Once the reload is logged and the queue is empty again, any pass it caused has run.
wait_until 20 'grep -q "previous good content stays in force" "$work/daemon1.log" && idle "$H"'
check "a running daemon keeps earlier good content of broken files: no rule deleted" '[ "$(rules)" = "$before" ]'
check "the daemon logged the broken files" 'grep -q "web1.yaml" "$work/daemon1.log" && grep -q "previous good content stays in force" "$work/daemon1.log"'
kill $d1; wait $d1 2>/dev/null

# A fresh daemon with the same breakage has no earlier good content: deletions are held.
"$BIN/netconverge" run --manifests "$M" --store "$STORE" --watch-interval-ms 200 --listen 127.0.0.1:0 > "$work/daemon2.log" 2>&1 &
d2=$!
pids+=($d2)
wait_until 20 'grep -q "admin HTTP API on" "$work/daemon2.log"'
H2=http://127.0.0.1:$(sed -n 's|.*admin HTTP API on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$work/daemon2.log" | head -1)
wait_until 20 'idle "$H2"'
check "a fresh daemon facing broken files deletes nothing" '[ "$(rules)" = "$before" ]'
check "it says deletions are held" 'grep -q "deletions held" "$work/daemon2.log"'
kill $d2; wait $d2 2>/dev/null

# The store's migrations.
LATEST=$("$BIN/netconverge" db history --store "$STORE" | awk '$1 ~ /^[0-9]+$/ {v = $1} END {print v}')
check "db current is the latest ($LATEST), and nothing is pending" '[ "$("$BIN/netconverge" db current --store "$STORE")" = "$LATEST" ] && ! "$BIN/netconverge" db history --store "$STORE" | grep -q pending'
"$BIN/netconverge" db downgrade 1 --store "$STORE" > /dev/null
check "a daemon refuses an older schema without --auto-migrate" '! "$BIN/netconverge" status --store "$STORE" > "$work/refused" 2>&1 && grep -q "db upgrade" "$work/refused"'
check "db history shows the pending migration" '"$BIN/netconverge" db history --store "$STORE" | grep -q "^2 *pending"'
"$BIN/netconverge" db upgrade --store "$STORE" > /dev/null
check "db upgrade brings it back" '[ "$("$BIN/netconverge" db current --store "$STORE")" = "$LATEST" ]'
check "the store passes integrity_check" '[ "$(sqlite3 "$STORE" "PRAGMA integrity_check")" = ok ]'
# A store with damaged pages: the daemon refuses to start (nothing sent), never reads it partly.
cp "$STORE" "$work/damaged.db"
python3 - "$work/damaged.db" <<'PY'
import os, sys
path = sys.argv[1]
size = os.path.getsize(path)
with open(path, "r+b") as f:
    for off in range(4096, size, 4096):  # every page after the first (the schema)
        f.seek(off + 8)
        f.write(b"\xff" * 32)
PY
"$BIN/netconverge" run --manifests "$M" --store "$work/damaged.db" --listen off > "$work/damaged.log" 2>&1; rc=$?
check "a daemon refuses a store with damaged pages, exit 1, saying so" '[ $rc -eq 1 ] && grep -q "integrity check\|malformed" "$work/damaged.log"'

# import: the format comes from the declared device's platform or the whole file's grammar.
VYOS_DATA=$SHARED/data/vyos-1x
"$BIN/netconverge" import --device edge1 --from "$VYOS_DATA/configs/nat-basic" --manifests "$work/none" > "$work/imp.yaml" 2> "$work/imp.err"; rc=$?
check "import of a config.boot that starts with 'interfaces {' reads its 3 NAT rules" '[ $rc -eq 0 ] && grep -q "^netconverge import: 3 rule(s)" "$work/imp.err" && [ "$(grep -c "ruleNumber:" "$work/imp.yaml")" = 3 ]'
mkdir -p "$work/impm" && cp "$M/device.yaml" "$work/impm/" && cp "$work/imp.yaml" "$work/impm/"
check "the imported YAML validates" '"$BIN/netconverge" validate --manifests "$work/impm" > /dev/null 2>&1'
"$BIN/netconverge" import --device edge1 --from "$VYOS_DATA/configs/nat-basic" --manifests "$M" > /dev/null 2> "$work/imp2.err"; rc=$?
check "with the device declared, its platform decides the format" '[ $rc -eq 0 ] && grep -q "3 rule(s)" "$work/imp2.err"'
printf 'hello world\nthis is no configuration\n' > "$work/junk.txt"
"$BIN/netconverge" import --device edge1 --from "$work/junk.txt" --manifests "$work/none" > /dev/null 2> "$work/junk.err"; rc=$?
check "a file of no known format is an error, not '0 imported'" '[ $rc -eq 1 ] && grep -q "not a configuration netconverge can import" "$work/junk.err"'
"$BIN/netconverge" import --device edge1 --from "$VYOS_DATA/configs/basic-vyos" --manifests "$work/none" > /dev/null 2> "$work/nonat.err"; rc=$?
check "a VyOS file without destination NAT says so and exits 1" '[ $rc -eq 1 ] && grep -q "holds no destination-NAT rule" "$work/nonat.err"'

# An unreachable device: plan exits 1.
sed -i "s/127.0.0.1:$PORT/127.0.0.1:1/" "$M/device.yaml"
rm -f "$M/descriptions.yaml"
printf 'apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: web1}\nspec:\n  deviceRef: edge1\n  vm: web1\n  internalAddress: 192.168.10.11\n  inboundInterface: eth0\n  ports:\n    - {name: ssh, protocol: tcp, externalPort: 2201}\n' > "$M/web1.yaml"
sed -i 's/70000/27015/' "$M/game1.yaml"
"$BIN/netconverge" plan --manifests "$M" --store "$STORE" > "$work/plan" 2>&1; rc=$?
check "plan exits 1 when a device is unreachable" '[ $rc -eq 1 ] && grep -q "error" "$work/plan"'

summary
