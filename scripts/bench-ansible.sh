#!/usr/bin/env bash
# The same port forwards pushed to vyos-sim by unmodified Ansible (vyos.vyos vyos_config over
# network_cli; default settings, and with persistent_buffer_read_timeout lowered) and by
# `netconverge apply` (HTTPS API), on one vyos-sim latency model. Whole-process wall time,
# median of RUNS (3) runs, a fresh router for every run. Prints a Markdown table.
# Usage: scripts/bench-ansible.sh BUILD_DIR [SIZES...]   (default sizes: 100 500)
set -euo pipefail
BUILD=${1:-build}
shift || true
SIZES=("${@:-100 500}")
[ $# -eq 0 ] && SIZES=(100 500)
RUNS=${RUNS:-3}
BIN=$(cd "$BUILD/bin" && pwd)
LATENCY=(--latency-request-ms 5 --latency-op-ms 1 --latency-commit-ms 200 --latency-commit-per-rule-ms 1)
work=$(mktemp -d)
simpid=""
trap '[ -n "$simpid" ] && kill $simpid 2>/dev/null; rm -rf "$work"' EXIT
export HOME=$work/home
mkdir -p "$HOME/.ssh"

start_sim() {
  [ -n "$simpid" ] && kill $simpid 2>/dev/null && wait $simpid 2>/dev/null || true
  rm -f "$work/port" "$work/sshport"
  "$BIN/vyos-sim" --listen 127.0.0.1:0 --port-file "$work/port" --cert-dir "$work" --ssh --ssh-port-file "$work/sshport" \
    --ssh-password bench-pass --ssh-host-key "$work/host_key" "${LATENCY[@]}" > "$work/sim.log" 2>&1 &
  simpid=$!
  for _ in $(seq 100); do [ -s "$work/sshport" ] && [ -s "$work/port" ] && break; sleep 0.05; done
  PORT=$(cat "$work/port")
  SSHPORT=$(cat "$work/sshport")
  echo "[127.0.0.1]:$SSHPORT $(ssh-keygen -y -f "$work/host_key")" > "$HOME/.ssh/known_hosts"
}
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rules_on_router() { curl -sS --cacert "$work/ca.pem" "https://127.0.0.1:$PORT/_sim/config?format=commands" | grep -c "^set nat destination rule .* translation address" || true; }

ansible_run() {  # N [extra ansible.cfg lines]
  local n=$1 extra=${2:-}
  {
    echo "- hosts: vyos"
    echo "  gather_facts: false"
    echo "  tasks:"
    echo "    - vyos.vyos.vyos_config:"
    echo "        lines:"
    for i in $(seq 0 $((n - 1))); do
      r=$((10000 + i))
      echo "          - set nat destination rule $r description 'VM vm$i Port APP'"
      echo "          - set nat destination rule $r destination port '$((30000 + i))'"
      echo "          - set nat destination rule $r inbound-interface name 'eth0'"
      echo "          - set nat destination rule $r protocol 'tcp'"
      echo "          - set nat destination rule $r translation address '192.168.$((i / 250)).$((i % 250 + 1))'"
    done
  } > "$work/play.yml"
  printf '[defaults]\ninventory = inventory\nhost_key_checking = True\n[persistent_connection]\ncommand_timeout = 600\nconnect_timeout = 60\n%s\n' "$extra" > "$work/ansible.cfg"
  printf '[vyos]\nsim ansible_host=127.0.0.1 ansible_port=%s\n[vyos:vars]\nansible_connection=ansible.netcommon.network_cli\nansible_network_os=vyos.vyos.vyos\nansible_user=vyos\nansible_password=bench-pass\n' \
    "$SSHPORT" > "$work/inventory"
  local t0
  t0=$(now)
  (cd "$work" && ANSIBLE_CONFIG="$work/ansible.cfg" ansible-playbook play.yml > "$work/ansible.log" 2>&1) || { tail -20 "$work/ansible.log" >&2; exit 1; }
  echo "$(now) - $t0" | bc
}

netconverge_run() {  # N
  local n=$1
  rm -rf "$work/m" "$work/nc.db" && mkdir -p "$work/m"
  printf 'apiKey: netconverge-demo-key\n' > "$work/creds.yaml"
  printf 'apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: edge1}\nspec:\n  platform: vyos\n  address: 127.0.0.1:%s\n  credentialsRef: {file: ../creds.yaml}\n  tls: {caFile: ../ca.pem}\n' \
    "$PORT" > "$work/m/device.yaml"
  for i in $(seq 0 $((n - 1))); do
    printf -- '---\napiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: vm%s}\nspec:\n  deviceRef: edge1\n  vm: vm%s\n  internalAddress: 192.168.%s.%s\n  inboundInterface: eth0\n  ports:\n    - {name: app, protocol: tcp, externalPort: %s}\n' \
      "$i" "$i" $((i / 250)) $((i % 250 + 1)) $((30000 + i))
  done > "$work/m/pfs.yaml"
  local t0
  t0=$(now)
  "$BIN/netconverge" apply --manifests "$work/m" --store "$work/nc.db" > "$work/nc.log" 2>&1 || { tail -20 "$work/nc.log" >&2; exit 1; }
  echo "$(now) - $t0" | bc
}

echo "| rules | Ansible vyos_config (defaults) | Ansible, persistent_buffer_read_timeout 0.01 | netconverge apply | Ansible ÷ netconverge (defaults / lowered) |"
echo "| --- | --- | --- | --- | --- |"
for n in "${SIZES[@]}"; do
  a=() b=() c=()
  for _ in $(seq "$RUNS"); do
    start_sim; a+=("$(ansible_run "$n")"); [ "$(rules_on_router)" = "$n" ] || { echo "ansible left $(rules_on_router) rules" >&2; exit 1; }
    start_sim; b+=("$(ansible_run "$n" 'buffer_read_timeout = 0.01')")
    [ "$(rules_on_router)" = "$n" ] || { echo "ansible (lowered) left $(rules_on_router) rules" >&2; exit 1; }
    start_sim; c+=("$(netconverge_run "$n")"); [ "$(rules_on_router)" = "$n" ] || { echo "netconverge left $(rules_on_router) rules" >&2; exit 1; }
  done
  ma=$(median "${a[@]}") mb=$(median "${b[@]}") mc=$(median "${c[@]}")
  printf '| %s | %.2f s | %.2f s | %.2f s | %.0f× / %.1f× |\n' "$n" "$ma" "$mb" "$mc" "$(echo "$ma / $mc" | bc -l)" "$(echo "$mb / $mc" | bc -l)"
done
