// Leader election on a coordination.k8s.io/v1 Lease with client-go's algorithm and timings
// (research/kubernetes.md 4): try to acquire or renew every retryPeriod; a lease held by
// another identity is taken over only when it was not renewed for leaseDuration, measured on
// this process's clock from when the record last changed (never by comparing clocks); a leader
// that cannot renew within renewDeadline stops leading. Updates carry the resourceVersion, so
// two candidates can never both win one round.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include "controller/runtime/stop_signal.hpp"

#include "controller/source/kube_client.hpp"

namespace nc::kube {

struct LeaderElectionConfig {
  std::string lease_name = "netconverge-leader";
  std::string identity;  // default: POD_NAME or hostname, plus the pid
  std::chrono::milliseconds lease_duration{15'000};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
  /// Told why a round failed (an API error, 403 from RBAC, a timeout), once per distinct reason:
  /// a replica that cannot lead must say why, not stand by in silence.
  std::function<void(const std::string&)> on_error;
};

/// This process's identity: $POD_NAME (or the host name), an underscore and the pid.
std::string DefaultIdentity();

class LeaderElector {
 public:
  LeaderElector(KubeConfig config, LeaderElectionConfig options);
  ~LeaderElector();
  /// Blocks until this process leads (true) or `stop` is set (false).
  bool Acquire(const runtime::StopSignal& stop);
  /// Renews in the background; `on_lost` is called once if leadership is lost.
  void KeepRenewing(std::function<void()> on_lost);
  /// Stops renewing and hands the lease back (holder cleared), so another replica takes over at
  /// once.
  void Release();
  const std::string& identity() const { return options_.identity; }

 private:
  /// One acquire-or-renew round, every API call of it ending by `deadline` (client-go bounds a
  /// renewal by the renew deadline: an old leader must not outlive its lease inside a call).
  /// Returns whether this process holds the lease afterwards.
  bool TryAcquireOrRenew(std::chrono::steady_clock::time_point deadline);
  bool Fail(const std::string& why);

  KubeClient client_;
  LeaderElectionConfig options_;
  std::string observed_record_;  // holder + renewTime as last read
  std::chrono::steady_clock::time_point observed_at_{};
  std::atomic<bool> leading_{false};
  runtime::StopSignal stop_renewing_;
  std::string last_error_;
  std::thread renewer_;
};

}  // namespace nc::kube
