#!/usr/bin/env bash
# Every curl example of docs/api-reference.md against `make run` (scripts/demo.sh, on a free port
# for the admin API), checked by api_docs_check.py; then the daemon's log must hold no API key,
# JWT secret or token. Usage: api_docs_test.sh SRC BUILD
set -uo pipefail
SRC=$1
BUILD=$2
cd "$SRC"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
DEMO_LISTEN=127.0.0.1:$PORT scripts/demo.sh "$BUILD" > "$log" 2>&1 &
demo=$!
trap 'kill $demo 2>/dev/null; wait $demo 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 300); do grep -q 'Ctrl-C stops both' "$log" && break; kill -0 $demo 2>/dev/null || break; sleep 0.2; done
if ! grep -q 'Ctrl-C stops both' "$log"; then cat "$log"; echo "0 passed, 1 failed (make run did not come up)"; exit 1; fi
python3 test/e2e/api_docs_check.py docs/api-reference.md "$SRC" "$PORT"
rc=$?
# The last example's audit line is the daemon's last word on it: once logged, the log is complete.
wait_for_audit() { grep -q 'api: POST /v1/admin/devices/edge1/rollback from 127.0.0.1 by key:demo-admin' "$log"; }
for _ in $(seq 50); do wait_for_audit && break; sleep 0.1; done
leaks=$(grep -c -e 'demo-admin-key-change-me' -e 'demo-viewer-key-change-me' -e 'demo-jwt-secret' -e 'eyJ' "$log")
if [ "$leaks" -ne 0 ]; then echo "FAIL: $leaks log line(s) hold a credential"; rc=1; else echo "ok: no credential in the daemon's log"; fi
grep -q 'api: POST /v1/admin/devices/edge1/rollback from 127.0.0.1 by key:demo-admin -> 200' "$log" \
  && echo "ok: the rollback is logged with who did it" || { echo "FAIL: no audit line for the rollback"; rc=1; }
exit $rc
