#include "controller/core/allocate.hpp"

#include <set>

namespace nc::core {

AllocationResult AllocateRuleNumbers(const AllocationInput& in) {
  AllocationResult out;
  const RuleRange& range = in.device.rule_range;
  std::set<int> used;
  for (const auto& [key, n] : in.allocations) used.insert(n);
  // Numbers on the device that are not ours may not be handed out.
  std::set<int> allocated_numbers = used;
  for (const auto& [n, rule] : in.observed) used.insert(n);

  // 1. Pins are taken as given (validation made sure they are unique and in range).
  for (const auto& r : in.rules) {
    if (!r.pinned_number) continue;
    PortKey key{r.resource, r.port};
    out.numbers[key] = *r.pinned_number;
    auto it = in.allocations.find(key);
    if (it == in.allocations.end() || it->second != *r.pinned_number) out.added[key] = *r.pinned_number;
    used.insert(*r.pinned_number);
  }
  std::set<int> pinned;
  for (const auto& [key, n] : out.numbers) pinned.insert(n);

  // 2. Existing allocations stay, unless a pin now claims their number.
  std::vector<const PortRule*> unallocated;
  for (const auto& r : in.rules) {
    if (r.pinned_number) continue;
    PortKey key{r.resource, r.port};
    auto it = in.allocations.find(key);
    if (it != in.allocations.end() && !pinned.count(it->second)) {
      out.numbers[key] = it->second;
    } else {
      unallocated.push_back(&r);
    }
  }

  // 3. A port without a record whose tagged rule is still on the device (store lost or
  //    restored from an older copy) gets its old number back rather than a duplicate rule.
  std::map<std::string, int> tagged_by_description;
  for (const auto& [n, rule] : in.observed) {
    if (range.Contains(n) && !allocated_numbers.count(n) && !pinned.count(n) &&
        HasOwnershipTag(rule.description, in.device.tag))
      tagged_by_description.emplace(rule.description, n);
  }
  std::vector<const PortRule*> still;
  for (const auto* r : unallocated) {
    auto it = tagged_by_description.find(r->rule.description);
    if (it != tagged_by_description.end()) {
      PortKey key{r->resource, r->port};
      out.numbers[key] = it->second;
      out.added[key] = it->second;
      tagged_by_description.erase(it);
    } else {
      still.push_back(r);
    }
  }

  // 4. The rest take the lowest free numbers, in the deterministic order of `rules`.
  int next = range.first;
  for (const auto* r : still) {
    while (next <= range.last && used.count(next)) ++next;
    PortKey key{r->resource, r->port};
    if (next > range.last) {
      out.failed[key] = "no free rule number left in range " + std::to_string(range.first) + "-" +
                        std::to_string(range.last);
      continue;
    }
    out.numbers[key] = next;
    out.added[key] = next;
    used.insert(next);
  }
  return out;
}

}  // namespace nc::core
