#!/usr/bin/env bash
# History and audit (issue 16, "Done when" 1) with the real binaries on loopback:
#  - two CLI applies, then `netconverge history` lists both runs, newest first, with their counts,
#    trigger, who asked, transport and the snapshot before; `--run ID` prints the `set nat
#    destination ...` lines that run sent (read back from vyos-sim's own rendering too);
#  - the daemon's GET /v1/devices/{name}/runs and GET /v1/runs/{id} say the same as the CLI;
#  - a rollback through the API is a run in the history (by the API key's name), a log line and
#    a count in netconverge_rollbacks_total;
#  - GET /v1/health?probe=true reads the device now (rate-limited), unlike the last pass's status.
# Usage: history_test.sh BIN_DIR
set -uo pipefail
BIN=$1
. "$(dirname "$0")/lib.sh"

start_vyos_sim
M=$work/m
mkdir -p "$M"
write_edge1_device "$M/edge1.yaml" $'  pollInterval: 300s\n'
pf() {  # the PortForward web1 with the given port lines
  printf 'apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: web1}\nspec:\n  deviceRef: edge1\n  vm: web1\n  internalAddress: 192.168.10.11\n  inboundInterface: eth0\n  ports:\n%s' "$1" > "$M/web1.yaml"
}
STORE=$work/nc.db
pf $'    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n'
"$BIN/netconverge" apply --manifests "$M" --store "$STORE" --log-level warn > "$work/apply1" 2>&1
check "first apply: exit 0" '[ $? = 0 ] || cat "$work/apply1"'
pf $'    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 2222}\n    - {name: http, protocol: tcp, externalPort: 8080, internalPort: 80}\n'
"$BIN/netconverge" apply --manifests "$M" --store "$STORE" --log-level warn > "$work/apply2" 2>&1
check "second apply: exit 0" '[ $? = 0 ]'
check "the router has both ports (its own rendering)" \
  '[ "$(rules | grep -c "destination port .8080.")" = 1 ] && rules | grep -q "translation port .2222."'

"$BIN/netconverge" history edge1 --store "$STORE" > "$work/history.txt" 2>&1
cat "$work/history.txt"
"$BIN/netconverge" history edge1 --store "$STORE" -o json > "$work/history.json" 2>&1
check "history: two runs, newest first, with their counts, trigger, who asked, transport, snapshot" 'python3 - "$work/history.json" "${USER:-}" <<'"'"'PY'"'"'
import json, sys
h = json.load(open(sys.argv[1]))
runs = h["runs"]
assert h["device"] == "default/edge1" and len(runs) == 2, runs
second, first = runs
assert second["id"] > first["id"]
assert (first["added"], first["updated"], first["deleted"]) == (1, 0, 0), first
assert (second["added"], second["updated"], second["deleted"]) == (1, 1, 0), second
for r in runs:
    assert r["trigger"] == "cli-apply" and r["outcome"] == "Success" and r["commits"] == 1, r
    assert r["transport"] == "https-api" and r["by"].startswith("cli "), r
    assert isinstance(r["snapshotBefore"], int) and r["snapshotBefore"] > 0, r
assert second["snapshotBefore"] > first["snapshotBefore"]
PY'
check "history (text): a table row per run" '[ "$(grep -c " cli-apply " "$work/history.txt")" = 2 ] && head -1 "$work/history.txt" | grep -q "RUN .*TRIGGER .*BY .*OUTCOME .*ADDED .*UPDATED .*DELETED"'
RUN2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["id"])' "$work/history.json")
SNAP2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["snapshotBefore"])' "$work/history.json")
"$BIN/netconverge" history edge1 --store "$STORE" --run "$RUN2" > "$work/run2.txt" 2>&1
cat "$work/run2.txt" | head -12
check "history --run: the set nat destination lines that run sent, and the snapshot before" \
  'grep -q "^  set nat destination rule [0-9]* destination port .8080.$" "$work/run2.txt" && grep -q "^  delete nat destination rule [0-9]*$" "$work/run2.txt" && grep -q "translation port .2222." "$work/run2.txt" && grep -q "^snapshot before: $SNAP2 " "$work/run2.txt"'
check "every line it sent is on the router now (vyos-sim's own rendering)" '( grep "^  set nat destination" "$work/run2.txt" | sed "s/^  //" | while read -r line; do rules | grep -qxF "$line" || exit 1; done )'
"$BIN/netconverge" history edge1 --store "$STORE" --run 999999 > "$work/norun" 2>&1
check "history --run of a run that does not exist: exit 1 naming it" '[ $? = 1 ] && grep -q "no run 999999" "$work/norun"'

# The daemon on the same store: the API says the same.
ADMIN=admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
VIEWER=viewer-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'keys:\n  - {name: ops, role: admin, key: %s}\n  - {name: grafana, role: viewer, key: %s}\n' "$ADMIN" "$VIEWER" > "$work/keys.yaml"
chmod 600 "$work/keys.yaml"
"$BIN/netconverge" run --manifests "$M" --store "$STORE" --listen 127.0.0.1:0 --api-keys-file "$work/keys.yaml" > "$work/d.log" 2>&1 &
pids+=($!)
wait_until 20 'grep -q "admin HTTP API on http://127.0.0.1:" "$work/d.log"'
H=http://127.0.0.1:$(sed -n 's|.*admin HTTP API on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$work/d.log" | head -1)
wait_until 20 'idle "$H"'
get() { curl -s -H "X-API-Key: $VIEWER" "$@"; }
get "$H/v1/devices/edge1/runs" > "$work/api-runs.json"
"$BIN/netconverge" history edge1 --store "$STORE" -o json > "$work/history-now.json" 2>&1
check "GET /v1/devices/edge1/runs is history -o json" 'python3 -c "
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a == b and len(a[\"runs\"]) >= 2, (a, b)
" "$work/api-runs.json" "$work/history-now.json"'
get "$H/v1/runs/$RUN2" > "$work/api-run2.json"
"$BIN/netconverge" history edge1 --store "$STORE" --run "$RUN2" -o json > "$work/run2.json" 2>&1
check "GET /v1/runs/{id} is history --run -o json: the operations sent" 'python3 -c "
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a == b, (a, b)
assert any(\"destination port \x278080\x27\" in l for l in a[\"operations\"]), a[\"operations\"]
" "$work/api-run2.json" "$work/run2.json"'
check "GET /v1/runs/{id} of no run: 404; of a bad id: 400" '[ "$(get -o /dev/null -w "%{http_code}" "$H/v1/runs/999999")" = 404 ] && [ "$(get -o /dev/null -w "%{http_code}" "$H/v1/runs/x1")" = 400 ]'
check "the run routes need a key" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$H/v1/runs/$RUN2")" = 401 ]'
check "no secret in the runs (API key, device key)" '! grep -q -e "$ADMIN" -e "$VIEWER" -e netconverge-demo-key "$work/api-runs.json" "$work/api-run2.json"'

# A rollback through the API to the snapshot taken before the second apply.
curl -s -o "$work/rb.json" -w '%{http_code}' -X POST -H "X-API-Key: $ADMIN" -d "{\"snapshot\": $SNAP2}" \
  "$H/v1/admin/devices/edge1/rollback" > "$work/rb.code"
check "API rollback: 200" '[ "$(cat "$work/rb.code")" = 200 ] || cat "$work/rb.json"'
check "the router is back to before the second apply (its own rendering)" \
  '[ "$(rules | grep -c "destination port .8080.")" = 0 ] && rules | grep -q "translation port .22.$"'
"$BIN/netconverge" history edge1 --store "$STORE" -o json > "$work/history-rb.json" 2>&1
check "the rollback is a run in the history: trigger rollback, by the API key's name, its counts" 'python3 -c "
import json, sys
rb = [r for r in json.load(open(sys.argv[1]))[\"runs\"] if r[\"trigger\"] == \"rollback\"]
assert len(rb) == 1, rb
r = rb[0]
assert r[\"by\"] == \"api key:ops\" and r[\"durationMs\"] > 0 and r[\"outcome\"] == \"Success\" and r[\"commits\"] == 1, r
assert r[\"deleted\"] == 1 and r[\"updated\"] == 1 and r[\"snapshotBefore\"] > 0, r
" "$work/history-rb.json"'
check "the rollback is in the daemon's log with who asked" 'grep -q "trigger=rollback run_id=[0-9]* by=\"api key:ops\" outcome=rolled-back" "$work/d.log"'
get "$H/metrics" | grep "^netconverge_rollbacks_total" > "$work/rollbacks.txt"
cat "$work/rollbacks.txt"
# At least this one (a pass the daemon runs after it may roll back on its own too).
check "netconverge_rollbacks_total counts it" \
  'python3 -c "import re,sys; m = re.search(r\"^netconverge_rollbacks_total\{device=\\\"default/edge1\\\",result=\\\"succeeded\\\"\} (\S+)$\", open(sys.argv[1]).read(), re.M); assert m and float(m.group(1)) >= 1, m" "$work/rollbacks.txt"'

# A live probe (GET /v1/health?probe=true): a read of each device now, at most once per 10 s.
check "?probe=true needs a key even where /v1/health is open" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$H/v1/health?probe=true")" = 401 ] && [ "$(curl -s -o /dev/null -w "%{http_code}" "$H/v1/health")" = 200 ]'
probe() { get "$H/v1/health?probe=true" | python3 -c 'import json,sys; d=[x for x in json.load(sys.stdin)["devices"] if x["device"]=="default/edge1"][0]; p=d["probe"]; print(p["reachable"], p["cached"], p["transport"] or "-", p["time"], d["reachable"])'; }
read -r reach cached transport t1 last <<< "$(probe)"
check "probe: a fresh read, reachable over https-api" '[ "$reach" = True ] && [ "$cached" = False ] && [ "$transport" = https-api ]'
read -r reach cached transport t2 last <<< "$(probe)"
check "probe again at once: the same read, cached (one read per device per 10 s)" '[ "$cached" = True ] && [ "$t2" = "$t1" ]'
lasthour() { get "$H/v1/health" | python3 -c 'import json,sys; d=[x for x in json.load(sys.stdin)["devices"] if x["device"]=="default/edge1"][0]["lastHour"]; print(d["passes"], d["successRate"], d["fallbackRate"])'; }
read -r hp hs hf <<< "$(lasthour)"
check "/v1/health lastHour: the passes so far, all succeeded, none over the fallback" '[ "$hp" -ge 1 ] && [ "$hs" = 1.0 ] && [ "$hf" = 0.0 ]'
kill -9 "${pids[0]}"  # the router goes away
wait_until 25 '( read -r reach cached transport t last <<< "$(probe)"; [ "$reach" = False ] && [ "$cached" = False ] )'
read -r reach cached transport t3 last <<< "$(probe)"
check "after the router died: the probe says unreachable while the last pass still says reachable" '[ "$reach" = False ] && [ "$last" = True ]'
curl -s -o /dev/null -X POST -H "X-API-Key: $ADMIN" "$H/v1/admin/devices/edge1/sync"  # fails: no router
read -r hp2 hs2 hf2 <<< "$(lasthour)"
# At least the failed sync was counted (a pass the daemon runs meanwhile may be too).
check "a failed pass lowers the hour's success rate" '[ "$hp2" -gt "$hp" ] && python3 -c "import sys; r = float(sys.argv[1]); assert 0 < r < 1, r" "$hs2"'
check "the probe reads the device, not the store: the unreachable answer names the failure" 'get "$H/v1/health?probe=true" | python3 -c "import json,sys; d=[x for x in json.load(sys.stdin)[\"devices\"] if x[\"device\"]==\"default/edge1\"][0]; assert d[\"probe\"][\"error\"], d"'
summary
