#!/usr/bin/env bash
# Real third-party clients against the emulators' SSH CLIs, unmodified: Debian's Ansible
# (vyos.vyos over ansible.netcommon.network_cli and paramiko) - vyos_facts, vyos_command,
# vyos_config with its default commit comment and save: true, then the same vyos_config again,
# which must report no change; netmiko's vyos driver; and OpenSSH's exec channel with exit
# status against vyos-sim and switch-sim. Host keys are checked everywhere (known_hosts).
# Usage: interop_test.sh BIN_DIR
set -uo pipefail
BIN=$1
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3  # Debian's python, where python3-netmiko lives

for tool in ansible-playbook ssh ssh-keygen; do
  command -v "$tool" > /dev/null || { echo "FAIL - $tool is missing (scripts/install-deps.sh --test installs it)"; exit 1; }
done
$PY -c 'import netmiko' 2> /dev/null || { echo "FAIL - python3-netmiko is missing (scripts/install-deps.sh --test)"; exit 1; }

export HOME=$work/home
mkdir -p "$HOME/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$work/id"
start_vyos_sim --ssh --ssh-port-file "$work/sshport" --ssh-password vyos-pass --ssh-authorized-key "$work/id.pub" \
  --ssh-host-key "$work/vyos_host_key"
SSHPORT=$(wait_port "$work/sshport")
echo "[127.0.0.1]:$SSHPORT $(ssh-keygen -y -f "$work/vyos_host_key")" > "$HOME/.ssh/known_hosts"
sim() { curl -sS --cacert "$work/ca.pem" "https://127.0.0.1:$VPORT$1"; }
SSH=(ssh -p "$SSHPORT" -i "$work/id" -o UserKnownHostsFile="$HOME/.ssh/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes)

# --- Ansible vyos.vyos ---------------------------------------------------------------------
cat > "$work/ansible.cfg" << 'C'
[defaults]
inventory = inventory
host_key_checking = True
[persistent_connection]
command_timeout = 30
connect_timeout = 30
C
cat > "$work/inventory" << I
[vyos]
sim ansible_host=127.0.0.1 ansible_port=$SSHPORT
[vyos:vars]
ansible_connection=ansible.netcommon.network_cli
ansible_network_os=vyos.vyos.vyos
ansible_user=vyos
ansible_password=vyos-pass
I
cat > "$work/play.yml" << 'P'
- hosts: vyos
  gather_facts: false
  vars:
    rule:
      - set nat destination rule 500 description 'ansible rule'
      - set nat destination rule 500 destination port '8500'
      - set nat destination rule 500 inbound-interface name 'eth0'
      - set nat destination rule 500 protocol 'tcp'
      - set nat destination rule 500 translation address '192.168.50.5'
  tasks:
    - vyos.vyos.vyos_facts:
      register: facts
    - vyos.vyos.vyos_command:
        commands: ["show version", "show configuration commands | grep host-name"]
      register: cmd
    - vyos.vyos.vyos_config: {lines: "{{ rule }}", save: true}
      register: first
    - vyos.vyos.vyos_config: {lines: "{{ rule }}", save: true}
      register: second
    - copy:
        dest: "{{ playbook_dir }}/result.json"
        content: "{{ {'version': facts.ansible_facts.ansible_net_version, 'hostname': facts.ansible_facts.ansible_net_hostname,
                     'cmd': cmd.stdout_lines, 'first': first.changed, 'second': second.changed} | to_json }}"
      delegate_to: localhost
P
(cd "$work" && ANSIBLE_CONFIG="$work/ansible.cfg" timeout 300 ansible-playbook play.yml > "$work/ansible.log" 2>&1); rc=$?
check "ansible-playbook with vyos.vyos runs to the end against vyos-sim" '[ $rc -eq 0 ] || { tail -30 "$work/ansible.log"; false; }'
check "vyos_facts reads the version and host name" '$PY -c "import json,sys; d=json.load(open(sys.argv[1])); assert \"1.5-rolling\" in d[\"version\"] and d[\"hostname\"] == \"vyos-sim\"" "$work/result.json"'
check "vyos_command runs show commands, pipes included" '$PY -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"cmd\"][0][0].startswith(\"Version:\") and d[\"cmd\"][1] == [\"set system host-name '"'"'vyos-sim'"'"'\"]" "$work/result.json"'
check "vyos_config changes the router, and the same run again reports changed: false" '$PY -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"first\"] is True and d[\"second\"] is False" "$work/result.json"'
check "the rule is on the router (vyos-sim's own rendering)" 'sim "/_sim/config?format=commands" | grep -q "set nat destination rule 500 translation address '"'"'192.168.50.5'"'"'"'
check "committed with vyos_config's default comment" '"${SSH[@]}" vyos@127.0.0.1 "show system commit" 2> /dev/null | grep -q "configured by vyos_config"'
check "saved (save: true)" 'sim /_sim/stats | grep -q "\"saves\":1,"'

# --- netmiko's vyos driver -------------------------------------------------------------------
cat > "$work/nm.py" << 'N'
import sys
from netmiko import ConnectHandler
c = ConnectHandler(device_type="vyos", host="127.0.0.1", port=int(sys.argv[1]), username="vyos", password="vyos-pass",
                   ssh_strict=True, system_host_keys=True, timeout=20)
assert c.send_command("show version").startswith("Version:")
c.send_config_set(["set nat destination rule 600 destination port '8600'", "set nat destination rule 600 inbound-interface name 'eth0'",
                   "set nat destination rule 600 protocol 'tcp'", "set nat destination rule 600 translation address '192.168.60.6'"])
c.commit(comment="by netmiko")
c.exit_config_mode()
assert "rule 600 protocol 'tcp'" in c.send_command("show configuration commands | grep 'rule 600'")
c.disconnect()
print("netmiko ok")
N
check "netmiko's vyos driver configures, commits with a comment and reads back" 'timeout 120 $PY "$work/nm.py" "$SSHPORT" > "$work/nm.log" 2>&1 || { cat "$work/nm.log"; false; }'

# --- OpenSSH exec channel ------------------------------------------------------------------
out=$("${SSH[@]}" vyos@127.0.0.1 'show version' 2> /dev/null); rc=$?
check "ssh vyos-sim 'show version': the output and exit status 0" '[ $rc -eq 0 ] && [[ "$out" == Version:* ]]'
"${SSH[@]}" vyos@127.0.0.1 'show bogus' > /dev/null 2>&1; rc=$?
check "an invalid command over exec: exit status 1" '[ $rc -eq 1 ]'
printf 'exit\n' | "${SSH[@]}" -tt vyos@127.0.0.1 > /dev/null 2>&1; rc=$?
check "an interactive session that logs out ends with exit status 0" '[ $rc -eq 0 ]'

start_switch_sim 0 --user admin --authorized-key "$work/id.pub"
SWPORT=$PORT
echo "[127.0.0.1]:$SWPORT $(ssh-keygen -y -f "$work/host_key")" >> "$HOME/.ssh/known_hosts"
out=$("${SSH[@]/$SSHPORT/$SWPORT}" admin@127.0.0.1 'show config | flatten' 2> /dev/null); rc=$?
check "ssh switch-sim 'show config | flatten': the output and exit status 0" '[ $rc -eq 0 ] && [[ "$out" == *interfaces* || -n "$out" ]]'
"${SSH[@]/$SSHPORT/$SWPORT}" admin@127.0.0.1 'show bogus-word' > /dev/null 2>&1; rc=$?
check "switch-sim: a rejected command over exec exits 1" '[ $rc -eq 1 ]'
# DNOS is no netmiko device type: plain paramiko (what netmiko is built on), host key checked.
cat > "$work/pk.py" << 'K'
import os, sys, time, paramiko
c = paramiko.SSHClient()
c.load_host_keys(os.path.expanduser("~/.ssh/known_hosts"))
c.set_missing_host_key_policy(paramiko.RejectPolicy())
c.connect("127.0.0.1", port=int(sys.argv[1]), username="admin", key_filename=sys.argv[2], look_for_keys=False, allow_agent=False, timeout=20)
ch = c.invoke_shell()
ch.send("show config | flatten | no-more\nexit\n")
out = b""
deadline = time.time() + 20
while time.time() < deadline and not ch.exit_status_ready():
    if ch.recv_ready():
        out += ch.recv(65536)
    time.sleep(0.02)
while ch.recv_ready():
    out += ch.recv(65536)
assert b"config-start" in out and b"config-end" in out, out
assert ch.recv_exit_status() == 0
print("paramiko ok")
K
check "paramiko's interactive shell on switch-sim: show config, logout with exit status 0" '$PY "$work/pk.py" "$SWPORT" "$work/id" > "$work/pk.log" 2>&1 || { cat "$work/pk.log"; false; }'

summary
