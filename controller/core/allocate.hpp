// Stable allocation of VyOS NAT rule numbers from a device's owned range. A port keeps its
// number for its whole life (across restarts and edits of other resources); new ports take the
// lowest number that is neither allocated, pinned, nor occupied on the device. Pure.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "controller/core/model.hpp"

namespace nc::core {

struct AllocationInput {
  const Device& device;
  std::span<const PortRule> rules;            // desired rules of this device
  const std::map<PortKey, int>& allocations;  // persisted allocations of this device
  const std::map<int, NatRule>& observed;     // rules on the device now
};

struct AllocationResult {
  std::vector<int> numbers;               // per rule of the input, in order; 0 = none
  std::map<PortKey, int> added;           // new or changed allocations to persist
  std::map<PortKey, std::string> failed;  // ports without a number, and why
};

AllocationResult AllocateRuleNumbers(const AllocationInput& in);

}  // namespace nc::core
