// A clock that moves only when told to.
#pragma once

#include <atomic>

#include "controller/runtime/clock.hpp"

namespace nc::testing {

class FakeClock final : public runtime::Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  std::string UtcIso() const override {
    return runtime::FormatUtc(std::chrono::system_clock::time_point(
        std::chrono::milliseconds(1'790'000'000'000 + now_ms_.load())));
  }
  void Advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }

 private:
  std::atomic<int64_t> now_ms_{1'000'000};
};

}  // namespace nc::testing
