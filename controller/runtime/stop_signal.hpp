// A stop request that a sleeping thread wakes up for at once: the daemon's background loops
// (the manifest watcher, the Kubernetes reflectors, leader election) wait on it between rounds
// instead of polling a flag in short sleeps.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace nc::runtime {

class StopSignal {
 public:
  void Stop() {
    {
      std::lock_guard lk(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  bool stopped() const { return stopped_.load(); }
  /// Waits up to `d`; true when a stop was requested (before or during the wait).
  template <typename Rep, typename Period>
  bool WaitFor(std::chrono::duration<Rep, Period> d) const {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, d, [this] { return stopped_.load(); });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::atomic<bool> stopped_{false};  // written under mu_, so no waiter misses it
};

}  // namespace nc::runtime
