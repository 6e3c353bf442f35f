// Requeue arithmetic of the control loop: per-device exponential backoff (1 s doubling to
// 5 min) and jittered poll intervals. Pure: the random draw comes in as a number in [0, 1).
#pragma once

#include <algorithm>
#include <cstdint>

namespace nc::core {

struct BackoffPolicy {
  int64_t base_ms = 1000;
  int64_t max_ms = 300'000;
  double jitter = 0.1;  // +-10 %
};

/// Delay before retry number `failures` (1 = first failure). `unit` is uniform in [0, 1).
inline int64_t BackoffDelayMs(const BackoffPolicy& p, int failures, double unit) {
  int64_t d = p.base_ms;
  for (int i = 1; i < failures && d < p.max_ms; ++i) d *= 2;
  d = std::min(d, p.max_ms);
  double factor = 1.0 + p.jitter * (2.0 * unit - 1.0);
  return static_cast<int64_t>(static_cast<double>(d) * factor);
}

/// A poll interval jittered by +-10 %, so that many devices do not poll in lockstep.
inline int64_t JitteredIntervalMs(int64_t interval_ms, double unit) {
  double factor = 1.0 + 0.1 * (2.0 * unit - 1.0);
  return static_cast<int64_t>(static_cast<double>(interval_ms) * factor);
}

}  // namespace nc::core
