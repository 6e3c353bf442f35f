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

namespace {

std::string RuleList(const std::vector<int>& numbers) {
  std::string which;
  for (int c : numbers) which += (which.empty() ? "" : ", ") + RuleLabel(c);
  return which;
}

/// One ComputePlan: conflicts with unowned rules first, then each declared port (conflict
/// policy, pause, converge or drift), then the owned rules nothing declares any more.
class NatPlanner {
 public:
  explicit NatPlanner(const PlanInput& in) : in_(in), dev_(in.device) {}

  Plan Run() {
    FindConflicts();
    desired_numbers_.reserve(in_.rules.size());
    plan_.ports.reserve(in_.rules.size());
    changes_.reserve(in_.rules.size());  // a converge from empty: one add per port
    for (size_t i = 0; i < in_.rules.size(); ++i) PlanPort(i);
    Removals();
    auto by_number = [](const RuleChange& a, const RuleChange& b) { return a.number < b.number; };
    if (!std::is_sorted(changes_.begin(), changes_.end(), by_number))
      std::stable_sort(changes_.begin(), changes_.end(), by_number);
    for (auto& ch : changes_)
      if (ch.kind == ChangeKind::kDelete && ch.display.empty() && ch.before)
        ch.display = StripOwnershipTag(ch.before->description, dev_.tag);
    plan_.changes = std::move(changes_);
    return std::move(plan_);
  }

 private:
  // Unowned rules on the device, with what they match, for conflict detection.
  struct Foreign {
    int number;
    const NatRule* rule;
    std::optional<Match> match;
  };

  // The unowned rules each declared port collides with (same number, or same interface,
  // protocol and overlapping ports where the destination addresses may meet).
  void FindConflicts() {
    std::vector<Foreign> foreign;
    for (const auto& [n, rule] : in_.observed)
      if (!IsOwned(n, &rule, dev_, in_.last_applied, in_.allocated))
        foreign.push_back({n, &rule, MatchOf(rule, in_.services)});
    if (foreign.empty()) return;
    for (size_t i = 0; i < in_.rules.size(); ++i) {
      const auto& r = in_.rules[i];
      std::vector<int> hits;
      if (in_.numbers[i] != 0)
        for (const auto& f : foreign)
          if (f.number == in_.numbers[i]) hits.push_back(f.number);
      if (!r.rule.inbound_interface.empty()) {
        auto mine = MatchOf(r.rule, in_.services);
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
      conflicts_[i] = hits;
      if (r.on_conflict() == ConflictPolicy::kAbort) aborted_resources_.insert(r.resource());
    }
  }

  void PlanPort(size_t i) {
    const auto& r = in_.rules[i];
    PortStatus st{r.resource(), r.port, std::string(r.display()), 0, PortState::kPending, ""};
    if (in_.numbers[i] == 0) {
      auto f = in_.unallocated.find(PortKey{r.resource(), r.port});
      st.message = f != in_.unallocated.end() ? f->second : "no rule number";
      plan_.notices.push_back({"AllocationFailed", r.resource(), 0, r.port + ": " + st.message});
      plan_.ports.push_back(st);
      return;
    }
    st.number = in_.numbers[i];
    if (!ApplyConflictPolicy(i, st)) {
      plan_.ports.push_back(st);
      return;
    }
    desired_numbers_.push_back(st.number);
    if (r.paused()) {
      st.message = "paused by annotation";
      plan_.ports.push_back(st);
      return;
    }
    Converge(r, st);
    plan_.ports.push_back(st);
  }

  // The port's conflicts under its onConflict policy. False when the port is not applied
  // (Abort, Skip); Adopt may move st.number to the adopted rule; Override deletes the others.
  bool ApplyConflictPolicy(size_t i, PortStatus& st) {
    const auto& r = in_.rules[i];
    auto conflict = conflicts_.find(i);
    if (aborted_resources_.count(r.resource())) {
      desired_numbers_.push_back(st.number);
      if (conflict == conflicts_.end()) {
        st.message =
            "not applied: another port of this resource has a conflict (onConflict: Abort)";
        return false;
      }
      st.state = PortState::kConflict;
      st.message = "conflicts with " + RuleList(conflict->second) +
                   " not owned by netconverge (onConflict: Abort)";
      plan_.notices.push_back(
          {"ConflictDetected", r.resource(), conflict->second.front(), r.port + ": " + st.message});
      return false;
    }
    if (conflict == conflicts_.end()) return true;
    const auto& hits = conflict->second;
    if (r.on_conflict() == ConflictPolicy::kSkip) {
      desired_numbers_.push_back(st.number);
      st.state = PortState::kSkipped;
      st.message = "skipped: conflicts with " + RuleList(hits) +
                   " not owned by netconverge (onConflict: Skip)";
      plan_.notices.push_back(
          {"ConflictDetected", r.resource(), hits.front(), r.port + ": " + st.message});
      return false;
    }
    if (r.on_conflict() == ConflictPolicy::kAdopt) {
      st.number = hits.front();
      plan_.adopted[PortKey{r.resource(), r.port}] = st.number;
      plan_.notices.push_back({"Adopted", r.resource(), st.number,
                               r.port + ": took ownership of existing " + RuleLabel(st.number),
                               false});
      for (size_t k = 1; k < hits.size(); ++k)
        plan_.notices.push_back(
            {"ConflictDetected", r.resource(), hits[k],
             r.port + ": also conflicts with " + RuleLabel(hits[k]) + ", left as it is"});
      return true;
    }
    for (int c : hits) {  // Override
      if (c == st.number) continue;
      overridden_.insert(c);
      changes_.push_back(RuleChange{ChangeKind::kDelete, c, "", "", "", in_.observed.at(c),
                                    std::nullopt,
                                    "removed to make room for " + r.resource() + " port " + r.port +
                                        " (onConflict: Override)",
                                    false});
    }
    plan_.notices.push_back(
        {"ConflictDetected", r.resource(), hits.front(),
         r.port + ": conflicts with " + RuleList(hits) + "; replacing (onConflict: Override)"});
    return true;
  }

  // An add or update when the device differs from the spec; drift when the spec did not change
  // since the last apply (reverted, or only reported under driftPolicy: Report).
  void Converge(const PortRule& r, PortStatus& st) {
    const int n = st.number;
    const NatRule* obs = nullptr;
    if (auto it = in_.observed.find(n); it != in_.observed.end()) obs = &it->second;
    const AppliedRecord* last = nullptr;
    if (auto it = in_.last_applied.find(n); it != in_.last_applied.end() &&
                                            it->second.resource == r.resource() &&
                                            it->second.port == r.port)
      last = &it->second;
    const PortState done = r.rule.disabled ? PortState::kDisabled : PortState::kApplied;
    if (obs && *obs == r.rule) {
      st.state = done;
      return;
    }
    RuleChange ch;
    ch.number = n;
    ch.resource = r.resource();
    ch.port = r.port;
    ch.display = std::string(r.display());
    ch.after = in_.rules_owner
                   ? Boxed<NatRule>(std::shared_ptr<const NatRule>(in_.rules_owner, &r.rule))
                   : Boxed<NatRule>(r.rule);
    ch.kind = obs ? ChangeKind::kUpdate : ChangeKind::kAdd;
    if (obs) ch.before = *obs;
    if (last && last->rule == r.rule) {
      // The device moved away from what we applied while the spec stayed: drift.
      ch.drift = true;
      std::string what = obs ? DescribeDifference(last->rule, *obs) : "rule deleted on the device";
      ch.reason = "drift: " + what;
      if (r.drift_policy() == DriftPolicy::kReport) {
        st.state = PortState::kDrifted;
        st.message = "drifted (driftPolicy: Report): " + what;
        plan_.notices.push_back(
            {"DriftDetected", r.resource(), n, r.port + ": " + what + " (reported, not reverted)"});
        return;
      }
      plan_.notices.push_back(
          {"DriftDetected", r.resource(), n, r.port + ": " + what + " (reverting)"});
    } else if (obs && plan_.adopted.count(PortKey{r.resource(), r.port})) {
      ch.reason = "adopted; converging to spec: " + DescribeDifference(*obs, r.rule);
    } else if (obs && !last && !IsOwned(n, obs, dev_, in_.last_applied, in_.allocated)) {
      ch.reason =
          "replacing foreign rule (onConflict: Override): " + DescribeDifference(*obs, r.rule);
    } else if (obs) {
      ch.reason = "spec changed: " + DescribeDifference(*obs, r.rule);
    } else {
      ch.reason = last ? "spec changed: rule missing on the device" : "new port";
    }
    changes_.push_back(std::move(ch));
    st.state = done;
  }

  // Owned rules on the device that no declared port holds any more.
  void Removals() {
    std::sort(desired_numbers_.begin(), desired_numbers_.end());
    std::vector<int> changed_numbers;
    changed_numbers.reserve(changes_.size());
    for (const auto& c : changes_) changed_numbers.push_back(c.number);
    std::sort(changed_numbers.begin(), changed_numbers.end());
    for (const auto& [n, rule] : in_.observed) {
      if (std::binary_search(desired_numbers_.begin(), desired_numbers_.end(), n) ||
          overridden_.count(n) ||
          std::binary_search(changed_numbers.begin(), changed_numbers.end(), n))
        continue;
      if (!IsOwned(n, &rule, dev_, in_.last_applied, in_.allocated)) continue;
      Remove(n, rule);
    }
  }

  void Remove(int n, const NatRule& rule) {
    std::string owner;
    std::string port;
    if (auto it = in_.last_applied.find(n); it != in_.last_applied.end()) {
      owner = it->second.resource;
      port = it->second.port;
    } else if (auto a = in_.allocated.find(n); a != in_.allocated.end()) {
      owner = a->second.resource;
      port = a->second.port;
    }
    const std::string display = StripOwnershipTag(rule.description, dev_.tag);
    if (auto o = in_.orphan_on_delete.find(owner); o != in_.orphan_on_delete.end() && o->second) {
      // Left on the device and handed back: without the ownership tag no later pass claims it.
      plan_.released.push_back(n);
      plan_.notices.push_back({"Orphaned", owner, n,
                               RuleLabel(n) + " left on the device (deletionPolicy: Orphan)",
                               false});
      if (HasOwnershipTag(rule.description, dev_.tag)) {
        NatRule after = rule;
        after.description = display;
        changes_.push_back(RuleChange{
            ChangeKind::kUpdate, n, "", port, display, rule, after,
            "orphaned by " + owner + " (deletionPolicy: Orphan): ownership tag removed", false});
      }
      return;
    }
    if (!in_.held_deletes.empty()) {
      plan_.notices.push_back(
          {"DeleteHeld", owner, n, RuleLabel(n) + " (" + display + ") kept: " + in_.held_deletes});
      return;
    }
    if (dev_.management == ManagementPolicy::kCreateUpdate) {
      plan_.notices.push_back({"DeleteWithheld", owner, n,
                               RuleLabel(n) + " (" + display +
                                   ") no longer declared; kept (management: CreateUpdate)"});
      return;
    }
    changes_.push_back(RuleChange{
        ChangeKind::kDelete, n, owner, port, display, rule, std::nullopt,
        owner.empty() ? "tagged rule no longer declared"
                      : "no longer declared by " + owner + (port.empty() ? "" : " port " + port),
        false});
  }

  const PlanInput& in_;
  const Device& dev_;
  Plan plan_;
  std::map<size_t, std::vector<int>> conflicts_;  // by rule index
  std::set<std::string> aborted_resources_;
  std::vector<int> desired_numbers_;  // numbers the declared ports hold (kept from deletion)
  std::set<int> overridden_;          // foreign numbers deleted by Override
  std::vector<RuleChange> changes_;
};

}  // namespace

Plan ComputePlan(const PlanInput& in) {
  return NatPlanner(in).Run();
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
                in.last_applied, allocated, in.services,   in.held_deletes, {},
                in.rules_owner};
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
