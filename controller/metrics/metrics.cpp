#include "controller/metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace nc::metrics {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& reconcile =
      BuildCounter()
          .Name("controller_runtime_reconcile_total")
          .Help("Reconciliations per controller and result.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& reconcile_time =
      BuildHistogram()
          .Name("controller_runtime_reconcile_time_seconds")
          .Help("Length of reconciliations per controller.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& passes =
      BuildCounter()
          .Name("netconverge_reconcile_total")
          .Help("Passes per device and result (success, error, unchanged).")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& pass_time =
      BuildHistogram()
          .Name("netconverge_reconcile_duration_seconds")
          .Help("Length of passes per device.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& operations =
      BuildCounter()
          .Name("netconverge_operations_sent_total")
          .Help("Configuration operations sent to devices.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& commits = BuildCounter()
                                                         .Name("netconverge_commits_total")
                                                         .Help("Commits made on devices.")
                                                         .Register(*registry);
  prometheus::Family<prometheus::Counter>& drift = BuildCounter()
                                                       .Name("netconverge_drift_events_total")
                                                       .Help("Out-of-band changes detected.")
                                                       .Register(*registry);
  prometheus::Family<prometheus::Counter>& conflicts =
      BuildCounter()
          .Name("netconverge_conflicts_total")
          .Help("Conflicts with objects netconverge does not own.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& rejections =
      BuildCounter()
          .Name("netconverge_rejections_total")
          .Help("Resources the device refused (DeviceRejected), counted per pass that saw them.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& rollbacks =
      BuildCounter()
          .Name("netconverge_rollbacks_total")
          .Help("Rollbacks per device and result (succeeded, failed).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& fallbacks =
      BuildCounter()
          .Name("netconverge_transport_fallbacks_total")
          .Help("Passes carried by the fallback transport.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& up = BuildGauge()
                                                  .Name("netconverge_device_up")
                                                  .Help("1 when the device answered its last pass.")
                                                  .Register(*registry);
  prometheus::Family<prometheus::Gauge>& depth = BuildGauge()
                                                     .Name("workqueue_depth")
                                                     .Help("Current depth of the work queue.")
                                                     .Register(*registry);
  prometheus::Family<prometheus::Counter>& adds =
      BuildCounter()
          .Name("workqueue_adds_total")
          .Help("Total number of adds handled by the work queue.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& retries =
      BuildCounter()
          .Name("workqueue_retries_total")
          .Help("Total number of retries (backoff re-adds) handled by the work queue.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& queue_wait =
      BuildHistogram()
          .Name("workqueue_queue_duration_seconds")
          .Help("How long in seconds a key stays in the work queue before it is processed.")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& busy = BuildGauge()
                                                    .Name("controller_runtime_active_workers")
                                                    .Help("Workers busy reconciling.")
                                                    .Register(*registry);
  prometheus::Family<prometheus::Counter>& http =
      BuildCounter()
          .Name("netconverge_http_requests_total")
          .Help("Admin API requests per route and code.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& http_time =
      BuildHistogram()
          .Name("netconverge_http_request_duration_seconds")
          .Help("Admin API latency per route.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& kube_requests =
      BuildCounter()
          .Name("rest_client_requests_total")
          .Help("Kubernetes API requests by method and code (0: no answer), as client-go counts.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& kube_throttle =
      BuildHistogram()
          .Name("rest_client_rate_limiter_duration_seconds")
          .Help("Time Kubernetes API requests waited for the client's rate limiter (--kube-qps).")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& kube_per_pass =
      BuildHistogram()
          .Name("netconverge_kube_requests_per_pass")
          .Help("Kubernetes API writes (status, Events, finalizers) one pass of a device caused.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& kube_coalesced =
      BuildCounter()
          .Name("netconverge_kube_status_writes_coalesced_total")
          .Help("Status writes replaced by a newer status of the same object before being sent.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& device_requests =
      BuildHistogram()
          .Name("netconverge_device_request_duration_seconds")
          .Help(
              "Requests to devices (an HTTPS API call, an SSH CLI command) per device and "
              "transport.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& notifications =
      BuildCounter()
          .Name("netconverge_notifications_total")
          .Help(
              "Webhook notification outcomes by reason: delivered, failed (an attempt; retried), "
              "dropped (no longer applies).")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& notifications_pending =
      BuildGauge()
          .Name("netconverge_notifications_pending")
          .Help("Webhook notifications in the outbox not yet accepted.")
          .Register(*registry);
  const prometheus::Histogram::BucketBoundaries pass_buckets{0.01, 0.05, 0.1, 0.25, 0.5, 1,  2.5,
                                                             5,    10,   30,  60,   120, 600};
  const prometheus::Histogram::BucketBoundaries throttle_buckets{0.001, 0.01, 0.1, 0.5, 1,
                                                                 5,     10,   30,  60};
  const prometheus::Histogram::BucketBoundaries per_pass_buckets{0,   1,   2,    5,    10,   50,
                                                                 100, 500, 1000, 5000, 10000};
  const prometheus::Histogram::BucketBoundaries request_buckets{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
  const prometheus::Histogram::BucketBoundaries http_buckets{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                             0.02,   0.05,  0.1,    0.25,  1};
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {
  // Served from the start, at 0 (without webhooks too): a series that appears already at 1
  // has no earlier sample, and `increase(...)` would miss the first notification.
  impl_->notifications_pending.Add({}).Set(0);
  for (const char* reason :
       {"ConflictDetected", "DeviceRejected", "DriftDetected", "RollbackFailed", "Unreachable"})
    for (const char* result : {"delivered", "failed", "dropped"})
      impl_->notifications.Add({{"reason", reason}, {"result", result}});
}
Metrics::~Metrics() = default;

void Metrics::ObservePass(const PassFacts& p) {
  auto& m = *impl_;
  const std::string result = !p.ok ? "error" : p.unchanged_poll ? "unchanged" : "success";
  m.reconcile.Add({{"controller", "device"}, {"result", p.ok ? "success" : "error"}}).Increment();
  m.reconcile_time.Add({{"controller", "device"}}, m.pass_buckets).Observe(p.seconds);
  m.passes.Add({{"device", p.device}, {"result", result}}).Increment();
  m.pass_time.Add({{"device", p.device}}, m.pass_buckets).Observe(p.seconds);
  m.operations.Add({{"device", p.device}}).Increment(p.operations);
  m.commits.Add({{"device", p.device}}).Increment(p.commits);
  m.up.Add({{"device", p.device}}).Set(p.reachable ? 1 : 0);
  for (const auto& [transport, seconds] : p.requests)
    m.device_requests.Add({{"device", p.device}, {"transport", transport}}, m.request_buckets)
        .Observe(seconds);
  // Every per-device counter exists from the device's first pass, at 0: a series that appears
  // already at 1 has no earlier sample, so `increase(...) > 0` would miss the first event.
  auto& drift = m.drift.Add({{"device", p.device}});
  auto& conflicts = m.conflicts.Add({{"device", p.device}});
  auto& rejections = m.rejections.Add({{"device", p.device}});
  auto& rolled_back = m.rollbacks.Add({{"device", p.device}, {"result", "succeeded"}});
  auto& rollback_failed = m.rollbacks.Add({{"device", p.device}, {"result", "failed"}});
  auto& fallbacks = m.fallbacks.Add({{"device", p.device}});
  if (p.fallback_active) fallbacks.Increment();
  for (const auto& r : p.event_reasons) {
    if (r == "DriftDetected")
      drift.Increment();
    else if (r == "ConflictDetected")
      conflicts.Increment();
    else if (r == "DeviceRejected")
      rejections.Increment();
    else if (r == "RollbackSucceeded")
      rolled_back.Increment();
    else if (r == "RollbackFailed")
      rollback_failed.Increment();
  }
}

void Metrics::ObserveRollback(const std::string& device, bool succeeded) {
  impl_->rollbacks.Add({{"device", device}, {"result", succeeded ? "succeeded" : "failed"}})
      .Increment();
}

void Metrics::ObserveNotification(const std::string& reason, const std::string& result,
                                  int64_t count) {
  impl_->notifications.Add({{"reason", reason}, {"result", result}})
      .Increment(static_cast<double>(count));
}

void Metrics::SetNotificationsPending(int64_t pending) {
  impl_->notifications_pending.Add({}).Set(static_cast<double>(pending));
}

void Metrics::ObserveHttp(const std::string& route, int code, double seconds) {
  impl_->http.Add({{"route", route}, {"code", std::to_string(code)}}).Increment();
  impl_->http_time.Add({{"route", route}}, impl_->http_buckets).Observe(seconds);
}

void Metrics::KubeRequest(const std::string& method, int code, double throttled_seconds) {
  impl_->kube_requests.Add({{"method", method}, {"code", std::to_string(code)}}).Increment();
  impl_->kube_throttle.Add({{"verb", method}}, impl_->throttle_buckets).Observe(throttled_seconds);
}

void Metrics::KubeRequestsPerPass(int requests) {
  impl_->kube_per_pass.Add({}, impl_->per_pass_buckets).Observe(requests);
}

void Metrics::KubeStatusCoalesced(int writes) {
  impl_->kube_coalesced.Add({}).Increment(writes);
}

void Metrics::QueueAdded() {
  impl_->adds.Add({{"name", "device"}}).Increment();
}
void Metrics::QueueRetried() {
  impl_->retries.Add({{"name", "device"}}).Increment();
}
void Metrics::QueueWaited(double seconds) {
  static const prometheus::Histogram::BucketBoundaries kBuckets{1e-5, 1e-4, 1e-3, 0.01, 0.1,
                                                                1,    10,   100,  1000};
  impl_->queue_wait.Add({{"name", "device"}}, kBuckets).Observe(seconds);
}

void Metrics::SetQueueDepth(size_t depth, int busy_workers) {
  impl_->depth.Add({{"name", "device"}}).Set(static_cast<double>(depth));
  impl_->busy.Add({{"controller", "device"}}).Set(busy_workers);
}

std::string Metrics::Text() {
  prometheus::TextSerializer s;
  return s.Serialize(impl_->registry->Collect());
}

}  // namespace nc::metrics
