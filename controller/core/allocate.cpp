#include "controller/core/allocate.hpp"

#include <set>

namespace nc::core {

namespace {

// Used numbers: a bitmap over the owned range (the common case) and a set for the rest.
class UsedNumbers {
 public:
  explicit UsedNumbers(const RuleRange& r)
      : range_(r), bits_(static_cast<size_t>(r.Size()), false) {}
  void Insert(int n) {
    if (range_.Contains(n))
      bits_[static_cast<size_t>(n - range_.first)] = true;
    else
      outside_.insert(n);
  }
  bool Contains(int n) const {
    return range_.Contains(n) ? bits_[static_cast<size_t>(n - range_.first)]
                              : outside_.count(n) > 0;
  }

 private:
  RuleRange range_;
  std::vector<bool> bits_;
  std::set<int> outside_;
};

}  // namespace

AllocationResult AllocateRuleNumbers(const AllocationInput& in) {
  AllocationResult out;
  out.numbers.assign(in.rules.size(), 0);
  const RuleRange& range = in.device.rule_range;
  UsedNumbers used(range);
  UsedNumbers allocated_numbers(range);
  for (const auto& [key, n] : in.allocations) {
    used.Insert(n);
    allocated_numbers.Insert(n);
  }
  // Numbers on the device that are not ours may not be handed out.
  for (const auto& [n, rule] : in.observed) used.Insert(n);

  // 1. Pins are taken as given (validation made sure they are unique).
  UsedNumbers pinned(range);
  for (size_t i = 0; i < in.rules.size(); ++i) {
    const auto& r = in.rules[i];
    if (!r.pinned_number) continue;
    PortKey key{r.resource(), r.port};
    out.numbers[i] = *r.pinned_number;
    auto it = in.allocations.find(key);
    if (it == in.allocations.end() || it->second != *r.pinned_number)
      out.added[key] = *r.pinned_number;
    used.Insert(*r.pinned_number);
    pinned.Insert(*r.pinned_number);
  }

  // 2. Existing allocations stay, unless a pin now claims their number.
  std::vector<size_t> unallocated;
  for (size_t i = 0; i < in.rules.size(); ++i) {
    const auto& r = in.rules[i];
    if (r.pinned_number) continue;
    auto it = in.allocations.find(PortKey{r.resource(), r.port});
    if (it != in.allocations.end() && !pinned.Contains(it->second))
      out.numbers[i] = it->second;
    else
      unallocated.push_back(i);
  }
  if (unallocated.empty()) return out;

  // 3. A port without a record whose tagged rule is still on the device (store lost or
  //    restored from an older copy) gets its old number back rather than a duplicate rule.
  std::map<std::string_view, int> tagged_by_description;
  for (const auto& [n, rule] : in.observed) {
    if (range.Contains(n) && !allocated_numbers.Contains(n) && !pinned.Contains(n) &&
        HasOwnershipTag(rule.description, in.device.tag))
      tagged_by_description.emplace(rule.description, n);
  }
  std::vector<size_t> still;
  for (size_t i : unallocated) {
    const auto& r = in.rules[i];
    auto it = tagged_by_description.find(r.rule.description);
    if (it != tagged_by_description.end()) {
      out.numbers[i] = it->second;
      out.added[PortKey{r.resource(), r.port}] = it->second;
      tagged_by_description.erase(it);
    } else {
      still.push_back(i);
    }
  }

  // 4. The rest take the lowest free numbers, in the deterministic order of `rules`.
  int next = range.first;
  for (size_t i : still) {
    const auto& r = in.rules[i];
    while (next <= range.last && used.Contains(next)) ++next;
    PortKey key{r.resource(), r.port};
    if (next > range.last) {
      out.failed[key] = "no free rule number left in range " + std::to_string(range.first) + "-" +
                        std::to_string(range.last);
      continue;
    }
    out.numbers[i] = next;
    out.added.emplace_hint(out.added.end(), key, next);
    used.Insert(next);
  }
  return out;
}

}  // namespace nc::core
