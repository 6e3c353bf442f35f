#!/usr/bin/env bash
# Two `netconverge run --kube --leader-elect` replicas against kube-sim and vyos-sim: only the
# Lease holder writes to the device; killing it (SIGKILL, no hand-over) lets the other replica
# take over within the lease duration and converge a change made meanwhile.
# Usage: kube_leader_test.sh BIN_DIR SOURCE_DIR TOOLS_DIR
set -uo pipefail
BIN=$1
SRC=$2
K=$3/kubectl
source "$(dirname "$0")/lib.sh"

start_vyos_sim
start_kube_with_edge1 "$SRC" "$K"
"$K" apply -f "$SRC/manifests/vm-web1.yaml" > /dev/null
printf 'keys:\n  - {name: ops, role: admin, key: leader-test-admin-key}\n' > "$work/keys.yaml"
LEASE=(--listen 127.0.0.1:0 --api-keys-file "$work/keys.yaml" --leader-elect --leader-elect-lease-duration 4s --leader-elect-renew-deadline 3s --leader-elect-retry-period 500ms)
"$BIN/netconverge" run --kube --kubeconfig "$work/kubeconfig" --store "$work/a.db" "${LEASE[@]}" > "$work/a.log" 2>&1 &
A=$!
pids+=($A)
wait_until 20 'grep -q "leading as" "$work/a.log"'
"$BIN/netconverge" run --kube --kubeconfig "$work/kubeconfig" --store "$work/b.db" "${LEASE[@]}" > "$work/b.log" 2>&1 &
B=$!
pids+=($B)
for _ in $(seq 100); do [ "$(rules | grep -c "translation address")" = 3 ] && break; sleep 0.2; done
wait_until 20 'grep -q "waiting to lead" "$work/b.log" && grep -q "admin HTTP API on" "$work/b.log"'
holder=$("$K" get lease netconverge-leader -o jsonpath='{.spec.holderIdentity}')
check "one replica holds the lease and converged the device" '[ "$(rules | grep -c "translation address")" = 3 ] && [ "${holder##*_}" = "$A" ]'
HB=$(sed -n 's|.*admin HTTP API on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$work/b.log" | head -1)
check "the standby is ready and says it stands by (/readyz, /v1/health)" '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$HB/readyz")" = 200 ] && curl -s "http://127.0.0.1:$HB/v1/health" | tr -d " \n" | grep -q "\"leader\":\"standby\""'
check "an admin sync sent to the standby gets 503 (send it to the leader); nothing is written" '[ "$(curl -s -o "$work/sync" -w "%{http_code}" -X POST -H "X-API-Key: leader-test-admin-key" "http://127.0.0.1:$HB/v1/admin/devices/edge1/sync")" = 503 ] && grep -q "standby" "$work/sync"'
check "the standby never wrote to the device" '! grep -q "outcome=applied" "$work/b.log" && grep -q "waiting to lead" "$work/b.log" && ! grep -q "leading as" "$work/b.log"'

kill -9 "$A"
t0=$(date +%s.%N)
sed 's/externalPort: 2201/externalPort: 2203/' "$SRC/manifests/vm-web1.yaml" | "$K" apply -f - > /dev/null
for _ in $(seq 100); do grep -q "leading as" "$work/b.log" && rules | grep -q "destination port '2203'" && break; sleep 0.1; done
t1=$(date +%s.%N)
took=$(echo "$t1 - $t0" | bc)
echo "takeover and convergence after the leader's death: ${took}s"
check "the standby takes over within the lease duration (+ one retry and one pass)" 'grep -q "leading as" "$work/b.log" && [ "$(echo "$took < 4 + 0.5 + 2" | bc)" = 1 ]'
check "and converges the change made meanwhile" 'rules | grep -q "destination port '"'"'2203'"'"'" && [ "$(rules | grep -c "translation address")" = 3 ]'
holder=$("$K" get lease netconverge-leader -o jsonpath='{.spec.holderIdentity}')
check "the lease names the new holder and counts the transition" '[ "${holder##*_}" = "$B" ] && [ "$("$K" get lease netconverge-leader -o jsonpath="{.spec.leaseTransitions}")" -ge 1 ]'
kill -TERM "$B"
wait "$B" 2>/dev/null
check "a leader stopping gracefully hands the lease back" '[ -z "$("$K" get lease netconverge-leader -o jsonpath="{.spec.holderIdentity}")" ]'

# A leader whose API calls hang (the API server frozen mid-flight): every lease call is bounded by
# what is left of the renew deadline, so it stops writing and exits within it - not after the
# client's 30 s timeout, while a standby may already have taken over.
"$BIN/netconverge" run --kube --kubeconfig "$work/kubeconfig" --store "$work/c.db" "${LEASE[@]}" > "$work/c.log" 2>&1 &
C=$!
pids+=($C)
wait_until 20 'grep -q "leading as" "$work/c.log"'
kill -STOP "$KUBE_PID"
t0=$(date +%s.%N)
wait_until 20 '! kill -0 "$C" 2>/dev/null'
t1=$(date +%s.%N)
wait "$C" 2>/dev/null; rc=$?
kill -CONT "$KUBE_PID"
took=$(echo "$t1 - $t0" | bc)
echo "a leader cut off from the API server stopped after ${took}s (renew deadline 3s, retry 0.5s)"
check "a leader whose lease calls hang stops within the renew deadline and exits 1" '[ $rc -eq 1 ] && [ "$(echo "$took < 3 + 0.5 + 1.5" | bc)" = 1 ]'
check "it says so, and applies nothing after" 'grep -q "leadership lost" "$work/c.log" && ! sed -n "/leadership lost/,\$p" "$work/c.log" | grep -q "outcome=applied"'
check "the failed renewals are logged with their reason" 'grep -q "leader election: lease netconverge-leader: " "$work/c.log"'
summary
