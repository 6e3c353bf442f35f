#!/usr/bin/env bash
# `make fuzz FUZZ_SECONDS=N`: builds the libFuzzer harnesses with clang (address and undefined
# sanitizers, build-fuzz/) and runs each for N seconds on a corpus seeded from ../shared/data,
# test/data and the examples. Prints a table; exits 1 if any harness found a crash, a leak or a
# timeout (its input is kept in build-fuzz/artifacts/ - make it a regression test).
# Usage: scripts/fuzz.sh SECONDS [harness...]
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
B=build-fuzz
ALL=(fuzz_manifest fuzz_vyos_config fuzz_showconfig fuzz_dnos fuzz_admin_request fuzz_kubeconfig)
HARNESSES=("${@:-${ALL[@]}}")
[ $# -eq 0 ] && HARNESSES=("${ALL[@]}")
SHARED=${NC_SHARED_DIR:-}
for c in ../shared /work/shared; do [ -z "$SHARED" ] && [ -d "$c/data/vyos-1x" ] && SHARED=$c; done

cmake -S . -B "$B" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNC_FUZZ=ON \
  -DNC_SANITIZE=address,undefined > /dev/null || exit 1
cmake --build "$B" -j"${JOBS:-2}" --target "${HARNESSES[@]}" > "$B.build.log" 2>&1 || { tail -40 "$B.build.log"; exit 1; }

seed() {  # seed HARNESS DIR: the starting inputs
  local h=$1 d=$2
  mkdir -p "$d"
  case $h in
    fuzz_manifest)
      cp manifests/*.yaml test/data/broken-manifests/*.yaml "$d/" 2>/dev/null
      for f in docs/*.md; do  # the YAML examples of the docs
        python3 - "$f" "$d" <<'PY'
import re, sys, pathlib
text = pathlib.Path(sys.argv[1]).read_text()
for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", text, re.S)):
    pathlib.Path(sys.argv[2], f"{pathlib.Path(sys.argv[1]).stem}-{i}.yaml").write_text(block)
PY
      done ;;
    fuzz_vyos_config)
      [ -n "$SHARED" ] && cp "$SHARED"/data/vyos-1x/corpus/* "$d/" 2>/dev/null
      [ -n "$SHARED" ] && cp "$SHARED"/data/vyos-1x/configs/* "$d/" 2>/dev/null ;;
    fuzz_showconfig)
      printf '%s' '{"success": true, "error": null, "data": {"rule": {"100": {"destination": {"port": "25"}, "inbound-interface": {"name": "eth0"}, "protocol": "tcp", "translation": {"address": "192.168.10.5", "port": "2525"}, "description": "[netconverge] a/b ssh", "disable": {}, "log": {}}}}}' > "$d/rules.json"
      # The data alone (the harness also wraps its input in an envelope: streamed vs DOM reader).
      printf '%s' '{"rule": {"100": {"destination": {"port": "25"}, "inbound-interface": {"name": "eth0"}, "protocol": "tcp", "source": {"group": {"address-group": "G"}}}, "200": {"description": "x", "translation": {"address": "10.0.0.1"}}}}' > "$d/data.json"
      printf '%s' '{"success": false, "error": "Configuration under specified path is empty\n", "data": null}' > "$d/empty.json"
      printf '%s' '{"success": true, "error": null, "data": {"rule": {"10": {"destination": {"port": ["80", "443"]}, "inbound-interface": "eth1", "source": {"address": "!10.0.0.0/8"}}}}}' > "$d/multi.json" ;;
    fuzz_dnos)
      printf 'interfaces ge100-0/0/1.100 vlan-id 100\ninterfaces ge100-0/0/1.100 admin-state enabled\ninterfaces ge100-0/0/1.100 description "[netconverge] a"\nnetwork-services bridge-domain instance BD-100 interface ge100-0/0/1.100\n\0DNOS 19.1\0No pending commit\n' > "$d/observed" ;;
    fuzz_admin_request)
      printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n' > "$d/get"
      printf 'POST /v1/admin/devices/edge1/rollback?namespace=default HTTP/1.1\r\nHost: x\r\nX-API-Key: fuzz-admin-key-0123456789\r\nContent-Length: 15\r\n\r\n{"snapshot": 1}' > "$d/post"
      printf 'GET /v1/devices HTTP/1.1\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIiwicm9sZSI6InZpZXdlciIsImV4cCI6OTk5OTk5OTk5OX0.c2ln\r\n\r\n' > "$d/jwt" ;;
    fuzz_kubeconfig)
      cat > "$d/kubeconfig" <<'KC'
apiVersion: v1
kind: Config
current-context: ctx
contexts: [{name: ctx, context: {cluster: c, user: u, namespace: netconverge}}]
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: "LS0tLS1CRUdJTg=="}}]
users: [{name: u, user: {token: abc}}]
KC
      ;;
  esac
}

mkdir -p "$B/artifacts"
failed=0
printf '%-20s %8s %12s %10s  %s\n' harness seconds executions corpus result
for h in "${HARNESSES[@]}"; do
  corpus="$B/corpus/$h"
  seeds="$B/seeds/$h"
  rm -rf "$seeds"
  mkdir -p "$corpus"
  seed "$h" "$seeds"
  log="$B/$h.log"
  start=$(date +%s)
  # FUZZ_SEED (CI sets 1): the same mutation sequence each run, so a finding reproduces.
  "$B/bin/$h" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    ${FUZZ_SEED:+-seed=$FUZZ_SEED} \
    -artifact_prefix="$B/artifacts/$h-" "$corpus" "$seeds" > "$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  size=$(ls "$corpus" | wc -l)
  if [ $rc -eq 0 ]; then result=clean; else result="FOUND (rc $rc, see $log)"; failed=1; fi
  printf '%-20s %8s %12s %10s  %s\n' "$h" "$took" "${execs:-?}" "$size" "$result"
done
exit $failed
