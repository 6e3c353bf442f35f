#!/usr/bin/env bash
# Webhook notifications (issue 16, "Done when" 3) with the real binaries on loopback:
#  - a conflict with a foreign rule, a value the router refuses at commit and a drift under
#    driftPolicy Report each become a notification in the store's outbox, while the webhook is
#    down (connection refused: the failed attempts are counted);
#  - the daemon is killed (SIGKILL) before any is delivered; the receiver comes up (its first
#    answer a 503) and a new daemon on the same store delivers every pending one: the 503'd one
#    again after its backoff, none twice, nothing re-announced for the conditions still standing;
#  - the receiver checks each X-Netconverge-Signature with the shared secret (HMAC-SHA256 of the
#    body); a wrong secret or a changed body does not verify;
#  - the webhook's URL (its path and query can be a secret) is in neither the store nor the log.
# Usage: notify_test.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN=$1
SRC=$2
. "$(dirname "$0")/lib.sh"

start_vyos_sim
sim() { curl -sS --cacert "$work/ca.pem" "$@"; }
# A foreign rule (no ownership tag) on TCP 8443 of eth0, and a value the router refuses at commit.
sim --data-binary $'set nat destination rule 500 inbound-interface name \'eth0\'\nset nat destination rule 500 destination port \'8443\'\nset nat destination rule 500 protocol \'tcp\'\nset nat destination rule 500 translation address \'10.9.9.9\'\n' \
  "https://127.0.0.1:$VPORT/_sim/config" > /dev/null
sim -d '{"reject_values": ["8089"]}' "https://127.0.0.1:$VPORT/_sim/faults" > /dev/null

M=$work/m
mkdir -p "$M"
write_edge1_device "$M/edge1.yaml" $'  pollInterval: 1s\n'
pf() {  # pf NAME PORT [EXTRA spec lines]
  printf 'apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: %s}\nspec:\n  deviceRef: edge1\n  vm: %s\n  internalAddress: 192.168.10.20\n  inboundInterface: eth0\n%s  ports:\n    - {name: p, protocol: tcp, externalPort: %s, internalPort: 80}\n' \
    "$1" "$1" "${3:-}" "$2" > "$M/$1.yaml"
}
pf web 8443   # conflicts with rule 500: ConflictDetected
pf bad 8089   # refused by the router: DeviceRejected
pf rep 8022 $'  driftPolicy: Report\n'

# The receiver's own certificate (the daemon trusts it with --notify-ca-file) and the secret.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/hook.key" -out "$work/hook.pem" > /dev/null 2>&1
SECRET=hook-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$SECRET" > "$work/hook.secret"
HPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="https://127.0.0.1:$HPORT/hooks/T0SECRETPATH?token=Q1SECRETQUERY"
printf 'notify-webhook:\n  - "%s"\nnotify-secret-file: %s\nnotify-ca-file: %s\n' \
  "$URL" "$work/hook.secret" "$work/hook.pem" > "$work/config.yaml"
STORE=$work/nc.db
daemon() {
  "$BIN/netconverge" run --config "$work/config.yaml" --manifests "$M" --store "$STORE" \
    --listen 127.0.0.1:0 --log-level info >> "$work/d.log" 2>&1 &
  DPID=$!
  pids+=($DPID)
  wait_until 20 '[ "$(grep -c "admin HTTP API on" "$work/d.log")" -ge "$1" ]'
  H=http://127.0.0.1:$(sed -n 's|.*admin HTTP API on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$work/d.log" | tail -1)
}
metric() { curl -s "$H/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
daemon 1

# 1. While the webhook is down.
wait_until 30 'rules | grep -q "destination port .8022."'
check "rep is applied, web (conflict) and bad (rejected) are not" \
  'rules | grep -q "destination port .8022." && ! rules | grep -q "destination port .8089." && [ "$(rules | grep -c "destination port .8443.")" = 1 ]'
# An out-of-band change of the Report-mode rule: reported, not reverted.
N=$(rules | sed -n "s/^set nat destination rule \([0-9]*\) destination port .8022.$/\1/p")
sim --data-binary "set nat destination rule $N translation port '8181'" "https://127.0.0.1:$VPORT/_sim/config" > /dev/null
wait_until 30 '[ "$(metric netconverge_notifications_pending)" = 3 ]'
check "three notifications pending: the conflict, the rejection, the drift" '[ "$(metric netconverge_notifications_pending)" = 3 ]'
wait_until 20 'curl -s "$H/metrics" | grep -q "^netconverge_notifications_total{reason=\"DriftDetected\",result=\"failed\"}"'
check "the attempts that found the webhook down are counted as failed" \
  'for r in ConflictDetected DeviceRejected DriftDetected; do curl -s "$H/metrics" | grep -q "^netconverge_notifications_total{reason=\"$r\",result=\"failed\"} [1-9]" || exit 1; done'
check "the drift is reported, not reverted (the router keeps 8181)" 'rules | grep -q "rule $N translation port .8181."'
check "the outbox holds the webhook's id, never its URL" \
  '[ "$(sqlite3 "$STORE" "SELECT COUNT(*) FROM outbox WHERE outcome = '"''"'")" = 3 ] && ! sqlite3 "$STORE" .dump | grep -q SECRET'

# 2. Killed before any delivery; the receiver comes up (first answer 503); a new daemon.
kill -9 "$DPID"
wait "$DPID" 2> /dev/null
python3 "$SRC/test/e2e/webhook_receiver.py" --port "$HPORT" --cert "$work/hook.pem" --key "$work/hook.key" \
  --log "$work/hooks.jsonl" --fail-first 1 > "$work/receiver.log" 2>&1 &
pids+=($!)
wait_until 10 'python3 -c "import socket; socket.create_connection((\"127.0.0.1\", $HPORT), 1)" 2> /dev/null'
daemon 2
delivered() { [ -f "$work/hooks.jsonl" ] && grep -c '"status": 200' "$work/hooks.jsonl"; }
wait_until 60 '[ "$(delivered)" -ge 3 ] && [ "$(metric netconverge_notifications_pending)" = 0 ]'
check "the restarted daemon delivered the three pending notifications" '[ "$(delivered)" = 3 ] && [ "$(metric netconverge_notifications_pending)" = 0 ]'
wait_until 20 'idle "$H"'
sleep_free_check=$(python3 - "$work/hooks.jsonl" "$SECRET" <<'PY'
import hashlib, hmac, json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
secret = sys.argv[2].encode()
ok = [r for r in reqs if r["status"] == 200]
def valid(body, header, key=secret):
    want = "sha256=" + hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, header)
out = []
out.append(all(valid(r["body"], r["headers"]["x-netconverge-signature"]) for r in reqs))
out.append(not any(valid(r["body"], r["headers"]["x-netconverge-signature"], b"wrong-secret") for r in reqs))
out.append(not any(valid(r["body"].replace("edge1", "edge2"), r["headers"]["x-netconverge-signature"]) for r in reqs))
bodies = [json.loads(r["body"]) for r in ok]
reasons = sorted(b["reason"] for b in bodies)
out.append(reasons == ["ConflictDetected", "DeviceRejected", "DriftDetected"])
by = {b["reason"]: b for b in bodies}
out.append(by["ConflictDetected"]["resource"] == "default/web" and "rule 500" in by["ConflictDetected"]["message"])
out.append(by["DeviceRejected"]["resource"] == "default/bad" and "8089" in by["DeviceRejected"]["message"])
out.append(by["DriftDetected"]["resource"] == "default/rep" and "reported, not reverted" in by["DriftDetected"]["message"])
out.append(all(b["kind"] == "Notification" and b["apiVersion"] == "netconverge.io/v1alpha1" and b["device"] == "default/edge1"
               and b["severity"] == "warning" and b["text"].startswith("netconverge " + b["reason"] + " on default/edge1") for b in bodies))
ids = [r["headers"]["x-netconverge-delivery"] for r in ok]
out.append(len(set(ids)) == 3)
# The one answered 503 came again (the same delivery id) and was accepted.
first = reqs[0]
out.append(first["status"] == 503 and any(r["headers"]["x-netconverge-delivery"] == first["headers"]["x-netconverge-delivery"] for r in ok))
out.append(all(r["path"] == "/hooks/T0SECRETPATH?token=Q1SECRETQUERY" and r["headers"]["content-type"] == "application/json"
               and r["headers"]["x-netconverge-event"] == json.loads(r["body"])["reason"] for r in reqs))
print(" ".join("1" if x else "0" for x in out))
PY
)
echo "receiver checks: $sleep_free_check"
read -r SIG_OK WRONG_KEY TAMPERED REASONS CONFLICT REJECTED DRIFT SHAPE IDS RETRIED PATH_OK <<< "$sleep_free_check"
check "every request carries X-Netconverge-Signature: sha256=HMAC-SHA256(secret, body)" '[ "$SIG_OK" = 1 ]'
check "a wrong secret does not verify" '[ "$WRONG_KEY" = 1 ]'
check "a changed body does not verify" '[ "$TAMPERED" = 1 ]'
check "one of each: ConflictDetected, DeviceRejected, DriftDetected" '[ "$REASONS" = 1 ]'
check "the conflict names default/web and rule 500" '[ "$CONFLICT" = 1 ]'
check "the rejection names default/bad and the router's refusal of 8089" '[ "$REJECTED" = 1 ]'
check "the drift names default/rep, reported not reverted" '[ "$DRIFT" = 1 ]'
check "the documented body: apiVersion, kind, device, severity, text" '[ "$SHAPE" = 1 ]'
check "three distinct X-Netconverge-Delivery ids: none delivered twice" '[ "$IDS" = 1 ]'
check "the delivery answered 503 came again after its backoff and was accepted" '[ "$RETRIED" = 1 ]'
check "sent to the URL's path and query, as JSON, X-Netconverge-Event its reason" '[ "$PATH_OK" = 1 ]'
check "the conditions still standing were not announced again by the new daemon" \
  '[ "$(wc -l < "$work/hooks.jsonl")" = 4 ] && [ "$(sqlite3 "$STORE" "SELECT COUNT(*) FROM outbox")" = 3 ]'
check "counted: delivered 1 per reason, the 503 as failed" \
  'for r in ConflictDetected DeviceRejected DriftDetected; do curl -s "$H/metrics" | grep -q "^netconverge_notifications_total{reason=\"$r\",result=\"delivered\"} 1$" || exit 1; done'
check "the log names the webhook by host and id, never its path or query" \
  'grep -q "delivered to webhook [0-9a-f]\{16\} (127.0.0.1)" "$work/d.log" && ! grep -q SECRET "$work/d.log"'
summary
