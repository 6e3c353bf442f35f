#!/usr/bin/env bash
# kube-sim judged by the real kubectl v1.32 (installed by scripts/install-kube-tools.sh):
# apply of the example manifests with the CRDs from crds/, get with printer columns (and -A,
# -o wide), apply unchanged / configured with generation, /status, finalizers with
# `kubectl delete` waiting for the DELETED event, schema errors as kubectl prints them, and the
# watch's resourceVersion semantics (resume, bookmarks, 410 after compaction).
# Usage: kube_sim_kubectl_test.sh BIN_DIR SOURCE_DIR TOOLS_DIR
set -uo pipefail
BIN=$1
SRC=$2
K=$3/kubectl
source "$(dirname "$0")/lib.sh"

"$BIN/kube-sim" --crds "$SRC/crds" --port-file "$work/port" --cert-dir "$work" --kubeconfig "$work/kubeconfig" --bookmark-ms 300 \
  > "$work/sim.log" 2>&1 &
pids+=($!)
PORT=$(wait_port "$work/port")
export KUBECONFIG=$work/kubeconfig KUBECACHEDIR=$work/cache
API=https://127.0.0.1:$PORT
TOKEN=netconverge-kube-sim-token
api() { curl -sS --cacert "$work/ca.pem" -H "Authorization: Bearer $TOKEN" "$@"; }

"$K" apply -f "$SRC/manifests/" > "$work/apply" 2>&1; rc=$?
check "kubectl apply -f manifests/ creates every object" '[ $rc -eq 0 ] && [ "$(grep -c " created" "$work/apply")" = "$(grep -c "^kind:" "$SRC"/manifests/*.yaml | awk -F: "{s+=\$2} END {print s}")" ]'
"$K" apply -f "$SRC/manifests/" > "$work/apply2" 2>&1
check "a second apply changes nothing" '! grep -qv " unchanged" "$work/apply2"'
"$K" get pf,dev,vlanif > "$work/get" 2>&1
check "kubectl get pf,dev,vlanif shows the printer columns" 'grep -q "NAME  *DEVICE  *VM  *READY  *SYNCED  *RULES  *AGE" "$work/get" && grep -q "PLATFORM  *ADDRESS  *READY  *SYNCED  *TRANSPORT  *MANAGED  *AGE" "$work/get" && grep -qE "vlaninterface.netconverge.io/web-vlan  *sw1  *251  *BD-251" "$work/get"'
"$K" get dev -o wide > "$work/wide" 2>&1
check "-o wide adds the priority-1 column" 'grep -q "MESSAGE" "$work/wide"'
"$K" get netconverge -A > "$work/all" 2>&1
check "the category and -A list all three kinds with their namespace" 'grep -q "^default  *portforward.netconverge.io/web1" "$work/all" && grep -q "device.netconverge.io/sw1" "$work/all"'

sed 's/externalPort: 2201/externalPort: 2202/' "$SRC/manifests/vm-web1.yaml" > "$work/web1.yaml"
"$K" apply -f "$work/web1.yaml" > "$work/configured" 2>&1
check "editing a port: configured, generation 2" 'grep -q "web1 configured" "$work/configured" && [ "$("$K" get pf web1 -o jsonpath="{.metadata.generation}")" = 2 ]'
api -X PATCH -H 'Content-Type: application/merge-patch+json' "$API/apis/netconverge.io/v1alpha1/namespaces/default/portforwards/web1/status" \
  -d '{"status":{"observedGeneration":2,"rules":3,"conditions":[{"type":"Ready","status":"True","reason":"Applied","message":"3 rules","lastTransitionTime":"2026-11-22T07:00:00Z"},{"type":"Synced","status":"True","reason":"Applied","lastTransitionTime":"2026-11-22T07:00:00Z"}]}}' > /dev/null
"$K" get pf web1 > "$work/status" 2>&1
check "/status shows READY/SYNCED True without changing the generation" 'grep -qE "^web1  *edge1  *web1  *True  *True  *3 " "$work/status" && [ "$("$K" get pf web1 -o jsonpath="{.metadata.generation}")" = 2 ]'
api -X PATCH -H 'Content-Type: application/merge-patch+json' "$API/apis/netconverge.io/v1alpha1/namespaces/default/portforwards/web1" \
  -d '{"status":{"rules":99}}' > /dev/null
check "status cannot be written through the main resource" '[ "$("$K" get pf web1 -o jsonpath="{.status.rules}")" = 3 ]'

"$K" patch pf web1 --type=merge -p '{"metadata":{"finalizers":["netconverge.io/cleanup"]}}' > /dev/null
( "$K" delete pf web1 > "$work/delete" 2>&1; echo "rc=$?" >> "$work/delete" ) &
waiter=$!
terminating() { [ -n "$("$K" get pf web1 -o jsonpath="{.metadata.deletionTimestamp}")" ]; }
wait_until 10 terminating
check "delete with a finalizer: the object stays, with a deletionTimestamp" '[ -n "$("$K" get pf web1 -o jsonpath="{.metadata.deletionTimestamp}")" ] && ! grep -q "rc=" "$work/delete"'
"$K" patch pf web1 --type=merge -p '{"metadata":{"finalizers":null}}' > /dev/null 2>&1
wait $waiter
check "removing the finalizer deletes it; kubectl delete returns on the DELETED event" 'grep -q "\"web1\" deleted" "$work/delete" && grep -q "rc=0" "$work/delete" && ! "$K" get pf web1 > /dev/null 2>&1'

printf 'apiVersion: netconverge.io/v1alpha1\nkind: VlanInterface\nmetadata: {name: bad}\nspec: {deviceRef: sw1, interface: eth0, vlan: 5000}\n' > "$work/bad.yaml"
"$K" apply -f "$work/bad.yaml" > "$work/bad" 2>&1; rc=$?
check "an invalid object is refused with the field and the rule" '[ $rc -ne 0 ] && grep -q "spec.interface: Invalid value: \"eth0\"" "$work/bad" && grep -q "spec.vlan: Invalid value: 5000: should be less than or equal to 4094" "$work/bad"'
printf 'apiVersion: netconverge.io/v1alpha1\nkind: VlanInterface\nmetadata: {name: bad2}\nspec: {deviceRef: sw1, interface: ge100-0/0/1, vlan: 5, colour: blue}\n' > "$work/bad2.yaml"
"$K" apply -f "$work/bad2.yaml" > "$work/bad2" 2>&1; rc=$?
check "an unknown field is refused (fieldValidation=Strict)" '[ $rc -ne 0 ] && grep -q "unknown field \"spec.colour\"" "$work/bad2"'

# Watch semantics.
RV=$(api "$API/apis/netconverge.io/v1alpha1/namespaces/default/devices" | sed -n 's/.*"resourceVersion":"\([0-9]*\)".*"items".*/\1/p')
( api -N "$API/apis/netconverge.io/v1alpha1/namespaces/default/devices?watch=true&resourceVersion=$RV&allowWatchBookmarks=true&timeoutSeconds=3" > "$work/watch" ) &
w=$!
# No wait for the watch to connect: it starts from $RV, so a change made before it connects is
# still delivered (from the history), and one made after it is live.
"$K" label dev edge1 site=lab > /dev/null
wait $w
check "a watch from a resourceVersion sends only later changes, then bookmarks" '[ "$(grep -c "\"type\":\"MODIFIED\"" "$work/watch")" = 1 ] && ! grep -q "\"type\":\"ADDED\"" "$work/watch" && grep -q "\"type\":\"BOOKMARK\"" "$work/watch"'
api -X POST "$API/_sim/compact" > /dev/null
api -N "$API/apis/netconverge.io/v1alpha1/namespaces/default/devices?watch=true&resourceVersion=$RV&timeoutSeconds=2" > "$work/expired"
check "a watch from a compacted resourceVersion gets one 410 Expired ERROR event" 'grep -q "\"type\":\"ERROR\".*\"reason\":\"Expired\",\"code\":410" "$work/expired"'
api -N "$API/apis/netconverge.io/v1alpha1/namespaces/default/devices?watch=true&resourceVersion=0&timeoutSeconds=1" > "$work/initial"
check "a watch from resourceVersion 0 starts with ADDED for every object" '[ "$(grep -c "\"type\":\"ADDED\"" "$work/initial")" = 2 ]'
check "a request without the token gets 401 Unauthorized" '[ "$(curl -s -o /dev/null -w "%{http_code}" --cacert "$work/ca.pem" "$API/apis")" = 401 ]'

# dryRun=All: kubectl's server-side dry run and diff are safe against kube-sim.
RV0=$("$K" get dev edge1 -o jsonpath='{.metadata.resourceVersion}')
printf 'apiVersion: netconverge.io/v1alpha1\nkind: VlanInterface\nmetadata: {name: dry}\nspec: {deviceRef: sw1, interface: ge100-0/0/9, vlan: 9}\n' > "$work/dry.yaml"
"$K" apply --dry-run=server -f "$work/dry.yaml" > "$work/dry" 2>&1; rc=$?
check "kubectl apply --dry-run=server answers as if created, and nothing is stored" '[ $rc -eq 0 ] && grep -q "created (server dry run)" "$work/dry" && ! "$K" get vlanif dry > /dev/null 2>&1'
"$K" get dev edge1 -o yaml | sed 's/pollInterval: .*/pollInterval: 45s/' > "$work/edge1-changed.yaml"
"$K" diff -f "$work/edge1-changed.yaml" > "$work/diff" 2>&1; rc=$?
check "kubectl diff shows the change (exit 1) and changes nothing" '[ $rc -eq 1 ] && grep -q "^+  pollInterval: 45s" "$work/diff" && [ "$("$K" get dev edge1 -o jsonpath="{.metadata.resourceVersion}")" = "$RV0" ]'
"$K" delete dev edge1 --dry-run=server > /dev/null 2>&1
check "kubectl delete --dry-run=server deletes nothing" '"$K" get dev edge1 > /dev/null 2>&1'

summary
