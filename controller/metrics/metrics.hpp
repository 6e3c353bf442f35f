// Prometheus metrics (prometheus-cpp) of the control loop, the devices and the admin HTTP API.
// controller-runtime's names where they exist (controller_runtime_reconcile_total,
// controller_runtime_reconcile_time_seconds, workqueue_depth), netconverge_* for the rest.
// Thread-safe (prometheus-cpp's metrics are atomic).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nc::metrics {

struct PassFacts {
  std::string device;
  bool ok = true;
  bool unchanged_poll = false;
  double seconds = 0;
  int operations = 0;
  int commits = 0;
  bool reachable = true;
  bool fallback_active = false;
  std::vector<std::string> event_reasons;  // the pass's recorded events (DriftDetected, ...)
  std::vector<std::pair<std::string, double>> requests;  // (transport, seconds) of each request
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  void ObservePass(const PassFacts& pass);
  /// An on-demand rollback (netconverge_rollbacks_total{result}).
  void ObserveRollback(const std::string& device, bool succeeded);
  void ObserveHttp(const std::string& route, int code, double seconds);
  /// A webhook notification's outcome (netconverge_notifications_total{reason, result}):
  /// delivered, failed (one attempt), dropped.
  void ObserveNotification(const std::string& reason, const std::string& result, int64_t count = 1);
  void SetNotificationsPending(int64_t pending);
  /// One Kubernetes API request (client-go's rest_client_* metrics): method, HTTP status (0: no
  /// answer) and the seconds it waited for the rate limiter.
  void KubeRequest(const std::string& method, int code, double throttled_seconds);
  /// The Kubernetes API writes one pass caused.
  void KubeRequestsPerPass(int requests);
  void KubeStatusCoalesced(int writes);
  /// client-go's workqueue metrics (name="device"), fed by runtime::QueueObserver.
  void QueueAdded();
  void QueueRetried();
  void QueueWaited(double seconds);
  void SetQueueDepth(size_t depth, int busy_workers);
  /// The Prometheus text exposition format.
  std::string Text();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nc::metrics
