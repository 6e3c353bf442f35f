#!/usr/bin/env bash
# The core and the codecs are pure: no Boost/Asio, spdlog, SQLite, libssh, yaml-cpp, sockets,
# files, clocks or threads. Fails listing every offending line.
set -u
root=${1:-.}
pure=("$root/controller/core" "$root/controller/api/v1alpha1/types.hpp" "$root/controller/api/v1alpha1/types.cpp"
      "$root/adapters/vyos/config_tree.hpp" "$root/adapters/vyos/config_tree.cpp" "$root/adapters/vyos/schema.hpp"
      "$root/adapters/vyos/schema.cpp" "$root/adapters/vyos/vyos_codec.hpp" "$root/adapters/vyos/vyos_codec.cpp"
      "$root/adapters/vyos/importer.hpp" "$root/adapters/vyos/importer.cpp" "$root/adapters/switch/dialect.hpp"
      "$root/adapters/switch/dnos_dialect.hpp" "$root/adapters/switch/dnos_dialect.cpp"
      "$root/adapters/switch/vlan_importer.hpp" "$root/adapters/switch/vlan_importer.cpp")
pattern='#include <(boost/|spdlog/|sqlite3\.h|libssh/|yaml-cpp/|thread>|fstream>|filesystem>|mutex>|chrono>)|std::chrono::(system|steady)_clock::now|std::this_thread|time\(nullptr\)'
if grep -rnE "$pattern" "${pure[@]}"; then
  echo "purity check failed: the lines above bring I/O, clocks or threads into a pure ring" >&2
  exit 1
fi
echo "pure rings are pure"
