#include "controller/core/model.hpp"

#include <algorithm>
#include <cctype>

namespace nc::core {

std::optional<ManagementPolicy> ParseManagementPolicy(std::string_view s) {
  if (s == "Observe") return ManagementPolicy::kObserve;
  if (s == "CreateUpdate") return ManagementPolicy::kCreateUpdate;
  if (s == "Full") return ManagementPolicy::kFull;
  return std::nullopt;
}

const char* ToString(ManagementPolicy p) {
  switch (p) {
    case ManagementPolicy::kObserve:
      return "Observe";
    case ManagementPolicy::kCreateUpdate:
      return "CreateUpdate";
    case ManagementPolicy::kFull:
      return "Full";
  }
  return "?";
}

const char* ToString(ConflictPolicy p) {
  switch (p) {
    case ConflictPolicy::kAbort:
      return "Abort";
    case ConflictPolicy::kAdopt:
      return "Adopt";
    case ConflictPolicy::kOverride:
      return "Override";
    case ConflictPolicy::kSkip:
      return "Skip";
  }
  return "?";
}

const char* ToString(DriftPolicy p) {
  return p == DriftPolicy::kEnforce ? "Enforce" : "Report";
}

namespace {

void AddDiff(std::string& out, const char* field, const std::string& a, const std::string& b) {
  if (a == b) return;
  if (!out.empty()) out += "; ";
  out += field;
  out += ": ";
  out += a.empty() ? "(none)" : "'" + a + "'";
  out += " -> ";
  out += b.empty() ? "(none)" : "'" + b + "'";
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

std::string DescribeDifference(const NatRule& from, const NatRule& to) {
  std::string out;
  AddDiff(out, "description", from.description, to.description);
  AddDiff(out, "inbound-interface", from.inbound_interface, to.inbound_interface);
  AddDiff(out, "protocol", from.protocol, to.protocol);
  AddDiff(out, "destination address", from.destination_address, to.destination_address);
  AddDiff(out, "destination port", from.destination_port, to.destination_port);
  AddDiff(out, "source address", from.source_address, to.source_address);
  AddDiff(out, "translation address", from.translation_address, to.translation_address);
  AddDiff(out, "translation port", from.translation_port, to.translation_port);
  if (from.disabled != to.disabled) {
    if (!out.empty()) out += "; ";
    out += std::string("disable: ") + (from.disabled ? "on" : "off") + " -> " +
           (to.disabled ? "on" : "off");
  }
  if (from.log != to.log) {
    if (!out.empty()) out += "; ";
    out += std::string("log: ") + (from.log ? "on" : "off") + " -> " + (to.log ? "on" : "off");
  }
  AddDiff(out, "other leaves", Join(from.unmanaged), Join(to.unmanaged));
  return out;
}

std::span<const PortRule> DesiredState::RulesFor(const std::string& device_key) const {
  auto lo =
      std::lower_bound(rules.begin(), rules.end(), device_key,
                       [](const PortRule& r, const std::string& k) { return r.device() < k; });
  auto hi =
      std::upper_bound(lo, rules.end(), device_key,
                       [](const std::string& k, const PortRule& r) { return k < r.device(); });
  return {lo, hi};
}

namespace {

struct Hasher {
  uint64_t h = 1469598103934665603ull;
  void Mix(uint64_t v) { h = (h ^ v) * 1099511628211ull + (h >> 29); }
  void Add(std::string_view s) { Mix(std::hash<std::string_view>{}(s)); }
  void Add(int64_t v) { Mix(static_cast<uint64_t>(v)); }
};

void AddDevice(Hasher& x, const Device& d) {
  for (std::string_view s :
       {std::string_view(d.ns), std::string_view(d.name), std::string_view(d.address),
        std::string_view(d.transport_primary), std::string_view(d.transport_fallback),
        std::string_view(d.credentials_file), std::string_view(d.credentials_secret),
        std::string_view(d.tls_ca_file), std::string_view(d.tls_server_name),
        std::string_view(d.tag), std::string_view(d.requested_sync)})
    x.Add(s);
  for (int64_t v :
       {static_cast<int64_t>(d.platform), static_cast<int64_t>(d.tls_insecure_skip_verify),
        static_cast<int64_t>(d.management), static_cast<int64_t>(d.paused), d.poll_interval_ms,
        static_cast<int64_t>(d.commit_confirm), static_cast<int64_t>(d.commit_confirm_minutes),
        static_cast<int64_t>(d.save_after_confirm), static_cast<int64_t>(d.rule_range.first),
        static_cast<int64_t>(d.rule_range.last), d.max_request_bytes, d.request_timeout_ms,
        static_cast<int64_t>(d.ssh_accept_new), d.ssh_command_timeout_ms, int64_t{d.ssh_port}})
    x.Add(v);
  x.Add(d.ssh_known_hosts);
}

}  // namespace

uint64_t Fingerprint(const Device& d, std::span<const PortRule> rules) {
  Hasher x;
  AddDevice(x, d);
  x.Add(static_cast<int64_t>(rules.size()));
  for (const auto& r : rules) {
    for (std::string_view s :
         {std::string_view(r.resource()), std::string_view(r.port), r.display(),
          std::string_view(r.rule.description), std::string_view(r.rule.inbound_interface),
          std::string_view(r.rule.protocol), std::string_view(r.rule.destination_address),
          std::string_view(r.rule.destination_port), std::string_view(r.rule.source_address),
          std::string_view(r.rule.translation_address), std::string_view(r.rule.translation_port)})
      x.Add(s);
    for (const auto& u : r.rule.unmanaged) x.Add(u);
    x.Add(static_cast<int64_t>(r.rule.disabled) | (static_cast<int64_t>(r.rule.log) << 8) |
          (static_cast<int64_t>(r.paused()) << 1) | (static_cast<int64_t>(r.on_conflict()) << 2) |
          (static_cast<int64_t>(r.drift_policy()) << 5));
    x.Add(r.pinned_number ? *r.pinned_number : -1);
  }
  return x.h;
}

uint64_t Fingerprint(const Device& d, std::span<const VlanRule> vlans) {
  Hasher x;
  AddDevice(x, d);
  x.Add(static_cast<int64_t>(vlans.size()));
  for (const auto& v : vlans) {
    for (std::string_view s :
         {std::string_view(v.resource), std::string_view(v.name), std::string_view(v.parent),
          std::string_view(v.iface.description), std::string_view(v.iface.bridge_domain)})
      x.Add(s);
    for (const auto& u : v.iface.unmanaged) x.Add(u);
    x.Add(int64_t{v.iface.vlan});
    x.Add(static_cast<int64_t>(v.iface.l2_service) |
          (static_cast<int64_t>(v.iface.admin_enabled) << 1) |
          (static_cast<int64_t>(v.paused) << 2) | (static_cast<int64_t>(v.on_conflict) << 3) |
          (static_cast<int64_t>(v.drift_policy) << 6));
  }
  return x.h;
}

std::span<const VlanRule> DesiredState::VlansFor(const std::string& device_key) const {
  auto lo = std::lower_bound(vlans.begin(), vlans.end(), device_key,
                             [](const VlanRule& r, const std::string& k) { return r.device < k; });
  auto hi = std::upper_bound(lo, vlans.end(), device_key,
                             [](const std::string& k, const VlanRule& r) { return k < r.device; });
  return {lo, hi};
}

std::string DescribeDifference(const SubInterface& from, const SubInterface& to) {
  std::string out;
  auto onoff = [](bool b) { return std::string(b ? "enabled" : "disabled"); };
  AddDiff(out, "vlan-id", from.vlan ? std::to_string(from.vlan) : "",
          to.vlan ? std::to_string(to.vlan) : "");
  AddDiff(out, "l2-service", onoff(from.l2_service), onoff(to.l2_service));
  AddDiff(out, "admin-state", onoff(from.admin_enabled), onoff(to.admin_enabled));
  AddDiff(out, "description", from.description, to.description);
  AddDiff(out, "bridge-domain", from.bridge_domain, to.bridge_domain);
  AddDiff(out, "other leaves", Join(from.unmanaged), Join(to.unmanaged));
  return out;
}

std::string TaggedDescription(const std::string& text, const std::string& tag) {
  return text + " [" + tag + "]";
}

bool HasOwnershipTag(const std::string& description, const std::string& tag) {
  const std::string suffix = " [" + tag + "]";
  return description.size() >= suffix.size() &&
         description.compare(description.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string StripOwnershipTag(const std::string& description, const std::string& tag) {
  if (!HasOwnershipTag(description, tag)) return description;
  return description.substr(0, description.size() - tag.size() - 3);
}

std::string DefaultDescription(const std::string& vm, const std::string& port) {
  std::string upper = port;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return "VM " + vm + " Port " + upper;
}

}  // namespace nc::core
