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

Plan ComputeSwitchPlan(const SwitchPlanInput& in) {
  Plan plan;
  const Device& dev = in.device;
  std::set<std::string> desired_names;
  const std::set<std::string> ports(in.observed.ports.begin(), in.observed.ports.end());
  auto notice = [&](const char* reason, const std::string& resource, const std::string& message,
                    bool warning = true) {
    plan.notices.push_back(PlanNotice{reason, resource, 0, message, warning});
  };

  for (const auto& v : in.vlans) {
    desired_names.insert(v.name);
    PortStatus st{v.resource,          v.name, InterfaceDisplay(v.name, v.iface.vlan), v.iface.vlan,
                  PortState::kPending, ""};
    const auto obs = in.observed.interfaces.find(v.name);
    const bool on_device = obs != in.observed.interfaces.end();
    const auto la = in.last_applied.find(v.name);
    const bool recorded = la != in.last_applied.end();
    const bool owned = recorded || (on_device && HasOwnershipTag(obs->second.description, dev.tag));
    const PortState done = v.iface.admin_enabled ? PortState::kApplied : PortState::kDisabled;
    auto change = [&](ChangeKind kind, std::string reason, bool drift) {
      InterfaceChange ch{kind, v.name, v.resource, std::nullopt, v.iface, std::move(reason), drift};
      if (on_device) ch.before = obs->second;
      plan.interfaces.push_back(std::move(ch));
      st.state = done;
    };

    if (v.paused) {
      st.state = on_device && obs->second == v.iface ? done : PortState::kPending;
      st.message = "paused (annotation netconverge.io/paused)";
    } else if (!on_device && !ports.empty() && !ports.count(v.parent)) {
      st.message = "parent port " + v.parent + " does not exist on the device";
      notice("ConfigurationError", v.resource, v.name + ": " + st.message);
    } else if (!on_device) {
      if (recorded && la->second.iface == v.iface) {
        notice("DriftDetected", v.resource, v.name + " was deleted on the device out of band");
        if (v.drift_policy == DriftPolicy::kReport) {
          st.state = PortState::kDrifted;
          st.message = "deleted on the device out of band (driftPolicy: Report)";
        } else {
          change(ChangeKind::kAdd, "re-create: deleted on the device out of band", true);
        }
      } else {
        change(ChangeKind::kAdd, "declared; not on the device", false);
      }
    } else if (!owned) {
      const std::string what = "sub-interface " + v.name +
                               " already exists on the device and is not managed by netconverge";
      switch (v.on_conflict) {
        case ConflictPolicy::kAbort:
          st.state = PortState::kConflict;
          st.message = what + " (onConflict: Abort)";
          notice("ConflictDetected", v.resource, st.message);
          break;
        case ConflictPolicy::kSkip:
          st.state = PortState::kSkipped;
          st.message = what + " (onConflict: Skip)";
          notice("ConflictDetected", v.resource, st.message, false);
          break;
        case ConflictPolicy::kAdopt:
        case ConflictPolicy::kOverride: {
          const bool adopt = v.on_conflict == ConflictPolicy::kAdopt;
          notice(adopt ? "Adopted" : "Overridden", v.resource,
                 what + "; " + (adopt ? "adopted" : "replaced") +
                     " (onConflict: " + ToString(v.on_conflict) + ")",
                 false);
          if (obs->second == v.iface)
            st.state = done;
          else
            change(ChangeKind::kUpdate,
                   std::string(adopt ? "adopt" : "override") + ": " +
                       DescribeDifference(obs->second, v.iface),
                   false);
          break;
        }
      }
    } else if (obs->second == v.iface) {
      st.state = done;
    } else if (recorded && la->second.iface == v.iface && la->second.resource == v.resource) {
      const std::string diff = DescribeDifference(v.iface, obs->second);
      notice("DriftDetected", v.resource, v.name + " changed on the device out of band: " + diff);
      if (v.drift_policy == DriftPolicy::kReport) {
        st.state = PortState::kDrifted;
        st.message = "changed on the device out of band: " + diff + " (driftPolicy: Report)";
      } else {
        change(ChangeKind::kUpdate, "revert out-of-band change: " + diff, true);
      }
    } else {
      change(ChangeKind::kUpdate, "spec changed: " + DescribeDifference(obs->second, v.iface),
             false);
    }
    plan.ports.push_back(std::move(st));
  }

  // Owned sub-interfaces no longer declared.
  std::set<std::string> owned_names;
  for (const auto& [name, rec] : in.last_applied) owned_names.insert(name);
  for (const auto& [name, sub] : in.observed.interfaces)
    if (HasOwnershipTag(sub.description, dev.tag)) owned_names.insert(name);
  for (const auto& name : owned_names) {
    if (desired_names.count(name)) continue;
    const auto obs = in.observed.interfaces.find(name);
    const auto la = in.last_applied.find(name);
    const std::string resource = la != in.last_applied.end() ? la->second.resource : "";
    if (obs == in.observed.interfaces.end()) {
      plan.released_interfaces.push_back(name);
    } else if (!resource.empty() && in.orphaned.count(resource)) {
      // Left on the switch and handed back: without the tag no later pass claims it.
      plan.released_interfaces.push_back(name);
      plan.notices.push_back(PlanNotice{
          "Orphaned", resource, 0, name + " left on the device (deletionPolicy: Orphan)", false});
      if (HasOwnershipTag(obs->second.description, dev.tag)) {
        SubInterface after = obs->second;
        after.description = StripOwnershipTag(after.description, dev.tag);
        plan.interfaces.push_back(
            {ChangeKind::kUpdate, name, "", obs->second, after,
             "orphaned by " + resource + " (deletionPolicy: Orphan): ownership tag removed",
             false});
      }
    } else if (!in.held_deletes.empty()) {
      notice("DeleteHeld", resource,
             name + " is no longer declared; not deleted: " + in.held_deletes);
    } else if (dev.management != ManagementPolicy::kFull) {
      notice("DeleteWithheld", resource,
             name + " is no longer declared; not deleted (management: " + ToString(dev.management) +
                 ")");
    } else {
      plan.interfaces.push_back({ChangeKind::kDelete, name, resource, obs->second, std::nullopt,
                                 "no longer declared", false});
    }
  }

  // Bridge domains: create what the result references, remove ours that the result leaves empty.
  SwitchState after = ExpectedAfter(in.observed, plan);
  for (const auto& [name, bd] : after.bridge_domains) {
    if (!in.observed.bridge_domains.count(name))
      plan.bridge_domains.push_back({ChangeKind::kAdd, name,
                                     TaggedDescription("bridge domain", dev.tag),
                                     "first referenced by a VlanInterface"});
  }
  for (const auto& [name, bd] : in.observed.bridge_domains) {
    if (!HasOwnershipTag(bd.description, dev.tag)) continue;
    const auto it = after.bridge_domains.find(name);
    if (it != after.bridge_domains.end() && !it->second.members.empty()) continue;
    if (!in.held_deletes.empty() || dev.management != ManagementPolicy::kFull) continue;
    plan.bridge_domains.push_back({ChangeKind::kDelete, name, "", "no member left"});
  }
  std::sort(plan.interfaces.begin(), plan.interfaces.end(),
            [](const InterfaceChange& a, const InterfaceChange& b) { return a.name < b.name; });
  return plan;
}

}  // namespace nc::core
