#include "controller/core/shard.hpp"

#include <algorithm>
#include <charconv>

#include "controller/core/values.hpp"

namespace nc::core {

int HashShard(std::string_view device_key, int count) {
  if (count <= 1) return 0;
  return static_cast<int>(Fnv1a64(device_key) % static_cast<uint64_t>(count));
}

std::optional<int> ParseShardLabel(std::string_view value) {
  int n = -1;
  if (value.empty() || value.size() > 4 || (value.size() > 1 && value[0] == '0'))
    return std::nullopt;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < 0 || n >= kMaxShards)
    return std::nullopt;
  return n;
}

int ShardOf(const Device& device, int count) {
  if (count <= 1) return 0;
  return device.shard_label ? *device.shard_label : HashShard(device.Key(), count);
}

int ShardOfKey(std::string_view device_key, const std::string* label, int count) {
  if (count <= 1) return 0;
  if (label)
    if (auto n = ParseShardLabel(*label)) return *n;
  return HashShard(device_key, count);
}

std::vector<api::Problem> KeepShard(DesiredState& desired, const ShardSpec& spec) {
  std::vector<api::Problem> problems;
  if (!spec.sharded()) return problems;
  std::vector<std::string> gone;
  for (const auto& [key, device] : desired.devices) {
    const int shard = ShardOf(device, spec.count);
    if (shard == spec.index) continue;
    gone.push_back(key);
    if (shard >= spec.count && spec.ReportsFor(shard))
      problems.push_back(
          api::Problem{device.source, "Device", key, std::string("metadata.labels.") + kShardLabel,
                       "names shard " + std::to_string(shard) + ", but there are " +
                           std::to_string(spec.count) + " shards (0 to " +
                           std::to_string(spec.count - 1) + "); no replica manages this device"});
  }
  auto mine = [&](const std::string& device) {
    return !std::binary_search(gone.begin(), gone.end(), device);
  };
  for (const auto& key : gone) {
    desired.devices.erase(key);
    desired.held_deletes.erase(key);
  }
  std::erase_if(desired.rules, [&](const PortRule& r) { return !mine(r.device()); });
  std::erase_if(desired.vlans, [&](const VlanRule& v) { return !mine(v.device); });
  // Rules and VLANs of devices that are not declared at all follow their key's hash.
  std::erase_if(desired.rules, [&](const PortRule& r) {
    return !desired.devices.count(r.device()) && HashShard(r.device(), spec.count) != spec.index;
  });
  std::erase_if(desired.vlans, [&](const VlanRule& v) {
    return !desired.devices.count(v.device) && HashShard(v.device, spec.count) != spec.index;
  });
  return problems;
}

}  // namespace nc::core
