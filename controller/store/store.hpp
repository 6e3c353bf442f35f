// The store's data interface: what the reconciler, the sources and the admin API read and write
// (ownership and allocations, last-applied records, runs with their operations, snapshots and
// intents, events, overrides, status). SqliteStore is the product's implementation; tests use
// test/fakes/memory_store.hpp. Implementations are thread-safe; every call blocks briefly.
// Depends on core only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "controller/core/model.hpp"
#include "controller/core/oplog.hpp"
#include "controller/core/result.hpp"

namespace nc::store {

struct Event {
  int64_t id = 0;
  std::string time;
  std::string device;
  std::string resource;
  std::string type = "Normal";  // Normal | Warning
  std::string reason;           // CamelCase: Applied, DriftDetected, ConflictDetected, ...
  std::string message;
  int64_t run_id = 0;
};

/// An operator's override of a device's declared settings (`netconverge phase` / `fallback`):
/// empty fields keep what the manifest says.
struct DeviceOverride {
  std::string device;
  std::string management;  // "Observe" | "CreateUpdate" | "Full" | ""
  std::string fallback;    // "ssh-cli" | "none" | ""
  std::string updated_at;
  std::string updated_by = {};  // who set it ("cli USER"; since schema 9)
  bool operator==(const DeviceOverride&) const = default;
};

struct PruneCounts {
  int64_t runs = 0;
  int64_t events = 0;
  int64_t intents = 0;
  int64_t snapshots = 0;
  int64_t notifications = 0;          // delivered or dropped, older than the retention
  int64_t notifications_expired = 0;  // never accepted within the retention
};

/// A notification in the outbox for one webhook: written in the transaction of the event it
/// announces, POSTed by the daemon's notifier and retried until the webhook accepts it, so that
/// a restart loses none.
struct Notification {
  int64_t id = 0;       // never reused (the X-Netconverge-Delivery header a receiver dedupes on)
  std::string webhook;  // the webhook's id: a hash of its URL, which may itself hold a secret
  std::string device;
  std::string reason;
  /// What makes two notifications the same (resource and message): one that is still pending
  /// for the same webhook, device and reason is not queued twice.
  std::string key;
  std::string body;  // the JSON document POSTed
  std::string created_at;
  std::string next_attempt_at;  // not before (a delay, then each retry's backoff)
  int attempts = 0;
  std::string last_error;
};

struct EventFilter {
  std::string device;
  std::string resource;
  std::string since;  // ISO time, inclusive
  int limit = 100;
};

struct Run {
  int64_t id = 0;
  std::string device;
  std::string
      trigger;  // startup | poll | manifest-change | admin-sync | api-plan | cli-apply | ...
  std::string started_at;
  std::string finished_at;
  std::string outcome;  // Success | NoChange | Failed | Planned
  std::string message;
  int changes = 0;
  int commits = 0;
  int64_t duration_ms = 0;
  // Since schema 9 (older runs: 0 and "").
  int added = 0;  // objects added, updated and deleted (the pass's report)
  int updated = 0;
  int deleted = 0;
  std::string transport;  // https-api | ssh-cli | ...: what wrote (or read) the device
  std::string actor;      // who asked: "controller" (polls, manifests), "api-key NAME", "cli USER"
  int64_t snapshot_id = 0;  // read only: the snapshot taken before the run's change (0: none)
};

struct PortStatusRow {
  std::string device;
  std::string resource;
  std::string port;
  std::string display;
  int rule_number = 0;
  std::string state;
  std::string message;
  std::string last_applied_at;
  std::string updated_at;
};

struct DeviceStatusRow {
  std::string device;
  bool reachable = false;
  bool synced = false;
  std::string message;
  std::string platform_version;
  std::string transport;
  std::string last_observed_at;
  std::string last_applied_at;
  int managed = 0;
  int unmanaged = 0;
  int drifted = 0;
  int64_t last_run_id = 0;
  std::string updated_at;
  bool fallback_active = false;  // the last pass used the fallback transport
  int64_t fallbacks = 0;         // passes that needed the fallback, all time
  /// Unchanged polls since the last recorded run: such a poll adds no run, it moves
  /// last_observed_at and counts here.
  int64_t quiet_polls = 0;
  /// The management phase the last pass ran under (the manifest's, or an operator's override)
  /// and whether the device was paused (since schema 9).
  std::string management;
  bool paused = false;
  /// The standing conditions recorded (each recorded and notified once, while it lasts): the
  /// FNV-1a 64 hashes of their reason, resource and message, in hex, comma-separated (schema 10).
  std::string standing;
  /// The operator's override the last pass honoured (not stored here: device_overrides holds
  /// it); carried to the Kubernetes status.
  std::optional<DeviceOverride> override_;
  /// Standing conditions of the device as its adapter reports them (reason, message), e.g.
  /// UnconfirmedCommits; carried to the Kubernetes status, not stored.
  std::vector<std::pair<std::string, std::string>> conditions;
};

struct Snapshot {
  int64_t id = 0;
  std::string device;
  std::string taken_at;
  int64_t run_id = 0;
  std::map<int, core::NatRule> rules;  // every destination rule the device held
  core::SwitchState switch_state;      // a switch: its sub-interfaces and bridge domains
};

struct Intent {
  int64_t id = 0;
  std::string device;
  int64_t run_id = 0;
  int64_t snapshot_id = 0;
  int changes = 0;
  std::string operations;
  std::string started_at;
};

/// What a successful apply changes in the store, written in one transaction.
/// A record to write, pointing into the caller's data (alive for the call): a pass's 10,000
/// records are not copied (a copy of each rule was 4 MB at the pass's peak, issue 15).
struct AppliedRef {
  std::string_view resource;
  std::string_view port;
  const core::NatRule* rule = nullptr;
};

struct AppliedUpdate {
  std::map<int, AppliedRef> upserts;  // rule number -> what is now on the device
  std::vector<int> removed;           // rule numbers no longer ours
  std::vector<int> released;          // of those, numbers whose allocation ends too (handed back)
  std::set<core::PortKey> desired;    // ports still declared (allocations kept)
  std::set<int> on_device;            // numbers present on the device afterwards
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Result<std::map<core::PortKey, int>> Allocations(const std::string& device) = 0;
  virtual Status SaveAllocations(const std::string& device,
                                 const std::map<core::PortKey, int>& allocations,
                                 const std::string& now) = 0;
  virtual Result<std::map<int, core::AppliedRecord>> LastApplied(const std::string& device) = 0;
  virtual Status RecordApplied(const std::string& device, const AppliedUpdate& update,
                               const std::string& now) = 0;

  /// Switches: what was last applied per sub-interface.
  virtual Result<std::map<std::string, core::AppliedInterface>> AppliedInterfaces(
      const std::string& device) = 0;
  virtual Status RecordAppliedInterfaces(
      const std::string& device, const std::map<std::string, core::AppliedInterface>& upserts,
      const std::vector<std::string>& removed, const std::string& now) = 0;

  virtual Result<int64_t> BeginRun(const std::string& device, const std::string& trigger,
                                   const std::string& now) = 0;
  virtual Status FinishRun(const Run& run, const core::OpLog& operations) = 0;
  /// A device's runs ("" = every device's), newest first.
  virtual Result<std::vector<Run>> Runs(const std::string& device, int limit) = 0;
  /// One run; kNotFound when there is none (or it was pruned).
  virtual Result<Run> GetRun(int64_t id) = 0;
  /// A pass that found nothing to do, in one transaction: its (finished) run and the device
  /// row. Returns the run id.
  virtual Status RecordQuietPass(const std::string& device, const std::string& observed_at,
                                 const std::string& updated_at) = 0;
  virtual Result<std::vector<std::string>> Operations(int64_t run_id) = 0;

  /// The device as it was before a change, and the intent to change it, in one transaction,
  /// before the device is touched. Keeps the newest `keep` snapshots per device. The Intent
  /// returned has no operations (a 10,000-rule intent's are 4 MB; OpenIntents reads them).
  virtual Result<Intent> BeginIntent(const Snapshot& snapshot, int changes,
                                     const core::OpLog& operations, int keep = 50) = 0;
  virtual Status FinishIntent(int64_t intent_id, const std::string& outcome,
                              const std::string& now) = 0;
  /// Intents without a finish: a process died while applying them.
  virtual Result<std::vector<Intent>> OpenIntents() = 0;
  virtual Result<Snapshot> GetSnapshot(int64_t id) = 0;
  virtual Result<std::vector<Snapshot>> Snapshots(const std::string& device,
                                                  int limit) = 0;  // rules not loaded

  virtual Status AddEvents(const std::vector<Event>& events) = 0;
  /// The events and the notifications announcing some of them, in one transaction. A
  /// notification equal (webhook, device, reason, key) to one still pending is not added.
  virtual Status AddEventsAndNotify(const std::vector<Event>& events,
                                    const std::vector<Notification>& notifications) = 0;
  /// Pending notifications due at `now` (next_attempt_at <= now), oldest first.
  virtual Result<std::vector<Notification>> DueNotifications(const std::string& now, int limit) = 0;
  /// The end of a notification: "delivered" (the webhook accepted it) or "dropped" (it no longer
  /// applies: its webhook is no longer configured, the device answers again).
  virtual Status SettleNotification(int64_t id, const std::string& outcome,
                                    const std::string& now) = 0;
  /// A failed attempt: counted, the error kept, tried again at `next_attempt_at`.
  virtual Status RetryNotification(int64_t id, const std::string& next_attempt_at,
                                   const std::string& error) = 0;
  virtual Result<int64_t> PendingNotifications() = 0;
  /// A write transaction that changes nothing: the file takes the write lock (not read-only,
  /// not held by a stuck writer beyond the busy timeout).
  virtual Status WriteCheck() = 0;
  /// Retention: removes finished runs (with their operations), events, closed intents,
  /// settled notifications and snapshots from before `before` (ISO time), in one transaction -
  /// except each device's newest snapshot and any an open intent refers to. A notification still
  /// pending from before `before` is given up (counted as expired). Snapshots also keep their own
  /// count limit (BeginIntent); ownership, last-applied records and status are never pruned.
  virtual Result<PruneCounts> Prune(const std::string& before) = 0;
  /// Overrides by device key. SetOverride with both fields empty removes the device's override;
  /// it records `audit` as an event in the same transaction.
  virtual Result<std::map<std::string, DeviceOverride>> Overrides() = 0;
  virtual Status SetOverride(const DeviceOverride& o, const Event& audit) = 0;
  virtual Result<std::vector<Event>> Events(const EventFilter& filter) = 0;

  /// Writes the device row and, unless `ports` is null, replaces the device's port rows.
  virtual Status SaveStatus(const DeviceStatusRow& device,
                            const std::vector<PortStatusRow>* ports) = 0;
  /// Changes whenever another connection (another process) commits to the file; callers that
  /// cache what they read compare it to know their cache is still true.
  virtual int64_t DataVersion() = 0;
  virtual Result<std::vector<DeviceStatusRow>> DeviceStatuses() = 0;
  virtual Result<std::vector<PortStatusRow>> PortStatuses(const std::string& device) = 0;
};

}  // namespace nc::store
