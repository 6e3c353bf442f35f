// The worker loop of controller-runtime: N workers take device keys from the work queue and
// reconcile them; an error requeues with the key's backoff, a success forgets the failures and
// requeues after the returned interval (the poll that finds drift). A key is never reconciled by
// two workers at once (the queue guarantees it).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "controller/core/result.hpp"
#include "controller/runtime/work_queue.hpp"

namespace nc::runtime {

struct ReconcileResult {
  std::optional<Error> error;  // set: requeue with backoff (retryable) or slowly (terminal)
  std::chrono::milliseconds requeue_after{
      0};  // on success: when to look again (0 = only on events)
};

using ReconcileFn = std::function<ReconcileResult(const std::string& key)>;

class Controller {
 public:
  /// A terminal error (IsRetryable false: a wrong key, a refused host key, bad input) is not
  /// retried at the backoff's rate, which would only hammer the device with the same mistake;
  /// the key comes back after `terminal_retry`, or at once when its spec or Secret changes (the
  /// sources add it then).
  Controller(WorkQueue& queue, ReconcileFn reconcile, int workers,
             std::chrono::milliseconds terminal_retry = std::chrono::minutes(5));
  ~Controller();

  void Start();
  /// Shuts the queue down and waits for in-flight reconciles to finish.
  void Stop();
  int busy() const { return busy_.load(); }

 private:
  void Worker();

  WorkQueue& queue_;
  ReconcileFn reconcile_;
  int workers_;
  std::chrono::milliseconds terminal_retry_;
  std::vector<std::thread> threads_;
  std::atomic<int> busy_{0};
};

}  // namespace nc::runtime
