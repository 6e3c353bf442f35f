// Time for the shells: an interface so that tests can drive time (FakeClock in test/fakes).
#pragma once

#include <chrono>
#include <string>

namespace nc::runtime {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  /// Wall-clock time as ISO 8601 UTC ("2026-11-22T03:55:58Z").
  virtual std::string UtcIso() const = 0;
  /// Whether Now() moves with steady_clock, so a wait until a time on it wakes on time. A
  /// test's clock that jumps does not; waits then re-check it often.
  virtual bool FollowsSteadyClock() const { return false; }
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
  std::string UtcIso() const override;
  bool FollowsSteadyClock() const override { return true; }
};

/// ISO 8601 UTC of a system_clock time.
std::string FormatUtc(std::chrono::system_clock::time_point t);

}  // namespace nc::runtime
