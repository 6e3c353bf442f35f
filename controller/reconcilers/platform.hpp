// Platform strategies: what differs between a router's destination NAT (VyosNat) and a switch's
// VLAN sub-interfaces (SwitchVlan) in a pass - how to plan from the observation and the records,
// which deletions the mass-deletion guard counts, what the store records after a successful
// apply, how a snapshot is restored. The pass itself (observe -> plan -> guard -> apply ->
// record) is one skeleton in DeviceReconciler. Strategies are stateless; planning is pure core.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>

#include "adapters/device_adapter.hpp"
#include "controller/core/plan.hpp"
#include "controller/store/store.hpp"

namespace nc::reconcilers {

/// What the store says about one device (kept between passes by the reconciler).
struct Records {
  std::map<core::PortKey, int> allocations;
  std::map<int, core::AppliedRecord> last_applied;
  std::map<std::string, core::AppliedInterface> applied_interfaces;  // switches
};

/// Everything a platform plans from.
struct PlanRequest {
  const core::Device& device;
  std::span<const core::PortRule> rules;  // a router's desired rules
  std::span<const core::VlanRule> vlans;  // a switch's desired sub-interfaces
  const ObservedState& observed;
  const Records& records;
  const core::ServiceTable& services;
  const std::set<std::string>& orphaned;
  std::string held_deletes;  // non-empty: no deletions, and why
  /// Owns `rules` when set (the shared desired state): the plan points into them instead of
  /// copying its after-rules.
  std::shared_ptr<const void> rules_owner;
};

struct PlannedPass {
  core::Plan plan;
  std::map<core::PortKey, int> allocated;  // to persist before the device is touched
  size_t allocations_after = 0;            // allocations in force once `allocated` is persisted
};

/// What the mass-deletion guard weighs: owned objects a plan deletes, of how many owned.
struct Deletions {
  size_t deleted = 0;
  size_t owned = 0;
};

class Platform {
 public:
  virtual ~Platform() = default;
  virtual PlannedPass Plan(const PlanRequest& request) const = 0;
  virtual Deletions Weigh(const core::Plan& plan, const Records& records) const = 0;
  /// After a successful apply: the last-applied records of what the device now holds for every
  /// object in force, written only where they differ (a no-op pass writes nothing). Returns
  /// whether it wrote (then the records cached for the device are stale).
  virtual Result<bool> Record(store::Store& store, const std::string& key,
                              const PlanRequest& request, const core::Plan& plan,
                              size_t allocations_after, const ApplyOutcome& outcome,
                              const std::string& now) const = 0;
  /// The changes that bring the device from `observed` back to `snapshot`.
  virtual core::Plan Restore(const store::Snapshot& snapshot, const ObservedState& observed,
                             const core::Device& device, const std::string& why) const = 0;
  /// After a rollback restored `plan`: the records become what was restored (what netconverge
  /// put on the device is its last-applied record, also when it came from a snapshot).
  virtual Status RecordRestored(store::Store& store, const std::string& key, const core::Plan& plan,
                                const std::string& now) const = 0;
  /// Whether a plan the device refused as a whole can be split by resource to find the offender.
  virtual bool Isolates() const = 0;
  /// The report line of an object the pass left as it was.
  virtual std::string NoChangeLine(const core::PortStatus& p) const = 0;
};

/// The strategy of a device's platform.
const Platform& PlatformFor(const core::Device& device);

}  // namespace nc::reconcilers
