// ComputeSwitchPlan: VlanInterfaces against what a switch runs. Identity is the sub-interface
// name; ownership is a last-applied record or the ownership tag in the description (so that it
// survives a lost store), exactly as for NAT rules.
#include <algorithm>
#include <set>

#include "controller/core/plan.hpp"

namespace nc::core {

std::string InterfaceDisplay(const std::string& name, int vlan) {
  return "Interface " + name + " VLAN " + std::to_string(vlan);
}

SwitchState ExpectedAfter(const SwitchState& observed, const Plan& plan) {
  SwitchState after = observed;
  for (const auto& ch : plan.bridge_domains) {
    if (ch.kind == ChangeKind::kDelete)
      after.bridge_domains.erase(ch.name);
    else
      after.bridge_domains[ch.name].description = ch.description;
  }
  for (const auto& ch : plan.interfaces) {
    if (ch.kind == ChangeKind::kDelete)
      after.interfaces.erase(ch.name);
    else
      after.interfaces[ch.name] = *ch.after;
  }
  // Membership follows the sub-interfaces; members that are not sub-interfaces (ports, bundles)
  // stay as they were.
  for (auto& [name, bd] : after.bridge_domains)
    std::erase_if(bd.members, [&](const std::string& m) {
      return observed.interfaces.count(m) || after.interfaces.count(m);
    });
  for (const auto& [name, sub] : after.interfaces)
    if (!sub.bridge_domain.empty()) after.bridge_domains[sub.bridge_domain].members.push_back(name);
  for (auto& [name, bd] : after.bridge_domains) std::sort(bd.members.begin(), bd.members.end());
  return after;
}

Plan ComputeSwitchRestore(const SwitchState& want, const SwitchState& have, const std::string& tag,
                          const std::string& why) {
  Plan plan;
  std::set<std::string> names;
  for (const auto& [n, x] : want.interfaces) names.insert(n);
  for (const auto& [n, x] : have.interfaces) names.insert(n);
  for (const auto& n : names) {
    auto w = want.interfaces.find(n);
    auto h = have.interfaces.find(n);
    const bool ww = w != want.interfaces.end();
    const bool hh = h != have.interfaces.end();
    if (ww && hh && w->second == h->second) continue;
    InterfaceChange ch{!hh   ? ChangeKind::kAdd
                       : !ww ? ChangeKind::kDelete
                             : ChangeKind::kUpdate,
                       n,
                       "",
                       std::nullopt,
                       std::nullopt,
                       why,
                       false};
    if (hh) ch.before = h->second;
    if (ww) ch.after = w->second;
    plan.interfaces.push_back(std::move(ch));
  }
  for (const auto& [n, bd] : want.bridge_domains)
    if (!have.bridge_domains.count(n))
      plan.bridge_domains.push_back({ChangeKind::kAdd, n, bd.description, why});
  for (const auto& [n, bd] : have.bridge_domains)
    if (!want.bridge_domains.count(n) && HasOwnershipTag(bd.description, tag))
      plan.bridge_domains.push_back({ChangeKind::kDelete, n, "", why});
  return plan;
}

namespace {

/// One ComputeSwitchPlan: each declared sub-interface (pause, missing parent, create, conflict
/// policy, drift, update), then the owned ones no longer declared, then bridge domains.
class SwitchPlanner {
 public:
  explicit SwitchPlanner(const SwitchPlanInput& in)
      : in_(in), dev_(in.device), ports_(in.observed.ports.begin(), in.observed.ports.end()) {}

  Plan Run() {
    for (const auto& v : in_.vlans) {
      desired_names_.insert(v.name);
      plan_.ports.push_back(PlanVlan(v));
    }
    Removals();
    BridgeDomains();
    std::sort(plan_.interfaces.begin(), plan_.interfaces.end(),
              [](const InterfaceChange& a, const InterfaceChange& b) { return a.name < b.name; });
    return std::move(plan_);
  }

 private:
  void Notice(const char* reason, const std::string& resource, const std::string& message,
              bool warning = true) {
    plan_.notices.push_back(PlanNotice{reason, resource, 0, message, warning});
  }

  // A change to v's sub-interface; the port counts as done once it is sent.
  void Change(const VlanRule& v, PortStatus& st, ChangeKind kind, std::string reason, bool drift) {
    InterfaceChange ch{kind, v.name, v.resource, std::nullopt, v.iface, std::move(reason), drift};
    if (auto obs = in_.observed.interfaces.find(v.name); obs != in_.observed.interfaces.end())
      ch.before = obs->second;
    plan_.interfaces.push_back(std::move(ch));
    st.state = Done(v);
  }

  static PortState Done(const VlanRule& v) {
    return v.iface.admin_enabled ? PortState::kApplied : PortState::kDisabled;
  }

  PortStatus PlanVlan(const VlanRule& v) {
    PortStatus st{v.resource,          v.name, InterfaceDisplay(v.name, v.iface.vlan), v.iface.vlan,
                  PortState::kPending, ""};
    const auto obs = in_.observed.interfaces.find(v.name);
    const bool on_device = obs != in_.observed.interfaces.end();
    const auto la = in_.last_applied.find(v.name);
    const bool recorded = la != in_.last_applied.end();
    const bool owned =
        recorded || (on_device && HasOwnershipTag(obs->second.description, dev_.tag));
    if (v.paused) {
      st.state = on_device && obs->second == v.iface ? Done(v) : PortState::kPending;
      st.message = "paused (annotation netconverge.io/paused)";
    } else if (!on_device && !ports_.empty() && !ports_.count(v.parent)) {
      st.message = "parent port " + v.parent + " does not exist on the device";
      Notice("ConfigurationError", v.resource, v.name + ": " + st.message);
    } else if (!on_device) {
      Missing(v, st, recorded && la->second.iface == v.iface);
    } else if (!owned) {
      Unowned(v, obs->second, st);
    } else if (obs->second == v.iface) {
      st.state = Done(v);
    } else if (recorded && la->second.iface == v.iface && la->second.resource == v.resource) {
      const std::string diff = DescribeDifference(v.iface, obs->second);
      Notice("DriftDetected", v.resource, v.name + " changed on the device out of band: " + diff);
      if (v.drift_policy == DriftPolicy::kReport) {
        st.state = PortState::kDrifted;
        st.message = "changed on the device out of band: " + diff + " (driftPolicy: Report)";
      } else {
        Change(v, st, ChangeKind::kUpdate, "revert out-of-band change: " + diff, true);
      }
    } else {
      Change(v, st, ChangeKind::kUpdate,
             "spec changed: " + DescribeDifference(obs->second, v.iface), false);
    }
    return st;
  }

  // Declared but not on the device: new, or deleted out of band after we applied it (drift).
  void Missing(const VlanRule& v, PortStatus& st, bool applied_unchanged) {
    if (!applied_unchanged) {
      Change(v, st, ChangeKind::kAdd, "declared; not on the device", false);
      return;
    }
    Notice("DriftDetected", v.resource, v.name + " was deleted on the device out of band");
    if (v.drift_policy == DriftPolicy::kReport) {
      st.state = PortState::kDrifted;
      st.message = "deleted on the device out of band (driftPolicy: Report)";
    } else {
      Change(v, st, ChangeKind::kAdd, "re-create: deleted on the device out of band", true);
    }
  }

  // On the device and not ours: the resource's onConflict decides.
  void Unowned(const VlanRule& v, const SubInterface& observed, PortStatus& st) {
    const std::string what = "sub-interface " + v.name +
                             " already exists on the device and is not managed by netconverge";
    switch (v.on_conflict) {
      case ConflictPolicy::kAbort:
        st.state = PortState::kConflict;
        st.message = what + " (onConflict: Abort)";
        Notice("ConflictDetected", v.resource, st.message);
        return;
      case ConflictPolicy::kSkip:
        st.state = PortState::kSkipped;
        st.message = what + " (onConflict: Skip)";
        Notice("ConflictDetected", v.resource, st.message, false);
        return;
      case ConflictPolicy::kAdopt:
      case ConflictPolicy::kOverride:
        break;
    }
    const bool adopt = v.on_conflict == ConflictPolicy::kAdopt;
    Notice(adopt ? "Adopted" : "Overridden", v.resource,
           what + "; " + (adopt ? "adopted" : "replaced") +
               " (onConflict: " + ToString(v.on_conflict) + ")",
           false);
    if (observed == v.iface)
      st.state = Done(v);
    else
      Change(
          v, st, ChangeKind::kUpdate,
          std::string(adopt ? "adopt" : "override") + ": " + DescribeDifference(observed, v.iface),
          false);
  }

  // Owned sub-interfaces no longer declared.
  void Removals() {
    std::set<std::string> owned_names;
    for (const auto& [name, rec] : in_.last_applied) owned_names.insert(name);
    for (const auto& [name, sub] : in_.observed.interfaces)
      if (HasOwnershipTag(sub.description, dev_.tag)) owned_names.insert(name);
    for (const auto& name : owned_names)
      if (!desired_names_.count(name)) Remove(name);
  }

  void Remove(const std::string& name) {
    const auto obs = in_.observed.interfaces.find(name);
    const auto la = in_.last_applied.find(name);
    const std::string resource = la != in_.last_applied.end() ? la->second.resource : "";
    if (obs == in_.observed.interfaces.end()) {
      plan_.released_interfaces.push_back(name);
    } else if (!resource.empty() && in_.orphaned.count(resource)) {
      // Left on the switch and handed back: without the tag no later pass claims it.
      plan_.released_interfaces.push_back(name);
      plan_.notices.push_back(PlanNotice{
          "Orphaned", resource, 0, name + " left on the device (deletionPolicy: Orphan)", false});
      if (HasOwnershipTag(obs->second.description, dev_.tag)) {
        SubInterface after = obs->second;
        after.description = StripOwnershipTag(after.description, dev_.tag);
        plan_.interfaces.push_back(
            {ChangeKind::kUpdate, name, "", obs->second, after,
             "orphaned by " + resource + " (deletionPolicy: Orphan): ownership tag removed",
             false});
      }
    } else if (!in_.held_deletes.empty()) {
      Notice("DeleteHeld", resource,
             name + " is no longer declared; not deleted: " + in_.held_deletes);
    } else if (dev_.management != ManagementPolicy::kFull) {
      Notice("DeleteWithheld", resource,
             name + " is no longer declared; not deleted (management: " +
                 ToString(dev_.management) + ")");
    } else {
      plan_.interfaces.push_back({ChangeKind::kDelete, name, resource, obs->second, std::nullopt,
                                  "no longer declared", false});
    }
  }

  // Bridge domains: create what the result references, remove ours that the result leaves empty.
  void BridgeDomains() {
    const SwitchState after = ExpectedAfter(in_.observed, plan_);
    for (const auto& [name, bd] : after.bridge_domains) {
      if (!in_.observed.bridge_domains.count(name))
        plan_.bridge_domains.push_back({ChangeKind::kAdd, name,
                                        TaggedDescription("bridge domain", dev_.tag),
                                        "first referenced by a VlanInterface"});
    }
    for (const auto& [name, bd] : in_.observed.bridge_domains) {
      if (!HasOwnershipTag(bd.description, dev_.tag)) continue;
      const auto it = after.bridge_domains.find(name);
      if (it != after.bridge_domains.end() && !it->second.members.empty()) continue;
      if (!in_.held_deletes.empty() || dev_.management != ManagementPolicy::kFull) continue;
      plan_.bridge_domains.push_back({ChangeKind::kDelete, name, "", "no member left"});
    }
  }

  const SwitchPlanInput& in_;
  const Device& dev_;
  const std::set<std::string> ports_;
  Plan plan_;
  std::set<std::string> desired_names_;
};

}  // namespace

Plan ComputeSwitchPlan(const SwitchPlanInput& in) {
  return SwitchPlanner(in).Run();
}

}  // namespace nc::core
