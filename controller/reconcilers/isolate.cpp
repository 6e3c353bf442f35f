// Isolating what a router refused: when a device refuses a whole plan for a reason validation
// could not know, the plan's changes are grouped by resource (a foreign rule is its own group)
// and committed in parts - the rule the router named first, else by bisection - so that the
// offenders are named with the router's own text and everything else is applied. One offender
// among N resources costs ceil(log2 N) commits to find and one to commit the rest; every part
// is a verified, confirmed transaction with its own snapshot and intent.
#include <algorithm>
#include <functional>

#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/reconcilers/pass.hpp"

namespace nc::reconcilers {

namespace {

using Groups = std::vector<std::string>;

Groups Minus(Groups from, const Groups& drop) {
  std::erase_if(
      from, [&](const auto& g) { return std::find(drop.begin(), drop.end(), g) != drop.end(); });
  return from;
}

void SortByNumber(std::vector<core::RuleChange>& changes) {
  std::sort(changes.begin(), changes.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
}

class Isolation {
 public:
  using ApplyFn =
      std::function<Result<ApplyOutcome>(const core::Plan&, const ObservedState&, DeviceResult&)>;

  Isolation(core::Plan& plan, const ObservedState& observed, DeviceResult& r, ApplyOutcome& outcome,
            ApplyFn apply)
      : plan_(plan), now_(observed), r_(r), outcome_(outcome), apply_(std::move(apply)) {
    for (const auto& ch : plan.changes) {
      auto g = GroupOf(ch);
      if (!groups_.count(g)) order_.push_back(g);
      groups_[g].push_back(ch);
    }
  }

  std::map<std::string, std::string> Run() {
    std::string text = RefusalText(outcome_);
    std::optional<int> named = outcome_.named_rule;
    r_.operations.emplace_back(
        "(the device refused the plan: isolating the resource(s) responsible)");
    // A commit-time failure may pass on a second try: the whole plan once more first.
    if (!outcome_.refused_at_set) {
      auto again = Trial(order_);
      if (!again.error) return Finish(std::nullopt);
      if (!IsPlainRejection(again)) return Finish(again.error);
      text = RefusalText(again);
      named = again.named_rule;
    }
    if (order_.size() == 1) {
      offenders_[order_[0]] = text;
      return Finish(std::nullopt);
    }
    // The rule the router named, when it names one of ours: everything else in one commit.
    if (named) {
      auto it = std::find_if(plan_.changes.begin(), plan_.changes.end(),
                             [&](const auto& ch) { return ch.number == *named; });
      if (it != plan_.changes.end()) {
        const std::string g = GroupOf(*it);
        auto o = Trial(Minus(order_, {g}));
        if (!o.error) {
          offenders_[g] = text;
          return Finish(std::nullopt);
        }
        if (!IsPlainRejection(o)) return Finish(o.error);
        text = RefusalText(o);
      }
    }
    return Bisect(order_, text);
  }

 private:
  // Bisection: `pending` holds at least one offender (its last commit failed). Halves that
  // commit are done; a half that fails holds an offender.
  std::map<std::string, std::string> Bisect(Groups pending, std::string text) {
    const size_t cap = 4 * order_.size() + 4;  // commits, whatever happens
    size_t trials = 0;
    while (!pending.empty() && trials < cap) {
      Groups suspects = pending;
      std::string suspect_text = text;
      while (suspects.size() > 1 && trials < cap) {
        Groups half(suspects.begin(), suspects.begin() + static_cast<long>(suspects.size() / 2));
        auto o = Trial(half);
        ++trials;
        if (!o.error) {
          pending = Minus(pending, half);
          suspects = Minus(suspects, half);
        } else if (IsPlainRejection(o)) {
          suspects = half;
          suspect_text = RefusalText(o);
        } else {
          return Finish(o.error);
        }
      }
      if (suspects.size() != 1) break;
      offenders_[suspects[0]] = suspect_text;
      pending = Minus(pending, suspects);
      if (pending.empty()) break;
      auto o = Trial(pending);
      ++trials;
      if (!o.error)
        pending.clear();
      else if (IsPlainRejection(o))
        text = RefusalText(o);  // another offender among the rest
      else
        return Finish(o.error);
    }
    if (!pending.empty())
      return Finish(Error{ErrorCode::kRejected, "device rejected the change: " + text +
                                                    " (isolation stopped after " +
                                                    std::to_string(trials) + " commits)"});
    return Finish(std::nullopt);
  }

  // One commit of some groups; on success the device moved on.
  ApplyOutcome Trial(const Groups& gs) {
    core::Plan sub;
    for (const auto& g : gs)
      sub.changes.insert(sub.changes.end(), groups_[g].begin(), groups_[g].end());
    SortByNumber(sub.changes);
    DeviceResult t;
    t.run_id = r_.run_id;
    auto res = apply_(sub, now_, t);
    r_.operations.Append(t.operations);
    r_.commits += t.commits;
    r_.wrote = r_.wrote || t.wrote;
    if (!res) {
      ApplyOutcome failed;
      failed.error = res.error();
      return failed;
    }
    if (!res->error) {
      now_.nat_rules = res->read_back ? *res->read_back : core::ExpectedAfter(now_.nat_rules, sub);
      applied_.insert(applied_.end(), sub.changes.begin(), sub.changes.end());
      last_ok_ = *res;
      any_ok_ = true;
    }
    return *res;
  }

  std::map<std::string, std::string> Finish(std::optional<Error> error) {
    // Nothing could be applied at all: the pass failed (the offenders are still named).
    if (!error && !any_ok_ && !offenders_.empty())
      error =
          Error{ErrorCode::kRejected, "device rejected the change: " + offenders_.begin()->second};
    plan_.changes = applied_;
    SortByNumber(plan_.changes);
    ApplyOutcome out = any_ok_ ? last_ok_ : outcome_;
    out.error = std::move(error);
    out.commits = r_.commits;
    out.operations = r_.operations;
    if (any_ok_) out.read_back = now_.nat_rules;
    outcome_ = std::move(out);
    return offenders_;
  }

  core::Plan& plan_;
  ObservedState now_;
  DeviceResult& r_;
  ApplyOutcome& outcome_;
  ApplyFn apply_;
  Groups order_;  // the plan's groups, in plan order
  std::map<std::string, std::vector<core::RuleChange>> groups_;
  std::vector<core::RuleChange> applied_;
  ApplyOutcome last_ok_;
  bool any_ok_ = false;
  std::map<std::string, std::string> offenders_;
};

}  // namespace

std::map<std::string, std::string> DeviceReconciler::Isolate(
    DeviceAdapter& adapter, const std::string& key, core::Plan& plan, const ObservedState& observed,
    const std::string& started, DeviceResult& r, ApplyOutcome& outcome) {
  Isolation isolation(plan, observed, r, outcome,
                      [&](const core::Plan& sub, const ObservedState& now, DeviceResult& t) {
                        return ApplyWithIntent(adapter, key, sub, now, started, t);
                      });
  return isolation.Run();
}

}  // namespace nc::reconcilers
