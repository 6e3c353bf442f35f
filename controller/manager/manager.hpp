// The manager: the one composition root of `netconverge run`, whichever source feeds it (a
// manifests directory or the Kubernetes API). It owns the work queue and its workers, the
// per-device locks, the reconciler, leader election, the admin API and the metrics, and it
// drives a Feed - the source's side: desired state in, status out. Like controller-runtime's
// Manager: sources produce, the manager reconciles.
#pragma once

#include <signal.h>
#include <spdlog/logger.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "controller/core/shard.hpp"
#include "controller/core/values.hpp"
#include "controller/manager/admin_api.hpp"
#include "controller/manager/leader_election.hpp"
#include "controller/manager/notifier.hpp"
#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/source/kube_client.hpp"
#include "controller/store/sqlite_store.hpp"

namespace nc::manager {

/// A source of desired state as the manager drives it (feeds.hpp: directory, Kubernetes).
class Feed {
 public:
  using Enqueue = std::function<void(const std::string& device, const std::string& trigger)>;
  virtual ~Feed() = default;
  virtual std::shared_ptr<const core::DesiredState> Desired() const = 0;
  /// Whether the first complete read is done: nothing is reconciled before (an empty cache is
  /// not "nothing declared").
  virtual bool Synced() const = 0;
  /// Starts feeding: `enqueue` gets each device whose desired state changed, with why.
  virtual void Start(Enqueue enqueue) = 0;
  virtual void Stop() = 0;
  /// The writes to the source one pass caused (requests -1: a source that takes none), and how
  /// many of them replaced a pending write of the same object.
  struct Writes {
    int requests = -1;
    int coalesced = 0;
  };
  /// After every apply pass of `device` (Kubernetes: status and Events back). Default: nothing.
  virtual Writes Passed(const std::string& device, const reconcilers::DeviceResult& r) {
    (void)device;
    (void)r;
    return {};
  }
  /// Whether this replica may write to the source (a standby may not). Default: ignored.
  virtual void SetWriter(bool writer) { (void)writer; }
  /// The identity events are reported under (the leader-election identity).
  virtual void SetInstance(const std::string& instance) { (void)instance; }
  /// What the start log line says about the source ("manifests=DIR", "kube https://...").
  virtual std::string Describe() const = 0;
};

struct ManagerOptions {
  int workers = 8;
  /// The rules (and sub-interfaces) the passes in flight may hold together (the memory bound;
  /// `workers` is the CPU and connection bound). <= 0: none.
  int64_t max_concurrent_rules = 20'000;
  std::string store_path;  // for the log line
  std::string listen;      // the admin API ("off": none)
  ApiOptions api;
  double deletion_guard_share = 0.5;
  int deletion_guard_min = 10;
  /// Leader election over the Kubernetes API (unset: this replica always leads).
  std::optional<kube::LeaderElectionConfig> election;
  kube::KubeConfig cluster;  // where the Lease lives (with `election`)
  /// This replica's shard (the feed keeps only its devices; the Lease is per shard).
  core::ShardSpec shard;
  /// Webhook notifications (none unless policy.webhooks): which events are queued, and the
  /// notifier that delivers them.
  reconcilers::NotifyPolicy notify_policy;
  NotifierOptions notifier;
};

/// Runs the daemon until SIGINT or SIGTERM (`signals`: blocked by the caller before any thread
/// started): recovery of unfinished applies, the feed, the workers, the admin API, leader
/// election. Returns the exit code (1 when leadership was lost: the process exits at once).
int Run(const ManagerOptions& options, Feed& feed, store::SqliteStore& store,
        AdapterFactory& factory, const core::ServiceTable& services,
        std::shared_ptr<spdlog::logger> log, sigset_t signals);

}  // namespace nc::manager
