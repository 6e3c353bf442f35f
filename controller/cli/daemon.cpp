// `netconverge run`: the daemon over a manifests directory or the Kubernetes API, with the
// admin HTTP API.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "controller/cli/admin_api.hpp"
#include "controller/cli/common.hpp"
#include "controller/core/values.hpp"
#include "controller/http/admin_server.hpp"
#include "controller/metrics/metrics.hpp"
#include "controller/reconcilers/adapter_factory.hpp"
#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/runtime/clock.hpp"
#include "controller/runtime/controller.hpp"
#include "controller/runtime/work_queue.hpp"
#include "controller/source/directory_source.hpp"
#include "controller/source/kube_source.hpp"
#include "controller/source/leader_election.hpp"
#include "controller/store/store_lock.hpp"

namespace nc::cli {

namespace {

/// `run --kube`: the same loop, fed by the Kubernetes source, writing status back.
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

/// Store retention (spec 5): prunes runs, operations, events and closed intents older than
/// `keep` at start and every hour, until destroyed.
class Retention {
 public:
  Retention(store::SqliteStore& st, std::optional<std::chrono::milliseconds> keep,
            const std::shared_ptr<spdlog::logger>& log) {
    if (!keep) return;
    thread_ = std::thread([this, &st, keep, log] {
      std::unique_lock lk(mu_);
      do {
        const auto before = runtime::FormatUtc(std::chrono::system_clock::now() - *keep);
        if (auto n = st.Prune(before); !n)
          log->warn("store retention: {}", n.error().message);
        else if (n->runs + n->events + n->intents > 0)
          log->info("store retention: pruned runs={} events={} intents={} from before {}", n->runs,
                    n->events, n->intents, before);
      } while (!cv_.wait_for(lk, std::chrono::hours(1), [this] { return stop_; }));
    });
  }
  ~Retention() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

/// --retention: a duration, or "off".
bool ParseRetention(const std::string& text, std::optional<std::chrono::milliseconds>* out) {
  if (text == "off") return true;
  auto ms = core::ParseDurationMs(text);
  if (!ms || *ms < 3'600'000) {
    std::cerr << "netconverge: --retention: " << (ms ? "at least 1h (or off)" : ms.error().message)
              << "\n";
    return false;
  }
  *out = std::chrono::milliseconds(*ms);
  return true;
}

/// SIGINT and SIGTERM are taken by sigwait in the main thread (blocked before any thread starts).
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

/// The daemon's store with its retention thread (stopped when the store is released).
// Members in this order: the retention thread stops before the store closes.
struct DaemonStore {
  std::unique_ptr<store::WriterLock> lock;  // released last
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<Retention> retention;
  store::SqliteStore* operator->() const { return store.get(); }
  store::SqliteStore& operator*() const { return *store; }
  store::SqliteStore* get() const { return store.get(); }
  explicit operator bool() const { return store != nullptr; }
};

DaemonStore OpenDaemonStore(const Common& c, const RunOptions& o,
                            const std::shared_ptr<spdlog::logger>& log) {
  DaemonStore d;
  std::optional<std::chrono::milliseconds> keep;
  if (!ParseRetention(o.retention, &keep)) return d;
  auto lock = store::WriterLock::Acquire(c.store, "run");
  if (!lock) {
    std::cerr << "netconverge: " << lock.error().message << "\n";
    return d;
  }
  d.lock = std::move(*lock);
  d.store = OpenStore(c.store, o.auto_migrate);
  if (d.store) {
    // Damaged pages found now refuse the start, rather than surface later as a partial read.
    auto check = d.store->IntegrityCheck();
    if (!check || *check != "ok") {
      std::cerr << "netconverge: store " << c.store << " fails SQLite's integrity check ("
                << (check ? check->substr(0, 200) : check.error().message)
                << "); restore it from a backup (nothing was sent to any device)\n";
      d.store.reset();
      return d;
    }
  }
  if (d.store) d.retention = std::make_unique<Retention>(*d.store, keep, log);
  return d;
}

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
  m.ObservePass(p);
}

/// A pass of one device under its lock (a worker's, a sync's or a plan's), observed in the
/// metrics; `after` runs after every apply pass (in-cluster: status and Events).
template <typename Source>
ApiContext::PassFn LockedPass(
    DeviceLocks& locks, Source& source, reconcilers::DeviceReconciler& rec, metrics::Metrics& m,
    DeviceStatusCache& status,
    const std::function<void(const std::string&, const reconcilers::DeviceResult&)>& after) {
  return [&locks, &source, &rec, &m, &status, after](const std::string& key,
                                                     const std::string& trigger,
                                                     reconcilers::DeviceReconciler::Mode mode) {
    std::lock_guard lk(locks.For(key));
    auto desired = source.Desired();
    const auto t0 = std::chrono::steady_clock::now();
    auto r = rec.Reconcile(*desired, key, trigger, mode);
    if (mode != reconcilers::DeviceReconciler::Mode::kApply) return r;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ObservePass(m, key, r, seconds);
    if (r.device_row) status.Update(*r.device_row);
    status.Passed({key, r.run_id, trigger,
                   r.error            ? "error"
                   : r.unchanged_poll ? "unchanged"
                                      : "success",
                   runtime::FormatUtc(std::chrono::system_clock::now()),
                   static_cast<int64_t>(seconds * 1000)});
    if (after) after(key, r);
    return r;
  };
}

template <typename Source>
ApiContext MakeApi(store::SqliteStore* st, Source& source, ApiContext::PassFn pass,
                   reconcilers::DeviceReconciler& rec, DeviceLocks& locks,
                   std::function<bool()> ready, std::function<std::string()> leader,
                   runtime::WorkQueue& queue, runtime::Controller& controller,
                   metrics::Metrics& metrics, std::shared_ptr<spdlog::logger> log,
                   DeviceStatusCache& status) {
  return ApiContext{st,
                    [&source] { return source.Desired(); },
                    std::move(pass),
                    [&source, &rec, &locks, &status](const std::string& key, int64_t snapshot) {
                      std::lock_guard lk(locks.For(key));
                      auto r = rec.Rollback(*source.Desired(), key, snapshot);
                      if (r.device_row) status.Update(*r.device_row);
                      return r;
                    },
                    std::move(ready),
                    std::move(leader),
                    &queue,
                    &controller,
                    &metrics,
                    std::move(log),
                    &status,
                    st->SchemaVersion()};
}

void WatchQueue(runtime::WorkQueue& queue, metrics::Metrics& m) {
  queue.SetObserver(
      {[&m] { m.QueueAdded(); }, [&m](double s) { m.QueueWaited(s); }, [&m] { m.QueueRetried(); }});
}

}  // namespace

int CmdRunKube(const Common& c, const RunOptions& o) {
  const int workers = o.workers;
  const std::string& kubeconfig = o.kubeconfig;
  const LeaderFlags& lf = o.leader;
  const std::string& listen = o.listen;
  auto log = MakeLogger(c.log_level, c.log_format);
  sigset_t set = BlockStopSignals();
  Result<kube::KubeConfig> config = MakeError(ErrorCode::kInternal, "");
  // --kubeconfig, else in a pod the service account, else $KUBECONFIG, else the service account.
  const char* env = std::getenv("KUBECONFIG");
  const bool in_cluster = std::getenv("KUBERNETES_SERVICE_HOST") != nullptr || !(env && *env);
  if (!kubeconfig.empty())
    config = kube::LoadKubeconfig(kubeconfig);
  else if (in_cluster)
    config = kube::InClusterConfig();
  else
    config = kube::LoadKubeconfig(env);
  if (!config) {
    std::cerr << "netconverge: " << config.error().message << "\n";
    return 1;
  }
  auto st = OpenDaemonStore(c, o, log);
  if (!st) return 1;
  auto services = source::LoadServices();
  runtime::SystemClock clock;
  runtime::WorkQueue queue(clock);
  Triggers triggers;
  auto enqueue = [&](const std::string& key, const std::string& trigger) {
    triggers.Set(key, trigger);
    queue.Add(key);
  };
  metrics::Metrics metrics;
  WatchQueue(queue, metrics);
  source::KubeSource source(*config, services, [&](const std::vector<std::string>& devices) {
    for (const auto& d : devices) enqueue(d, "kube-change");
  });
  reconcilers::DefaultAdapterFactory factory(
      [&](const core::Device& d) { return source.SecretCredentials(d); });
  reconcilers::DeviceReconciler rec(*st, factory, clock, log, services);
  rec.SetDeletionGuard(c.deletion_guard_pct / 100.0, c.deletion_guard_min);
  // Closed the moment leadership is lost: no pass sends anything to a device after that.
  std::atomic<bool> lost{false};
  rec.SetWriteGate([&] { return !lost.load(); });
  DeviceLocks locks;
  // One pass of one device, under its lock, then metrics and the resources' status.
  DeviceStatusCache status;
  if (auto rows = st->DeviceStatuses())
    for (const auto& r : *rows) status.Update(r);
  auto pass = LockedPass(locks, source, rec, metrics, status,
                         [&](const std::string& key, const reconcilers::DeviceResult& r) {
                           if (r.device_row)
                             if (auto ports = st->PortStatuses(key))
                               source.ReportPass(key, *r.device_row, *ports, !r.error);
                           source.PostEvents(key, r.events);
                         });
  runtime::Controller controller(
      queue,
      [&](const std::string& key) {
        const std::string trigger = triggers.Take(key);
        if (!source.Desired()->devices.count(key)) return runtime::ReconcileResult{};
        auto r = pass(key, trigger, reconcilers::DeviceReconciler::Mode::kApply);
        return runtime::ReconcileResult{r.error, r.requeue_after};
      },
      workers);
  for (const auto& key : rec.Recover()) enqueue(key, "recovery");
  kube::LeaderElectionConfig le;
  for (auto [text, out] : {std::pair{&lf.lease_duration, &le.lease_duration},
                           std::pair{&lf.renew_deadline, &le.renew_deadline},
                           std::pair{&lf.retry_period, &le.retry_period}}) {
    auto ms = core::ParseDurationMs(*text);
    if (!ms) {
      std::cerr << "netconverge: leader election: " << ms.error().message << "\n";
      return 1;
    }
    *out = std::chrono::milliseconds(*ms);
  }
  if (lf.enabled &&
      !(le.lease_duration > le.renew_deadline && le.renew_deadline > le.retry_period)) {
    std::cerr
        << "netconverge: leader election needs lease duration > renew deadline > retry period\n";
    return 1;
  }
  le.on_error = [&](const std::string& why) { log->warn("leader election: {}", why); };
  kube::LeaderElector elector(*config, le);
  source.SetInstance(elector.identity());
  source.SetErrorLog([&](const std::string& why) { log->warn("kube: {}", why); });
  source.SetWriter(!lf.enabled);
  source.Start();
  // Nothing is reconciled before every kind was listed once: an empty cache is not "nothing
  // declared".
  while (!source.Synced()) {
    timespec ts{0, 0};
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)) {
      source.Stop();
      return 0;
    }
    nanosleep(&(ts = {0, 100'000'000}), nullptr);
  }
  log->info("netconverge running: kube https://{}:{} namespace={} store={} workers={}{}",
            config->host, config->port, config->ns, c.store, workers,
            lf.enabled ? " leader-election=" + elector.identity() : "");
  std::atomic<bool> stop{false};
  std::atomic<bool> started{false};
  ApiContext api = MakeApi(
      st.get(), source, pass, rec, locks, [&] { return source.Synced(); },
      [&] {
        return !lf.enabled ? std::string("disabled")
               : lost      ? std::string("lost")
               : started   ? std::string("leader")
                           : std::string("standby");
      },
      queue, controller, metrics, log, status);
  bool admin_failed = false;
  auto admin = StartAdminApi(listen, o.api, api, &admin_failed);
  if (admin_failed) {
    source.Stop();
    return 1;
  }
  std::thread election([&] {
    if (lf.enabled) {
      log->info("waiting to lead (lease netconverge-leader, identity {})", elector.identity());
      if (!elector.Acquire(stop)) return;
      log->info("leading as {}: writing to devices", elector.identity());
      source.SetWriter(true);
      elector.KeepRenewing([&] {
        // Stop writing at once, then exit: the gate stops passes in flight before their next
        // device write, the queue hands out no more keys, status writes to Kubernetes stop.
        lost = true;
        queue.ShutDown();
        source.SetWriter(false);
        log->error(
            "leadership lost (the lease could not be renewed within {} ms): no more writes; "
            "stopping",
            le.renew_deadline.count());
        kill(getpid(), SIGTERM);
      });
    }
    controller.Start();
    started = true;
  });
  int sig = 0;
  sigwait(&set, &sig);
  if (lost) {
    // Leadership is gone and nothing more is written; a graceful stop could wait on calls to
    // an API server that no longer answers. Exit now: the store is crash-safe, an apply cut off
    // is recovered at the next start, and the new leader re-reads every device.
    if (admin) admin->Stop();
    log->error("stopped: leadership lost");
    log->flush();
    std::_Exit(1);
  }
  log->info("signal {} received: finishing in-flight passes", sig);
  stop = true;
  election.join();
  source.Stop();
  if (started) controller.Stop();
  if (lf.enabled) elector.Release();
  if (admin) admin->Stop();
  log->info("stopped");
  return lost ? 1 : 0;
}

int CmdRun(const Common& c, const RunOptions& o) {
  const int workers = o.workers;
  const int watch_ms = o.watch_ms;
  const std::string& listen = o.listen;
  auto log = MakeLogger(c.log_level, c.log_format);
  sigset_t set = BlockStopSignals();

  auto st = OpenDaemonStore(c, o, log);
  if (!st) return 1;
  auto services = source::LoadServices();
  metrics::Metrics metrics;
  source::DirectorySource source(c.manifests, services, std::chrono::milliseconds(o.settle_ms));
  runtime::SystemClock clock;
  reconcilers::DefaultAdapterFactory factory;
  reconcilers::DeviceReconciler rec(*st, factory, clock, log, services);
  rec.SetDeletionGuard(c.deletion_guard_pct / 100.0, c.deletion_guard_min);
  runtime::WorkQueue queue(clock);
  WatchQueue(queue, metrics);
  Triggers triggers;
  auto enqueue = [&](const std::string& key, const std::string& trigger) {
    triggers.Set(key, trigger);
    queue.Add(key);
  };
  DeviceLocks locks;
  DeviceStatusCache status;
  if (auto rows = st->DeviceStatuses())
    for (const auto& r : *rows) status.Update(r);
  auto pass = LockedPass(locks, source, rec, metrics, status, {});
  runtime::Controller controller(
      queue,
      [&](const std::string& key) {
        const std::string trigger = triggers.Take(key);
        if (!source.Desired()->devices.count(key))
          return runtime::ReconcileResult{};  // device removed
        auto r = pass(key, trigger, reconcilers::DeviceReconciler::Mode::kApply);
        return runtime::ReconcileResult{r.error, r.requeue_after};
      },
      workers);

  std::vector<api::Problem> last_problems;
  bool loaded = false;
  auto reload = [&] {
    auto report = source.Reload();
    const bool first = !loaded && report.settling.empty();
    if (report.settling.empty()) loaded = true;
    if (!report.settling.empty())
      log->debug("manifest: {} changed moments ago; taken once it is left alone", report.settling);
    if (report.problems != last_problems) {
      for (const auto& p : report.problems) log->error("manifest: {}", p.ToString());
      for (const auto& f : report.kept_files)
        log->warn("manifest: {} is not used as it is now; its previous good content stays in force",
                  f);
      auto d = source.Desired();
      if (!d->held_deletes_all.empty())
        log->warn("deletions held on every device: {}", d->held_deletes_all);
      last_problems = report.problems;
    }
    for (const auto& key : report.changed_devices)
      enqueue(key, first ? "startup" : "manifest-change");
  };
  for (const auto& key : rec.Recover()) enqueue(key, "recovery");
  reload();
  log->info("netconverge running: manifests={} store={} workers={} devices={}", c.manifests,
            c.store, workers, source.Desired()->devices.size());
  ApiContext api = MakeApi(
      st.get(), source, pass, rec, locks, [] { return true; },
      [] { return std::string("disabled"); }, queue, controller, metrics, log, status);
  bool admin_failed = false;
  auto admin = StartAdminApi(listen, o.api, api, &admin_failed);
  if (admin_failed) return 1;
  controller.Start();
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    while (!stop) {
      for (int i = 0; i < watch_ms / 50 && !stop; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!stop) reload();
    }
  });
  int sig = 0;
  sigwait(&set, &sig);
  log->info("signal {} received: finishing in-flight passes", sig);
  stop = true;
  watcher.join();
  controller.Stop();
  if (admin) admin->Stop();
  log->info("stopped");
  return 0;
}

}  // namespace nc::cli
