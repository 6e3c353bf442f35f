#!/usr/bin/env bash
# `netconverge run --kube` end to end: kube-sim (the CRDs from crds/), vyos-sim, the real
# kubectl. kubectl apply leads to the rules on vyos-sim and READY/SYNCED True in `kubectl get`;
# an edit converges; `kubectl delete` removes the rules, then the object (finalizer); an invalid
# object gets an InvalidSpec condition and deletes nothing; a dropped watch changes nothing.
# Usage: kube_run_test.sh BIN_DIR SOURCE_DIR TOOLS_DIR
set -uo pipefail
BIN=$1
SRC=$2
K=$3/kubectl
source "$(dirname "$0")/lib.sh"

start_vyos_sim
start_kube_with_edge1 "$SRC" "$K"
"$K" apply -f "$SRC/manifests/vm-web1.yaml" -f "$SRC/manifests/vm-game1-db1.yaml" > /dev/null
"$BIN/netconverge" run --kube --kubeconfig "$work/kubeconfig" --store "$work/nc.db" --listen 127.0.0.1:0 > "$work/daemon.log" 2>&1 &
pids+=($!)
wait_until 20 'grep -q "admin HTTP API on" "$work/daemon.log"'
H=http://127.0.0.1:$(sed -n 's|.*admin HTTP API on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$work/daemon.log" | head -1)
# The newest pass's run id (/v1/health): a later one proves a pass ran after some point.
last_run() { curl -s "$H/v1/health" | python3 -c 'import json,sys; print(max([p["runId"] for p in json.load(sys.stdin)["loop"]["lastPass"]] or [0]))'; }
ready() { [ "$("$K" get pf -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}')" = "True True True " ]; }
for _ in $(seq 150); do ready && break; sleep 0.2; done
check "kubectl apply leads to every port on vyos-sim" '[ "$(rules | grep -c "translation address")" = 6 ]'
"$K" get pf,dev > "$work/get"
check "kubectl get pf,dev shows READY and SYNCED True, with the rule count" 'ready && grep -qE "^portforward.netconverge.io/web1  *edge1  *web1  *True  *True  *3 " "$work/get" && grep -qE "device.netconverge.io/edge1  *vyos .* True  *True  *https-api  *6 " "$work/get"'
check "status carries observedGeneration and the port rule numbers" '[ "$("$K" get pf web1 -o jsonpath="{.status.observedGeneration}")" = 1 ] && [ -n "$("$K" get pf web1 -o jsonpath="{.status.ports[0].ruleNumber}")" ]'
check "each rule resource carries the netconverge finalizer" '[ "$("$K" get pf web1 -o jsonpath="{.metadata.finalizers[0]}")" = netconverge.io/finalizer ]'

sed 's/externalPort: 2201/externalPort: 2202/' "$SRC/manifests/vm-web1.yaml" | "$K" apply -f - > /dev/null
for _ in $(seq 100); do rules | grep -q "destination port '2202'" && [ "$("$K" get pf web1 -o jsonpath="{.status.observedGeneration}")" = 2 ] && break; sleep 0.2; done
check "editing a port converges it, observedGeneration follows" 'rules | grep -q "destination port '"'"'2202'"'"'" && ! rules | grep -q "'"'"'2201'"'"'" && [ "$("$K" get pf web1 -o jsonpath="{.status.observedGeneration}")" = 2 ]'

timeout 30 "$K" delete pf game1 > "$work/delete" 2>&1; rc=$?
check "kubectl delete returns once the rules are gone and the finalizer released" '[ $rc -eq 0 ] && ! rules | grep -q "192.168.10.21" && ! "$K" get pf game1 > /dev/null 2>&1'

cat > "$work/bad.yaml" <<'Y'
apiVersion: netconverge.io/v1alpha1
kind: PortForward
metadata: {name: db1}
spec:
  deviceRef: edge1
  vm: db1
  internalAddress: 192.168.10.31
  inboundInterface: eth0
  ports:
    - {name: postgres, protocol: tcp, externalPort: 70000, internalPort: 5432}
Y
"$K" apply -f "$work/bad.yaml" > /dev/null
for _ in $(seq 100); do [ "$("$K" get pf db1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}')" = InvalidSpec ] && break; sleep 0.2; done
before=$(last_run)
wait_until 20 '[ "$(last_run)" -gt "$before" ]'  # a pass of the device (polled every 2 s) with the invalid object
check "an invalid object gets Ready=False InvalidSpec with the field, and its rule is not deleted" '[ "$("$K" get pf db1 -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].reason}")" = InvalidSpec ] && "$K" get pf db1 -o jsonpath="{.status.conditions[0].message}" | grep -q "spec.ports\[0\].externalPort" && rules | grep -q "192.168.10.31"'

curl -sS --cacert "$work/kube/ca.pem" -H "Authorization: Bearer netconverge-kube-sim-token" -X POST "$API/_sim/drop-watches" > /dev/null
"$K" apply -f "$SRC/manifests/vm-game1-db1.yaml" > /dev/null
for _ in $(seq 100); do rules | grep -q "192.168.10.21" && [ "$("$K" get pf game1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] && break; sleep 0.2; done
check "after a dropped watch, a new object still converges" 'rules | grep -q "192.168.10.21" && [ "$("$K" get pf db1 -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].status}")" = True ]'
curl -sS --cacert "$work/kube/ca.pem" -H "Authorization: Bearer netconverge-kube-sim-token" "$API/apis/events.k8s.io/v1/namespaces/default/events" > "$work/events.json"
check "events.k8s.io Events: Applied regarding the Device, InvalidSpec regarding the invalid PortForward" 'grep -q "\"reason\":\"Applied\",\"type\":\"Normal\",\"note\":\"[0-9]* change(s) in 1 commit(s)[^\"]*\",\"regarding\":{\"apiVersion\":\"netconverge.io/v1alpha1\",\"kind\":\"Device\",\"namespace\":\"default\",\"name\":\"edge1\",\"uid\"" "$work/events.json" && grep -q "\"reason\":\"InvalidSpec\",\"type\":\"Warning\",\"note\":\"[^\"]*externalPort[^\"]*\",\"regarding\":{[^}]*\"kind\":\"PortForward\",\"namespace\":\"default\",\"name\":\"db1\"" "$work/events.json"'
# deletionPolicy Orphan: the rule stays on the router, handed back without the ownership tag.
sed 's/name: web1$/name: web9/; s/vm: web1/vm: web9/; s/192.168.10.11/192.168.10.99/; s/externalPort: 2201/externalPort: 2209/; s/externalPort: 80$/externalPort: 8009/; s/externalPort: 443$/externalPort: 8443/' "$SRC/manifests/vm-web1.yaml" \
  | sed 's/^spec:$/spec:\n  deletionPolicy: Orphan/' | "$K" apply -f - > /dev/null
for _ in $(seq 100); do [ "$("$K" get pf web9 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] && break; sleep 0.2; done
timeout 30 "$K" delete pf web9 > /dev/null 2>&1; rc=$?
before=$(last_run)
wait_until 20 '[ "$(last_run)" -gt "$before" ]'  # a later pass keeps the orphaned rules
check "deletionPolicy Orphan: the object goes, its rules stay without the tag, and later passes keep them" '[ $rc -eq 0 ] && ! "$K" get pf web9 > /dev/null 2>&1 && [ "$(rules | grep "192.168.10.99" | grep -c translation)" = 3 ] && rules | grep -q "description '"'"'VM web9 Port SSH'"'"'" && ! rules | grep -q "web9.*netconverge"'
check "the daemon logged no secret" '! grep -q "netconverge-demo-key" "$work/daemon.log"'

summary
