// The routes of the admin HTTP API (spec §6) over the daemon's parts: health, metrics, device
// status, dry-run plans, events, and the admin actions (sync, rollback), each behind its role.
#pragma once

#include <spdlog/logger.h>

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "controller/core/model.hpp"
#include "controller/core/shard.hpp"
#include "controller/http/admin_server.hpp"
#include "controller/http/auth.hpp"
#include "controller/metrics/metrics.hpp"
#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/runtime/controller.hpp"
#include "controller/runtime/work_queue.hpp"
#include "controller/store/sqlite_store.hpp"

namespace nc::manager {

/// One mutex per device: a worker's pass and an admin sync or rollback of the same device never
/// run at once (spec §3: a key is never processed by two workers at once).
class DeviceLocks {
 public:
  std::mutex& For(const std::string& key) {
    std::lock_guard lk(mu_);
    auto& m = locks_[key];
    if (!m) m = std::make_unique<std::mutex>();
    return *m;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<std::mutex>> locks_;
};

/// What /v1/health shows, kept in memory so that health checks never wait for the store (a
/// 10,000-rule record holds it for tens of milliseconds): the devices' status rows and last
/// passes as the passes recorded them, and the store's write check.
class DeviceStatusCache {
 public:
  /// A device's last pass, for /v1/health's loop section.
  struct LastPass {
    std::string device;
    int64_t run_id = 0;
    std::string trigger;
    std::string result;  // success | error | unchanged
    std::string finished_at;
    int64_t duration_ms = 0;
  };
  void Update(const store::DeviceStatusRow& row) {
    std::lock_guard lk(mu_);
    rows_[row.device] = row;
  }
  void Passed(LastPass p) {
    std::lock_guard lk(mu_);
    passes_[p.device] = std::move(p);
  }
  /// The store's write check (a write transaction that changes nothing: the file takes the
  /// write lock, so a read-only mount or a stuck writer shows), done at most every 5 s so that
  /// a probe or scrape storm never queues behind the reconcilers' transactions.
  bool StoreWritable(store::SqliteStore& st) {
    std::lock_guard lk(check_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (!checked_ || now - checked_at_ > std::chrono::seconds(5)) {
      writable_ = static_cast<bool>(st.WriteCheck());
      checked_at_ = now;
      checked_ = true;
    }
    return writable_;
  }
  std::vector<LastPass> Passes() const {
    std::lock_guard lk(mu_);
    std::vector<LastPass> out;
    for (const auto& [_, p] : passes_) out.push_back(p);
    return out;
  }
  std::vector<store::DeviceStatusRow> Rows() const {
    std::lock_guard lk(mu_);
    std::vector<store::DeviceStatusRow> out;
    for (const auto& [_, r] : rows_) out.push_back(r);
    return out;
  }

  /// A device's passes over the last hour, for /v1/health: how many, how many did not fail,
  /// how many needed the fallback transport. Kept in 60 one-minute buckets per device (a fixed
  /// 1.4 KB a device, whatever the poll rate).
  struct HourCounts {
    int64_t passes = 0;
    int64_t ok = 0;
    int64_t fallback = 0;
  };
  void Count(const std::string& device, bool ok, bool fallback,
             std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
    const int64_t minute =
        std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count();
    std::lock_guard lk(mu_);
    auto& b = hour_[device][static_cast<size_t>(minute % 60)];
    if (b.minute != minute) b = Bucket{minute, 0, 0, 0};
    ++b.passes;
    b.ok += ok ? 1 : 0;
    b.fallback += fallback ? 1 : 0;
  }
  HourCounts LastHour(const std::string& device, std::chrono::steady_clock::time_point now =
                                                     std::chrono::steady_clock::now()) const {
    const int64_t minute =
        std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count();
    HourCounts out;
    std::lock_guard lk(mu_);
    auto it = hour_.find(device);
    if (it == hour_.end()) return out;
    for (const auto& b : it->second)
      if (b.minute > minute - 60 && b.minute <= minute) {
        out.passes += b.passes;
        out.ok += b.ok;
        out.fallback += b.fallback;
      }
    return out;
  }

 private:
  struct Bucket {
    int64_t minute = -1;
    int32_t passes = 0;
    int32_t ok = 0;
    int32_t fallback = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::array<Bucket, 60>> hour_;
  std::map<std::string, store::DeviceStatusRow> rows_;
  std::map<std::string, LastPass> passes_;
  std::mutex check_mu_;
  bool checked_ = false;
  bool writable_ = false;
  std::chrono::steady_clock::time_point checked_at_;
};

struct ApiOptions {
  http::AuthOptions auth;
  bool metrics_auth = false;  // /metrics needs viewer
  bool health_auth = false;   // /v1/health needs viewer (/healthz, /readyz stay open for probes)
};

struct ApiContext {
  /// `actor`: who asked, for the run's record ("api NAME").
  using PassFn = std::function<reconcilers::DeviceResult(
      const std::string& key, const std::string& trigger, reconcilers::DeviceReconciler::Mode mode,
      const std::string& actor)>;
  store::SqliteStore* store = nullptr;
  std::function<std::shared_ptr<const core::DesiredState>()> desired;
  /// A pass of one device under its lock, with what the daemon does after one (metrics, status).
  PassFn pass;
  std::function<reconcilers::DeviceResult(const std::string& key, int64_t snapshot,
                                          const std::string& actor)>
      rollback;
  /// A live read of one device (GET /v1/health?probe=true), at most one per device per 10 s:
  /// a later call within that time returns the last read (`cached`).
  std::function<reconcilers::DeviceReconciler::ProbeResult(const std::string& key, bool* cached)>
      probe;
  std::function<bool()> ready;          // desired state loaded (and, in-cluster, listed)
  std::function<std::string()> leader;  // "leader", "standby" or "disabled"
  runtime::WorkQueue* queue = nullptr;
  runtime::Controller* controller = nullptr;
  metrics::Metrics* metrics = nullptr;
  std::shared_ptr<spdlog::logger> log;
  DeviceStatusCache* status = nullptr;  // for /v1/health
  int schema_version = 0;               // read once at start
  core::ShardSpec shard;                // this replica's (every device it shows is on it)
  /// GET /v1/devices/{name}/discover: one object of the device, read now under its lock.
  std::function<reconcilers::DeviceReconciler::DiscoverResult(
      const std::string& key, const reconcilers::DeviceReconciler::DiscoverQuery& query)>
      discover;
};

/// Builds the authenticator (errors name the file) and starts the server on `listen` ("off":
/// none, returns null without error). Errors are printed.
std::unique_ptr<http::AdminServer> StartAdminApi(const std::string& listen,
                                                 const ApiOptions& options, ApiContext context,
                                                 bool* failed);

/// The routing of one request. `route`, when given, receives the matched route's template
/// ("/v1/devices/{name}"); it is left alone for an unknown path.
http::Response HandleApi(const ApiContext& c, const http::Authenticator& auth, const ApiOptions& o,
                         const http::Request& r, std::string* route = nullptr);

}  // namespace nc::manager
