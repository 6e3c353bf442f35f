#include "controller/runtime/work_queue.hpp"

namespace nc::runtime {

WorkQueue::WorkQueue(const Clock& clock, core::BackoffPolicy backoff)
    : clock_(clock), backoff_(backoff) {}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutdown_ || dirty_.count(key)) return;
  dirty_.insert(key);
  added_at_[key] = clock_.Now();
  if (observer_.added) observer_.added();
  if (processing_.count(key)) return;  // queued again by Done
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard lk(mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::milliseconds delay) {
  std::lock_guard lk(mu_);
  if (shutdown_) return;
  if (delay.count() <= 0) {
    AddLocked(key);
    return;
  }
  // Keep only the earliest pending time per key.
  const auto when = clock_.Now() + delay;
  if (auto it = delayed_by_key_.find(key); it != delayed_by_key_.end()) {
    if (it->second->first <= when) return;
    delayed_.erase(it->second);
    delayed_by_key_.erase(it);
  }
  const auto at = delayed_.emplace(when, key);
  delayed_by_key_[key] = at;
  // Waiting workers sleep until the earliest entry: only a new earliest one needs a wake-up.
  if (at == delayed_.begin()) cv_.notify_one();
}

std::chrono::milliseconds WorkQueue::AddRateLimited(const std::string& key) {
  int n;
  double unit;
  {
    std::lock_guard lk(mu_);
    n = ++failures_[key];
    if (observer_.retried) observer_.retried();
    jitter_state_ ^= jitter_state_ << 13;
    jitter_state_ ^= jitter_state_ >> 7;
    jitter_state_ ^= jitter_state_ << 17;
    unit = static_cast<double>(jitter_state_ % 10000) / 10000.0;
  }
  auto d = std::chrono::milliseconds(core::BackoffDelayMs(backoff_, n, unit));
  AddAfter(key, d);
  return d;
}

void WorkQueue::SetObserver(QueueObserver o) {
  std::lock_guard lk(mu_);
  observer_ = std::move(o);
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard lk(mu_);
  failures_.erase(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  std::lock_guard lk(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::PromoteReadyLocked() {
  const auto now = clock_.Now();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::string key = delayed_.begin()->second;
    delayed_by_key_.erase(key);
    delayed_.erase(delayed_.begin());
    AddLocked(key);
  }
}

std::optional<std::string> WorkQueue::TryGet(std::chrono::milliseconds wait) {
  std::unique_lock lk(mu_);
  const auto give_up = std::chrono::steady_clock::now() + wait;
  while (true) {
    // After ShutDown nothing more is handed out, queued or not: a replica that lost its lease
    // must not start another pass (the next leader re-reads every device anyway).
    if (shutdown_) return std::nullopt;
    PromoteReadyLocked();
    if (!queue_.empty()) {
      std::string key = queue_.front();
      queue_.pop_front();
      processing_.insert(key);
      dirty_.erase(key);
      if (auto at = added_at_.find(key); at != added_at_.end()) {
        if (observer_.waited)
          observer_.waited(std::chrono::duration<double>(clock_.Now() - at->second).count());
        added_at_.erase(at);
      }
      return key;
    }
    auto real_now = std::chrono::steady_clock::now();
    if (real_now >= give_up) return std::nullopt;
    // Wake for the next delayed key (a test's clock that jumps is re-checked every 50 ms).
    auto until = clock_.FollowsSteadyClock()
                     ? give_up
                     : std::min(give_up, real_now + std::chrono::milliseconds(50));
    if (!delayed_.empty()) {
      auto due = delayed_.begin()->first - clock_.Now();
      until = std::min(
          until, real_now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(due));
    }
    cv_.wait_until(lk, until);
  }
}

std::optional<std::string> WorkQueue::Get() {
  while (true) {
    auto k = TryGet(std::chrono::hours(24));
    if (k || ShuttingDown()) return k;
  }
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard lk(mu_);
  processing_.erase(key);
  if (dirty_.count(key)) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  std::lock_guard lk(mu_);
  shutdown_ = true;
  cv_.notify_all();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard lk(mu_);
  return shutdown_;
}

size_t WorkQueue::Len() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

size_t WorkQueue::Delayed() const {
  std::lock_guard lk(mu_);
  return delayed_.size();
}

}  // namespace nc::runtime
