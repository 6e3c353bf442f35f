// Status conditions (Kubernetes' Ready / Synced / Reachable / Drifted / Conflict) computed from
// typed state, for the Kubernetes source to write and for anything else that shows them. Pure:
// the same inputs give the same conditions; lastTransitionTime is the writer's business.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controller/core/plan.hpp"

namespace nc::core {

struct Condition {
  std::string type;
  std::string status;  // "True" | "False"
  std::string reason;
  std::string message;
  bool operator==(const Condition&) const = default;
};

/// PortState from its name (ToString's inverse); nullopt for an unknown name.
std::optional<PortState> ParsePortState(std::string_view name);

/// A device's state after a pass, as its status row keeps it.
struct DeviceHealth {
  bool reachable = false;
  bool synced = false;
  std::string message;
  std::vector<std::pair<std::string, std::string>>
      standing;  // the adapter's conditions (reason, message)
};

/// Ready, Reachable, Synced, then each standing condition as True.
std::vector<Condition> DeviceConditions(const DeviceHealth& device);

/// One object (port or sub-interface) of a rule resource after a pass.
struct ObjectHealth {
  std::string name;
  PortState state = PortState::kPending;
  std::string message;
};

struct ResourceHealth {
  std::vector<Condition> conditions;  // Ready, Synced (+ Drifted, Conflict for a PortForward)
  std::string message;                // the first problem ("ssh: Conflict (...)"), else ""
  int in_force = 0;                   // objects applied or disabled
};

/// A rule resource's conditions from its objects' states; `device_reachable` and
/// `device_message` explain a resource with nothing applied yet. `port_forward` adds Drifted and
/// Conflict.
ResourceHealth ResourceConditions(std::span<const ObjectHealth> objects, bool device_reachable,
                                  const std::string& device_message, bool port_forward);

}  // namespace nc::core
