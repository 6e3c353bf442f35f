#!/usr/bin/env bash
# The daemon's admin API and operations commands with the real binaries on loopback:
#  - a config file with an environment override and flags on top, JSON log lines;
#  - the bad-credentials corpus over HTTP (401/403 every time), 413, 400 with a JSON error;
#  - phase / fallback overrides seen by the API and by the devices;
#  - test-device: all checks on vyos-sim, then a wrong key and a closed port;
#  - /metrics after all this still passes promtool.
#  - docs/monitoring.md lists every metric served, and its alert rules pass promtool.
# Usage: admin_api_test.sh BIN_DIR SRC_DIR
set -uo pipefail
BIN=$1
SRC=$2
. "$(dirname "$0")/lib.sh"

start_vyos_sim
M=$work/m
mkdir -p "$M"
write_edge1_device "$M/edge1.yaml" $'  pollInterval: 60s\n'
printf 'apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: web1}\nspec:\n  deviceRef: edge1\n  vm: web1\n  internalAddress: 192.168.10.11\n  inboundInterface: eth0\n  ports:\n    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n' > "$M/web1.yaml"
ADMIN=admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
VIEWER=viewer-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
SECRET=secret-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'keys:\n  - {name: ops, role: admin, key: %s}\n  - {name: grafana, role: viewer, sha256: %s}\n' "$ADMIN" \
  "$(printf %s "$VIEWER" | sha256sum | cut -d' ' -f1)" > "$work/keys.yaml"
printf '%s\n' "$SECRET" > "$work/jwt"
chmod 600 "$work/keys.yaml"
chmod 644 "$work/jwt"  # readable by others: the daemon must say so
STORE=$work/nc.db
cat > "$work/config.yaml" <<CFG
manifests: /nonexistent/overridden-by-the-flag
store: $STORE
listen: 127.0.0.1:0
api-keys-file: $work/keys.yaml
jwt-secret-file: $work/jwt
log-format: text
CFG

NETCONVERGE_LOG_FORMAT=json "$BIN/netconverge" run --config "$work/config.yaml" --manifests "$M" > "$work/d.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q 'outcome=applied\|"outcome":"applied"' "$work/d.log" && break; sleep 0.1; done
HPORT=$(sed -n 's|.*admin HTTP API on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$work/d.log" | head -1)
H=http://127.0.0.1:$HPORT
check "config file + NETCONVERGE_LOG_FORMAT + --manifests: the daemon converged, logging JSON lines" \
  'grep -q "\"device\":\"default/edge1\",\"trigger\":\"startup\",\"run_id\":1,\"by\":\"controller\",\"outcome\":\"applied\"" "$work/d.log"'
check "a key file readable by others is warned about, a 0600 one is not" 'grep -q "jwt is readable by others (mode 644)" "$work/d.log" && ! grep -q "keys.yaml is readable by others" "$work/d.log"'
check "every log line is one JSON object" 'python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]" "$work/d.log"'

code() { curl -s -o "$work/body" -w '%{http_code}' "$@"; }
# JWTs made here with Python's hmac, independently of the code under test.
jwt() {  # jwt ALG SECRET CLAIMS
  python3 - "$@" <<'PY'
import base64, hashlib, hmac, json, sys
alg, secret, claims = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
b = lambda s: base64.urlsafe_b64encode(s).rstrip(b"=").decode()
head = b(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + b(claims.encode())
sig = b(hmac.new(secret, head.encode(), hashlib.sha256).digest()) if alg != "none" else ""
print(head + "." + sig)
PY
}
NOW=$(date +%s)
VALID=$(jwt HS256 "$SECRET" "{\"sub\":\"ci\",\"role\":\"admin\",\"exp\":$((NOW + 300))}")
check "a valid admin JWT (signed by Python) may sync" '[ "$(code -X POST -H "Authorization: Bearer $VALID" "$H/v1/admin/devices/edge1/sync")" = 200 ]'
curl -s "$H/v1/health" > "$work/health.json"
check "/v1/health: store writable, the device reachable, the loop's last pass of edge1" 'python3 -c "
import json, sys
h = json.load(open(sys.argv[1]))
assert h[\"store\"][\"writable\"] and h[\"store\"][\"schemaVersion\"] == 11
assert [d[\"reachable\"] for d in h[\"devices\"] if d[\"device\"] == \"default/edge1\"] == [True]
last = [p for p in h[\"loop\"][\"lastPass\"] if p[\"device\"] == \"default/edge1\"][0]
assert last[\"result\"] == \"success\" and last[\"runId\"] >= 1 and last[\"trigger\"] in (\"startup\", \"admin-sync\")
" "$work/health.json"'
check "the viewer key (stored as sha256) may read" '[ "$(code -H "X-API-Key: $VIEWER" "$H/v1/devices")" = 200 ]'
cp "$work/body" "$work/devices-full.json"
check "/v1/devices?ports=false: the same devices and fields, no ports" '[ "$(code -H "X-API-Key: $VIEWER" "$H/v1/devices?ports=false")" = 200 ] && python3 -c "
import json, sys
full = json.load(open(sys.argv[1]))[\"devices\"]
lean = json.load(open(sys.argv[2]))[\"devices\"]
assert full and all(d[\"ports\"] for d in full if d[\"device\"] == \"default/edge1\")
assert [d[\"device\"] for d in lean] == [d[\"device\"] for d in full]
assert all(\"ports\" not in d for d in lean)
assert [{k: v for k, v in d.items() if k not in (\"ports\", \"lastObservedTime\", \"quietPolls\")} for d in full] == [{k: v for k, v in d.items() if k not in (\"lastObservedTime\", \"quietPolls\")} for d in lean]
" "$work/devices-full.json" "$work/body"'
check "/v1/devices?ports=maybe: 400 naming the parameter" '[ "$(code -H "X-API-Key: $VIEWER" "$H/v1/devices?ports=maybe")" = 400 ] && grep -q "ports must be true or false" "$work/body"'
# One character in the middle of the signature changed (the last one may only carry padding bits).
SIG=${VALID##*.}
MID=$(( ${#SIG} / 2 ))
TAMPERED=${VALID%.*}.${SIG:0:MID}$( [ "${SIG:MID:1}" = A ] && echo B || echo A)${SIG:MID+1}
corpus=(
  "none|401|"
  "wrong key|401|X-API-Key: ${ADMIN}x"
  "key of the wrong role|403|X-API-Key: $VIEWER"
  "expired JWT|401|Authorization: Bearer $(jwt HS256 "$SECRET" "{\"role\":\"admin\",\"exp\":$((NOW - 5))}")"
  "JWT with alg none|401|Authorization: Bearer $(jwt none "$SECRET" "{\"role\":\"admin\",\"exp\":$((NOW + 300))}")"
  "tampered signature|401|Authorization: Bearer $TAMPERED"
  "wrong secret|401|Authorization: Bearer $(jwt HS256 "not-the-secret-but-just-as-long-0123456789" "{\"role\":\"admin\",\"exp\":$((NOW + 300))}")"
  "viewer JWT on an admin route|403|Authorization: Bearer $(jwt HS256 "$SECRET" "{\"role\":\"viewer\",\"exp\":$((NOW + 300))}")"
  "malformed header (Basic)|401|Authorization: Basic YWRtaW46YWRtaW4="
  "malformed header (token, no scheme)|401|Authorization: $VALID"
  "malformed token|401|Authorization: Bearer not.a-jwt"
)
for entry in "${corpus[@]}"; do
  IFS='|' read -r what want header <<< "$entry"
  for route in "-X POST $H/v1/admin/sync-vyos-config" "-X POST $H/v1/admin/devices/edge1/rollback"; do
    if [ -n "$header" ]; then got=$(code $route -H "$header" -d '{"snapshot": 1}'); else got=$(code $route -d '{"snapshot": 1}'); fi
    check "$what on ${route##*/}: $want with a JSON error" '[ "$got" = "$want" ] && python3 -c "import json,sys; assert set(json.load(open(sys.argv[1]))) == {\"error\"}" "$work/body"'
  done
done
check "every JSON log line about the device carries its device field (the API's audit lines too)" 'python3 -c "
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
about = [l for l in lines if \"default/edge1\" in l[\"msg\"] or \"/devices/edge1\" in l[\"msg\"]]
assert any(l[\"msg\"].startswith(\"api: POST /v1/admin/devices/edge1/sync\") for l in about), about
bad = [l for l in about if l.get(\"device\") != \"default/edge1\"]
assert not bad, bad
" "$work/d.log"'
check "no credential in the daemon's log" '! grep -q -e "$ADMIN" -e "$VIEWER" -e "$SECRET" -e "eyJ" "$work/d.log"'
check "refusals are logged with the reason" 'grep -q "bearer token expired" "$work/d.log" && grep -q "invalid API key" "$work/d.log"'
head -c 1100000 /dev/zero | tr '\0' 'x' > "$work/big"
check "a body above 1 MiB: 413" '[ "$(code -X POST -H "X-API-Key: $ADMIN" --data-binary @"$work/big" "$H/v1/admin/devices/edge1/rollback")" = 413 ]'
check "malformed JSON: 400 naming the body" '[ "$(code -X POST -H "X-API-Key: $ADMIN" -d "{\"snapshot\": [" "$H/v1/admin/devices/edge1/rollback")" = 400 ] && grep -q "body: malformed JSON" "$work/body"'

# phase: observe holds the new port back (the API shows why), --clear lets it through.
"$BIN/netconverge" phase edge1 observe --store "$STORE" -m "$M" > /dev/null
# Machine-readable: the phase in force and the override (value, who, when), at once - before any
# pass - in status -o json, /v1/devices and /v1/health.
"$BIN/netconverge" status --store "$STORE" -o json > "$work/st-observe.json"
code -H "X-API-Key: $VIEWER" "$H/v1/devices/edge1" > /dev/null; cp "$work/body" "$work/api-observe.json"
curl -s "$H/v1/health" > "$work/health-observe.json"
check "after phase observe: status -o json, /v1/devices/edge1 and /v1/health show the phase and the override" 'python3 - "$work/st-observe.json" "$work/api-observe.json" "$work/health-observe.json" "${USER:-root}" <<'"'"'PY'"'"'
import json, sys
st = [d for d in json.load(open(sys.argv[1]))["devices"] if d["device"] == "default/edge1"][0]
api = json.load(open(sys.argv[2]))
health = [d for d in json.load(open(sys.argv[3]))["devices"] if d["device"] == "default/edge1"][0]
for d in (st, api, health):
    assert d["management"] == "Observe" and d["paused"] is False, d
    o = d["override"]
    assert o["management"] == "Observe" and o["fallback"] == "" and o["by"].startswith("cli "), o
    assert o["time"].endswith("Z"), o
PY'
sed -i 's/    - {name: ssh/    - {name: http, protocol: tcp, externalPort: 8080, internalPort: 80}\n    - {name: ssh/' "$M/web1.yaml"
# The daemon takes the edit once the file is left alone (--settle-ms): wait for the plan to show it.
wait_until 20 'code -H "X-API-Key: $VIEWER" "$H/v1/devices/edge1/plan" > /dev/null; grep -q "Port HTTP" "$work/body"'
check "the plan route shows the override as a notice" 'grep -q "management phase Observe (the manifest says Full) set by .netconverge phase." "$work/body"'
code -X POST -H "X-API-Key: $ADMIN" "$H/v1/admin/devices/edge1/sync" > /dev/null
check "in observe the sync writes nothing" '[ "$(rules | grep -c "destination port .8080.")" = 0 ]'
"$BIN/netconverge" phase edge1 --clear --store "$STORE" > /dev/null
code -X POST -H "X-API-Key: $ADMIN" "$H/v1/admin/devices/edge1/sync" > /dev/null
check "after phase --clear the sync adds the port (seed report line)" 'grep -q "VM web1 Port HTTP (Rule 1000[0-9])" "$work/body" && [ "$(rules | grep -c "destination port .8080.")" = 1 ]'
code -H "X-API-Key: $VIEWER" "$H/v1/devices/edge1" > /dev/null
check "after phase --clear: no override, the manifest's phase (Full) in force" 'python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d[\"override\"] is None and d[\"management\"] == \"Full\", d
" "$work/body"'
"$BIN/netconverge" fallback edge1 off --store "$STORE" -m "$M" > /dev/null
code -H "X-API-Key: $VIEWER" "$H/v1/events?device=edge1&limit=20" > /dev/null
check "events hold the operator's overrides" 'grep -q "PhaseOverridden" "$work/body" && grep -q "FallbackOverridden" "$work/body"'
check "status shows the standing override" '"$BIN/netconverge" status --store "$STORE" | grep -q "^default/edge1 *- *none"'

# test-device: every check, then the failures.
out=$("$BIN/netconverge" test-device edge1 -m "$M" 2>&1); rc=$?
check "test-device: reachable, version, API key, confirmed commit; exit 0" '[ $rc = 0 ] && grep -q "ok *reachable" <<< "$out" && grep -q "ok *platform version *1.5" <<< "$out" && grep -q "ok *authentication" <<< "$out" && grep -q "ok *confirmed commit" <<< "$out"'
cp -r "$M" "$work/m2"
echo "apiKey: not-the-key" > "$work/creds.yaml"
out=$("$BIN/netconverge" test-device edge1 -m "$M" 2>&1); rc=$?
check "test-device with a wrong key: exit 1, the authentication check says the key was rejected" '[ $rc = 1 ] && grep -q "FAIL *authentication *the device rejected the API key" <<< "$out"'
CLOSED=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s/127.0.0.1:$PORT/127.0.0.1:$CLOSED/" "$work/m2/edge1.yaml"
out=$("$BIN/netconverge" test-device edge1 -m "$work/m2" 2>&1); rc=$?
check "test-device on a closed port: exit 1, connection refused, the rest skipped" '[ $rc = 1 ] && grep -q "FAIL *reachable *127.0.0.1:$CLOSED: connection refused" <<< "$out" && grep -q "skip *authentication" <<< "$out"'

# generate-config round trip, and /metrics after all of it.
"$BIN/netconverge" generate-config > "$work/generated.yaml"
"$BIN/netconverge" generate-config --output "$work/gen-out.yaml" > /dev/null
check "generate-config --output writes the same file" 'cmp -s "$work/generated.yaml" "$work/gen-out.yaml"'
echo "# mine" > "$work/gen-out.yaml"
"$BIN/netconverge" generate-config --output "$work/gen-out.yaml" > /dev/null 2> "$work/gen-err"; rc=$?
check "generate-config --output never overwrites without --force (exit 1, names the file)" '[ $rc = 1 ] && [ "$(cat "$work/gen-out.yaml")" = "# mine" ] && grep -q "gen-out.yaml: exists; give --force" "$work/gen-err"'
"$BIN/netconverge" generate-config --output "$work/gen-out.yaml" --force > /dev/null
check "generate-config --output --force overwrites" 'cmp -s "$work/generated.yaml" "$work/gen-out.yaml"'
check "generate-config's file is accepted by every command (validate shown)" '"$BIN/netconverge" validate --config "$work/generated.yaml" -m "$M" > /dev/null'
curl -s "$H/metrics" > "$work/metrics.txt"
check "/metrics passes promtool and counts admin requests by route template and code" 'promtool check metrics < "$work/metrics.txt" && grep -q "^netconverge_http_requests_total{code=\"401\",route=\"/v1/admin/devices/{name}/rollback\"} [1-9]" "$work/metrics.txt"'
missing=$(grep '^# TYPE ' "$work/metrics.txt" | awk '{print $3}' | sort -u | while read -r m; do grep -q "\`$m\`" "$SRC/docs/monitoring.md" || echo "$m"; done)
check "docs/monitoring.md lists every metric /metrics serves${missing:+ (missing: $missing)}" '[ -z "$missing" ]'
# The alert rules of docs/monitoring.md: the chart's PrometheusRule, valid for promtool, every
# metric they use served by this daemon; the Alertmanager example valid for amtool.
python3 - "$SRC/docs/monitoring.md" "$SRC/helm/netconverge/templates/prometheusrule.yaml" "$work/metrics.txt" "$work" > "$work/rules-check.txt" 2>&1 <<'PY'
import re, sys, yaml
doc, chart_path, metrics_path, work = sys.argv[1:5]
blocks = re.findall(r"```yaml\n(.*?)```", open(doc).read(), re.S)
rules = [b for b in blocks if b.startswith("groups:")]
am = [b for b in blocks if b.startswith("route:")]
assert len(rules) == 1 and len(am) == 1, (len(rules), len(am))
open(f"{work}/rules.yaml", "w").write(rules[0])
open(f"{work}/alertmanager.yaml", "w").write(am[0])
lines = open(chart_path).read().splitlines()
assert lines[0].startswith("{{- if") and lines[-1] == "{{- end }}"
body = "\n".join(lines[1:-1])
body = body[body.index("\nspec:") + 1:]  # metadata holds the chart's own template calls
chart = yaml.safe_load(body.replace("{{`", "").replace("`}}", ""))
doc_groups = yaml.safe_load(rules[0])["groups"]
assert chart["spec"]["groups"] == doc_groups, "the chart's PrometheusRule differs from docs/monitoring.md"
served = set(re.findall(r"^# TYPE (\S+)", open(metrics_path).read(), re.M))
used = set()
for g in doc_groups:
    for r in g["rules"]:
        for m in re.findall(r"\b((?:netconverge|workqueue|controller_runtime|rest_client)_\w+)", r["expr"]):
            used.add(re.sub(r"_(bucket|sum|count)$", "", m))
missing = sorted(used - served)
assert not missing, f"rules use metrics /metrics does not serve: {missing}"
print(f"{sum(len(g['rules']) for g in doc_groups)} rules, {len(used)} metrics used, all served")
# The chart's Grafana dashboard: every metric its panels query is served, every recording rule
# it reads is one of the rules above.
import json
dash = json.load(open(chart_path.replace("templates/prometheusrule.yaml", "files/grafana-dashboard.json")))
recorded = {r["record"] for g in doc_groups for r in g["rules"] if "record" in r}
exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
exprs.append(dash["templating"]["list"][1]["definition"])
dash_metrics, dash_records = set(), set()
for e in exprs:
    for m in re.findall(r"\b((?:netconverge|workqueue|controller_runtime|rest_client)_\w+)", e):
        dash_metrics.add(re.sub(r"_(bucket|sum|count)$", "", m))
    dash_records.update(re.findall(r"\b(netconverge:\w+:\w+)", e))
assert not sorted(dash_metrics - served), f"the dashboard uses metrics /metrics does not serve: {sorted(dash_metrics - served)}"
assert not sorted(dash_records - recorded), f"the dashboard reads recording rules that do not exist: {sorted(dash_records - recorded)}"
assert len(dash_metrics) >= 10, dash_metrics
print(f"dashboard: {len(exprs)} expressions, {len(dash_metrics)} metrics and {len(dash_records)} recording rules, all served or defined")
PY
rc=$?
cat "$work/rules-check.txt"
check "the alert rules and the chart's Grafana dashboard: every metric they use is served, the PrometheusRule is docs/monitoring.md's" '[ $rc = 0 ]'
check "docs/monitoring.md's alert rules pass promtool check rules" 'promtool check rules "$work/rules.yaml" > /dev/null'
check "docs/monitoring.md's Alertmanager routing (Slack, PagerDuty) passes amtool check-config" 'amtool check-config "$work/alertmanager.yaml" > "$work/amtool.txt" 2>&1 || { cat "$work/amtool.txt"; false; }'
summary
