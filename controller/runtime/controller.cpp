#include "controller/runtime/controller.hpp"

namespace nc::runtime {

Controller::Controller(WorkQueue& queue, ReconcileFn reconcile, int workers,
                       std::chrono::milliseconds terminal_retry)
    : queue_(queue),
      reconcile_(std::move(reconcile)),
      workers_(workers),
      terminal_retry_(terminal_retry) {}

Controller::~Controller() {
  Stop();
}

void Controller::Start() {
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { Worker(); });
}

void Controller::Stop() {
  queue_.ShutDown();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void Controller::Worker() {
  while (auto key = queue_.Get()) {
    ++busy_;
    ReconcileResult r;
    try {
      r = reconcile_(*key);
    } catch (const std::exception& e) {
      // Last resort, as controller-runtime recovers panics: count it as a failure and retry.
      r.error = Error{ErrorCode::kInternal, std::string("reconcile threw: ") + e.what()};
    }
    if (r.error && IsRetryable(*r.error)) {
      queue_.AddRateLimited(*key);
    } else if (r.error) {
      queue_.Forget(*key);
      queue_.AddAfter(*key, terminal_retry_);
    } else {
      queue_.Forget(*key);
      if (r.requeue_after.count() > 0) queue_.AddAfter(*key, r.requeue_after);
    }
    queue_.Done(*key);
    --busy_;
  }
}

}  // namespace nc::runtime
