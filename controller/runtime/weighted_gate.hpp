// A bound on the work in flight by weight rather than count: passes over devices run in
// parallel while the rules they hold together stay within a budget (a 10,000-rule pass holds
// tens of MB of plan, request body and answers for its duration; eight of them at once would
// hold several hundred). One pass heavier than the whole budget runs alone.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace nc::runtime {

class WeightedGate {
 public:
  /// `capacity` <= 0: no bound.
  explicit WeightedGate(int64_t capacity) : capacity_(capacity) {}

  /// Blocks until `weight` fits (or nothing else is in flight); returns what it took.
  int64_t Acquire(int64_t weight) {
    if (capacity_ <= 0) return 0;
    weight = std::clamp<int64_t>(weight, 1, capacity_);
    std::unique_lock lk(mu_);
    ++waiting_;
    cv_.wait(lk, [&] { return used_ + weight <= capacity_; });
    --waiting_;
    used_ += weight;
    return weight;
  }
  void Release(int64_t taken) {
    if (taken <= 0) return;
    {
      std::lock_guard lk(mu_);
      used_ -= taken;
    }
    cv_.notify_all();
  }
  int64_t InFlight() const {
    std::lock_guard lk(mu_);
    return used_;
  }
  /// Acquirers inside Acquire (waiting, or about to take their share).
  int Waiting() const {
    std::lock_guard lk(mu_);
    return waiting_;
  }

  /// Holds `weight` for a scope.
  class Hold {
   public:
    Hold(WeightedGate& gate, int64_t weight) : gate_(gate), taken_(gate.Acquire(weight)) {}
    ~Hold() { gate_.Release(taken_); }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    WeightedGate& gate_;
    int64_t taken_;
  };

 private:
  const int64_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t used_ = 0;
  int waiting_ = 0;
};

}  // namespace nc::runtime
