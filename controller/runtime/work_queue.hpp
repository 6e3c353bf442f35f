// A work queue with client-go's semantics: it holds keys (device names), not events; a key is
// queued at most once however often it is added; a key being processed is never handed to a
// second worker, and an add during processing re-queues it when Done is called; AddAfter delays
// an add; AddRateLimited delays by a per-key exponential backoff that Forget resets.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "controller/core/backoff.hpp"
#include "controller/runtime/clock.hpp"

namespace nc::runtime {

/// Called under the queue's lock (keep them short): for client-go's workqueue metrics.
struct QueueObserver {
  std::function<void()> added;                 // a key entered the queue (not already waiting)
  std::function<void(double seconds)> waited;  // a key left it after waiting this long
  std::function<void()> retried;               // a failed key was re-added with backoff
};

class WorkQueue {
 public:
  WorkQueue(const Clock& clock, core::BackoffPolicy backoff = {});

  void Add(const std::string& key);
  void AddAfter(const std::string& key, std::chrono::milliseconds delay);
  /// Adds after the key's backoff delay and counts a failure.
  std::chrono::milliseconds AddRateLimited(const std::string& key);
  /// Resets the key's failure count (after a success).
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;

  /// Blocks until a key is ready or the queue shuts down (nullopt).
  std::optional<std::string> Get();
  /// Like Get, but returns nullopt after `wait` with nothing ready.
  std::optional<std::string> TryGet(std::chrono::milliseconds wait);
  /// Marks the key processed; re-queues it if it was added meanwhile.
  void Done(const std::string& key);
  void ShutDown();
  bool ShuttingDown() const;
  size_t Len() const;      // keys ready now
  size_t Delayed() const;  // keys waiting for their time
  void SetObserver(QueueObserver o);

 private:
  void PromoteReadyLocked();
  void AddLocked(const std::string& key);

  const Clock& clock_;
  core::BackoffPolicy backoff_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;
  std::set<std::string> processing_;
  using DelayedMap = std::multimap<std::chrono::steady_clock::time_point, std::string>;
  DelayedMap delayed_;
  std::map<std::string, DelayedMap::iterator> delayed_by_key_;  // each key's entry in delayed_
  std::map<std::string, int> failures_;
  uint64_t jitter_state_ = 0x9e3779b97f4a7c15ull;
  bool shutdown_ = false;
  QueueObserver observer_;
  std::map<std::string, std::chrono::steady_clock::time_point> added_at_;
};

}  // namespace nc::runtime
