// CRD-shaped types of the netconverge.io/v1alpha1 API (Device, PortForward, VlanInterface),
// mirroring the manifests and CRDs field by field, plus where each field was written. The YAML
// codec fills them; core/validate turns them into the domain model. Pure: no YAML, no JSON, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nc::api {

inline constexpr const char* kGroupVersion = "netconverge.io/v1alpha1";

/// A position in a manifest file (1-based line and column; 0 when unknown).
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;
  bool operator==(const SourcePos&) const = default;
};

/// A place in the object's own file.
struct LineColumn {
  int line = 0;
  int column = 0;
  bool operator==(const LineColumn&) const = default;
};

/// Where each field of one object was written, keyed by field path ("spec.ports[1].name"), in
/// the object's file (its `pos.file`: not repeated per field). A fleet's manifests have a million
/// fields with a few hundred distinct paths, so the decoder shares one copy of each path among
/// the objects of a file and each object keeps a small flat list: 24 bytes a field instead of a
/// map node and a string.
class FieldPositions {
 public:
  using Path = std::shared_ptr<const std::string>;
  /// The position of `field`, added (0:0) when absent.
  LineColumn& operator[](std::string_view field);
  /// Records `path` (shared with other objects) at `at`.
  void Set(Path path, LineColumn at);
  /// The position of `field`, or null.
  const LineColumn* Find(std::string_view field) const;
  /// The position of `field`; std::out_of_range when absent.
  const LineColumn& at(std::string_view field) const;
  size_t count(std::string_view field) const { return Find(field) ? 1 : 0; }
  size_t size() const { return entries_.size(); }
  bool operator==(const FieldPositions& o) const;  // by path text and position

 private:
  std::vector<std::pair<Path, LineColumn>> entries_;
};

/// One problem found in the manifests: file, line and column, resource and field path.
struct Problem {
  SourcePos pos;
  std::string kind;    // "PortForward", "Device", or empty for a file-level problem
  std::string object;  // namespace/name, or empty
  std::string field;   // field path, or empty
  std::string message;

  /// "file:line:col: Kind ns/name: field: message".
  std::string ToString() const;
  bool operator==(const Problem&) const = default;
};

struct ObjectMeta {
  std::string name;
  std::string ns = "default";
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  int64_t generation = 1;
  std::string Key() const { return ns + "/" + name; }
};

struct DeviceSpec {
  std::string platform;
  std::string address;
  std::string transport_primary;
  std::string transport_fallback;
  std::string credentials_file;    // credentialsRef.file (standalone)
  std::string credentials_secret;  // credentialsRef.name (a Secret, in-cluster)
  std::string tls_ca_file;
  std::string tls_ca_secret;
  std::string tls_server_name;
  std::optional<bool> tls_insecure_skip_verify;
  std::string management;
  std::optional<bool> paused;
  std::string poll_interval;
  std::optional<bool> commit_confirm_enabled;
  std::string commit_confirm_timeout;
  std::optional<bool> save_after_confirm;
  std::string ownership_rule_range;
  std::string ownership_tag;
  std::optional<int64_t> max_request_bytes;  // spec.vyos.maxRequestBytes (extension, see docs)
  std::string request_timeout;               // spec.vyos.requestTimeout (extension, see docs)
  std::string ssh_known_hosts;               // spec.ssh.knownHosts (a file)
  std::string ssh_host_key_policy;           // spec.ssh.hostKeyPolicy
  std::string ssh_command_timeout;           // spec.ssh.commandTimeout (extension, see docs)
  std::optional<int64_t> ssh_port;           // spec.ssh.port (VyOS fallback; extension)
};

struct DeviceObject {
  ObjectMeta meta;
  DeviceSpec spec;
  SourcePos pos;
  FieldPositions fields;
};

struct PortSpec {
  std::string name;
  std::string protocol;
  std::string external_port;
  std::string internal_port;
  std::string source_address;
  std::string description;
  std::optional<bool> enabled;
  std::optional<bool> log;
  std::optional<int64_t> rule_number;
};

struct PortForwardSpec {
  std::string device_ref;
  std::string vm;
  std::string internal_address;
  std::string inbound_interface;
  std::string destination_address;
  std::vector<PortSpec> ports;
  std::string on_conflict;
  std::string drift_policy;
  std::string deletion_policy;
};

struct PortForwardObject {
  ObjectMeta meta;
  PortForwardSpec spec;
  SourcePos pos;
  FieldPositions fields;
};

struct VlanInterfaceSpec {
  std::string device_ref;
  std::string interface;  // parent port, e.g. ge100-0/0/31
  std::optional<int64_t> vlan;
  std::optional<int64_t> subinterface;  // suffix override (default: the VLAN)
  std::optional<bool> l2_service;
  std::string bridge_domain;
  std::string admin_state;
  std::string description;
  std::string on_conflict;
  std::string drift_policy;
  std::string deletion_policy;
};

struct VlanInterfaceObject {
  ObjectMeta meta;
  VlanInterfaceSpec spec;
  SourcePos pos;
  FieldPositions fields;
};

/// Everything read from one or more manifest files.
struct Manifests {
  std::vector<DeviceObject> devices;
  std::vector<PortForwardObject> port_forwards;
  std::vector<VlanInterfaceObject> vlan_interfaces;
};

}  // namespace nc::api
