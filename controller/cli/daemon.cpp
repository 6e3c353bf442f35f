// `netconverge run`: the daemon over a manifests directory or the Kubernetes API, with the
// admin HTTP API.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "controller/cli/common.hpp"
#include "controller/core/values.hpp"
#include "controller/manager/feeds.hpp"
#include "controller/manager/manager.hpp"
#include "controller/reconcilers/adapter_factory.hpp"
#include "controller/runtime/clock.hpp"
#include "controller/source/directory_source.hpp"
#include "controller/source/kube_source.hpp"
#include "controller/store/store_lock.hpp"
#include "transport/http/https_client.hpp"

namespace nc::cli {

namespace {

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
        else if (n->runs + n->events + n->intents + n->snapshots + n->notifications +
                     n->notifications_expired >
                 0)
          log->info(
              "store retention: pruned runs={} events={} intents={} snapshots={} "
              "notifications={} notifications_expired={} from before {}",
              n->runs, n->events, n->intents, n->snapshots, n->notifications,
              n->notifications_expired, before);
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
  if (d.store) {
    if (auto converted = d.store->EnsureIncrementalVacuum(); !converted)
      log->warn("store: cannot enable incremental vacuum: {}", converted.error().message);
    else if (*converted)
      log->info(
          "store: converted to auto_vacuum=INCREMENTAL (one VACUUM): pruned history now "
          "returns its space to the file system");
    d.retention = std::make_unique<Retention>(*d.store, keep, log);
  }
  return d;
}

}  // namespace

namespace {

manager::ManagerOptions Options(const Common& c, const RunOptions& o) {
  manager::ManagerOptions m;
  m.workers = o.workers;
  m.max_concurrent_rules = o.max_concurrent_rules;
  m.store_path = c.store;
  m.listen = o.listen;
  m.api = o.api;
  m.deletion_guard_share = c.deletion_guard_pct / 100.0;
  m.deletion_guard_min = c.deletion_guard_min;
  return m;
}

/// The cluster: --kubeconfig, else in a pod the service account, else $KUBECONFIG, else the
/// service account.
Result<kube::KubeConfig> Cluster(const std::string& kubeconfig) {
  const char* env = std::getenv("KUBECONFIG");
  const bool in_cluster = std::getenv("KUBERNETES_SERVICE_HOST") != nullptr || !(env && *env);
  if (!kubeconfig.empty()) return kube::LoadKubeconfig(kubeconfig);
  if (in_cluster) return kube::InClusterConfig();
  return kube::LoadKubeconfig(env);
}

/// --leader-elect's timings; false (printed) when they are not durations or not ordered.
bool Election(const LeaderFlags& lf, kube::LeaderElectionConfig* le) {
  for (auto [text, out] : {std::pair{&lf.lease_duration, &le->lease_duration},
                           std::pair{&lf.renew_deadline, &le->renew_deadline},
                           std::pair{&lf.retry_period, &le->retry_period}}) {
    auto ms = core::ParseDurationMs(*text);
    if (!ms) {
      std::cerr << "netconverge: leader election: " << ms.error().message << "\n";
      return false;
    }
    *out = std::chrono::milliseconds(*ms);
  }
  if (!(le->lease_duration > le->renew_deadline && le->renew_deadline > le->retry_period)) {
    std::cerr
        << "netconverge: leader election needs lease duration > renew deadline > retry period\n";
    return false;
  }
  return true;
}

/// --shards and --shard-index (default: the StatefulSet ordinal of $POD_NAME, "netconverge-3",
/// modulo the shard count, so that pod r*shards+i is a replica of shard i); nullopt (printed)
/// when the index cannot be known or is out of range.
std::optional<core::ShardSpec> Shard(const RunOptions& o) {
  core::ShardSpec s{o.shards, o.shard_index < 0 ? 0 : o.shard_index};
  if (o.shards > 1 && o.shard_index < 0) {
    const char* pod = std::getenv("POD_NAME");
    const std::string name = pod ? pod : "";
    const auto dash = name.find_last_of('-');
    int64_t ordinal = 0;
    if (dash == std::string::npos || !core::ParseInt(name.substr(dash + 1), 0, 999'999, &ordinal)) {
      std::cerr << "netconverge: --shards " << o.shards
                << " needs --shard-index (or $POD_NAME ending in a StatefulSet ordinal, as "
                   "netconverge-2)\n";
      return std::nullopt;
    }
    s.index = static_cast<int>(ordinal % o.shards);
  }
  if (s.index >= s.count) {
    std::cerr << "netconverge: --shard-index " << s.index << " is not below --shards " << s.count
              << "\n";
    return std::nullopt;
  }
  return s;
}

/// A key file: its bytes without the line ending an editor adds.
Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kInvalidArgument, "cannot read it");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

/// The event reasons that may be notified (--notify-reasons is checked against them: a typo
/// would otherwise silence a notification for good).
const std::set<std::string>& NotifiableReasons() {
  static const std::set<std::string> kReasons = {"Applied",
                                                 "ApplyFailed",
                                                 "AuthenticationFailed",
                                                 "ConfigurationError",
                                                 "ConflictDetected",
                                                 "DeletionsHeld",
                                                 "DeviceRejected",
                                                 "DriftDetected",
                                                 "FallbackTransport",
                                                 "PendingCommitReverted",
                                                 "Recovered",
                                                 "RollbackFailed",
                                                 "RollbackSucceeded",
                                                 "Unreachable"};
  return kReasons;
}

/// --notify-*: the policy of the reconciler and the notifier's options; false (printed) when a
/// value is wrong. Nothing of the secret or the URLs is printed.
bool Notifications(const RunOptions& o, const std::string& source, manager::ManagerOptions* m) {
  if (o.notify_webhooks.empty()) return true;
  auto hooks = manager::ParseWebhooks(o.notify_webhooks);
  if (!hooks) {
    std::cerr << "netconverge: " << hooks.error().message << "\n";
    return false;
  }
  if (o.notify_secret_file.empty()) {
    std::cerr << "netconverge: --notify-webhook needs --notify-secret-file (the key of each "
                 "notification's X-Netconverge-Signature)\n";
    return false;
  }
  auto secret = ReadSecretFile(o.notify_secret_file);
  if (!secret || secret->size() < 16) {
    std::cerr << "netconverge: --notify-secret-file " << o.notify_secret_file << ": "
              << (secret ? "the key must be at least 16 bytes" : secret.error().message) << "\n";
    return false;
  }
  std::set<std::string> reasons;
  for (const auto& r : core::SplitList(o.notify_reasons)) {
    if (!NotifiableReasons().count(r)) {
      std::cerr << "netconverge: --notify-reasons: unknown reason '" << r << "' (one of:";
      for (const auto& k : NotifiableReasons()) std::cerr << " " << k;
      std::cerr << ")\n";
      return false;
    }
    reasons.insert(r);
  }
  auto delay = core::ParseDurationMs(o.notify_unreachable_after);
  if (!delay) {
    std::cerr << "netconverge: --notify-unreachable-after: " << delay.error().message << "\n";
    return false;
  }
  m->notify_policy.reasons = std::move(reasons);
  m->notify_policy.unreachable_after = std::chrono::milliseconds(*delay);
  m->notify_policy.source = source;
  for (const auto& h : *hooks) m->notify_policy.webhooks.push_back(h.id);
  m->notifier.webhooks = std::move(*hooks);
  m->notifier.secret = std::move(*secret);
  m->notifier.ca_file = o.notify_ca_file;
  return true;
}

/// The User-Agent of every request to devices and to the API server: the program, then this
/// process (and its shard), so that an access log tells the writers apart.
std::string UserAgent(const core::ShardSpec& shard) {
  std::string who = kube::DefaultIdentity();
  if (shard.sharded()) who += "; shard " + std::to_string(shard.index);
  return std::string(transport::kUserAgent) + " (" + who + ")";
}

}  // namespace

int CmdRunKube(const Common& c, const RunOptions& o) {
  auto log = MakeLogger(c.log_level, c.log_format);
  sigset_t signals = BlockStopSignals();
  auto cluster = Cluster(o.kubeconfig);
  if (!cluster) {
    std::cerr << "netconverge: " << cluster.error().message << "\n";
    return 1;
  }
  const auto shard = Shard(o);
  if (!shard) return 1;
  cluster->shared = std::make_shared<kube::ClientShared>();
  if (o.kube_qps > 0)
    cluster->shared->limiter = std::make_shared<kube::RateLimiter>(o.kube_qps, o.kube_burst);
  cluster->user_agent = UserAgent(*shard);
  manager::ManagerOptions m = Options(c, o);
  m.cluster = *cluster;
  m.shard = *shard;
  if (!Notifications(o, kube::DefaultIdentity(), &m)) return 1;
  if (o.leader.enabled) {
    kube::LeaderElectionConfig le;
    if (!Election(o.leader, &le)) return 1;
    if (shard->sharded()) le.lease_name = "netconverge-leader-" + std::to_string(shard->index);
    m.election = le;
  }
  auto st = OpenDaemonStore(c, o, log);
  if (!st) return 1;
  const auto services = source::LoadServices();
  source::KubeSource source(*cluster, services, {});
  source.SetShard(*shard);
  reconcilers::DefaultAdapterFactory factory(
      [&](const core::Device& d) { return source.SecretCredentials(d); });
  factory.user_agent = cluster->user_agent;
  m.notifier.user_agent = cluster->user_agent;
  manager::KubeFeed feed(source, *st, *cluster, log);
  return manager::Run(m, feed, *st, factory, services, log, signals);
}

int CmdRun(const Common& c, const RunOptions& o) {
  auto log = MakeLogger(c.log_level, c.log_format);
  sigset_t signals = BlockStopSignals();
  const auto shard = Shard(o);
  if (!shard) return 1;
  if (o.leader.enabled) {
    std::cerr << "netconverge: --leader-elect needs --kube (the Lease lives in the cluster)\n";
    return 1;
  }
  manager::ManagerOptions m = Options(c, o);
  m.shard = *shard;
  if (!Notifications(o, kube::DefaultIdentity(), &m)) return 1;
  auto st = OpenDaemonStore(c, o, log);
  if (!st) return 1;
  const auto services = source::LoadServices();
  source::DirectorySource source(c.manifests, services, std::chrono::milliseconds(o.settle_ms));
  source.SetShard(*shard);
  reconcilers::DefaultAdapterFactory factory;
  factory.user_agent = UserAgent(*shard);
  m.notifier.user_agent = factory.user_agent;
  manager::DirectoryFeed feed(source, o.watch_ms, log);
  return manager::Run(m, feed, *st, factory, services, log, signals);
}

}  // namespace nc::cli
