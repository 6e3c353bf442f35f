#include "controller/manager/manager.hpp"

#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "controller/metrics/metrics.hpp"
#include "controller/runtime/clock.hpp"
#include "controller/runtime/controller.hpp"
#include "controller/runtime/memory.hpp"
#include "controller/runtime/weighted_gate.hpp"
#include "controller/runtime/work_queue.hpp"

namespace nc::manager {

namespace {

/// Why each queued device was enqueued (the first pass after it says so; later ones are polls).
class Triggers {
 public:
  void Set(const std::string& key, const std::string& trigger) {
    std::lock_guard lk(mu_);
    triggers_[key] = trigger;
  }
  std::string Take(const std::string& key) {
    std::lock_guard lk(mu_);
    auto it = triggers_.find(key);
    if (it == triggers_.end()) return "poll";
    std::string t = std::move(it->second);
    triggers_.erase(it);
    return t;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> triggers_;
};

/// The metrics of a pass, from what the pass itself recorded (no store reads).
void ObservePass(metrics::Metrics& m, const std::string& key, const reconcilers::DeviceResult& r,
                 double seconds) {
  metrics::PassFacts p;
  p.device = key;
  p.ok = !r.error;
  p.unchanged_poll = r.unchanged_poll;
  p.seconds = seconds;
  p.operations = r.wrote ? static_cast<int>(r.operations.size()) : 0;
  p.commits = r.commits;
  if (r.device_row) {
    p.reachable = r.device_row->reachable;
    p.fallback_active = r.device_row->fallback_active;
  }
  for (const auto& e : r.events) p.event_reasons.push_back(e.reason);
  for (const auto& t : r.requests) p.requests.emplace_back(t.transport, t.seconds);
  m.ObservePass(p);
}

/// Everything the daemon is made of, in construction order (destroyed in reverse).
struct Parts {
  Parts(const ManagerOptions& o, Feed& f, store::SqliteStore& s, AdapterFactory& factory,
        const core::ServiceTable& services, std::shared_ptr<spdlog::logger> l)
      : options(o),
        feed(f),
        st(s),
        log(std::move(l)),
        queue(clock),
        rec(s, factory, clock, log, services) {
    rec.SetDeletionGuard(o.deletion_guard_share, o.deletion_guard_min);
    rec.SetNotify(o.notify_policy);
    // Closed the moment leadership is lost: no pass sends anything to a device after that.
    rec.SetWriteGate([this] { return !lost.load(); });
    queue.SetObserver({[this] { metrics.QueueAdded(); },
                       [this](double sec) { metrics.QueueWaited(sec); },
                       [this] { metrics.QueueRetried(); }});
    if (auto rows = st.DeviceStatuses())
      for (const auto& r : *rows) status.Update(r);
  }

  void Enqueue(const std::string& key, const std::string& trigger) {
    triggers.Set(key, trigger);
    queue.Add(key);
  }

  /// One pass of one device under its lock (a worker's, a sync's or a plan's), observed in the
  /// metrics and reported to the feed.
  reconcilers::DeviceResult Pass(const std::string& key, const std::string& trigger,
                                 reconcilers::DeviceReconciler::Mode mode,
                                 const std::string& actor = "controller") {
    std::lock_guard lk(locks.For(key));
    auto desired = feed.Desired();
    const auto t0 = std::chrono::steady_clock::now();
    auto r = rec.Reconcile(*desired, key, trigger, mode, actor);
    if (mode != reconcilers::DeviceReconciler::Mode::kApply) return r;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ObservePass(metrics, key, r, seconds);
    if (r.device_row) status.Update(*r.device_row);
    const char* result = r.error ? "error" : r.unchanged_poll ? "unchanged" : "success";
    status.Count(key, !r.error, r.device_row && r.device_row->fallback_active);
    status.Passed({key, r.run_id, trigger, result,
                   runtime::FormatUtc(std::chrono::system_clock::now()),
                   static_cast<int64_t>(seconds * 1000)});
    if (auto w = feed.Passed(key, r); w.requests >= 0) {
      metrics.KubeRequestsPerPass(w.requests);
      if (w.coalesced > 0) metrics.KubeStatusCoalesced(w.coalesced);
    }
    return r;
  }

  /// GET /v1/health?probe=true: one read of the device under its lock, at most one per device
  /// per 10 s (a dashboard refreshing every second must not poll the fleet every second).
  reconcilers::DeviceReconciler::ProbeResult Probe(const std::string& key, bool* cached) {
    static constexpr auto kMinInterval = std::chrono::seconds(10);
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lk(probes_mu);
      if (auto it = probes.find(key); it != probes.end() && now - it->second.first < kMinInterval) {
        *cached = true;
        return it->second.second;
      }
    }
    *cached = false;
    reconcilers::DeviceReconciler::ProbeResult r;
    {
      std::lock_guard lk(locks.For(key));
      r = rec.Probe(*feed.Desired(), key);
    }
    std::lock_guard lk(probes_mu);
    probes[key] = {now, r};
    return r;
  }

  std::string Leadership() const {
    if (!options.election) return "disabled";
    return lost ? "lost" : started ? "leader" : "standby";
  }

  ApiContext Api() {
    ApiContext api{
        &st,
        [this] { return feed.Desired(); },
        [this](const std::string& key, const std::string& trigger,
               reconcilers::DeviceReconciler::Mode mode,
               const std::string& actor) { return Pass(key, trigger, mode, actor); },
        [this](const std::string& key, int64_t snapshot, const std::string& actor) {
          std::lock_guard lk(locks.For(key));
          auto r = rec.Rollback(*feed.Desired(), key, snapshot, actor);
          if (r.device_row) status.Update(*r.device_row);
          // An on-demand rollback is counted like one after a failed commit.
          if (r.run_id > 0) metrics.ObserveRollback(key, !r.error);
          return r;
        },
        [this](const std::string& key, bool* cached) { return Probe(key, cached); },
        [this] { return feed.Synced(); },
        [this] { return Leadership(); },
        &queue,
        controller.get(),
        &metrics,
        log,
        &status,
        st.SchemaVersion(),
        options.shard,
        [this](const std::string& key, const reconcilers::DeviceReconciler::DiscoverQuery& q) {
          std::lock_guard lk(locks.For(key));
          return rec.Discover(*feed.Desired(), key, q);
        }};
    return api;
  }

  const ManagerOptions& options;
  Feed& feed;
  store::SqliteStore& st;
  std::shared_ptr<spdlog::logger> log;
  runtime::SystemClock clock;
  metrics::Metrics metrics;
  runtime::WorkQueue queue;
  reconcilers::DeviceReconciler rec;
  Triggers triggers;
  DeviceLocks locks;
  DeviceStatusCache status;
  std::unique_ptr<runtime::Controller> controller;
  std::atomic<bool> lost{false};
  std::atomic<bool> started{false};
  runtime::WeightedGate rules_in_flight{options.max_concurrent_rules};
  runtime::StopSignal stop;
  std::mutex probes_mu;  // the last live read of each device (Probe)
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point,
                                  reconcilers::DeviceReconciler::ProbeResult>>
      probes;
};

/// Until the feed's first complete read, or a stop signal (then false).
bool WaitForSync(Feed& feed) {
  while (!feed.Synced()) {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)) return false;
    timespec ts{0, 100'000'000};
    nanosleep(&ts, nullptr);
  }
  return true;
}

/// Leads (or waits to), then starts the workers. On a lost lease: stop writing at once - the
/// gate stops passes in flight before their next device write, the queue hands out no more
/// keys, writes to the source stop - and signal the main thread, which exits.
void LeadThenWork(Parts& p, kube::LeaderElector* elector) {
  if (elector) {
    p.log->info("waiting to lead (lease {}, identity {})", p.options.election->lease_name,
                elector->identity());
    if (!elector->Acquire(p.stop)) return;
    p.log->info("leading as {}: writing to devices", elector->identity());
    p.feed.SetWriter(true);
    elector->KeepRenewing([&p] {
      p.lost = true;
      p.queue.ShutDown();
      p.feed.SetWriter(false);
      p.log->error(
          "leadership lost (the lease could not be renewed within {} ms): no more writes; "
          "stopping",
          p.options.election->renew_deadline.count());
      kill(getpid(), SIGTERM);
    });
  }
  p.controller->Start();
  p.started = true;
}

/// The workers: each takes a device from the queue and runs its pass within the rule budget.
std::unique_ptr<runtime::Controller> MakeController(Parts& p, int workers) {
  return std::make_unique<runtime::Controller>(
      p.queue,
      [&p](const std::string& key) {
        const std::string trigger = p.triggers.Take(key);
        if (!p.feed.Desired()->devices.count(key)) return runtime::ReconcileResult{};  // gone
        runtime::ReconcileResult out;
        bool quiet = false;
        {
          const auto desired = p.feed.Desired();
          runtime::WeightedGate::Hold hold(
              p.rules_in_flight,
              static_cast<int64_t>(desired->RulesFor(key).size() + desired->VlansFor(key).size()));
          auto r = p.Pass(key, trigger, reconcilers::DeviceReconciler::Mode::kApply);
          out = {r.error, r.requeue_after};
          quiet = r.unchanged_poll;
        }
        // A pass that read, planned or sent a device's whole ruleset freed large buffers (its
        // plan, request bodies, answers): hand them back to the system, so the daemon's size
        // follows what it keeps, not the largest pass it ran.
        if (!quiet) runtime::ReleaseFreedMemory();
        return out;
      },
      workers);
}

}  // namespace

int Run(const ManagerOptions& o, Feed& feed, store::SqliteStore& store, AdapterFactory& factory,
        const core::ServiceTable& services, std::shared_ptr<spdlog::logger> log, sigset_t signals) {
  runtime::UseOneMallocArena();
  Parts p(o, feed, store, factory, services, std::move(log));
  // client-go's rest_client_* metrics of every Kubernetes request of this process.
  auto observe = [&p](const std::string& method, int code, double throttled) {
    p.metrics.KubeRequest(method, code, throttled);
  };
  if (o.cluster.shared) o.cluster.shared->observe = observe;
  p.controller = MakeController(p, o.workers);
  std::unique_ptr<kube::LeaderElector> elector;
  if (o.election) {
    auto le = *o.election;
    le.on_error = [&p](const std::string& why) { p.log->warn("leader election: {}", why); };
    // The Lease is renewed outside the rate limiter: a burst of status writes must never cost
    // the leadership (its requests are still counted).
    kube::KubeConfig lease_cluster = o.cluster;
    lease_cluster.shared = std::make_shared<kube::ClientShared>();
    lease_cluster.shared->observe = observe;
    elector = std::make_unique<kube::LeaderElector>(lease_cluster, le);
    feed.SetInstance(elector->identity());
  }
  feed.SetWriter(!o.election);
  for (const auto& key : p.rec.Recover()) p.Enqueue(key, "recovery");
  feed.Start([&p](const std::string& key, const std::string& trigger) { p.Enqueue(key, trigger); });
  if (!WaitForSync(feed)) {
    feed.Stop();
    return 0;
  }
  p.log->info("netconverge running: {} store={} workers={}{}{}", feed.Describe(), o.store_path,
              o.workers,
              o.shard.sharded() ? fmt::format(" shard={}/{}", o.shard.index, o.shard.count) : "",
              elector ? " leader-election=" + elector->identity() : "");
  bool admin_failed = false;
  auto admin = StartAdminApi(o.listen, o.api, p.Api(), &admin_failed);
  if (admin_failed) {
    feed.Stop();
    return 1;
  }
  // Notifications pending in the outbox (from this process or one before it) go out from now.
  std::unique_ptr<Notifier> notifier;
  if (o.notify_policy.enabled())
    notifier = std::make_unique<Notifier>(store, o.notifier, p.metrics, p.log);
  std::thread lead([&p, &elector] { LeadThenWork(p, elector.get()); });
  int sig = 0;
  sigwait(&signals, &sig);
  if (p.lost) {
    // Leadership is gone and nothing more is written; a graceful stop could wait on calls to
    // an API server that no longer answers. Exit now: the store is crash-safe, an apply cut off
    // is recovered at the next start, and the new leader re-reads every device.
    if (admin) admin->Stop();
    p.log->error("stopped: leadership lost");
    p.log->flush();
    std::_Exit(1);
  }
  p.log->info("signal {} received: finishing in-flight passes", sig);
  p.stop.Stop();
  lead.join();
  feed.Stop();
  if (p.started) p.controller->Stop();
  if (elector) elector->Release();
  notifier.reset();
  if (admin) admin->Stop();
  p.log->info("stopped");
  return 0;
}

}  // namespace nc::manager
