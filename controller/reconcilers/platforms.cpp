// The two platform strategies: VyosNat (destination-NAT rules, numbered from an owned range) and
// SwitchVlan (sub-interfaces by name, with bridge domains).
#include <map>
#include <string_view>

#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/reconcilers/platform.hpp"

namespace nc::reconcilers {

namespace {

bool InForce(const core::PortStatus& p) {
  return p.state == core::PortState::kApplied || p.state == core::PortState::kDisabled;
}

class VyosNat final : public Platform {
 public:
  PlannedPass Plan(const PlanRequest& q) const override {
    auto np = core::PlanNat({q.device, q.rules, q.records.allocations, q.observed.nat_rules,
                             q.records.last_applied, q.services, q.held_deletes, q.orphaned,
                             q.rules_owner});
    return PlannedPass{std::move(np.plan), std::move(np.allocated), np.allocations_after};
  }

  Deletions Weigh(const core::Plan& plan, const Records& records) const override {
    Deletions d;
    d.owned = records.last_applied.size();
    for (const auto& ch : plan.changes)
      if (ch.kind == core::ChangeKind::kDelete && records.last_applied.count(ch.number))
        ++d.deleted;
    return d;
  }

  Result<bool> Record(store::Store& store, const std::string& key, const PlanRequest& q,
                      const core::Plan& plan, size_t allocations_after, const ApplyOutcome& outcome,
                      const std::string& now) const override {
    store::AppliedUpdate update;
    std::map<std::string_view, std::map<std::string_view, const core::PortRule*>> by_key;
    for (const auto& rule : q.rules) by_key[rule.resource()][rule.port] = &rule;
    for (const auto& p : plan.ports) {
      if (!InForce(p)) continue;
      const auto* rule = by_key.at(p.resource).at(p.port);
      auto la = q.records.last_applied.find(p.number);
      if (la != q.records.last_applied.end() && la->second.resource == p.resource &&
          la->second.port == p.port && la->second.rule == rule->rule)
        continue;
      update.upserts[p.number] = store::AppliedRef{p.resource, p.port, &rule->rule};
    }
    for (const auto& ch : plan.changes)
      if (ch.kind == core::ChangeKind::kDelete) update.removed.push_back(ch.number);
    for (int n : plan.released) {
      update.removed.push_back(n);
      update.released.push_back(n);
    }
    // Allocations of ports no longer declared are pruned once their rules are gone.
    const bool stale_allocations = allocations_after != q.rules.size();
    if (update.upserts.empty() && update.removed.empty() && !stale_allocations) return false;
    if (outcome.numbers_after) {
      update.on_device.insert(outcome.numbers_after->begin(), outcome.numbers_after->end());
    } else {
      std::optional<std::map<int, core::NatRule>> expected;  // only when nothing was read back
      if (!outcome.read_back) expected = core::ExpectedAfter(q.observed.nat_rules, plan);
      const auto& after = outcome.read_back ? *outcome.read_back : *expected;
      for (const auto& [n, rule] : after) update.on_device.insert(n);
    }
    for (const auto& rule : q.rules) update.desired.insert({rule.resource(), rule.port});
    if (auto st = store.RecordApplied(key, update, now); !st) return tl::unexpected(st.error());
    return true;
  }

  core::Plan Restore(const store::Snapshot& snapshot, const ObservedState& observed,
                     const core::Device& device, const std::string& why) const override {
    return core::ComputeNatRestore(snapshot.rules, observed.nat_rules, device.tag, why);
  }

  Status RecordRestored(store::Store& store, const std::string& key, const core::Plan& plan,
                        const std::string& now) const override {
    auto allocations = store.Allocations(key);
    if (!allocations) return tl::unexpected(allocations.error());
    std::map<int, core::PortKey> owner;
    store::AppliedUpdate u;
    for (const auto& [port, n] : *allocations) {
      owner.emplace(n, port);
      u.desired.insert(port);  // allocations stay: the ports keep their numbers
    }
    for (const auto& ch : plan.changes) {
      auto o = owner.find(ch.number);
      if (o == owner.end()) continue;  // not ours: no record to keep
      if (ch.after)
        u.upserts[ch.number] = store::AppliedRef{o->second.resource, o->second.port, &*ch.after};
      else
        u.removed.push_back(ch.number);
    }
    if (u.upserts.empty() && u.removed.empty()) return {};
    return store.RecordApplied(key, u, now);
  }

  bool Isolates() const override { return true; }
  std::string NoChangeLine(const core::PortStatus& p) const override {
    return FormatReportLine(p.display, p.number);
  }
};

class SwitchVlan final : public Platform {
 public:
  PlannedPass Plan(const PlanRequest& q) const override {
    return PlannedPass{
        core::ComputeSwitchPlan({q.device, q.vlans, q.observed.switch_state,
                                 q.records.applied_interfaces, q.held_deletes, q.orphaned}),
        {},
        0};
  }

  Deletions Weigh(const core::Plan& plan, const Records& records) const override {
    Deletions d;
    d.owned = records.applied_interfaces.size();
    for (const auto& ch : plan.interfaces)
      if (ch.kind == core::ChangeKind::kDelete && records.applied_interfaces.count(ch.name))
        ++d.deleted;
    return d;
  }

  Result<bool> Record(store::Store& store, const std::string& key, const PlanRequest& q,
                      const core::Plan& plan, size_t, const ApplyOutcome&,
                      const std::string& now) const override {
    std::map<std::string, core::AppliedInterface> upserts;
    std::vector<std::string> removed;
    std::map<std::string_view, const core::VlanRule*> by_name;
    for (const auto& v : q.vlans) by_name[v.name] = &v;
    for (const auto& p : plan.ports) {
      if (!InForce(p)) continue;
      const auto* v = by_name.at(p.port);
      auto la = q.records.applied_interfaces.find(p.port);
      if (la != q.records.applied_interfaces.end() && la->second.resource == p.resource &&
          la->second.iface == v->iface)
        continue;
      upserts[p.port] = core::AppliedInterface{p.resource, v->iface};
    }
    for (const auto& ch : plan.interfaces)
      if (ch.kind == core::ChangeKind::kDelete) removed.push_back(ch.name);
    for (const auto& n : plan.released_interfaces) removed.push_back(n);
    if (upserts.empty() && removed.empty()) return false;
    if (auto st = store.RecordAppliedInterfaces(key, upserts, removed, now); !st)
      return tl::unexpected(st.error());
    return true;
  }

  core::Plan Restore(const store::Snapshot& snapshot, const ObservedState& observed,
                     const core::Device& device, const std::string& why) const override {
    return core::ComputeSwitchRestore(snapshot.switch_state, observed.switch_state, device.tag,
                                      why);
  }

  // A restored switch is re-planned against its records at the next pass (drift or spec change).
  Status RecordRestored(store::Store&, const std::string&, const core::Plan&,
                        const std::string&) const override {
    return {};
  }

  bool Isolates() const override { return false; }
  std::string NoChangeLine(const core::PortStatus& p) const override { return p.display; }
};

}  // namespace

const Platform& PlatformFor(const core::Device& device) {
  static const VyosNat kNat;
  static const SwitchVlan kSwitch;
  if (device.IsSwitch()) return kSwitch;
  return kNat;
}

}  // namespace nc::reconcilers
