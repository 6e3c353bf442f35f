# Shared by the end-to-end scripts: a work directory removed at exit with every process started,
# check/ok/bad counters, and the emulators started on free loopback ports.
# Source it after setting BIN; it sets `work` and `pids`.
work=$(mktemp -d)
pids=()
fails=0
passes=0
# KEEP_WORK=1 keeps the work directory (its path printed) to look at after a failure.
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
ok() { passes=$((passes + 1)); echo "ok   - $1"; }
bad() { fails=$((fails + 1)); echo "FAIL - $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
# Prints the totals and fails when anything failed.
summary() {
  echo "$passes passed, $fails failed"
  [ "$fails" -eq 0 ]
}
# wait_until SECONDS 'condition': polls the condition (eval) every 0.1 s until it holds; fails
# after SECONDS. A wait on a condition, never a sleep standing in for one.
wait_until() {
  local end=$((SECONDS + $1))
  until eval "$2"; do
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.1
  done
}
# idle URL: the daemon at URL has loaded its desired state and has nothing queued or running.
idle() {
  curl -s "$1/v1/health" | python3 -c 'import json,sys; l=json.load(sys.stdin)["loop"]; sys.exit(0 if l["queueDepth"]==0 and l["workersBusy"]==0 and l["lastPass"] else 1)' 2>/dev/null
}
# Waits for a port file and prints the port.
wait_port() {
  for _ in $(seq 100); do [ -s "$1" ] && break; sleep 0.05; done
  cat "$1"
}
# start_vyos_sim [vyos-sim flags...]: vyos-sim on a free port, CA in $work/ca.pem; sets PORT and
# VPORT (which `rules` reads; PORT is reused by the next emulator started).
start_vyos_sim() {
  rm -f "$work/port"
  "$BIN/vyos-sim" --listen 127.0.0.1:0 --port-file "$work/port" --cert-dir "$work" "$@" > "$work/sim.log" 2>&1 &
  pids+=($!)
  PORT=$(wait_port "$work/port")
  VPORT=$PORT
}
# start_switch_sim PORT [switch-sim flags...]: switch-sim on PORT (0 = free), host key in
# $work/host_key (created when missing); sets PORT.
start_switch_sim() {
  local want=$1
  shift
  rm -f "$work/port"
  "$BIN/switch-sim" --port "$want" --port-file "$work/port" --host-key "$work/host_key" "$@" > "$work/sim.log" 2>&1 &
  pids+=($!)
  PORT=$(wait_port "$work/port")
}
# start_kube_sim SOURCE_DIR: kube-sim with the CRDs of SOURCE_DIR/crds in $work/kube; sets
# KUBECONFIG, KUBECACHEDIR, API and KUBE_PID. $KUBE_SIM_ARGS: more kube-sim flags.
start_kube_sim() {
  mkdir -p "$work/kube"
  "$BIN/kube-sim" --crds "$1/crds" --port-file "$work/kube/port" --cert-dir "$work/kube" --kubeconfig "$work/kubeconfig" \
    ${KUBE_SIM_ARGS:-} > "$work/kube/sim.log" 2>&1 &
  KUBE_PID=$!
  pids+=($KUBE_PID)
  API=https://127.0.0.1:$(wait_port "$work/kube/port")
  export KUBECONFIG=$work/kubeconfig KUBECACHEDIR=$work/cache
}
# declare_edge1_in_kube KUBECTL: the Secret and the Device edge1 for the vyos-sim on $VPORT.
declare_edge1_in_kube() {
  printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: edge1-credentials}\nstringData: {apiKey: netconverge-demo-key}\n' | "$1" apply -f - > /dev/null
  printf 'apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: edge1}\nspec:\n  platform: vyos\n  address: 127.0.0.1:%s\n  credentialsRef: {name: edge1-credentials}\n  tls: {caFile: %s}\n  pollInterval: 2s\n' \
    "$VPORT" "$work/ca.pem" | "$1" apply -f - > /dev/null
}
# start_kube_with_edge1 SOURCE_DIR KUBECTL: kube-sim (start_kube_sim) with the Device edge1 for
# the vyos-sim on $VPORT declared in it (declare_edge1_in_kube).
start_kube_with_edge1() {
  start_kube_sim "$1"
  declare_edge1_in_kube "$2"
}
# rules: the destination-NAT lines of the vyos-sim on $VPORT.
rules() { curl -sS --cacert "$work/ca.pem" "https://127.0.0.1:$VPORT/_sim/config?format=commands" | grep 'nat destination' ; }
# write_edge1_device FILE EXTRA: the Device edge1 for the vyos-sim on $PORT, credentials in
# ../creds.yaml and the CA in ../ca.pem (relative to FILE), plus EXTRA spec lines.
write_edge1_device() {
  echo "apiKey: netconverge-demo-key" > "$work/creds.yaml"
  printf 'apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: edge1}\nspec:\n  platform: vyos\n  address: 127.0.0.1:%s\n  credentialsRef: {file: ../creds.yaml}\n  tls: {caFile: ../ca.pem}\n%s' \
    "$PORT" "$2" > "$1"
}
