#include "controller/core/validate.hpp"
#include "controller/core/shard.hpp"

#include <algorithm>
#include <set>
#include <span>
#include <tuple>

namespace nc::core {

namespace {

class ProblemSink {
 public:
  ProblemSink(std::vector<api::Problem>& out, std::string kind, std::string object,
              const api::SourcePos& pos, const api::FieldPositions& fields)
      : out_(out), kind_(std::move(kind)), object_(std::move(object)), pos_(pos), fields_(fields) {}

  void Add(const std::string& field, const std::string& message) {
    out_.push_back(api::Problem{PosOf(field), kind_, object_, field, message});
    ++count_;
  }
  api::SourcePos PosOf(const std::string& field) const {
    // The nearest recorded ancestor of the field (a missing field points at its parent).
    std::string f = field;
    while (!f.empty()) {
      if (const auto* at = fields_.Find(f)) return api::SourcePos{pos_.file, at->line, at->column};
      auto cut = f.find_last_of(".[");
      if (cut == std::string::npos) break;
      f = f.substr(0, cut);
    }
    return pos_;
  }
  int count() const { return count_; }

 private:
  std::vector<api::Problem>& out_;
  std::string kind_;
  std::string object_;
  api::SourcePos pos_;
  const api::FieldPositions& fields_;
  int count_ = 0;
};

bool IsTrue(const std::map<std::string, std::string>& annotations, const char* key) {
  auto it = annotations.find(key);
  return it != annotations.end() && (it->second == "true" || it->second == "True");
}

std::string Annotation(const std::map<std::string, std::string>& annotations, const char* key) {
  auto it = annotations.find(key);
  return it == annotations.end() ? std::string() : it->second;
}

void CheckAddress(ProblemSink& sink, const std::string& field, const std::string& address) {
  if (address.empty()) {
    sink.Add(field, "is required");
    return;
  }
  std::string host = address;
  std::string port;
  if (address.front() == '[') {
    auto close = address.find(']');
    if (close == std::string::npos) {
      sink.Add(field, "'" + address + "' has an unterminated IPv6 literal");
      return;
    }
    host = address.substr(1, close - 1);
    if (close + 1 < address.size()) {
      if (address[close + 1] != ':') {
        sink.Add(field, "'" + address + "' is not host or host:port");
        return;
      }
      port = address.substr(close + 2);
    }
  } else if (auto colon = address.rfind(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  bool ok = !host.empty();
  for (char c : host)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':');
  int64_t p = 0;
  if (!port.empty() && !ParseInt(port, 1, 65535, &p)) ok = false;
  if (!ok) sink.Add(field, "'" + address + "' is not host or host:port");
}

ConflictPolicy ParseConflict(ProblemSink& sink, const std::string& v) {
  if (v.empty() || v == "Abort") return ConflictPolicy::kAbort;
  if (v == "Adopt") return ConflictPolicy::kAdopt;
  if (v == "Override") return ConflictPolicy::kOverride;
  if (v == "Skip") return ConflictPolicy::kSkip;
  sink.Add("spec.onConflict", "'" + v + "' is not one of Abort, Adopt, Override, Skip");
  return ConflictPolicy::kAbort;
}

DriftPolicy ParseDrift(ProblemSink& sink, const std::string& v) {
  if (v.empty() || v == "Enforce") return DriftPolicy::kEnforce;
  if (v == "Report") return DriftPolicy::kReport;
  sink.Add("spec.driftPolicy", "'" + v + "' is not one of Enforce, Report");
  return DriftPolicy::kEnforce;
}

/// spec.onConflict, spec.driftPolicy and spec.deletionPolicy, common to the rule kinds.
std::pair<ConflictPolicy, DriftPolicy> ParsePolicies(ProblemSink& sink,
                                                     const std::string& on_conflict,
                                                     const std::string& drift,
                                                     const std::string& deletion) {
  if (!deletion.empty() && deletion != "Delete" && deletion != "Orphan")
    sink.Add("spec.deletionPolicy", "'" + deletion + "' is not one of Delete, Orphan");
  return {ParseConflict(sink, on_conflict), ParseDrift(sink, drift)};
}

/// spec.ssh: known hosts, command timeout, port and host-key policy.
void ParseSsh(ProblemSink& sink, const api::DeviceObject& obj, Device& d) {
  const auto& s = obj.spec;
  if (!s.ssh_known_hosts.empty())
    d.ssh_known_hosts = ResolveRelative(obj.pos.file, s.ssh_known_hosts);
  if (!s.ssh_command_timeout.empty()) {
    auto ms = ParseDurationMs(s.ssh_command_timeout);
    if (!ms)
      sink.Add("spec.ssh.commandTimeout", ms.error().message);
    else if (*ms < 200 || *ms > 600'000)
      sink.Add("spec.ssh.commandTimeout", "must be between 200ms and 10m");
    else
      d.ssh_command_timeout_ms = *ms;
  }
  if (s.ssh_port) {
    if (*s.ssh_port < 1 || *s.ssh_port > 65535)
      sink.Add("spec.ssh.port", "must be a port (1-65535)");
    else
      d.ssh_port = static_cast<int>(*s.ssh_port);
  }
  if (s.ssh_host_key_policy == "accept-new")
    d.ssh_accept_new = true;
  else if (!s.ssh_host_key_policy.empty() && s.ssh_host_key_policy != "strict")
    sink.Add("spec.ssh.hostKeyPolicy",
             "'" + s.ssh_host_key_policy + "' is not one of strict, accept-new");
}

/// spec.platform, spec.address and spec.transport.
void ParsePlatformAndTransport(ProblemSink& sink, const api::DeviceSpec& s, Device& d) {
  if (s.platform == "vyos") {
    d.platform = Platform::kVyos;
  } else if (s.platform == "dnos") {
    d.platform = Platform::kDnos;
    d.transport_primary = "ssh-cli";
    d.transport_fallback = "none";
  } else if (s.platform.empty()) {
    sink.Add("spec.platform", "is required (vyos or dnos)");
  } else {
    sink.Add("spec.platform", "'" + s.platform + "' is not one of vyos, dnos");
  }
  CheckAddress(sink, "spec.address", s.address);
  d.address = s.address;

  if (!s.transport_primary.empty()) {
    if (s.transport_primary != "https-api" && s.transport_primary != "ssh-cli")
      sink.Add("spec.transport.primary",
               "'" + s.transport_primary + "' is not one of https-api, ssh-cli");
    else if (s.transport_primary == "https-api" && d.platform != Platform::kVyos)
      sink.Add("spec.transport.primary", "https-api is only available on platform vyos");
    d.transport_primary = s.transport_primary;
  }
  if (!s.transport_fallback.empty()) {
    if (s.transport_fallback != "ssh-cli" && s.transport_fallback != "none")
      sink.Add("spec.transport.fallback",
               "'" + s.transport_fallback + "' is not one of ssh-cli, none");
    d.transport_fallback = s.transport_fallback;
  }
}

/// spec.credentialsRef and spec.tls.
void ParseCredentialsAndTls(ProblemSink& sink, const api::DeviceObject& obj, Device& d) {
  const auto& s = obj.spec;
  if (s.credentials_file.empty() && s.credentials_secret.empty())
    sink.Add("spec.credentialsRef", "is required: give 'file' (standalone) or 'name' (a Secret)");
  if (!s.credentials_file.empty())
    d.credentials_file = ResolveRelative(obj.pos.file, s.credentials_file);
  d.credentials_secret = s.credentials_secret;
  if (!s.tls_ca_file.empty()) d.tls_ca_file = ResolveRelative(obj.pos.file, s.tls_ca_file);
  d.tls_server_name = s.tls_server_name;
  d.tls_insecure_skip_verify = s.tls_insecure_skip_verify.value_or(false);
}

/// spec.management, spec.pollInterval and spec.commitConfirm.
void ParseManagementAndTiming(ProblemSink& sink, const api::DeviceSpec& s, Device& d) {
  if (s.management.empty())
    d.management = ManagementPolicy::kFull;
  else if (auto m = ParseManagementPolicy(s.management))
    d.management = *m;
  else
    sink.Add("spec.management", "'" + s.management + "' is not one of Observe, CreateUpdate, Full");
  if (!s.poll_interval.empty()) {
    auto ms = ParseDurationMs(s.poll_interval);
    if (!ms)
      sink.Add("spec.pollInterval", ms.error().message);
    else if (*ms < 1000)
      sink.Add("spec.pollInterval", "must be at least 1s");
    else
      d.poll_interval_ms = *ms;
  }
  d.commit_confirm = s.commit_confirm_enabled.value_or(true);
  if (!s.commit_confirm_timeout.empty()) {
    auto ms = ParseDurationMs(s.commit_confirm_timeout);
    if (!ms) {
      sink.Add("spec.commitConfirm.timeout", ms.error().message);
    } else if (*ms < 60'000 || *ms > int64_t{24} * 3'600'000) {
      sink.Add("spec.commitConfirm.timeout",
               "must be between 1m and 24h (devices count confirm timers in minutes)");
    } else {
      d.commit_confirm_minutes = static_cast<int>((*ms + 59'999) / 60'000);
    }
  }
  d.save_after_confirm = s.save_after_confirm.value_or(true);
}

/// spec.ownership and spec.vyos (request size and timeout).
void ParseOwnershipAndLimits(ProblemSink& sink, const api::DeviceSpec& s, Device& d) {
  if (!s.ownership_rule_range.empty()) {
    auto r = ParseRuleRange(s.ownership_rule_range);
    if (!r)
      sink.Add("spec.ownership.ruleRange", r.error().message);
    else
      d.rule_range = RuleRange{r->first, r->second};
  }
  if (!s.ownership_tag.empty()) {
    bool ok = s.ownership_tag.size() <= 32;
    for (char c : s.ownership_tag)
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    if (!ok) sink.Add("spec.ownership.tag", "must be 1-32 characters of a-z, 0-9 and '-'");
    d.tag = s.ownership_tag;
  }
  if (s.max_request_bytes) {
    if (*s.max_request_bytes < int64_t{64} * 1024 || *s.max_request_bytes > (int64_t{256} << 20))
      sink.Add("spec.vyos.maxRequestBytes", "must be between 65536 and 268435456");
    else
      d.max_request_bytes = *s.max_request_bytes;
  }
  if (!s.request_timeout.empty()) {
    auto ms = ParseDurationMs(s.request_timeout);
    if (!ms)
      sink.Add("spec.vyos.requestTimeout", ms.error().message);
    else if (*ms < 500 || *ms > 600'000)
      sink.Add("spec.vyos.requestTimeout", "must be between 500ms and 10m");
    else
      d.request_timeout_ms = *ms;
  }
}

std::optional<Device> ValidateDevice(const api::DeviceObject& obj,
                                     std::vector<api::Problem>& problems) {
  ProblemSink sink(problems, "Device", obj.meta.Key(), obj.pos, obj.fields);
  Device d;
  d.ns = obj.meta.ns;
  d.name = obj.meta.name;
  d.source = obj.pos;
  if (auto st = CheckObjectName(obj.meta.name); !st) sink.Add("metadata.name", st.error().message);
  ParseSsh(sink, obj, d);
  ParsePlatformAndTransport(sink, obj.spec, d);
  ParseCredentialsAndTls(sink, obj, d);
  ParseManagementAndTiming(sink, obj.spec, d);
  d.paused = obj.spec.paused.value_or(false) || IsTrue(obj.meta.annotations, kPausedAnnotation);
  ParseOwnershipAndLimits(sink, obj.spec, d);
  d.requested_sync = Annotation(obj.meta.annotations, kRequestedSyncAnnotation);
  if (auto it = obj.meta.labels.find(kShardLabel); it != obj.meta.labels.end()) {
    d.shard_label = ParseShardLabel(it->second);
    if (!d.shard_label)
      sink.Add(std::string("metadata.labels.") + kShardLabel,
               "must be a shard index, a decimal from 0 to " + std::to_string(kMaxShards - 1));
  }
  if (sink.count() > 0) return std::nullopt;
  return d;
}

/// One port's claim on its device's external ports: one per declared port (100,000 in a large
/// fleet), so it points into what validation holds instead of copying it.
struct Claim {
  const std::string* device;                  // the rule's ForwardInfo
  const std::string* interface;               // the PortForward's spec.inboundInterface
  std::pair<uint32_t, uint32_t> destination;  // the destination addresses matched (all when unset)
  bool tcp = false;
  bool udp = false;
  uint32_t ports_begin;  // its external port intervals: claim_ports_[ports_begin, ports_end)
  uint32_t ports_end;
  uint32_t pf_index;
  uint32_t port_index;
};

struct VlanClaim {
  size_t index;
  std::string device, name, parent;
  int vlan;
};

/// What every port of one PortForward shares.
struct PortForwardContext {
  const api::PortForwardObject& obj;
  std::shared_ptr<const ForwardInfo> forward;  // what its ports' rules share
  std::string tag;
  RuleRange range;
  size_t desc_max;
};

/// tcp/udp of a port's protocol (both false when it is missing or unknown, reported).
std::pair<bool, bool> ParseProtocol(ProblemSink& sink, const std::string& f,
                                    const std::string& protocol) {
  if (protocol.empty()) {
    sink.Add(f + ".protocol", "is required (tcp, udp or tcp_udp)");
    return {false, false};
  }
  if (protocol == "tcp") return {true, false};
  if (protocol == "udp") return {false, true};
  if (protocol == "tcp_udp") return {true, true};
  sink.Add(f + ".protocol", "'" + protocol + "' is not one of tcp, udp, tcp_udp");
  return {false, false};
}

/// A port's ruleNumber pin, when it is valid for the device's range and the conflict policy.
std::optional<int> ParsePin(ProblemSink& sink, const std::string& f, const api::PortSpec& p,
                            const PortForwardContext& ctx) {
  if (!p.rule_number) return std::nullopt;
  const bool adopt = ctx.forward->on_conflict == ConflictPolicy::kAdopt;
  if (*p.rule_number < 1 || *p.rule_number > 999999) {
    sink.Add(f + ".ruleNumber", "must be between 1 and 999999");
    return std::nullopt;
  }
  if (!adopt && !ctx.range.Contains(static_cast<int>(*p.rule_number))) {
    sink.Add(f + ".ruleNumber",
             std::to_string(*p.rule_number) + " is outside the device's owned range " +
                 std::to_string(ctx.range.first) + "-" + std::to_string(ctx.range.last) +
                 " (only onConflict: Adopt may pin an existing rule outside it)");
    return std::nullopt;
  }
  return static_cast<int>(*p.rule_number);
}

PortRule MakePortRule(const PortForwardContext& ctx, const api::PortSpec& p,
                      const std::string& display, std::optional<int> pin,
                      const api::SourcePos& source) {
  const auto& s = ctx.obj.spec;
  PortRule rule;
  rule.forward = ctx.forward;
  rule.port = p.name;
  rule.pinned_number = pin;
  rule.display_size = static_cast<uint32_t>(display.size());
  rule.line = source.line;
  rule.column = source.column;
  rule.rule.description = TaggedDescription(display, ctx.tag);
  rule.rule.inbound_interface = s.inbound_interface;
  rule.rule.protocol = p.protocol;
  rule.rule.destination_address = s.destination_address;
  rule.rule.destination_port = p.external_port;
  rule.rule.source_address = p.source_address;
  rule.rule.translation_address = s.internal_address;
  rule.rule.translation_port = p.internal_port;
  rule.rule.disabled = !p.enabled.value_or(true);
  rule.rule.log = p.log.value_or(false);
  return rule;
}

/// Validates a whole manifest set: Devices first, then PortForwards and VlanInterfaces per
/// object, then the checks across objects (overlaps, pins, range capacity, VLAN claims).
class Validator {
 public:
  /// `release`: the same manifests, whose PortForwards' ports may be dropped once their rules
  /// are made (a fleet's ports are then never held twice, as specs and as rules).
  Validator(const api::Manifests& manifests, const ServiceTable& services,
            api::Manifests* release = nullptr)
      : manifests_(manifests),
        release_(release),
        services_(services),
        problems_(result_.problems) {}

  ValidationResult Run() {
    Devices();
    // Every port's rule in one vector, each PortForward's a contiguous run (a fleet's desired
    // state is the largest thing the daemon holds: built once, in place, never copied).
    const size_t forwards = manifests_.port_forwards.size();
    size_t ports = 0;
    for (const auto& pf : manifests_.port_forwards) ports += pf.spec.ports.size();
    rules_.reserve(ports);
    claims_.reserve(ports);
    first_rule_.assign(forwards + 1, 0);
    pf_ok_.assign(forwards, true);
    for (size_t i = 0; i < forwards; ++i) {
      first_rule_[i] = rules_.size();
      PortForward(i);
      // Past this point a port is read from its rule (RulesOf), never from its spec.
      if (release_) std::vector<api::PortSpec>().swap(release_->port_forwards[i].spec.ports);
    }
    first_rule_[forwards] = rules_.size();
    PortOverlaps();
    DuplicatePins();
    RangeCapacity();
    size_t kept = 0;  // the rules of valid PortForwards, moved down over the others
    for (size_t i = 0; i < forwards; ++i) {
      if (!pf_ok_[i]) continue;
      for (size_t k = first_rule_[i]; k < first_rule_[i + 1]; ++k, ++kept)
        if (kept != k) rules_[kept] = std::move(rules_[k]);
    }
    rules_.erase(rules_.begin() + static_cast<std::ptrdiff_t>(kept), rules_.end());
    result_.desired.rules = std::move(rules_);
    vlan_rules_.resize(manifests_.vlan_interfaces.size());
    for (size_t i = 0; i < manifests_.vlan_interfaces.size(); ++i) VlanInterface(i);
    VlanConflicts();
    for (auto& v : vlan_rules_)
      if (v) result_.desired.vlans.push_back(std::move(*v));
    Sort();
    return std::move(result_);
  }

 private:
  void Devices() {
    std::set<std::string> seen;
    for (const auto& obj : manifests_.devices) {
      if (!seen.insert(obj.meta.Key()).second) {
        problems_.push_back({obj.pos, "Device", obj.meta.Key(), "metadata.name",
                             "a Device with this name is declared more than once"});
        continue;
      }
      device_objects_[obj.meta.Key()] = &obj;
      if (auto d = ValidateDevice(obj, problems_)) result_.desired.devices[d->Key()] = *d;
    }
  }

  // The checks every rule resource shares: its name, uniqueness, and a deviceRef to a valid
  // Device of the right kind. Returns the Device when it is valid.
  const Device* CheckObjectAndDevice(ProblemSink& sink, const api::ObjectMeta& meta,
                                     const std::string& ref, std::set<std::string>& seen,
                                     bool switch_kind) {
    if (auto st = CheckObjectName(meta.name); !st) sink.Add("metadata.name", st.error().message);
    if (!seen.insert(meta.Key()).second)
      sink.Add("metadata.name", std::string("a ") +
                                    (switch_kind ? "VlanInterface" : "PortForward") +
                                    " with this name is declared more than once");
    const std::string key = meta.ns + "/" + ref;
    if (ref.empty()) {
      sink.Add("spec.deviceRef", "is required");
      return nullptr;
    }
    if (!device_objects_.count(key)) {
      sink.Add("spec.deviceRef", "no Device '" + ref + "' in namespace '" + meta.ns + "'");
      return nullptr;
    }
    auto it = result_.desired.devices.find(key);
    if (it == result_.desired.devices.end()) return nullptr;  // the Device itself has problems
    if (it->second.IsSwitch() != switch_kind)
      sink.Add("spec.deviceRef", "Device '" + ref + "' is not a " +
                                     (switch_kind ? "switch (platform dnos)" : "vyos device"));
    return &it->second;
  }

  // Per-object checks of one PortForward; collects claims for the cross-resource checks.
  void PortForward(size_t i) {
    const auto& obj = manifests_.port_forwards[i];
    const auto& s = obj.spec;
    ProblemSink sink(problems_, "PortForward", obj.meta.Key(), obj.pos, obj.fields);
    const Device* device = CheckObjectAndDevice(sink, obj.meta, s.device_ref, pf_seen_, false);
    if (auto st = CheckSimpleName(s.vm); !st) sink.Add("spec.vm", st.error().message);
    if (s.internal_address.empty())
      sink.Add("spec.internalAddress", "is required");
    else if (auto st = CheckAddressMatch(s.internal_address, false);
             !st)  // nat.xml.in translation address
      sink.Add("spec.internalAddress", st.error().message);
    if (s.inbound_interface.empty())
      sink.Add("spec.inboundInterface", "is required");
    else if (auto st = CheckInterfaceName(s.inbound_interface); !st)
      sink.Add("spec.inboundInterface", st.error().message);
    if (!s.destination_address.empty())
      if (auto st = CheckAddressMatch(s.destination_address, true); !st)
        sink.Add("spec.destinationAddress", st.error().message);
    const auto [on_conflict, drift] =
        ParsePolicies(sink, s.on_conflict, s.drift_policy, s.deletion_policy);
    const std::string tag = device ? device->tag : "netconverge";
    auto forward = std::make_shared<ForwardInfo>();
    forward->device = obj.meta.ns + "/" + s.device_ref;
    forward->resource = obj.meta.Key();
    forward->vm = s.vm;
    forward->paused = IsTrue(obj.meta.annotations, kPausedAnnotation);
    forward->requested_sync = Annotation(obj.meta.annotations, kRequestedSyncAnnotation);
    forward->on_conflict = on_conflict;
    forward->drift_policy = drift;
    forward->file = obj.pos.file;
    const PortForwardContext ctx{obj, std::move(forward), tag,
                                 device ? device->rule_range : RuleRange{},
                                 kVyosDescriptionMax - tag.size() - 3};
    if (s.ports.empty()) sink.Add("spec.ports", "at least one port is required");
    std::set<std::string> port_names;
    for (size_t j = 0; j < s.ports.size(); ++j) Port(sink, ctx, i, j, port_names);
    if (sink.count() > 0) pf_ok_[i] = false;
  }

  void Port(ProblemSink& sink, const PortForwardContext& ctx, size_t i, size_t j,
            std::set<std::string>& port_names) {
    const auto& s = ctx.obj.spec;
    const auto& p = s.ports[j];
    const std::string f = "spec.ports[" + std::to_string(j) + "]";
    if (auto st = CheckSimpleName(p.name); !st)
      sink.Add(f + ".name", st.error().message);
    else if (!port_names.insert(p.name).second)
      sink.Add(f + ".name", "'" + p.name + "' is used by another port of this PortForward");
    const auto [tcp, udp] = ParseProtocol(sink, f, p.protocol);
    std::vector<PortInterval> external;
    if (p.external_port.empty()) {
      sink.Add(f + ".externalPort", "is required");
    } else if (auto r = ParsePortMulti(p.external_port, services_); !r) {
      sink.Add(f + ".externalPort", r.error().message);
    } else {
      external = *r;
    }
    if (!p.internal_port.empty())
      if (auto r = ParsePortRange(p.internal_port, services_); !r)
        sink.Add(f + ".internalPort", r.error().message);
    if (!p.source_address.empty())
      if (auto st = CheckAddressMatch(p.source_address, true); !st)
        sink.Add(f + ".sourceAddress", st.error().message);
    if (!p.description.empty())
      if (auto st = CheckDescription(p.description, ctx.desc_max); !st)
        sink.Add(
            f + ".description",
            st.error().message + (p.description.size() > ctx.desc_max
                                      ? " (VyOS's 255 less the ownership tag ' [" + ctx.tag + "]')"
                                      : ""));
    const std::string display =
        p.description.empty() ? DefaultDescription(s.vm, p.name) : p.description;
    const std::optional<int> pin = ParsePin(sink, f, p, ctx);
    rules_.push_back(MakePortRule(ctx, p, display, pin, sink.PosOf(f)));
    if (!external.empty() && (tcp || udp) && !s.inbound_interface.empty()) {
      const auto begin = static_cast<uint32_t>(claim_ports_.size());
      claim_ports_.insert(claim_ports_.end(), external.begin(), external.end());
      claims_.push_back(Claim{&ctx.forward->device, &s.inbound_interface,
                              AddressSpan(s.destination_address), tcp, udp, begin,
                              static_cast<uint32_t>(claim_ports_.size()), static_cast<uint32_t>(i),
                              static_cast<uint32_t>(j)});
    }
  }

  void ReportOverlap(const Claim& a, const Claim& b) {
    for (const auto* c : {&a, &b}) {
      const auto* other = c == &a ? &b : &a;
      const auto& obj = manifests_.port_forwards[c->pf_index];
      const auto& oobj = manifests_.port_forwards[other->pf_index];
      ProblemSink sink(problems_, "PortForward", obj.meta.Key(), obj.pos, obj.fields);
      const PortRule& mine = RulesOf(c->pf_index)[c->port_index];
      const PortRule& theirs = RulesOf(other->pf_index)[other->port_index];
      sink.Add("spec.ports[" + std::to_string(c->port_index) + "].externalPort",
               "'" + mine.rule.destination_port + "' overlaps external port '" +
                   theirs.rule.destination_port + "' of PortForward " + oobj.meta.Key() +
                   " port '" + theirs.port + "' (" + oobj.pos.file + ":" +
                   std::to_string(theirs.line) +
                   ") on the same device, interface, protocol and destination address");
      pf_ok_[c->pf_index] = false;
    }
  }

  // Overlapping external ports on the same device, interface and protocol, for destination
  // addresses that overlap (an unset destinationAddress matches every address): a sweep over
  // the intervals of each device and interface.
  void PortOverlaps() {
    struct Event {
      int lo;
      int hi;
      size_t claim;
    };
    std::map<std::pair<std::string, std::string>, std::vector<Event>> groups;
    for (size_t c = 0; c < claims_.size(); ++c) {
      const Claim& claim = claims_[c];
      auto& events = groups[{*claim.device, *claim.interface}];
      for (uint32_t k = claim.ports_begin; k < claim.ports_end; ++k)
        events.push_back({claim_ports_[k].lo, claim_ports_[k].hi, c});
    }
    std::set<std::pair<size_t, size_t>> reported;
    for (auto& [key, events] : groups) {
      std::sort(events.begin(), events.end(), [](const Event& x, const Event& y) {
        return std::tie(x.lo, x.hi, x.claim) < std::tie(y.lo, y.hi, y.claim);
      });
      std::vector<Event> active;
      for (const auto& ev : events) {
        std::erase_if(active, [&](const Event& a) { return a.hi < ev.lo; });
        for (const auto& a : active) {
          if (a.claim == ev.claim) continue;
          const Claim& ca = claims_[a.claim];
          const Claim& cb = claims_[ev.claim];
          if (!((ca.tcp && cb.tcp) || (ca.udp && cb.udp))) continue;
          // Different destination addresses are different forwards (VyOS allows both).
          if (ca.destination.second < cb.destination.first ||
              cb.destination.second < ca.destination.first)
            continue;
          auto pair = std::minmax(a.claim, ev.claim);
          if (reported.insert({pair.first, pair.second}).second)
            ReportOverlap(claims_[pair.first], claims_[pair.second]);
        }
        active.push_back(ev);
      }
    }
  }

  void DuplicatePins() {
    std::map<std::pair<std::string, int>, std::vector<std::pair<size_t, size_t>>> pins;
    for (size_t i = 0; i < pf_ok_.size(); ++i) {
      const auto rules = RulesOf(i);
      for (size_t j = 0; j < rules.size(); ++j)
        if (const auto& r = rules[j]; r.pinned_number)
          pins[{r.device(), *r.pinned_number}].push_back({i, j});
    }
    for (const auto& [key, users] : pins) {
      if (users.size() < 2) continue;
      for (const auto& [i, j] : users) {
        const auto& obj = manifests_.port_forwards[i];
        ProblemSink sink(problems_, "PortForward", obj.meta.Key(), obj.pos, obj.fields);
        sink.Add("spec.ports[" + std::to_string(j) + "].ruleNumber",
                 "rule " + std::to_string(key.second) + " is pinned by " +
                     std::to_string(users.size()) + " ports on device " + key.first);
        pf_ok_[i] = false;
      }
    }
  }

  // More ports declared for a device than its owned range holds.
  void RangeCapacity() {
    std::map<std::string, int> ports_per_device;
    for (const auto& r : rules_) ++ports_per_device[r.device()];
    for (const auto& [device_key, count] : ports_per_device) {
      auto it = result_.desired.devices.find(device_key);
      if (it == result_.desired.devices.end() || count <= it->second.rule_range.Size()) continue;
      const auto* obj = device_objects_.at(device_key);
      ProblemSink sink(problems_, "Device", device_key, obj->pos, obj->fields);
      const auto& range = it->second.rule_range;
      sink.Add("spec.ownership.ruleRange",
               std::to_string(count) + " ports are declared for this device but its range " +
                   std::to_string(range.first) + "-" + std::to_string(range.last) + " holds only " +
                   std::to_string(range.Size()) + " rules");
      for (size_t i = 0; i < pf_ok_.size(); ++i)
        if (!RulesOf(i).empty() && RulesOf(i).front().device() == device_key) pf_ok_[i] = false;
    }
  }

  void VlanInterface(size_t i) {
    const auto& obj = manifests_.vlan_interfaces[i];
    const auto& s = obj.spec;
    ProblemSink sink(problems_, "VlanInterface", obj.meta.Key(), obj.pos, obj.fields);
    const Device* device = CheckObjectAndDevice(sink, obj.meta, s.device_ref, vlan_seen_, true);
    const int platform = static_cast<int>(device ? device->platform : Platform::kDnos);
    if (s.interface.empty())
      sink.Add("spec.interface", "is required (the parent port, e.g. ge100-0/0/31)");
    else if (auto st = CheckSwitchPortName(platform, s.interface); !st)
      sink.Add("spec.interface", st.error().message);
    if (!s.vlan)
      sink.Add("spec.vlan", "is required (1-4094)");
    else if (*s.vlan < 1 || *s.vlan > 4094)
      sink.Add("spec.vlan", std::to_string(*s.vlan) + " is not a VLAN id (1-4094)");
    if (s.subinterface && (*s.subinterface < 1 || *s.subinterface > 65535))
      sink.Add("spec.subinterface",
               std::to_string(*s.subinterface) + " is not a sub-interface number (1-65535)");
    const bool l2 = s.l2_service.value_or(true);
    if (!s.bridge_domain.empty()) {
      if (auto st = CheckBridgeDomainName(s.bridge_domain); !st)
        sink.Add("spec.bridgeDomain", st.error().message);
      else if (!l2)
        sink.Add("spec.bridgeDomain",
                 "a bridge-domain member must be an L2 service (l2Service: true)");
    }
    if (!s.admin_state.empty() && s.admin_state != "enabled" && s.admin_state != "disabled")
      sink.Add("spec.adminState", "'" + s.admin_state + "' is not one of enabled, disabled");
    const std::string tag = device ? device->tag : "netconverge";
    if (!s.description.empty())
      if (auto st = CheckSwitchDescription(s.description, kVyosDescriptionMax - tag.size() - 3);
          !st)
        sink.Add("spec.description", st.error().message);
    const auto [on_conflict, drift] =
        ParsePolicies(sink, s.on_conflict, s.drift_policy, s.deletion_policy);
    if (sink.count() > 0) return;
    VlanRule v = MakeVlanRule(obj, tag, l2);
    v.on_conflict = on_conflict;
    v.drift_policy = drift;
    vlan_claims_.push_back({i, v.device, v.name, v.parent, v.iface.vlan});
    vlan_rules_[i] = std::move(v);
  }

  static VlanRule MakeVlanRule(const api::VlanInterfaceObject& obj, const std::string& tag,
                               bool l2) {
    const auto& s = obj.spec;
    VlanRule v;
    v.device = obj.meta.ns + "/" + s.device_ref;
    v.resource = obj.meta.Key();
    v.parent = s.interface;
    v.name = s.interface + "." + std::to_string(s.subinterface.value_or(*s.vlan));
    v.iface.vlan = static_cast<int>(*s.vlan);
    v.iface.l2_service = l2;
    v.iface.admin_enabled = s.admin_state != "disabled";
    v.iface.bridge_domain = s.bridge_domain;
    v.iface.description = TaggedDescription(
        s.description.empty() ? "VlanInterface " + obj.meta.Key() : s.description, tag);
    v.paused = IsTrue(obj.meta.annotations, kPausedAnnotation);
    v.requested_sync = Annotation(obj.meta.annotations, kRequestedSyncAnnotation);
    v.source = obj.pos;
    return v;
  }

  // Two VlanInterfaces claiming the same sub-interface, or the same VLAN on the same parent.
  void VlanConflicts() {
    for (size_t a = 0; a < vlan_claims_.size(); ++a) {
      for (size_t b = a + 1; b < vlan_claims_.size(); ++b) {
        const auto& x = vlan_claims_[a];
        const auto& y = vlan_claims_[b];
        if (x.device != y.device) continue;
        std::string why;
        if (x.name == y.name)
          why = "claims sub-interface " + x.name;
        else if (x.parent == y.parent && x.vlan == y.vlan)
          why = "claims VLAN " + std::to_string(x.vlan) + " on " + x.parent;
        if (why.empty()) continue;
        for (auto [me, other] : {std::pair{&x, &y}, std::pair{&y, &x}}) {
          const auto& obj = manifests_.vlan_interfaces[me->index];
          ProblemSink sink(problems_, "VlanInterface", obj.meta.Key(), obj.pos, obj.fields);
          sink.Add("spec.vlan", why + ", as does VlanInterface " +
                                    manifests_.vlan_interfaces[other->index].meta.Key());
          vlan_rules_[me->index].reset();
        }
      }
    }
  }

  void Sort() {
    std::sort(result_.desired.vlans.begin(), result_.desired.vlans.end(),
              [](const VlanRule& a, const VlanRule& b) {
                return std::tie(a.device, a.resource) < std::tie(b.device, b.resource);
              });
    std::sort(result_.desired.rules.begin(), result_.desired.rules.end(),
              [](const PortRule& a, const PortRule& b) {
                return std::tie(a.device(), a.resource(), a.port) <
                       std::tie(b.device(), b.resource(), b.port);
              });
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const api::Problem& a, const api::Problem& b) {
                       return std::tie(a.pos.file, a.pos.line, a.pos.column) <
                              std::tie(b.pos.file, b.pos.line, b.pos.column);
                     });
  }

  const api::Manifests& manifests_;
  api::Manifests* release_;  // manifests_ itself, when its ports may be released
  const ServiceTable& services_;
  ValidationResult result_;
  std::vector<api::Problem>& problems_;
  std::map<std::string, const api::DeviceObject*> device_objects_;
  std::set<std::string> pf_seen_;
  std::set<std::string> vlan_seen_;
  /// The rules PortForward i declared (valid or not).
  std::span<const PortRule> RulesOf(size_t i) const {
    return std::span<const PortRule>(rules_).subspan(first_rule_[i],
                                                     first_rule_[i + 1] - first_rule_[i]);
  }

  std::vector<PortRule> rules_;     // every port's rule, PortForward by PortForward
  std::vector<size_t> first_rule_;  // PortForward i's rules: [first_rule_[i], first_rule_[i+1])
  std::vector<bool> pf_ok_;
  std::vector<Claim> claims_;
  std::vector<PortInterval> claim_ports_;  // the claims' external port intervals
  std::vector<std::optional<VlanRule>> vlan_rules_;
  std::vector<VlanClaim> vlan_claims_;
};

}  // namespace

std::string ResolveRelative(const std::string& manifest_file, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  auto slash = manifest_file.find_last_of('/');
  if (slash == std::string::npos) return path;
  return manifest_file.substr(0, slash + 1) + path;
}

ValidationResult Validate(const api::Manifests& manifests, const ServiceTable& services) {
  return Validator(manifests, services).Run();
}

ValidationResult Validate(api::Manifests&& manifests, const ServiceTable& services) {
  return Validator(manifests, services, &manifests).Run();
}

}  // namespace nc::core
