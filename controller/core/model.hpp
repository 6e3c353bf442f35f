// The domain model: validated, normalised desired state (devices, port-forward rules) and the
// observed state of a VyOS destination-NAT rule. Small value types with defaulted comparison so
// that plans can be compared, printed and golden-tested. Pure.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "controller/api/v1alpha1/types.hpp"

namespace nc::core {

enum class Platform { kVyos, kDnos };
enum class ManagementPolicy { kObserve, kCreateUpdate, kFull };
enum class ConflictPolicy { kAbort, kAdopt, kOverride, kSkip };
enum class DriftPolicy { kEnforce, kReport };

const char* ToString(ManagementPolicy p);
std::optional<ManagementPolicy> ParseManagementPolicy(std::string_view s);
const char* ToString(ConflictPolicy p);
const char* ToString(DriftPolicy p);

/// Inclusive range of VyOS NAT rule numbers owned by the controller on one device.
struct RuleRange {
  int first = 10000;
  int last = 19999;
  bool Contains(int n) const { return n >= first && n <= last; }
  int Size() const { return last - first + 1; }
  auto operator<=>(const RuleRange&) const = default;
};

struct Device {
  std::string ns = "default";
  std::string name;
  Platform platform = Platform::kVyos;
  std::string address;  // host or host:port
  std::string transport_primary = "https-api";
  std::string transport_fallback = "ssh-cli";
  std::string credentials_file;  // resolved relative to the manifest file
  std::string credentials_secret;
  std::string tls_ca_file;  // resolved relative to the manifest file
  std::string tls_server_name;
  bool tls_insecure_skip_verify = false;
  ManagementPolicy management = ManagementPolicy::kFull;
  bool paused = false;
  int64_t poll_interval_ms = 30'000;
  bool commit_confirm = true;
  int commit_confirm_minutes = 2;
  bool save_after_confirm = true;
  RuleRange rule_range;
  std::string tag = "netconverge";
  int64_t max_request_bytes = 1 << 20;  // VyOS default request-body-size-limit (1 MB)
  int64_t request_timeout_ms = 0;       // 0: 30 s for reads, 600 s for writes (nginx's limit)
  std::string requested_sync;           // annotation netconverge.io/requested-sync
  std::string ssh_known_hosts;          // known_hosts file (resolved; empty: ~/.ssh/known_hosts)
  bool ssh_accept_new = false;          // hostKeyPolicy accept-new (default strict)
  int64_t ssh_command_timeout_ms = 30'000;  // per CLI command (commits: 4x, at least 120 s)
  int ssh_port = 22;               // VyOS's SSH CLI (the fallback); a switch uses `address`
  std::optional<int> shard_label;  // label netconverge.io/shard (core/shard.hpp)
  api::SourcePos source;

  std::string Key() const { return ns + "/" + name; }
  bool IsSwitch() const { return platform != Platform::kVyos; }
  bool operator==(const Device&) const = default;
};

/// One switch sub-interface as netconverge manages it (DNOS `interfaces <parent>.<n>` and its
/// bridge-domain membership). Defaults are the device's: a sub-interface is admin-enabled and
/// not an L2 service unless configured. Leaves netconverge does not manage are kept flattened
/// in `unmanaged` ("ipv4-address 10.0.0.1/24") so that a foreign addition shows as a difference.
struct SubInterface {
  int vlan = 0;
  bool l2_service = false;
  bool admin_enabled = true;
  std::string description;
  std::string bridge_domain;  // the bridge-domain instance it is a member of ("" = none)
  std::vector<std::string> unmanaged;
  auto operator<=>(const SubInterface&) const = default;
};

/// "vlan-id: 251 -> 252; bridge-domain: 'BD-1' -> 'BD-2'".
std::string DescribeDifference(const SubInterface& from, const SubInterface& to);

/// An L2 bridge-domain instance. Owned by netconverge when its description carries the tag.
struct BridgeDomain {
  std::string description;
  std::vector<std::string> members;  // sorted interface names
  auto operator<=>(const BridgeDomain&) const = default;
};

/// What a switch runs, as far as netconverge reads it.
struct SwitchState {
  std::map<std::string, SubInterface> interfaces;  // sub-interfaces only, by full name
  std::map<std::string, BridgeDomain> bridge_domains;
  std::vector<std::string> ports;  // parent (physical / bundle) interfaces
  auto operator<=>(const SwitchState&) const = default;
};

/// One declared VlanInterface: one sub-interface the controller wants on a switch.
struct VlanRule {
  std::string device;    // ns/name of the Device
  std::string resource;  // ns/name of the VlanInterface
  std::string name;      // sub-interface, "ge100-0/0/31.251"
  std::string parent;    // "ge100-0/0/31"
  SubInterface iface;    // as it must look on the device (description incl. tag)
  bool paused = false;
  std::string requested_sync;
  ConflictPolicy on_conflict = ConflictPolicy::kAbort;
  DriftPolicy drift_policy = DriftPolicy::kEnforce;
  api::SourcePos source;
  bool operator==(const VlanRule&) const = default;
};

/// What the controller last applied for a sub-interface (from the store).
struct AppliedInterface {
  std::string resource;
  SubInterface iface;
  bool operator==(const AppliedInterface&) const = default;
};

/// One VyOS `nat destination rule N` as netconverge manages it. Empty string = leaf absent.
/// Leaves netconverge does not manage (log, exclude, source port, ...) are kept flattened in
/// `unmanaged` ("log", "source port 53") so that a foreign addition shows up as a difference.
struct NatRule {
  std::string description;
  std::string inbound_interface;
  std::string protocol;
  std::string destination_address;
  std::string destination_port;
  std::string source_address;
  std::string translation_address;
  std::string translation_port;
  bool disabled = false;
  bool log = false;  // VyOS `log` (valueless)
  std::vector<std::string> unmanaged;

  auto operator<=>(const NatRule&) const = default;
};

/// Human-readable list of the fields that differ, "translation port: 22 -> 2222; disable: off ->
/// on".
std::string DescribeDifference(const NatRule& from, const NatRule& to);

/// What every port of one PortForward shares: held once per PortForward and pointed to by its
/// ports' rules (a fleet of 100,000 ports has 10,000 of these, not 100,000 copies).
struct ForwardInfo {
  std::string device;    // ns/name of the Device
  std::string resource;  // ns/name of the PortForward
  std::string vm;
  bool paused = false;
  std::string requested_sync;  // annotation netconverge.io/requested-sync of the PortForward
  ConflictPolicy on_conflict = ConflictPolicy::kAbort;
  DriftPolicy drift_policy = DriftPolicy::kEnforce;
  std::string file;  // the manifest it was declared in
  bool operator==(const ForwardInfo&) const = default;
};

/// One declared port of one PortForward, i.e. one NAT rule the controller wants on a device.
/// Compact: a fleet's desired state is the largest thing the daemon holds. 360 bytes a port (288
/// of them the NatRule) plus its description; it was 570 with its own copies of the device,
/// resource, VM, display and file. What the ports of a PortForward share is in `forward`.
struct PortRule {
  std::shared_ptr<const ForwardInfo> forward;  // never null
  std::string port;                            // spec.ports[].name
  std::optional<int> pinned_number;
  NatRule rule;               // the rule as it must look on the device (description incl. tag)
  uint32_t display_size = 0;  // the description's first display_size bytes: without the tag
  int line = 0;               // where the port is written in `forward->file`
  int column = 0;

  const std::string& device() const { return forward->device; }
  const std::string& resource() const { return forward->resource; }
  const std::string& vm() const { return forward->vm; }
  bool paused() const { return forward->paused; }
  const std::string& requested_sync() const { return forward->requested_sync; }
  ConflictPolicy on_conflict() const { return forward->on_conflict; }
  DriftPolicy drift_policy() const { return forward->drift_policy; }
  /// "VM vm1 Port SSH": the description without the ownership tag.
  std::string_view display() const {
    return std::string_view(rule.description).substr(0, display_size);
  }
  api::SourcePos source() const { return {forward->file, line, column}; }
  /// Content equality (what `forward` points to, not where).
  bool operator==(const PortRule& o) const {
    return (forward == o.forward || *forward == *o.forward) && port == o.port &&
           pinned_number == o.pinned_number && rule == o.rule && display_size == o.display_size &&
           line == o.line && column == o.column;
  }
};

/// Identity of a port across restarts and edits: (resource, port name).
struct PortKey {
  std::string resource;
  std::string port;
  auto operator<=>(const PortKey&) const = default;
};

/// The complete validated desired state. Shared and immutable once built (a source hands out
/// shared_ptr<const DesiredState>): a pass's plan points into it instead of copying rules.
struct DesiredState : std::enable_shared_from_this<DesiredState> {
  std::map<std::string, Device> devices;  // by ns/name
  std::vector<PortRule> rules;            // sorted by device, resource, port
  std::vector<VlanRule> vlans;            // sorted by device, resource
  /// Devices (ns/name) for which deletions must be held back, with the reason (e.g. a
  /// manifest that does not parse and has no earlier good content).
  std::map<std::string, std::string> held_deletes;
  /// A reason that holds deletions on every device ("" = none).
  std::string held_deletes_all;
  /// Resources being deleted with deletionPolicy Orphan (ns/name): their objects stay on the
  /// device and are handed back (ownership tag removed) instead of being deleted.
  std::set<std::string> orphaned;
  /// Set by a source that numbers its versions (0 = unnumbered): equal non-zero generations
  /// from one source mean equal content.
  uint64_t generation = 0;

  /// The rules of one device (a view into `rules`, which is sorted by device first).
  std::span<const PortRule> RulesFor(const std::string& device_key) const;
  /// The VLAN interfaces of one device (a view into `vlans`).
  std::span<const VlanRule> VlansFor(const std::string& device_key) const;
  /// Content equality (the generation is not content).
  bool operator==(const DesiredState& o) const {
    return devices == o.devices && rules == o.rules && vlans == o.vlans &&
           held_deletes == o.held_deletes && held_deletes_all == o.held_deletes_all &&
           orphaned == o.orphaned;
  }
};

/// What the controller last applied for a rule number (from the store).
struct AppliedRecord {
  std::string resource;
  std::string port;
  NatRule rule;
  bool operator==(const AppliedRecord&) const = default;
};

/// A fingerprint of everything a device's plan depends on from the desired side (the device's
/// spec and its rules). Equal fingerprints mean equal inputs, with overwhelming probability.
uint64_t Fingerprint(const Device& device, std::span<const PortRule> rules);
uint64_t Fingerprint(const Device& device, std::span<const VlanRule> vlans);

/// The description written to the device: "<text> [<tag>]".
std::string TaggedDescription(const std::string& text, const std::string& tag);
/// Whether a device description carries the ownership tag.
bool HasOwnershipTag(const std::string& description, const std::string& tag);
/// The description without the ownership tag suffix.
std::string StripOwnershipTag(const std::string& description, const std::string& tag);
/// "VM vm1 Port SSH" from vm "vm1" and port name "ssh".
std::string DefaultDescription(const std::string& vm, const std::string& port);

}  // namespace nc::core
