#!/usr/bin/env bash
# RBAC tested, not assumed: kube-sim records every request (verb, group, resource/subresource,
# namespace, client). The controller runs with leader election through create, update, delete
# (finalizer), an invalid object (events), Secret credentials and a graceful stop (lease
# hand-over); then every request it made must be allowed by the Role `helm template` renders,
# and the Role must grant nothing the controller never used.
# Usage: kube_rbac_test.sh BIN_DIR SOURCE_DIR TOOLS_DIR
set -uo pipefail
BIN=$1
SRC=$2
K=$3/kubectl
HELM=$3/helm
source "$(dirname "$0")/lib.sh"

start_vyos_sim
V=$VPORT
start_switch_sim 0 --password s3cret-demo
SW=$PORT
VPORT=$V
KUBE_SIM_ARGS="--audit-log $work/audit.log" start_kube_with_edge1 "$SRC" "$K"
"$K" apply -f "$SRC/manifests/vm-web1.yaml" -f "$SRC/manifests/vm-game1-db1.yaml" > /dev/null
# A switch too, so that VlanInterfaces are written (finalizers, status) like PortForwards.
"$K" apply -f - > /dev/null <<Y
apiVersion: v1
kind: Secret
metadata: {name: sw1-credentials}
stringData: {username: admin, password: s3cret-demo}
---
apiVersion: netconverge.io/v1alpha1
kind: Device
metadata: {name: sw1}
spec:
  platform: dnos
  address: 127.0.0.1:$SW
  credentialsRef: {name: sw1-credentials}
  ssh: {knownHosts: $work/known_hosts, hostKeyPolicy: accept-new}
---
apiVersion: netconverge.io/v1alpha1
kind: VlanInterface
metadata: {name: web-vlan}
spec: {deviceRef: sw1, interface: ge100-0/0/31, vlan: 251, bridgeDomain: BD-251}
Y
"$BIN/netconverge" run --kube --kubeconfig "$work/kubeconfig" --store "$work/nc.db" --listen 127.0.0.1:0 --settle-ms 0 \
  --leader-elect --leader-elect-lease-duration 4s --leader-elect-renew-deadline 3s --leader-elect-retry-period 500ms \
  > "$work/daemon.log" 2>&1 &
D=$!
pids+=($D)
ready() { [ "$("$K" get pf -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}')" = "True True True " ]; }
vlan_ready() { [ "$("$K" get vlanif web-vlan -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
check "the controller converges under leader election (PortForwards and a VlanInterface)" 'wait_until 60 ready && wait_until 30 vlan_ready'
sed 's/externalPort: 2201/externalPort: 2202/' "$SRC/manifests/vm-web1.yaml" | "$K" apply -f - > /dev/null
edited() { rules | grep -q "destination port '2202'"; }
check "an edit converges" 'wait_until 30 edited'
timeout 30 "$K" delete pf game1 > /dev/null 2>&1
timeout 30 "$K" delete vlanif web-vlan > /dev/null 2>&1
check "deletes go through the finalizers" '! "$K" get pf game1 > /dev/null 2>&1 && ! "$K" get vlanif web-vlan > /dev/null 2>&1'
printf 'apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: bad}\nspec: {deviceRef: edge1, vm: bad, internalAddress: 192.168.10.77, inboundInterface: eth0, ports: [{name: x, protocol: tcp, externalPort: 70000}]}\n' | "$K" apply -f - > /dev/null
invalid() { [ "$("$K" get pf bad -o jsonpath='{.status.conditions[0].reason}')" = InvalidSpec ]; }
check "an invalid object is reported" 'wait_until 30 invalid'
kill -TERM "$D"
wait "$D" 2>/dev/null
check "the graceful stop handed the lease back" '[ -z "$("$K" get lease netconverge-leader -o jsonpath="{.spec.holderIdentity}")" ]'
check "no write of the controller was refused or failed" '! grep -q "kube: cannot write\|leader election: " "$work/daemon.log"'

"$HELM" template nc "$SRC/helm/netconverge" > "$work/chart.yaml"
python3 - "$work/chart.yaml" "$work/audit.log" > "$work/rbac.txt" <<'PY'
import sys, yaml
role = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "Role")
granted = set()
for rule in role["rules"]:
    for g in rule.get("apiGroups", []):
        for r in rule["resources"]:
            for v in rule["verbs"]:
                granted.add((g, r, v))
used = set()
for line in open(sys.argv[2]):
    verb, group, resource, ns, client = line.split()[:5]
    if not client.startswith("netconverge/"):
        continue  # kubectl's own requests
    used.add(("" if group == '""' else group, resource, verb))
bad = 0
for g, r, v in sorted(used - granted):
    print(f"NOT GRANTED: {v} {g or 'core'}/{r}"); bad += 1
for g, r, v in sorted(granted - used):
    print(f"NEVER USED: {v} {g or 'core'}/{r}"); bad += 1
print(f"{len(used)} (verb, resource) pairs used by the controller, {len(granted)} granted by the Role")
sys.exit(1 if bad else 0)
PY
rc=$?
cat "$work/rbac.txt"
check "every request the controller made is granted by the chart's Role, which grants nothing more" '[ $rc -eq 0 ]'
summary
