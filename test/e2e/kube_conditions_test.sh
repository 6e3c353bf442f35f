#!/usr/bin/env bash
# What a router refuses shows in Kubernetes: a VyOS 1.4 whose API has no commit-confirm gives
# the Device an UnconfirmedCommits condition, and a PortForward whose value the router rejects
# gets Ready=False with reason DeviceRejected and the router's own text, while another
# PortForward on the same device converges; an operator's `netconverge phase` override shows in
# the Device's status. kube-sim, vyos-sim --version 1.4, the real kubectl.
# Usage: kube_conditions_test.sh BIN_DIR SOURCE_DIR TOOLS_DIR
set -uo pipefail
BIN=$1
SRC=$2
K=$3/kubectl
source "$(dirname "$0")/lib.sh"

start_vyos_sim --version 1.4
start_kube_with_edge1 "$SRC" "$K"
curl -sS --cacert "$work/ca.pem" -d '{"reject_values": ["8089"]}' "https://127.0.0.1:$VPORT/_sim/faults" > /dev/null
pf() {  # name vm port internal-port address
  printf 'apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: %s}\nspec:\n  deviceRef: edge1\n  vm: %s\n  internalAddress: %s\n  inboundInterface: eth0\n  ports:\n    - {name: app, protocol: tcp, externalPort: %s, internalPort: %s}\n' \
    "$1" "$2" "$5" "$3" "$4"
}
{ pf good good 8081 8081 192.168.30.1; echo ---; pf bad bad 8082 8089 192.168.30.2; } | "$K" apply -f - > /dev/null
"$BIN/netconverge" run --kube --kubeconfig "$work/kubeconfig" --store "$work/nc.db" --listen 127.0.0.1:0 > "$work/daemon.log" 2>&1 &
pids+=($!)
cond() { "$K" get "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}"; }
for _ in $(seq 150); do
  [ "$(cond pf/good Ready status)" = True ] && [ "$(cond pf/bad Ready reason)" = DeviceRejected ] && [ "$(cond dev/edge1 UnconfirmedCommits status)" = True ] && break
  sleep 0.2
done
check "the PortForward the router accepts converges on the same device" '[ "$(cond pf/good Ready status)" = True ] && rules | grep -q "192.168.30.1"'
check "the one it rejects: Ready=False, reason DeviceRejected, the router's own text" '[ "$(cond pf/bad Ready status)" = False ] && [ "$(cond pf/bad Ready reason)" = DeviceRejected ] && cond pf/bad Ready message | grep -q "8089 is not a valid value here"'
check "nothing of it reached the router" '! rules | grep -q "192.168.30.2"'
check "the Device of a VyOS 1.4 without SSH credentials: UnconfirmedCommits True" '[ "$(cond dev/edge1 UnconfirmedCommits status)" = True ] && cond dev/edge1 UnconfirmedCommits message | grep -q "no commit-confirm"'
# The rejected spec fixed: it converges.
pf bad bad 8082 8090 192.168.30.2 | "$K" apply -f - > /dev/null
for _ in $(seq 150); do [ "$(cond pf/bad Ready status)" = True ] && break; sleep 0.2; done
check "fixing its spec converges it" '[ "$(cond pf/bad Ready status)" = True ] && rules | grep -q "192.168.30.2"'

# An operator's override shows in the Device's status (issue 16): the phase in force, who, when.
status_of() { "$K" get dev/edge1 -o jsonpath="{.status.$1}"; }
"$BIN/netconverge" phase edge1 observe --store "$work/nc.db" > /dev/null
wait_until 30 '[ "$(status_of management)" = Observe ] && [ -n "$(status_of override.by)" ]'
check "after netconverge phase edge1 observe: status.management Observe, status.override with who and when" \
  '[ "$(status_of management)" = Observe ] && [ "$(status_of override.management)" = Observe ] && status_of override.by | grep -q "^cli " && status_of override.time | grep -q "Z$" && [ "$(status_of paused)" = false ]'
"$BIN/netconverge" phase edge1 --clear --store "$work/nc.db" > /dev/null
wait_until 30 '[ "$(status_of management)" = Full ] && [ -z "$(status_of override)" ]'
check "after --clear: the manifest's phase, the override gone from the status" '[ "$(status_of management)" = Full ] && [ -z "$(status_of override)" ]'

summary
