#!/usr/bin/env bash
# Targeted discovery (issue 16, "Done when" 2, the CLI half) with the real binaries: a router and
# a switch whose manifests for one object were lost. `netconverge import --rule N` (vyos-sim) and
# `--interface NAME` / `--bridge-domain NAME` (switch-sim) print exactly one resource for that
# object; with it back in the manifests, `plan` finds nothing to change. An object the device
# does not have is an error naming it; a switch option on a router is refused. Then the daemon's
# GET /v1/devices/{name}/discover names the owner of an owned, a foreign and a missing object
# (rule and sub-interface), says whether it matches its declaration, and gives its YAML.
# Usage: import_target_test.sh BIN_DIR
set -uo pipefail
BIN=$1
. "$(dirname "$0")/lib.sh"
docs() { grep -c '^kind: ' "$1"; }

# The router: db1's two ports applied, then db1's manifest is lost but for its ssh port.
start_vyos_sim
M=$work/m
mkdir -p "$M"
write_edge1_device "$M/edge1.yaml" $'  pollInterval: 300s\n'
db1() {
  printf 'apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: db1}\nspec:\n  deviceRef: edge1\n  vm: db1\n  internalAddress: 192.168.10.40\n  inboundInterface: eth0\n  ports:\n%s' "$1" > "$M/db1.yaml"
}
PG='    - {name: pg, protocol: tcp, externalPort: 15432, internalPort: 5432, sourceAddress: 203.0.113.0/24}
'
SSH='    - {name: ssh, protocol: tcp, externalPort: 2240, internalPort: 22}
'
db1 "$PG$SSH"
"$BIN/netconverge" apply --manifests "$M" --store "$work/r.db" --log-level warn > "$work/apply" 2>&1
check "the router has db1's two ports (rules 10000, 10001)" '[ "$(rules | grep -c "^set nat destination rule 1000[01] destination port")" = 2 ]'
db1 "$SSH"   # the pg port's declaration is lost
"$BIN/netconverge" import --device edge1 --manifests "$M" --rule 10000 > "$M/imported.yaml" 2> "$work/import.err"
check "import --rule 10000: exit 0, exactly one PortForward with one port pinned to 10000" \
  '[ $? = 0 ] && [ "$(docs "$M/imported.yaml")" = 1 ] && grep -q "^kind: PortForward" "$M/imported.yaml" && [ "$(grep -c "ruleNumber:" "$M/imported.yaml")" = 1 ] && grep -q "ruleNumber: 10000" "$M/imported.yaml" && grep -q "externalPort: \"15432\"" "$M/imported.yaml"'
"$BIN/netconverge" plan --manifests "$M" --store "$work/r.db" > "$work/plan" 2>&1; rc=$?
check "applied back with the rest, it changes nothing on the router (plan exit 0, no operations)" '[ $rc = 0 ] && grep -q "no changes" "$work/plan" || { cat "$work/plan"; false; }'
"$BIN/netconverge" import --device edge1 --manifests "$M" --rule 10005 > /dev/null 2> "$work/norule"; rc=$?
check "a rule the router does not have: exit 1 naming it" '[ $rc = 1 ] && grep -q "device default/edge1 has no destination rule 10005" "$work/norule"'
"$BIN/netconverge" import --device edge1 --manifests "$M" --interface eth0.10 > /dev/null 2> "$work/wrongkind"; rc=$?
check "--interface on a router: exit 1, --rule is the router's" '[ $rc = 1 ] && grep -q "for switches; device default/edge1 is a router (--rule N)" "$work/wrongkind"'
rules > "$work/rules-file"
"$BIN/netconverge" import --device edge1 --from "$work/rules-file" --rule 10001 > "$work/from.yaml" 2> /dev/null
check "import --from FILE --rule 10001: the one rule from a saved configuration" '[ $? = 0 ] && [ "$(docs "$work/from.yaml")" = 1 ] && grep -q "ruleNumber: 10001" "$work/from.yaml" && [ "$(grep -c "ruleNumber:" "$work/from.yaml")" = 1 ]'

# The switch: two VLAN interfaces applied, then web-vlan's manifest is lost.
# Its configuration at start has a sub-interface made by hand (foreign to netconverge).
printf 'interfaces ge100-0/0/5.100 vlan-id 100\ninterfaces ge100-0/0/5.100 description "uplink to core (by hand)"\n' > "$work/sw-initial.flat"
start_switch_sim 0 --password s3cret-demo --config "$work/sw-initial.flat"
S=$work/s
mkdir -p "$S"
printf 'username: admin\npassword: s3cret-demo\n' > "$work/sw-creds.yaml"
printf 'apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: sw1}\nspec:\n  platform: dnos\n  address: 127.0.0.1:%s\n  credentialsRef: {file: ../sw-creds.yaml}\n  ssh: {knownHosts: ../known_hosts, hostKeyPolicy: accept-new}\n' "$PORT" > "$S/sw1.yaml"
vlan() { printf 'apiVersion: netconverge.io/v1alpha1\nkind: VlanInterface\nmetadata: {name: %s}\nspec: {deviceRef: sw1, interface: %s, vlan: %s, bridgeDomain: %s}\n' "$@" > "$S/$1.yaml"; }
vlan web-vlan ge100-0/0/31 251 BD-251
vlan db-vlan ge100-0/0/32 252 BD-252
"$BIN/netconverge" apply --manifests "$S" --store "$work/s.db" --log-level warn > "$work/sapply" 2>&1
check "the switch has both sub-interfaces" '[ $? = 0 ]'
rm "$S/web-vlan.yaml"
"$BIN/netconverge" import --device sw1 --manifests "$S" --interface ge100-0/0/31.251 > "$S/imported.yaml" 2> "$work/simport.err"
check "import --interface ge100-0/0/31.251: exactly one VlanInterface, VLAN 251 in BD-251" \
  '[ $? = 0 ] && [ "$(docs "$S/imported.yaml")" = 1 ] && grep -q "^kind: VlanInterface" "$S/imported.yaml" && grep -q "251" "$S/imported.yaml" && grep -q "BD-251" "$S/imported.yaml" && ! grep -q "ge100-0/0/32\|ge100-0/0/5" "$S/imported.yaml"'
"$BIN/netconverge" plan --manifests "$S" --store "$work/s.db" > "$work/splan" 2>&1; rc=$?
check "applied back, it changes nothing on the switch (plan exit 0)" '[ $rc = 0 ] && grep -q "no changes" "$work/splan" || { cat "$work/splan"; false; }'
"$BIN/netconverge" import --device sw1 --manifests "$S" --bridge-domain BD-252 > "$work/bd.yaml" 2> /dev/null
check "import --bridge-domain BD-252: exactly its one sub-interface" '[ $? = 0 ] && [ "$(docs "$work/bd.yaml")" = 1 ] && grep -q "ge100-0/0/32" "$work/bd.yaml" && grep -q "BD-252" "$work/bd.yaml"'
"$BIN/netconverge" import --device sw1 --manifests "$S" --interface ge100-0/0/9.999 > /dev/null 2> "$work/noif"; rc=$?
check "a sub-interface the switch does not have: exit 1 naming it" '[ $rc = 1 ] && grep -q "has no sub-interface ge100-0/0/9.999" "$work/noif"'

# The discover route, on a daemon for each device (a viewer key).
VIEWER=viewer-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'keys:\n  - {name: grafana, role: viewer, key: %s}\n' "$VIEWER" > "$work/keys.yaml"
chmod 600 "$work/keys.yaml"
daemon() {  # daemon MANIFESTS STORE LOG: sets H
  DLOG=$3
  "$BIN/netconverge" run --manifests "$1" --store "$2" --listen 127.0.0.1:0 --api-keys-file "$work/keys.yaml" > "$DLOG" 2>&1 &
  pids+=($!)
  wait_until 20 'grep -q "admin HTTP API on http://127.0.0.1:" "$DLOG"'
  H=http://127.0.0.1:$(sed -n 's|.*admin HTTP API on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$DLOG" | head -1)
  wait_until 30 'idle "$H"'
}
disc() { curl -s -H "X-API-Key: $VIEWER" "$H/v1/devices/$1/discover?$2"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); v=d
for k in sys.argv[1].split("."): v=v[k]
print(json.dumps(v))' "$1"; }
sim() { curl -sS --cacert "$work/ca.pem" "$@"; }
sim --data-binary $'set nat destination rule 500 destination port \'8443\'\nset nat destination rule 500 inbound-interface name \'eth0\'\nset nat destination rule 500 protocol \'tcp\'\nset nat destination rule 500 translation address \'10.9.9.9\'\n' \
  "https://127.0.0.1:$VPORT/_sim/config" > /dev/null
daemon "$M" "$work/r.db" "$work/rd.log"
R=$H
disc edge1 rule=10001 > "$work/d-owned.json"
check "discover rule 10001: present, owned by default/db1 port ssh, as declared" \
  '[ "$(field present < "$work/d-owned.json")" = true ] && [ "$(field owner < "$work/d-owned.json")" = "\"netconverge\"" ] && [ "$(field resource < "$work/d-owned.json")" = "\"default/db1\"" ] && [ "$(field port < "$work/d-owned.json")" = "\"ssh\"" ] && [ "$(field matchesSpec < "$work/d-owned.json")" = true ]'
disc edge1 rule=500 > "$work/d-foreign.json"
check "discover rule 500 (made by hand): present, foreign, no declaration, its YAML pins 500" \
  '[ "$(field owner < "$work/d-foreign.json")" = "\"foreign\"" ] && [ "$(field matchesSpec < "$work/d-foreign.json")" = null ] && [ "$(field resource < "$work/d-foreign.json")" = null ] && field yaml < "$work/d-foreign.json" | grep -q "ruleNumber: 500"'
disc edge1 rule=777 > "$work/d-missing.json"
check "discover rule 777: absent, owner none, no YAML" \
  '[ "$(field present < "$work/d-missing.json")" = false ] && [ "$(field owner < "$work/d-missing.json")" = "\"none\"" ] && [ "$(field yaml < "$work/d-missing.json")" = null ]'
sim --data-binary "set nat destination rule 10001 translation port '2022'" "https://127.0.0.1:$VPORT/_sim/config" > /dev/null
disc edge1 rule=10001 > "$work/d-drift.json"
check "changed by hand: matchesSpec false, the difference named" \
  '[ "$(field matchesSpec < "$work/d-drift.json")" = false ] && field difference < "$work/d-drift.json" | grep -q "translation port"'
check "discover: rule= on a router, not interface= (400); no key (401); no such device (404)" \
  '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "X-API-Key: $VIEWER" "$H/v1/devices/edge1/discover?interface=eth0")" = 400 ] && [ "$(curl -s -o /dev/null -w "%{http_code}" "$H/v1/devices/edge1/discover?rule=1")" = 401 ] && [ "$(curl -s -o /dev/null -w "%{http_code}" -H "X-API-Key: $VIEWER" "$H/v1/devices/nope/discover?rule=1")" = 404 ]'
daemon "$S" "$work/s.db" "$work/sd.log"
disc sw1 interface=ge100-0/0/31.251 > "$work/s-owned.json"
check "discover ge100-0/0/31.251: owned by the imported VlanInterface, as declared" \
  '[ "$(field owner < "$work/s-owned.json")" = "\"netconverge\"" ] && [ "$(field matchesSpec < "$work/s-owned.json")" = true ] && field resource < "$work/s-owned.json" | grep -q default/'
disc sw1 interface=ge100-0/0/5.100 > "$work/s-foreign.json"
check "discover ge100-0/0/5.100 (configured by hand): foreign, with its YAML" \
  '[ "$(field owner < "$work/s-foreign.json")" = "\"foreign\"" ] && [ "$(field present < "$work/s-foreign.json")" = true ] && field yaml < "$work/s-foreign.json" | grep -q "ge100-0/0/5"'
disc sw1 interface=ge100-0/0/9.999 > "$work/s-missing.json"
check "discover ge100-0/0/9.999: absent, owner none" \
  '[ "$(field present < "$work/s-missing.json")" = false ] && [ "$(field owner < "$work/s-missing.json")" = "\"none\"" ]'
summary
