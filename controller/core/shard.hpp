// Devices sharded across replicas (`run --shards N --shard-index I`): each device belongs to
// exactly one of N shards, by a stable hash of its key (namespace/name) or by its label
// netconverge.io/shard. Every replica computes the same answer from the same manifests, with no
// coordination: the hash is FNV-1a 64 (fixed, unlike std::hash), taken modulo N. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/api/v1alpha1/types.hpp"
#include "controller/core/model.hpp"

namespace nc::core {

inline constexpr const char* kShardLabel = "netconverge.io/shard";
/// The largest shard count (and label value + 1) accepted.
inline constexpr int kMaxShards = 1024;

struct ShardSpec {
  int count = 1;  // 1: not sharded, every device is this replica's
  int index = 0;
  bool sharded() const { return count > 1; }
  /// Whether this replica speaks for a device of `shard`: its own, and on shard 0 also a device
  /// whose label names a shard that does not exist (no one manages it; shard 0 says so).
  bool ReportsFor(int shard) const { return shard == index || (shard >= count && index == 0); }
};

/// FNV-1a 64 of `device_key` ("namespace/name") modulo `count`.
int HashShard(std::string_view device_key, int count);

/// The label's value as a shard index (a decimal 0 to kMaxShards-1), or nullopt.
std::optional<int> ParseShardLabel(std::string_view value);

/// The shard of a device: its label (Device::shard_label) when set, else HashShard of its key.
int ShardOf(const Device& device, int count);

/// The shard of a device known only by key and the raw label text (null: no label; a label that
/// is not a shard index counts as none): for objects that did not validate.
int ShardOfKey(std::string_view device_key, const std::string* label, int count);

/// Leaves in `desired` only the devices of shard `spec.index`, with their rules, VLAN interfaces
/// and held deletions. A device whose label names a shard >= spec.count belongs to no shard: it
/// is left out everywhere and, on shard 0, reported as a problem of its label.
std::vector<api::Problem> KeepShard(DesiredState& desired, const ShardSpec& spec);

}  // namespace nc::core
