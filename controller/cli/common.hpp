// Internal to the command line: helpers shared by its commands (JSON output, tables, the store,
// the manifests) and the commands that live in their own files.
#pragma once

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/core/model.hpp"
#include "controller/core/values.hpp"
#include "controller/manager/admin_api.hpp"
#include "controller/manager/views.hpp"
#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/reconcilers/notify.hpp"
#include "controller/store/sqlite_store.hpp"

namespace nc::cli {

// The JSON views the admin API shares (controller/manager/views.hpp).
using manager::DeviceFields;
using manager::JList;
using manager::Json;
using manager::JsonText;
using manager::JStr;
using manager::QualifiedName;
using manager::WriteDeviceResult;
using manager::WriteDeviceStatus;
using manager::WriteEvent;
using manager::WriteReport;

/// The process's logger: text lines, or JSON lines when `format` is "json".
std::shared_ptr<spdlog::logger> MakeLogger(const std::string& level,
                                           const std::string& format = "text");
void PrintTable(const std::vector<std::vector<std::string>>& rows);

/// Options shared by most commands.
struct Common {
  std::string manifests = "manifests";
  std::string store = "netconverge.db";
  std::string device;
  std::string output = "text";
  std::string log_level = "info";
  std::string log_format = "text";
  int deletion_guard_pct =
      50;  // a pass deleting more than this share of a device's owned objects ...
  int deletion_guard_min = 10;  // ... and at least this many, is held until released
};

/// Opens the store, or says why not on stderr and returns null.
std::unique_ptr<store::SqliteStore> OpenStore(
    const std::string& path, bool auto_migrate,
    store::SqliteStore::OpenMode mode = store::SqliteStore::OpenMode::kRequireCurrent);
/// Read commands never create a store.
bool StoreExists(const std::string& path);
/// Loads and validates everything; prints problems. Returns nullopt when there are any.
std::optional<core::DesiredState> LoadStrict(const std::string& dir,
                                             const core::ServiceTable& services);
/// Device keys matching `want` (name or namespace/name; empty: all).
std::vector<std::string> SelectDevices(const core::DesiredState& d, const std::string& want);

struct LeaderFlags {
  bool enabled = false;
  std::string lease_duration = "15s";
  std::string renew_deadline = "10s";
  std::string retry_period = "2s";
};

struct RunOptions {
  bool auto_migrate = false;
  int workers = 8;
  int64_t max_concurrent_rules = 20'000;
  int watch_ms = 1000;
  int settle_ms = 2000;  // a changed manifest is taken once left alone this long
  std::string listen = "127.0.0.1:8800";
  bool kube = false;
  std::string kubeconfig;
  LeaderFlags leader;
  int shards = 1;
  int shard_index = -1;  // -1: the StatefulSet ordinal of $POD_NAME, modulo shards
  double kube_qps = 20;
  int kube_burst = 30;
  manager::ApiOptions api;
  std::string retention = "720h";
  // Webhook notifications.
  std::vector<std::string> notify_webhooks;
  std::string notify_secret_file;
  std::string notify_ca_file;
  std::string notify_reasons = reconcilers::kDefaultNotifyReasons;
  std::string notify_unreachable_after = "10m";
};

int CmdRun(const Common& c, const RunOptions& o);
struct TokenOptions {
  std::string secret_file;
  std::string role;
  std::string ttl = "1h";
  std::string subject = "netconverge-cli";
};
int CmdToken(const TokenOptions& o);
/// `test-device`: reachability, platform version, authentication, confirmed commit.
int CmdTestDevice(const Common& c, const std::string& timeout);

/// `phase` / `fallback` (what = "phase" | "fallback"): set or clear an operator override.
int CmdOverride(const Common& c, const std::string& what, const std::string& value, bool clear);
void PrintOverrides(store::SqliteStore& st, const std::string& device);
int CmdRunKube(const Common& c, const RunOptions& o);
/// `release`: lets a held mass deletion of DEVICE proceed on its next pass (an audited event).
int CmdRelease(const Common& c);
/// `history DEVICE [--run ID] [--limit N] [-o json]`: the device's runs from the store, newest
/// first, or one run's operations and the snapshot taken before it.
int CmdHistory(const Common& c, int64_t run_id, int limit);
/// Who asked, for the record of a run the CLI starts: "cli USER".
std::string CliActor();

}  // namespace nc::cli
