#!/usr/bin/env bash
# The real binaries against switch-sim over SSH: plan exit codes, apply, status, the host key
# recorded by accept-new and then pinned, a changed host key refused, and import from a flatten
# file; and a person at OpenSSH: `?` help, `commit and-exit`, the exec channel and exit statuses.
# Usage: switch_cli_test.sh BIN_DIR
set -uo pipefail
BIN=$1
source "$(dirname "$0")/lib.sh"
start_switch_sim 0 --password s3cret-demo
M=$work/manifests
mkdir -p "$M"
printf 'username: admin\npassword: s3cret-demo\n' > "$work/creds.yaml"
cat > "$M/sw1.yaml" <<Y
apiVersion: netconverge.io/v1alpha1
kind: Device
metadata: {name: sw1}
spec:
  platform: dnos
  address: 127.0.0.1:$PORT
  credentialsRef: {file: ../creds.yaml}
  ssh: {knownHosts: ../known_hosts, hostKeyPolicy: accept-new}
---
apiVersion: netconverge.io/v1alpha1
kind: VlanInterface
metadata: {name: web-vlan}
spec: {deviceRef: sw1, interface: ge100-0/0/31, vlan: 251, bridgeDomain: BD-251}
Y
S=$work/nc.db
"$BIN/netconverge" plan --manifests "$M" --store "$S" > "$work/plan" 2>&1; rc=$?
check "plan exits 2 with changes pending" '[ $rc -eq 2 ]'
check "plan lists the interface and the bridge domain" 'grep -q "+ interface ge100-0/0/31.251 (default/web-vlan)" "$work/plan" && grep -q "+ bridge domain BD-251" "$work/plan"'
check "plan shows the exact CLI lines" 'grep -q "interfaces ge100-0/0/31.251 vlan-id 251" "$work/plan" && grep -q "commit confirm 2" "$work/plan"'
check "accept-new recorded the switch's host key" 'grep -q "^\[127.0.0.1\]:$PORT ssh-ed25519 " "$work/known_hosts"'
"$BIN/netconverge" apply --manifests "$M" --store "$S" > "$work/apply" 2>&1; rc=$?
check "apply exits 0" '[ $rc -eq 0 ]'
"$BIN/netconverge" plan --manifests "$M" --store "$S" > "$work/plan2" 2>&1; rc=$?
check "plan exits 0 once converged" '[ $rc -eq 0 ] && grep -q "no changes" "$work/plan2"'
"$BIN/netconverge" status --store "$S" > "$work/status" 2>&1
check "status shows the VLAN interface applied over ssh-cli" 'grep -qE "default/sw1 +default/web-vlan +ge100-0/0/31.251 +251 +Applied" "$work/status" && grep -qE "default/sw1 .*ssh-cli" "$work/status"'
out=$("$BIN/netconverge" test-device sw1 -m "$M" 2>&1); rc=$?
check "test-device on the switch: version, SSH login, configuration read, confirmed commit; exit 0" '[ $rc -eq 0 ] && grep -q "ok *platform version *DNOS" <<< "$out" && grep -q "ok *authentication *SSH login" <<< "$out" && grep -q "ok *read configuration *1 sub-interface(s), 1 bridge domain(s)" <<< "$out" && grep -q "ok *confirmed commit *commit confirm 2" <<< "$out"'

# The switch comes back with another host key on the same port: refused, even under accept-new.
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null
rm -f "$work/host_key"
start_switch_sim "$PORT" --password s3cret-demo
"$BIN/netconverge" plan --manifests "$M" --store "$S" > "$work/plan3" 2>&1; rc=$?
check "a changed host key is refused with a clear error" '[ $rc -eq 1 ] && grep -q "host key has CHANGED" "$work/plan3"'

cat > "$work/flat.txt" <<F
# dnRouter config-start [22-Nov-2026 10:00:00 UTC]
interfaces ge100-0/0/7 admin-state enabled
interfaces ge100-0/0/7.70 l2-service enabled
interfaces ge100-0/0/7.70 vlan-id 70
network-services bridge-domain instance CORE interface ge100-0/0/7.70 ^
# dnRouter config-end
F
"$BIN/netconverge" import --device sw1 --from "$work/flat.txt" > "$work/import.yaml" 2> "$work/import.err"; rc=$?
check "import from a flatten file gives VlanInterface YAML that adopts" '[ $rc -eq 0 ] && grep -q "kind: VlanInterface" "$work/import.yaml" && grep -q "bridgeDomain: CORE" "$work/import.yaml" && grep -q "onConflict: Adopt" "$work/import.yaml"'

mkdir -p "$work/imported" && cp "$M/sw1.yaml" "$work/imported/" && cp "$work/import.yaml" "$work/imported/"
"$BIN/netconverge" validate --manifests "$work/imported" > "$work/validate" 2>&1; rc=$?
check "the imported YAML validates" '[ $rc -eq 0 ]'

# A person (or a script) at OpenSSH, key login, host key checked.
ssh-keygen -q -t ed25519 -N '' -f "$work/id"
rm -f "$work/host_key"
start_switch_sim 0 --user admin --authorized-key "$work/id.pub"
echo "[127.0.0.1]:$PORT $(ssh-keygen -y -f "$work/host_key")" > "$work/ssh_known_hosts"
SSH=(ssh -p "$PORT" -i "$work/id" -o UserKnownHostsFile="$work/ssh_known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes)
out=$("${SSH[@]}" admin@127.0.0.1 'show system version' 2> /dev/null); rc=$?
check "exec 'show system version': DNOS's version, exit status 0" '[ $rc -eq 0 ] && grep -q "Version: DNOS" <<< "$out"'
out=$("${SSH[@]}" admin@127.0.0.1 'show bogus-word' 2> /dev/null); rc=$?
check "exec of an unknown word: exit status 1, the error names the word" '[ $rc -eq 1 ] && grep -q "Unknown word: .bogus-word." <<< "$out"'
printf 'show ?\nconfigure\ninterfaces ge100-0/0/9.90 vlan-id 90\ncommit and-exit\nshow config interfaces ge100-0/0/9.90 | flatten | no-more\nexit\n' |
  "${SSH[@]}" -tt admin@127.0.0.1 > "$work/typed" 2>&1; rc=$?
check "a typed session ends with exit status 0" '[ $rc -eq 0 ]'
check "'show ?' lists the next words" 'grep -q "config .*the configuration" "$work/typed" && grep -q "interfaces .*interface status" "$work/typed"'
check "'commit and-exit' commits and leaves configuration mode" 'grep -q "^interfaces ge100-0/0/9.90 vlan-id 90" "$work/typed" && ! grep -q "(cfg)# show config interfaces" "$work/typed"'
check "'show config PATH' shows only that path" '! grep -q "ge100-0/0/31" "$work/typed"'

summary
