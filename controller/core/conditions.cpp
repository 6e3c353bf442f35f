#include "controller/core/conditions.hpp"

namespace nc::core {

std::optional<PortState> ParsePortState(std::string_view name) {
  for (auto s :
       {PortState::kApplied, PortState::kPending, PortState::kDisabled, PortState::kConflict,
        PortState::kSkipped, PortState::kDrifted, PortState::kRejected})
    if (name == ToString(s)) return s;
  return std::nullopt;
}

std::vector<Condition> DeviceConditions(const DeviceHealth& d) {
  const bool ready = d.reachable && d.synced;
  const std::string reason = !d.reachable ? "Unreachable" : !d.synced ? "NotSynced" : "Synced";
  std::vector<Condition> out = {
      {"Ready", ready ? "True" : "False", reason, d.message},
      {"Reachable", d.reachable ? "True" : "False", d.reachable ? "Reachable" : "Unreachable",
       d.message},
      {"Synced", d.synced ? "True" : "False", d.synced ? "Synced" : "NotSynced", d.message}};
  for (const auto& [type, message] : d.standing) out.push_back({type, "True", type, message});
  return out;
}

ResourceHealth ResourceConditions(std::span<const ObjectHealth> objects, bool device_reachable,
                                  const std::string& device_message, bool port_forward) {
  ResourceHealth h;
  std::optional<PortState> first_problem;
  bool drifted = false;
  bool conflict = false;
  for (const auto& o : objects) {
    const bool ok = o.state == PortState::kApplied || o.state == PortState::kDisabled;
    h.in_force += ok ? 1 : 0;
    drifted = drifted || o.state == PortState::kDrifted;
    conflict = conflict || o.state == PortState::kConflict;
    if (!ok && !first_problem) {
      first_problem = o.state;
      h.message =
          o.name + ": " + ToString(o.state) + (o.message.empty() ? "" : " (" + o.message + ")");
    }
  }
  const bool synced = !objects.empty() && !first_problem;
  const std::string reason = synced           ? "Applied"
                             : !first_problem ? "Pending"
                                              : ToString(*first_problem);
  if (h.message.empty() && !synced)
    h.message = device_message.empty() ? "not applied yet" : device_message;
  const bool ready = synced && device_reachable;
  h.conditions = {{"Ready", ready ? "True" : "False", reason, h.message},
                  {"Synced", synced ? "True" : "False", reason, h.message}};
  if (port_forward) {
    h.conditions.push_back({"Drifted", drifted ? "True" : "False", drifted ? "Drifted" : "InSync",
                            drifted ? h.message : ""});
    h.conditions.push_back({"Conflict", conflict ? "True" : "False",
                            conflict ? "Conflict" : "NoConflict", conflict ? h.message : ""});
  }
  return h;
}

}  // namespace nc::core
