// ComputePlan: the pure heart of a reconcile. From the desired rules of one device, what the
// device runs, what was last applied and the device's policies, it decides every change and its
// reason: spec changes, drift (Enforce reverts, Report records), conflicts with rules the
// controller does not own (Abort / Adopt / Override / Skip), deletions of owned rules no longer
// declared. Unowned rules are never touched unless a resource says Override. Deterministic.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/core/boxed.hpp"
#include "controller/core/model.hpp"
#include "controller/core/result.hpp"
#include "controller/core/values.hpp"

namespace nc::core {

enum class ChangeKind { kAdd, kUpdate, kDelete };
const char* ToString(ChangeKind k);

struct RuleChange {
  ChangeKind kind = ChangeKind::kAdd;
  int number = 0;
  std::string resource;  // owner (empty for an overridden foreign rule)
  std::string port;
  std::string display;    // "VM vm1 Port SSH"
  Boxed<NatRule> before;  // on the heap: absent for an add, as `after` is for a delete
  Boxed<NatRule> after;
  std::string reason;
  bool drift = false;
  bool operator==(const RuleChange&) const = default;
};

enum class PortState { kApplied, kPending, kDisabled, kConflict, kSkipped, kDrifted, kRejected };
const char* ToString(PortState s);

/// The state of one declared port once the plan has been applied.
struct PortStatus {
  std::string resource;
  std::string port;
  std::string display;
  int number = 0;
  PortState state = PortState::kPending;
  std::string message;
  bool operator==(const PortStatus&) const = default;
};

/// Something the shell records as an event: DriftDetected, ConflictDetected, DeleteHeld,
/// DeleteWithheld, Adopted, Orphaned, AllocationFailed.
struct PlanNotice {
  std::string reason;
  std::string resource;
  int number = 0;
  std::string message;
  bool warning = true;
  bool operator==(const PlanNotice&) const = default;
};

/// A change to one switch sub-interface (with its bridge-domain membership).
struct InterfaceChange {
  ChangeKind kind = ChangeKind::kAdd;
  std::string name;      // "ge100-0/0/31.251"
  std::string resource;  // owner (empty for a foreign one being replaced)
  std::optional<SubInterface> before;
  std::optional<SubInterface> after;
  std::string reason;
  bool drift = false;
  bool operator==(const InterfaceChange&) const = default;
};

/// A bridge-domain instance created (first member) or removed (no member left; only if ours).
struct BridgeDomainChange {
  ChangeKind kind = ChangeKind::kAdd;  // kAdd or kDelete
  std::string name;
  std::string description;  // written on creation: carries the ownership tag
  std::string reason;
  bool operator==(const BridgeDomainChange&) const = default;
};

struct Plan {
  std::vector<RuleChange> changes;  // ascending rule number
  std::vector<PortStatus> ports;    // one per declared port
  std::vector<PlanNotice> notices;
  std::map<PortKey, int> adopted;  // allocations to persist for adopted rules
  std::vector<int> released;       // numbers whose ownership ends without a delete
  // Switches: sub-interfaces (by name) and bridge domains.
  std::vector<InterfaceChange> interfaces;
  std::vector<BridgeDomainChange> bridge_domains;
  std::vector<std::string> released_interfaces;  // records to drop: gone from the device already
  bool HasChanges() const {
    return !changes.empty() || !interfaces.empty() || !bridge_domains.empty();
  }
  size_t ChangeCount() const { return changes.size() + interfaces.size() + bridge_domains.size(); }
  bool operator==(const Plan&) const = default;
};

struct PlanInput {
  const Device& device;
  std::span<const PortRule> rules;  // desired rules of this device
  const std::vector<int>& numbers;  // per rule, from AllocateRuleNumbers (0 = none)
  const std::map<PortKey, std::string>& unallocated;
  const std::map<int, NatRule>& observed;
  const std::map<int, AppliedRecord>& last_applied;  // by rule number
  const std::map<int, PortKey>& allocated;           // every stored allocation, by number
  const ServiceTable& services;
  std::string held_deletes;                      // non-empty: no deletions, and why
  std::map<std::string, bool> orphan_on_delete;  // resource -> deletionPolicy Orphan
  /// Owns `rules` when set: the plan's after-rules point into them (a shared, immutable desired
  /// state) instead of being copies - 10,000 new rules are then 3 MB less.
  std::shared_ptr<const void> rules_owner;
};

Plan ComputePlan(const PlanInput& in);

/// Allocation and planning of one router in one step - what the reconciler and the plan tests
/// both call: the numbers new ports take (AllocateRuleNumbers), then ComputePlan against every
/// allocation in force once those are persisted.
struct NatPlanInput {
  const Device& device;
  std::span<const PortRule> rules;            // desired rules of this device
  const std::map<PortKey, int>& allocations;  // persisted allocations of this device
  const std::map<int, NatRule>& observed;
  const std::map<int, AppliedRecord>& last_applied;  // by rule number
  const ServiceTable& services;
  std::string held_deletes;                 // non-empty: no deletions, and why
  const std::set<std::string>& orphaned;    // resources deleted with deletionPolicy Orphan
  std::shared_ptr<const void> rules_owner;  // owns `rules` when set (PlanInput::rules_owner)
};

struct NatPlan {
  Plan plan;
  std::map<PortKey, int>
      allocated;                 // new or changed numbers: persisted before the device is touched
  size_t allocations_after = 0;  // allocations in force once `allocated` is persisted
};

NatPlan PlanNat(const NatPlanInput& in);

/// The changes that bring a router's destination rules from `have` back to `want` (a stored
/// snapshot): every rule as it was, rules added since deleted. Displays without the tag `tag`.
Plan ComputeNatRestore(const std::map<int, NatRule>& want, const std::map<int, NatRule>& have,
                       const std::string& tag, const std::string& why);

/// What a pass means for its device's status, from the plan's port states and the pass's error.
struct PassSummary {
  bool reachable = true;  // false: the pass failed reaching the device (and wrote nothing)
  bool synced = false;    // every declared object in force, nothing left pending
  int managed = 0;        // objects netconverge keeps on the device (applied, disabled, drifted)
  int drifted = 0;
};
PassSummary SummarizePass(const Plan& plan, std::optional<ErrorCode> error, bool wrote,
                          ManagementPolicy management);

/// The rules a device should hold after `plan` succeeds, starting from `observed`.
std::map<int, NatRule> ExpectedAfter(const std::map<int, NatRule>& observed, const Plan& plan);

struct SwitchPlanInput {
  const Device& device;
  std::span<const VlanRule> vlans;  // desired sub-interfaces of this device
  const SwitchState& observed;
  const std::map<std::string, AppliedInterface>& last_applied;  // by sub-interface name
  std::string held_deletes;                                     // non-empty: no deletions, and why
  std::set<std::string> orphaned;  // resources deleted with deletionPolicy Orphan
};

/// The switch counterpart of ComputePlan: the same classification (spec change, drift,
/// conflict, deletion of owned objects), per sub-interface, plus bridge domains created when
/// first referenced and removed when no member remains (only those carrying the ownership tag).
Plan ComputeSwitchPlan(const SwitchPlanInput& in);

/// The switch after `plan` succeeds, starting from `observed` (bridge-domain members included).
SwitchState ExpectedAfter(const SwitchState& observed, const Plan& plan);

/// The changes that bring a switch from `have` back to `want` (a stored snapshot): every
/// sub-interface as it was, bridge domains re-created, and those netconverge created since
/// (ownership tag `tag`) removed.
Plan ComputeSwitchRestore(const SwitchState& want, const SwitchState& have, const std::string& tag,
                          const std::string& why);

/// "Interface ge100-0/0/31.251 VLAN 251".
std::string InterfaceDisplay(const std::string& name, int vlan);

/// Whether rule number `n` on the device belongs to the controller.
bool IsOwned(int n, const NatRule* observed, const Device& device,
             const std::map<int, AppliedRecord>& last_applied,
             const std::map<int, PortKey>& allocated);

}  // namespace nc::core
