#include "controller/core/plan.hpp"

#include "controller/core/allocate.hpp"

#include <algorithm>
#include <set>

namespace nc::core {

const char* ToString(ChangeKind k) {
  switch (k) {
    case ChangeKind::kAdd:
      return "add";
    case ChangeKind::kUpdate:
      return "update";
    case ChangeKind::kDelete:
      return "delete";
  }
  return "?";
}

const char* ToString(PortState s) {
  switch (s) {
    case PortState::kApplied:
      return "Applied";
    case PortState::kPending:
      return "Pending";
    case PortState::kDisabled:
      return "Disabled";
    case PortState::kConflict:
      return "Conflict";
    case PortState::kSkipped:
      return "Skipped";
    case PortState::kDrifted:
      return "Drifted";
    case PortState::kRejected:
      return "DeviceRejected";
  }
  return "?";
}

bool IsOwned(int n, const NatRule* observed, const Device& device,
             const std::map<int, AppliedRecord>& last_applied,
             const std::map<int, PortKey>& allocated) {
  if (last_applied.count(n) || allocated.count(n)) return true;
  return observed && device.rule_range.Contains(n) &&
         HasOwnershipTag(observed->description, device.tag);
}

namespace {

struct Match {
  bool tcp = false;
  bool udp = false;
  std::vector<PortInterval> ports;
};

std::optional<Match> MatchOf(const NatRule& r, const ServiceTable& services) {
  Match m;
  if (r.protocol == "tcp")
    m.tcp = true;
  else if (r.protocol == "udp")
    m.udp = true;
  else if (r.protocol == "tcp_udp" || r.protocol.empty() || r.protocol == "all")
    m.tcp = m.udp = true;
  else
    return std::nullopt;
  if (r.destination_port.empty()) {
    m.ports.push_back({1, 65535});
    return m;
  }
  auto p = ParsePortMulti(r.destination_port, services);
  if (!p) return std::nullopt;
  m.ports = *p;
  return m;
}

bool Collides(const Match& a, const Match& b) {
  if (!((a.tcp && b.tcp) || (a.udp && b.udp))) return false;
  for (const auto& x : a.ports)
    for (const auto& y : b.ports)
      if (x.Overlaps(y)) return true;
  return false;
}

std::string RuleLabel(int n) {
  return "rule " + std::to_string(n);
}

}  // namespace

Plan ComputePlan(const PlanInput& in) {
  Plan plan;
  const Device& dev = in.device;

  // Unowned rules on the device, with what they match, for conflict detection.
  struct Foreign {
    int number;
    const NatRule* rule;
    std::optional<Match> match;
  };
  std::vector<Foreign> foreign;
  for (const auto& [n, rule] : in.observed) {
    if (!IsOwned(n, &rule, dev, in.last_applied, in.allocated))
      foreign.push_back({n, &rule, MatchOf(rule, in.services)});
  }

  // Pass 1: the conflicts of each declared port with unowned rules.
  std::map<size_t, std::vector<int>> conflicts;  // by rule index
  std::set<std::string> aborted_resources;
  for (size_t i = 0; i < in.rules.size() && !foreign.empty(); ++i) {
    const auto& r = in.rules[i];
    std::vector<int> hits;
    if (in.numbers[i] != 0) {
      for (const auto& f : foreign)
        if (f.number == in.numbers[i]) hits.push_back(f.number);
    }
    if (!foreign.empty() && r.rule.inbound_interface.size()) {
      auto mine = MatchOf(r.rule, in.services);
      for (const auto& f : foreign) {
        if (!mine || !f.match || f.rule->inbound_interface != r.rule.inbound_interface) continue;
        if (!f.rule->destination_address.empty() &&
            f.rule->destination_address != r.rule.destination_address &&
            !r.rule.destination_address.empty())
          continue;
        if (Collides(*mine, *f.match) &&
            std::find(hits.begin(), hits.end(), f.number) == hits.end())
          hits.push_back(f.number);
      }
    }
    if (hits.empty()) continue;
    std::sort(hits.begin(), hits.end());
    conflicts[i] = hits;
    if (r.on_conflict == ConflictPolicy::kAbort) aborted_resources.insert(r.resource);
  }

  std::vector<int> desired_numbers;  // numbers the declared ports hold (kept from deletion)
  desired_numbers.reserve(in.rules.size());
  std::set<int> overridden;  // foreign numbers deleted by Override
  std::vector<RuleChange> changes;
  plan.ports.reserve(in.rules.size());

  for (size_t i = 0; i < in.rules.size(); ++i) {
    const auto& r = in.rules[i];
    PortStatus st{r.resource, r.port, r.display, 0, PortState::kPending, ""};
    if (in.numbers[i] == 0) {
      auto f = in.unallocated.find(PortKey{r.resource, r.port});
      st.message = f != in.unallocated.end() ? f->second : "no rule number";
      plan.notices.push_back({"AllocationFailed", r.resource, 0, r.port + ": " + st.message});
      plan.ports.push_back(st);
      continue;
    }
    int n = in.numbers[i];
    st.number = n;

    auto conflict = conflicts.find(i);
    if (aborted_resources.count(r.resource)) {
      desired_numbers.push_back(n);
      st.state = conflict != conflicts.end() ? PortState::kConflict : PortState::kPending;
      if (conflict != conflicts.end()) {
        std::string which;
        for (int c : conflict->second) which += (which.empty() ? "" : ", ") + RuleLabel(c);
        st.message = "conflicts with " + which + " not owned by netconverge (onConflict: Abort)";
        plan.notices.push_back(
            {"ConflictDetected", r.resource, conflict->second.front(), r.port + ": " + st.message});
      } else {
        st.message =
            "not applied: another port of this resource has a conflict (onConflict: Abort)";
      }
      plan.ports.push_back(st);
      continue;
    }
    if (conflict != conflicts.end()) {
      std::string which;
      for (int c : conflict->second) which += (which.empty() ? "" : ", ") + RuleLabel(c);
      if (r.on_conflict == ConflictPolicy::kSkip) {
        desired_numbers.push_back(n);
        st.state = PortState::kSkipped;
        st.message =
            "skipped: conflicts with " + which + " not owned by netconverge (onConflict: Skip)";
        plan.notices.push_back(
            {"ConflictDetected", r.resource, conflict->second.front(), r.port + ": " + st.message});
        plan.ports.push_back(st);
        continue;
      }
      if (r.on_conflict == ConflictPolicy::kAdopt) {
        int adopted = conflict->second.front();
        plan.adopted[PortKey{r.resource, r.port}] = adopted;
        plan.notices.push_back({"Adopted", r.resource, adopted,
                                r.port + ": took ownership of existing " + RuleLabel(adopted),
                                false});
        n = adopted;
        st.number = n;
        for (size_t k = 1; k < conflict->second.size(); ++k) {
          plan.notices.push_back({"ConflictDetected", r.resource, conflict->second[k],
                                  r.port + ": also conflicts with " +
                                      RuleLabel(conflict->second[k]) + ", left as it is"});
        }
      } else {  // Override
        for (int c : conflict->second) {
          if (c == n) continue;
          overridden.insert(c);
          RuleChange del{ChangeKind::kDelete,
                         c,
                         "",
                         "",
                         "",
                         in.observed.at(c),
                         std::nullopt,
                         "removed to make room for " + r.resource + " port " + r.port +
                             " (onConflict: Override)",
                         false};
          changes.push_back(std::move(del));
        }
        plan.notices.push_back(
            {"ConflictDetected", r.resource, conflict->second.front(),
             r.port + ": conflicts with " + which + "; replacing (onConflict: Override)"});
      }
    }
    desired_numbers.push_back(n);

    if (r.paused) {
      st.message = "paused by annotation";
      plan.ports.push_back(st);
      continue;
    }

    const NatRule* obs = nullptr;
    if (auto it = in.observed.find(n); it != in.observed.end()) obs = &it->second;
    const AppliedRecord* last = nullptr;
    if (auto it = in.last_applied.find(n); it != in.last_applied.end() &&
                                           it->second.resource == r.resource &&
                                           it->second.port == r.port)
      last = &it->second;
    const bool spec_unchanged = last && last->rule == r.rule;
    const PortState done = r.rule.disabled ? PortState::kDisabled : PortState::kApplied;

    if (obs && *obs == r.rule) {
      st.state = done;
      plan.ports.push_back(st);
      continue;
    }
    RuleChange ch;
    ch.number = n;
    ch.resource = r.resource;
    ch.port = r.port;
    ch.display = r.display;
    ch.after = r.rule;
    if (obs) {
      ch.kind = ChangeKind::kUpdate;
      ch.before = *obs;
    } else {
      ch.kind = ChangeKind::kAdd;
    }
    if (spec_unchanged) {
      // The device moved away from what we applied while the spec stayed: drift.
      ch.drift = true;
      std::string what = obs ? DescribeDifference(last->rule, *obs) : "rule deleted on the device";
      ch.reason = "drift: " + what;
      if (r.drift_policy == DriftPolicy::kReport) {
        st.state = PortState::kDrifted;
        st.message = "drifted (driftPolicy: Report): " + what;
        plan.notices.push_back(
            {"DriftDetected", r.resource, n, r.port + ": " + what + " (reported, not reverted)"});
        plan.ports.push_back(st);
        continue;
      }
      plan.notices.push_back(
          {"DriftDetected", r.resource, n, r.port + ": " + what + " (reverting)"});
    } else if (obs && plan.adopted.count(PortKey{r.resource, r.port})) {
      ch.reason = "adopted; converging to spec: " + DescribeDifference(*obs, r.rule);
    } else if (obs && !last && !IsOwned(n, obs, dev, in.last_applied, in.allocated)) {
      ch.reason =
          "replacing foreign rule (onConflict: Override): " + DescribeDifference(*obs, r.rule);
    } else if (obs) {
      ch.reason = "spec changed: " + DescribeDifference(*obs, r.rule);
    } else {
      ch.reason = last ? "spec changed: rule missing on the device" : "new port";
    }
    changes.push_back(std::move(ch));
    st.state = done;
    plan.ports.push_back(st);
  }

  // Owned rules on the device that no declared port holds any more.
  std::sort(desired_numbers.begin(), desired_numbers.end());
  std::vector<int> changed_numbers;
  changed_numbers.reserve(changes.size());
  for (const auto& c : changes) changed_numbers.push_back(c.number);
  std::sort(changed_numbers.begin(), changed_numbers.end());
  for (const auto& [n, rule] : in.observed) {
    if (std::binary_search(desired_numbers.begin(), desired_numbers.end(), n) ||
        overridden.count(n) ||
        std::binary_search(changed_numbers.begin(), changed_numbers.end(), n))
      continue;
    if (!IsOwned(n, &rule, dev, in.last_applied, in.allocated)) continue;
    std::string owner;
    std::string port;
    if (auto it = in.last_applied.find(n); it != in.last_applied.end()) {
      owner = it->second.resource;
      port = it->second.port;
    } else if (auto a = in.allocated.find(n); a != in.allocated.end()) {
      owner = a->second.resource;
      port = a->second.port;
    }
    const std::string display = StripOwnershipTag(rule.description, dev.tag);
    if (auto o = in.orphan_on_delete.find(owner); o != in.orphan_on_delete.end() && o->second) {
      // Left on the device and handed back: without the ownership tag no later pass claims it.
      plan.released.push_back(n);
      plan.notices.push_back({"Orphaned", owner, n,
                              RuleLabel(n) + " left on the device (deletionPolicy: Orphan)",
                              false});
      if (HasOwnershipTag(rule.description, dev.tag)) {
        NatRule after = rule;
        after.description = display;
        changes.push_back(RuleChange{
            ChangeKind::kUpdate, n, "", port, display, rule, after,
            "orphaned by " + owner + " (deletionPolicy: Orphan): ownership tag removed", false});
      }
      continue;
    }
    if (!in.held_deletes.empty()) {
      plan.notices.push_back(
          {"DeleteHeld", owner, n, RuleLabel(n) + " (" + display + ") kept: " + in.held_deletes});
      continue;
    }
    if (dev.management == ManagementPolicy::kCreateUpdate) {
      plan.notices.push_back({"DeleteWithheld", owner, n,
                              RuleLabel(n) + " (" + display +
                                  ") no longer declared; kept (management: CreateUpdate)"});
      continue;
    }
    changes.push_back(RuleChange{
        ChangeKind::kDelete, n, owner, port, display, rule, std::nullopt,
        owner.empty() ? "tagged rule no longer declared"
                      : "no longer declared by " + owner + (port.empty() ? "" : " port " + port),
        false});
  }
  auto by_number = [](const RuleChange& a, const RuleChange& b) { return a.number < b.number; };
  if (!std::is_sorted(changes.begin(), changes.end(), by_number))
    std::stable_sort(changes.begin(), changes.end(), by_number);
  for (auto& ch : changes)
    if (ch.kind == ChangeKind::kDelete && ch.display.empty() && ch.before)
      ch.display = StripOwnershipTag(ch.before->description, dev.tag);
  plan.changes = std::move(changes);
  return plan;
}

std::map<int, NatRule> ExpectedAfter(const std::map<int, NatRule>& observed, const Plan& plan) {
  std::map<int, NatRule> out = observed;
  for (const auto& ch : plan.changes) {
    if (ch.kind == ChangeKind::kDelete)
      out.erase(ch.number);
    else
      out[ch.number] = *ch.after;
  }
  return out;
}

NatPlan PlanNat(const NatPlanInput& in) {
  NatPlan out;
  auto alloc = AllocateRuleNumbers({in.device, in.rules, in.allocations, in.observed});
  std::map<PortKey, int> effective = in.allocations;
  for (const auto& added : alloc.added) {
    std::erase_if(effective, [&](const auto& e) {
      return e.second == added.second || e.first == added.first;
    });
    effective[added.first] = added.second;
  }
  std::map<int, PortKey> allocated;
  for (const auto& [k, n] : effective) allocated.emplace(n, k);
  PlanInput pin{in.device,       in.rules,  alloc.numbers, alloc.failed,    in.observed,
                in.last_applied, allocated, in.services,   in.held_deletes, {}};
  for (const auto& o : in.orphaned) pin.orphan_on_delete[o] = true;
  out.plan = ComputePlan(pin);
  out.allocated = std::move(alloc.added);
  out.allocations_after = effective.size();
  return out;
}

Plan ComputeNatRestore(const std::map<int, NatRule>& want, const std::map<int, NatRule>& have,
                       const std::string& tag, const std::string& why) {
  Plan plan;
  std::set<int> numbers;
  for (const auto& [n, x] : want) numbers.insert(n);
  for (const auto& [n, x] : have) numbers.insert(n);
  for (int n : numbers) {
    auto w = want.find(n);
    auto h = have.find(n);
    const bool wanted = w != want.end();
    const bool held = h != have.end();
    if (wanted && held && w->second == h->second) continue;
    RuleChange ch;
    ch.kind = !held ? ChangeKind::kAdd : !wanted ? ChangeKind::kDelete : ChangeKind::kUpdate;
    ch.number = n;
    if (held) ch.before = h->second;
    if (wanted) ch.after = w->second;
    ch.display = StripOwnershipTag((wanted ? w->second : h->second).description, tag);
    ch.reason = why;
    plan.changes.push_back(std::move(ch));
  }
  return plan;
}

PassSummary SummarizePass(const Plan& plan, std::optional<ErrorCode> error, bool wrote,
                          ManagementPolicy management) {
  PassSummary s;
  const bool reaching =
      error && (*error == ErrorCode::kUnavailable || *error == ErrorCode::kDeadlineExceeded ||
                *error == ErrorCode::kPermissionDenied);
  s.reachable = !(reaching && !wrote);
  bool all_in_force = true;
  for (const auto& p : plan.ports) {
    const bool in_force = p.state == PortState::kApplied || p.state == PortState::kDisabled;
    if (in_force || p.state == PortState::kDrifted) ++s.managed;
    if (p.state == PortState::kDrifted) ++s.drifted;
    all_in_force = all_in_force && in_force;
  }
  s.synced =
      !error && all_in_force && !(management == ManagementPolicy::kObserve && plan.HasChanges());
  return s;
}

}  // namespace nc::core
