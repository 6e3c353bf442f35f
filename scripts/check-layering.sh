#!/usr/bin/env bash
# The rings of docs/architecture.md, checked: which folder may include which, and which library
# may link which (the link closures CMake writes to build/layering/<lib>.links at configure).
# Fails listing every offending include or link.
# Usage: scripts/check-layering.sh SOURCE_ROOT LAYERING_DIR
set -u
root=${1:?source root} links=${2:?layering dir}
fail=0

# folder | the folders its files may include (netconverge's own; system headers are free)
rules=(
  "controller/core|controller/core controller/api"
  "controller/api|controller/api controller/core"
  "controller/store|controller/store controller/core controller/runtime"
  "controller/runtime|controller/runtime controller/core"
  "transport|transport controller/core"
  "adapters|adapters transport controller/core"
  "controller/source|controller/source controller/core controller/api controller/store controller/runtime transport"
  "controller/reconcilers|controller/reconcilers controller/core controller/store controller/runtime controller/source adapters transport"
  "controller/http|controller/http controller/core"
  "controller/manager|controller/manager controller/core controller/api controller/store controller/runtime controller/source controller/reconcilers controller/http controller/metrics adapters transport"
  "controller/metrics|controller/metrics"
)
for rule in "${rules[@]}"; do
  dir=${rule%%|*}
  allowed=${rule#*|}
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$line")
    ok=0
    for a in $allowed; do
      [[ $inc == "$a"/* ]] && ok=1
    done
    if [ $ok -eq 0 ]; then
      echo "layering: $file includes $inc ($dir may include only: $allowed)" >&2
      fail=1
    fi
  done < <(grep -rnE '#include "(controller|adapters|transport|test)/' "$root/$dir" --include=*.hpp --include=*.cpp | sed "s|^$root/||")
done

# library | libraries it must not reach
forbidden=(
  "nc_core|nc_store nc_runtime nc_source nc_http_client nc_ssh nc_vyos nc_switch nc_reconcilers"
  "nc_http_client|nc_store nc_source nc_vyos nc_vyos_codec nc_switch nc_reconcilers"
  "nc_ssh|nc_store nc_source nc_vyos nc_switch nc_reconcilers"
  "nc_source|nc_vyos nc_vyos_codec nc_switch nc_switch_dialects nc_reconcilers nc_manager nc_cli"
  "nc_reconcilers|nc_manager nc_cli nc_http nc_metrics"
  "nc_manager|nc_cli"
  "nc_store|nc_source nc_vyos nc_switch nc_http_client nc_ssh nc_reconcilers"
  "nc_vyos|nc_store nc_source nc_reconcilers nc_cli"
  "nc_switch|nc_store nc_source nc_reconcilers nc_cli"
)
for rule in "${forbidden[@]}"; do
  lib=${rule%%|*}
  file=$links/$lib.links
  if [ ! -f "$file" ]; then
    echo "layering: $file is missing (run cmake)" >&2
    fail=1
    continue
  fi
  for f in ${rule#*|}; do
    if grep -qx "$f" "$file"; then
      echo "layering: $lib links $f" >&2
      fail=1
    fi
  done
  echo "$lib links: $(tr '\n' ' ' < "$file")"
done
[ $fail -eq 0 ] && echo "layering holds: ${#rules[@]} folder rules, ${#forbidden[@]} link rules"
exit $fail
