#include "controller/core/model.hpp"

#include <algorithm>
#include <cctype>

namespace nc::core {

const char* ToString(ManagementPolicy p) {
  switch (p) {
    case ManagementPolicy::kObserve: return "Observe";
    case ManagementPolicy::kCreateUpdate: return "CreateUpdate";
    case ManagementPolicy::kFull: return "Full";
  }
  return "?";
}

const char* ToString(ConflictPolicy p) {
  switch (p) {
    case ConflictPolicy::kAbort: return "Abort";
    case ConflictPolicy::kAdopt: return "Adopt";
    case ConflictPolicy::kOverride: return "Override";
    case ConflictPolicy::kSkip: return "Skip";
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
  AddDiff(out, "other leaves", Join(from.unmanaged), Join(to.unmanaged));
  return out;
}

std::vector<PortRule> DesiredState::RulesFor(const std::string& device_key) const {
  std::vector<PortRule> out;
  for (const auto& r : rules) {
    if (r.device == device_key) out.push_back(r);
  }
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
