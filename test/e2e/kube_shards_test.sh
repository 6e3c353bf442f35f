#!/usr/bin/env bash
# Sharding on kube-sim (issue 15): 2 shards x 2 replicas (`run --kube --shards 2 --leader-elect`,
# the shard taken from a StatefulSet pod name as in the chart) and 4 routers (vyos-sim each, with
# an nginx-style access log). Every router is written by exactly one process at a time and only
# by its shard's; each shard's standby takes over within the lease duration when its leader is
# killed; Device status and /v1/health say which shard a device is on.
# Usage: kube_shards_test.sh BIN_DIR SOURCE_DIR TOOLS_DIR
set -uo pipefail
BIN=$1
SRC=$2
K=$3/kubectl
source "$(dirname "$0")/lib.sh"

start_kube_sim "$SRC"
printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: router-credentials}\nstringData: {apiKey: netconverge-demo-key}\n' | "$K" apply -f - > /dev/null
# The expected shard of each router: edge1 and edge2 by FNV-1a of default/<name> modulo 2
# (1 and 0, computed here independently), edge3 and edge4 by their label (0 and 1).
fnv() { python3 -c 'import sys
h = 0xcbf29ce484222325
for c in sys.argv[1].encode(): h = ((h ^ c) * 0x100000001b3) % 2**64
print(h % 2)' "$1"; }
declare -A SHARD=([edge1]=$(fnv default/edge1) [edge2]=$(fnv default/edge2) [edge3]=0 [edge4]=1)
for i in 1 2 3 4; do
  r=edge$i
  mkdir -p "$work/$r"
  "$BIN/vyos-sim" --listen 127.0.0.1:0 --port-file "$work/$r/port" --cert-dir "$work/$r" --access-log "$work/$r/access.log" > "$work/$r/sim.log" 2>&1 &
  pids+=($!)
  port=$(wait_port "$work/$r/port")
  echo "$port" > "$work/$r/api-port"
  label=""
  [ "$r" = edge3 ] && label="labels: {netconverge.io/shard: \"0\"}, "
  [ "$r" = edge4 ] && label="labels: {netconverge.io/shard: \"1\"}, "
  printf 'apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {%sname: %s}\nspec:\n  platform: vyos\n  address: 127.0.0.1:%s\n  credentialsRef: {name: router-credentials}\n  tls: {caFile: %s}\n  pollInterval: 2s\n' \
    "$label" "$r" "$port" "$work/$r/ca.pem" | "$K" apply -f - > /dev/null
  printf 'apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: web-%s}\nspec:\n  deviceRef: %s\n  vm: web\n  internalAddress: 192.168.10.11\n  inboundInterface: eth0\n  ports:\n    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n' \
    "$r" "$r" | "$K" apply -f - > /dev/null
done
echo "expected shards: edge1=${SHARD[edge1]} edge2=${SHARD[edge2]} edge3=0 edge4=1"

router_rules() { curl -sS --cacert "$work/$1/ca.pem" "https://127.0.0.1:$(cat "$work/$1/api-port")/_sim/config?format=commands" | grep 'nat destination'; }
LEASE=(--leader-elect --leader-elect-lease-duration 4s --leader-elect-renew-deadline 3s --leader-elect-retry-period 500ms)
# Pod k of the StatefulSet serves shard k % 2: pods 0 and 1 lead, 2 and 3 stand by.
declare -A PID
for k in 0 1 2 3; do
  POD_NAME=netconverge-$k "$BIN/netconverge" run --kube --kubeconfig "$work/kubeconfig" --store "$work/pod$k.db" \
    --listen 127.0.0.1:0 --shards 2 "${LEASE[@]}" > "$work/pod$k.log" 2>&1 &
  PID[$k]=$!
  pids+=(${PID[$k]})
  # The first two lead (each its own shard) before the standbys start.
  [ $k -le 1 ] && wait_until 20 'grep -q "leading as" "$work/pod$k.log"'
done
converged() { for r in edge1 edge2 edge3 edge4; do router_rules "$r" | grep -q "destination port '$1'" || return 1; done; }
wait_until 30 'converged 2201'
# (A loop in a condition runs in a subshell: `exit` leaves the subshell, not the script.)
wait_until 20 '( for k in 2 3; do grep -q "waiting to lead (lease netconverge-leader-$((k % 2))" "$work/pod$k.log" || exit 1; done )'
check "every router converged" 'converged 2201'
holder() { "$K" get lease "netconverge-leader-$1" -o jsonpath='{.spec.holderIdentity}'; }
check "each shard has its own Lease, held by its first pod" '[[ "$(holder 0)" == netconverge-0_* ]] && [[ "$(holder 1)" == netconverge-1_* ]]'
check "the standbys wait for their own shard's Lease" 'grep -q "waiting to lead (lease netconverge-leader-0" "$work/pod2.log" && grep -q "waiting to lead (lease netconverge-leader-1" "$work/pod3.log" && ! grep -q "leading as" "$work/pod2.log" "$work/pod3.log"'
check "each Device's status names its shard" '( for r in edge1 edge2 edge3 edge4; do [ "$("$K" get device $r -o jsonpath="{.status.shard}")" = "${SHARD[$r]}" ] || exit 1; done )'
check "each Event about a router carries the annotation of the router's shard" '"$K" get events.events.k8s.io -o json | python3 -c "import json, sys
shard = dict(edge1=${SHARD[edge1]}, edge2=${SHARD[edge2]}, edge3=0, edge4=1)
events = [e for e in json.load(sys.stdin)[\"items\"] if e[\"regarding\"][\"name\"] in shard]
assert events, \"no events about the routers\"
for e in events:
    assert e[\"metadata\"][\"annotations\"][\"netconverge.io/shard\"] == str(shard[e[\"regarding\"][\"name\"]]), e
print(len(events), \"events checked\")"'
health_port() { sed -n 's|.*admin HTTP API on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$work/pod$1.log" | head -1; }
check "/v1/health says the replica's shard and lists only its devices" '( for k in 0 1; do
  curl -s "http://127.0.0.1:$(health_port $k)/v1/health" | python3 -c "import json,sys
h = json.load(sys.stdin); k = $k
assert h[\"shard\"] == {\"index\": k, \"count\": 2}, h[\"shard\"]
names = sorted(d[\"device\"] for d in h[\"devices\"])
want = sorted(\"default/\" + r for r, s in dict(edge1=${SHARD[edge1]}, edge2=${SHARD[edge2]}, edge3=0, edge4=1).items() if s == k)
assert names == want, (names, want)
assert all(d[\"shard\"] == k for d in h[\"devices\"])" || exit 1; done )'

# Kill each shard's leader in turn (SIGKILL: no hand-over), change one of its routers meanwhile:
# its standby takes over within the lease duration (+ one retry period and one pass).
takeover() {
  local shard=$1 router=$2 port=$3
  kill -9 "${PID[$shard]}"
  local t0
  t0=$(date +%s.%N)
  sed -e "s/externalPort: 2201/externalPort: $port/" <<< "apiVersion: netconverge.io/v1alpha1
kind: PortForward
metadata: {name: web-$router}
spec:
  deviceRef: $router
  vm: web
  internalAddress: 192.168.10.11
  inboundInterface: eth0
  ports:
    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}" | "$K" apply -f - > /dev/null
  wait_until 20 "grep -q 'leading as' '$work/pod$((shard + 2)).log' && router_rules $router | grep -q \"destination port '$port'\""
  local t1
  t1=$(date +%s.%N)
  took=$(echo "$t1 - $t0" | bc)
  echo "shard $shard: standby took over and converged $router in ${took}s"
}
r0=$( [ "${SHARD[edge2]}" = 0 ] && echo edge2 || echo edge3 )
takeover 0 "$r0" 2202
check "shard 0's standby takes over within the lease duration and converges its router" 'grep -q "leading as" "$work/pod2.log" && [ "$(echo "$took < 4 + 0.5 + 2.5" | bc)" = 1 ] && router_rules '"$r0"' | grep -q "port '"'"'2202'"'"'"'
check "shard 1's leader kept leading meanwhile" '[[ "$(holder 1)" == netconverge-1_* ]] && kill -0 "${PID[1]}"'
r1=$( [ "${SHARD[edge1]}" = 1 ] && echo edge1 || echo edge4 )
takeover 1 "$r1" 2203
check "shard 1's standby takes over within the lease duration and converges its router" 'grep -q "leading as" "$work/pod3.log" && [ "$(echo "$took < 4 + 0.5 + 2.5" | bc)" = 1 ] && router_rules '"$r1"' | grep -q "port '"'"'2203'"'"'"'
check "the Leases name the new holders" '[[ "$(holder 0)" == netconverge-2_* ]] && [[ "$(holder 1)" == netconverge-3_* ]]'

# The routers' own access logs: who wrote (POST /configure or /config-file), in order.
python3 - "$work" "${SHARD[edge1]}" "${SHARD[edge2]}" > "$work/writers.txt" <<'PY'
import re, sys
work, shard = sys.argv[1], {"edge1": int(sys.argv[2]), "edge2": int(sys.argv[3]), "edge3": 0, "edge4": 1}
bad = 0
for router, want in shard.items():
    writers = []  # (time, identity) of each write, in log order
    for line in open(f"{work}/{router}/access.log"):
        m = re.match(r'([\d.]+) "POST (/configure|/config-file) HTTP/1.1" \d+ "netconverge/\S+ \(([^;]+); shard (\d+)\)"', line)
        if m:
            writers.append((float(m.group(1)), m.group(3), int(m.group(4))))
    runs = [w[1] for i, w in enumerate(writers) if i == 0 or writers[i - 1][1] != w[1]]
    shards = sorted({w[2] for w in writers})
    pods = sorted({int(w[1].split("_")[0].split("-")[1]) for w in writers})
    print(f"{router}: {len(writers)} writes by {runs}, shards {shards}")
    if shards != [want] or any(p % 2 != want for p in pods):
        print(f"  {router} written by another shard than {want}"); bad += 1
    if len(runs) != len(set(runs)):
        print(f"  {router}: writers interleaved"); bad += 1
    if not writers:
        print(f"  {router}: never written"); bad += 1
sys.exit(1 if bad else 0)
PY
rc=$?
cat "$work/writers.txt"
check "every router was written only by its shard's processes, one at a time (never interleaved)" '[ $rc -eq 0 ]'
check "the routers whose leader died were written by exactly two processes in turn, the others by one" 'grep -q "^$r0: .* by \[.*, .*\]" "$work/writers.txt" && grep -q "^$r1: .* by \[.*, .*\]" "$work/writers.txt" && [ "$(grep -c "by \[[^,]*\]" "$work/writers.txt")" = 2 ]'
summary
