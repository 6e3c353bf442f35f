#!/usr/bin/env bash
# The emulators (vyos-sim, switch-sim, kube-sim) are independent witnesses of real devices: they
# include no netconverge header and their binaries hold no netconverge symbol. Fails listing
# every offending include or symbol. (CMake's nc_check_sim_isolation checks the link graph.)
set -u
root=${1:?source root} bin=${2:?bin dir}
fail=0
if grep -rnE '#include "(controller|adapters|transport)/' "$root/test/sim"; then
  echo "isolation: the emulator sources above include netconverge code" >&2
  fail=1
fi
# Every namespace of netconverge's own code; the emulators live in nc::sim only.
pattern='nc::(core|vyos|api|store|runtime|source|reconcilers|http|metrics|cli|ssh|switchcli|kube|transport)::|nc::(Error|ErrorCodeName|MakeError)\b'
for b in vyos-sim switch-sim kube-sim; do
  if [ ! -x "$bin/$b" ]; then
    echo "isolation: $bin/$b is missing" >&2
    fail=1
    continue
  fi
  hits=$(nm -C "$bin/$b" | grep -E "$pattern" | head -5)
  if [ -n "$hits" ]; then
    echo "isolation: $b holds netconverge symbols:" >&2
    echo "$hits" >&2
    fail=1
  else
    echo "$b: $(nm -C "$bin/$b" | grep -c ' nc::sim::') emulator symbols, 0 netconverge symbols"
  fi
done
exit $fail
