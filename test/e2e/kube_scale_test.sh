#!/usr/bin/env bash
# 1,000 PortForwards on kube-sim (issue 15): `run --kube --kube-qps 200 --kube-burst 50` converges
# them all on one vyos-sim, writes each object's status at most once per pass of its device, and
# never sends requests faster than the token bucket allows - read from kube-sim's audit log
# (every request, its client, object and time), not from the controller's own counters.
# Usage: kube_scale_test.sh BIN_DIR SOURCE_DIR TOOLS_DIR
set -uo pipefail
BIN=$1
SRC=$2
K=$3/kubectl
source "$(dirname "$0")/lib.sh"
N=1000
QPS=200
BURST=50

start_vyos_sim
KUBE_SIM_ARGS="--audit-log $work/audit.log --history 100000" start_kube_with_edge1 "$SRC" "$K"
python3 - "$N" > "$work/pfs.yaml" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print(f"""---
apiVersion: netconverge.io/v1alpha1
kind: PortForward
metadata: {{name: vm{i}}}
spec:
  deviceRef: edge1
  vm: vm{i}
  internalAddress: 10.{i // 250}.{i % 250}.10
  inboundInterface: eth0
  ports:
    - {{name: ssh, protocol: tcp, externalPort: {20000 + i}, internalPort: 22}}""")
PY
"$K" create -f "$work/pfs.yaml" > /dev/null
check "kubectl created $N PortForwards" '[ "$("$K" get portforwards -o name | wc -l)" = "$N" ]'

"$BIN/netconverge" run --kube --kubeconfig "$work/kubeconfig" --store "$work/nc.db" --listen 127.0.0.1:0 \
  --kube-qps $QPS --kube-burst $BURST > "$work/daemon.log" 2>&1 &
D=$!
pids+=($D)
t0=$(date +%s.%N)
ready() {
  "$K" get portforwards -o json | python3 -c 'import json,sys
items = json.load(sys.stdin)["items"]
ok = sum(1 for i in items if any(c["type"] == "Ready" and c["status"] == "True" for c in i.get("status", {}).get("conditions", [])))
sys.exit(0 if ok == len(items) == int(sys.argv[1]) else 1)' "$N"
}
wait_until 120 '[ "$(rules | grep -c "translation address")" = "$N" ] && ready'
t1=$(date +%s.%N)
echo "converged $N PortForwards (rules on the router and Ready in the API) in $(echo "$t1 - $t0" | bc)s"
check "all $N rules are on the router" '[ "$(rules | grep -c "translation address")" = "$N" ]'
check "all $N PortForwards are Ready" 'ready'
PORT_API=$(sed -n 's|.*admin HTTP API on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$work/daemon.log" | head -1)
wait_until 20 'idle "http://127.0.0.1:$PORT_API"'
curl -s "http://127.0.0.1:$PORT_API/metrics" > "$work/metrics.txt"
kill -TERM "$D"
wait "$D" 2>/dev/null
passes=$(awk '/^netconverge_reconcile_total\{device="default\/edge1"/ {s += $2} END {print s + 0}' "$work/metrics.txt")
echo "passes of edge1: $passes"

python3 - "$work/audit.log" "$QPS" "$BURST" "$passes" > "$work/audit.txt" <<'PY'
import collections, sys
path, qps, burst, passes = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
times, status_writes, bad = [], collections.Counter(), 0
for line in open(path):
    verb, group, resource, ns, client, name, t = line.split()
    if not client.startswith("netconverge/"):
        continue  # kubectl's
    times.append(float(t))
    if resource == "portforwards/status" and verb == "patch":
        status_writes[name] += 1
times.sort()
# A token bucket allows at most burst + qps * (t_j - t_i) requests in any window [t_i, t_j];
# one more for the token refilled at the window's edge, and 20 ms of arrival jitter (times are
# taken when kube-sim reads a request, not when the controller sent it).
worst = 0.0
j = 0
for i in range(len(times)):
    for j in range(i, len(times)):
        allowed = burst + qps * (times[j] - times[i] + 0.02) + 1
        worst = max(worst, (j - i + 1) / allowed)
        if times[j] - times[i] > 2.0:
            break
span = times[-1] - times[0]
print(f"{len(times)} requests by the controller over {span:.1f}s; busiest window at {worst:.2f} of the bucket's allowance")
print(f"status writes: {len(status_writes)} objects, at most {max(status_writes.values(), default=0)} each, over {passes} passes")
if worst > 1.0:
    print("RATE EXCEEDED"); bad = 1
if len(status_writes) < int(1000) or max(status_writes.values(), default=0) > passes:
    print("STATUS WRITES"); bad = 1
sys.exit(bad)
PY
rc=$?
cat "$work/audit.txt"
check "no window of the controller's requests exceeds the bucket (burst $BURST + $QPS/s)" '! grep -q "RATE EXCEEDED" "$work/audit.txt" && grep -q "busiest window" "$work/audit.txt"'
check "every PortForward's status was written, never more than once per pass" '[ $rc -eq 0 ]'
check "the API requests per pass and the limiter's waits are metrics" 'grep -q "^netconverge_kube_requests_per_pass_count" "$work/metrics.txt" && grep -q "^rest_client_requests_total{.*method=\"PATCH\"" "$work/metrics.txt" && grep -q "^rest_client_rate_limiter_duration_seconds_count" "$work/metrics.txt"'
summary
