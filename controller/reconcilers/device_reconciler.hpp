// DeviceReconciler: one level-triggered pass over one device, one skeleton for every platform:
// observe (adapter) -> plan (the platform's strategy over pure core: allocation and plan) ->
// guard (mass deletions, resources the device rejected) -> record allocations, snapshot and
// intent -> apply as one transaction (adapter) -> record last-applied (strategy), status, events
// and the run with the exact operations sent. What differs between a router and a switch lives
// in platform.hpp; no device protocol lives here. It depends on interfaces only (store::Store,
// DeviceAdapter, AdapterFactory, runtime::Clock): test/unit/reconcilers runs it in-process.
// Thread-safe for different devices; the work queue guarantees one pass per device at a time.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "adapters/device_adapter.hpp"
#include "controller/core/model.hpp"
#include "controller/core/plan.hpp"
#include "controller/core/values.hpp"
#include "controller/reconcilers/notify.hpp"
#include "controller/reconcilers/platform.hpp"
#include "controller/runtime/clock.hpp"
#include "controller/store/store.hpp"

namespace nc::reconcilers {

/// The seed API's sync report: "VM vm1 Port SSH (Rule 10001)" per rule.
struct SyncReport {
  std::vector<std::string> added;
  std::vector<std::string> deleted;
  std::vector<std::string> updated;
  std::vector<std::string> no_change;
  std::vector<std::string> failed;  // only when the pass failed: what was not applied
};

struct DeviceResult {
  std::string device;
  std::optional<Error> error;
  core::Plan plan;
  core::OpLog operations;               // sent (apply) or that would be sent (plan)
  std::vector<RequestTiming> requests;  // each request to the device the pass made
  SyncReport report;
  bool wrote = false;  // something was sent to the device
  int commits = 0;
  int64_t run_id = 0;
  int64_t snapshot_id = 0;  // taken before this pass touched the device (0 = none)
  std::chrono::milliseconds requeue_after{0};
  std::string transport;             // what carried the pass: "https-api" or "ssh-cli"
  int64_t plan_cpu_us = 0;           // CPU spent allocating and planning (the pure core)
  std::vector<store::Event> events;  // the events this pass recorded (standing ones once)
  std::optional<store::DeviceStatusRow> device_row;  // the device's status as this pass wrote it
  std::vector<std::string>
      rejected;  // resources the device refused this pass (the rest was applied)
  std::vector<std::pair<std::string, std::string>>
      conditions;               // the adapter's standing device conditions
  bool unchanged_poll = false;  // a poll with the same inputs as the last clean pass:
                                // nothing was planned again, `plan` and `report` are empty
  // Thread CPU per phase of the pass, microseconds (logged at debug level; the benchmark prints
  // it).
  int64_t observe_cpu_us = 0;
  int64_t fingerprint_cpu_us = 0;
  int64_t apply_cpu_us = 0;
  int64_t record_cpu_us = 0;
};

class DeviceReconciler {
 public:
  enum class Mode { kApply, kPlan };

  DeviceReconciler(store::Store& store, AdapterFactory& factory, const runtime::Clock& clock,
                   std::shared_ptr<spdlog::logger> log, core::ServiceTable services);

  /// One pass. kPlan reads the device and the store but writes neither. `actor`: who asked,
  /// for the run's record ("controller" for its own polls and manifest changes, "api NAME" for
  /// an API caller, "cli USER").
  DeviceResult Reconcile(const core::DesiredState& desired, const std::string& device_key,
                         const std::string& trigger, Mode mode,
                         const std::string& actor = "controller");

  /// A gate every device write passes first (leader election: once leadership is lost it
  /// closes, and passes in flight stop before their next write, kFailedPrecondition). Default:
  /// open.
  void SetWriteGate(std::function<bool()> may_write) { may_write_ = std::move(may_write); }

  /// The mass-deletion guard: a pass that would delete more than `share` of a device's owned
  /// objects, and at least `min_count` of them, deletes none; a `DeletionsHeld` condition says
  /// so until an operator releases them (`netconverge release`, POST .../release: a
  /// `DeletionsReleased` event), as a half-written or wrong manifest must not wipe a router.
  /// share > 1 turns it off.
  void SetDeletionGuard(double share, int min_count) {
    guard_share_ = share;
    guard_min_ = min_count;
  }

  /// Webhook notifications: the events `policy` names are queued in the store's outbox with
  /// them (one transaction). Default: none.
  void SetNotify(NotifyPolicy policy) { notify_ = std::move(policy); }

  /// At start-up: closes every intent that a previous process left unfinished (it died while
  /// applying), recording a `Recovered` event. The next pass re-reads and re-plans the device.
  /// Returns the devices concerned.
  std::vector<std::string> Recover();

  /// A live read of one device, right now (GET /v1/health?probe=true): the managed subtree read
  /// once over the transport the passes use, not parsed when its fingerprint is the last pass's.
  /// Read-only; the caller holds the device's lock.
  struct ProbeResult {
    bool reachable = false;
    std::string error;      // why not, in the device's or the transport's terms
    std::string transport;  // what carried the read
    int64_t latency_ms = 0;
    bool changed = false;  // the device's answer differs from the one the last pass read
    std::string at;        // UTC time of the read
  };
  ProbeResult Probe(const core::DesiredState& desired, const std::string& device_key);

  /// Targeted discovery (GET /v1/devices/{name}/discover): one object of the device, read now.
  struct DiscoverQuery {
    int rule = 0;           // a router's destination rule
    std::string interface;  // a switch's sub-interface
  };
  struct DiscoverResult {
    std::optional<Error> error;  // the device could not be read (or is not declared)
    std::string at;              // UTC time of the read
    bool present = false;        // the device has the object
    /// "netconverge" (a record or the ownership tag says so), "foreign" (present, neither), or
    /// "none" (absent, and nothing of netconverge's claims it).
    std::string owner = "none";
    std::string resource;  // the owning resource (ns/name), when the store records it
    std::string port;      // its port (a rule)
    /// Owned and declared: whether the device's object is as the declaration says (nullopt:
    /// nothing declares it).
    std::optional<bool> matches;
    std::string difference;  // how it differs ("" when it matches)
    std::string yaml;        // the object as adoptable YAML ("" when absent)
  };
  DiscoverResult Discover(const core::DesiredState& desired, const std::string& device_key,
                          const DiscoverQuery& query);

  /// Restores a stored snapshot: every destination rule back to how the snapshot saw it, as one
  /// verified, confirmed transaction (after a snapshot of the current state, so it can be undone).
  DeviceResult Rollback(const core::DesiredState& desired, const std::string& device_key,
                        int64_t snapshot_id, const std::string& actor = "controller");

 private:
  /// What the store says about one device, kept between passes so that a no-op pass reads
  /// nothing from disk. Valid while the store's data_version is unchanged (no other process
  /// wrote) and this reconciler has not written ownership records since.
  struct DeviceCache {
    int64_t data_version = -1;
    // No records (allocations, last-applied): a planning pass reads them from the store and
    // drops them with the pass (a 10,000-rule router's are about 6 MB; a quiet poll needs none).
    // The fingerprint of the device's last answer (not the answer: a fleet keeps only this
    // per device), and whether the last pass was a clean no-op: when neither the device's
    // answer nor the desired state changed, the (pure) plan is the same.
    uint64_t observed_fingerprint = 0;
    uint64_t desired_fingerprint = 0;
    uint64_t desired_generation = 0;  // generation the fingerprint was computed for
    bool clean = false;               // the last pass was a clean no-op at these inputs
    std::optional<store::DeviceStatusRow> device_row;  // as last written
    std::set<std::string> standing_events;  // conditions recorded last pass (recorded once)
    bool standing_loaded = false;           // from the device row, at this process's first pass
    std::optional<store::DeviceOverride>
        op_override;  // the operator override the fingerprint was taken with
    // Resources the device rejected (its changes were isolated and the rest applied): left out
    // of later plans until their spec changes or their backoff ends.
    struct Rejection {
      uint64_t spec = 0;    // fingerprint of the resource's desired rules when rejected
      std::string message;  // the router's own text
      int attempts = 0;
      std::chrono::steady_clock::time_point retry_at;
    };
    std::map<std::string, Rejection> rejected;
  };

  struct Pass;  // one pass's working state (device_reconciler.cpp)

  // The steps of a pass, in order. Each returns whether the pass goes on; one that ends it
  // leaves the result (error, events) for Finish.
  bool Prepare(Pass& p);
  /// A run for a pass that ends before planning (so that its failure is on record).
  void BeginFailedRun(Pass& p);
  bool Observe(Pass& p);
  void ObserveFailed(Pass& p, const Error& error);
  bool PlanPass(Pass& p);
  bool ApplyPass(Pass& p);
  void RecordApplied(Pass& p);
  /// The mass-deletion guard over the pass's plan (re-planned without deletions when it trips).
  void Guard(Pass& p, const PlanRequest& request);
  /// Resources the device rejected before stay out of the plan until their spec changes or
  /// their backoff ends (then they are tried again).
  void HoldRejected(Pass& p);
  /// After a refused plan: isolation, then the bookkeeping of what the device rejected.
  void Rejections(Pass& p);
  /// A pass that sends nothing (plan mode, Observe, paused): what would be sent.
  void PlanOnly(Pass& p);
  /// After a failed apply: events, ports pending, the report's failed lines.
  void ApplyFailed(Pass& p);

  Result<DeviceAdapter*> AdapterFor(const core::Device& device);
  /// The device's operator override, re-read when another process wrote to the store.
  std::optional<store::DeviceOverride> OverrideFor(const std::string& key, int64_t data_version);
  /// Snapshot + intent in the store, then the apply, then the intent's outcome. Fills the
  /// result's snapshot id, operations and commits. Errors only from the store (device untouched).
  Result<ApplyOutcome> ApplyWithIntent(DeviceAdapter& adapter, const std::string& key,
                                       const core::Plan& plan, const ObservedState& observed,
                                       const std::string& started, DeviceResult& r);
  /// The device's cache, its store records re-read when `data_version` moved.
  /// The device's cache; when another process wrote to the store since (data_version moved),
  /// the last clean pass is no longer known to be clean.
  DeviceCache* CacheFor(const std::string& device, int64_t data_version);
  /// The device's records, read from the store for this pass's plan.
  Status LoadRecords(Pass& p);
  /// After the device refused a whole plan for a reason validation could not know: finds the
  /// resource(s) responsible (the rule named in the error, else by bisecting the plan's
  /// resources), applies everything else, and returns each offender with the router's text.
  /// `outcome` becomes the combined outcome; `plan` keeps only the changes applied.
  std::map<std::string, std::string> Isolate(DeviceAdapter& adapter, const std::string& key,
                                             core::Plan& plan, const ObservedState& observed,
                                             const std::string& started, DeviceResult& r,
                                             ApplyOutcome& outcome);
  /// For a device whose apply a stopped process left open: confirms a pending commit-confirm
  /// (once; again next pass if the device cannot be reached).
  void ConfirmLeftPending(DeviceAdapter& adapter, const std::string& key,
                          const std::string& started, std::vector<store::Event>& events);
  /// Whether `deletions` of `owned` objects trip the mass-deletion guard and no release stands
  /// (a DeletionsReleased event newer than the last Applied one); the held reason, else "".
  std::string MassDeletionHeld(const std::string& key, size_t deletions, size_t owned);
  /// The event and the run of a rollback.
  void RecordRollback(DeviceResult& r, const std::string& why, const std::string& started,
                      const std::string& actor, int64_t duration_ms);
  /// Logs a store write that failed (with `what` it was); true when it succeeded.
  bool Recorded(const Status& st, const std::string& device, const std::string& what);

  // Recording a pass (pass_record.cpp): logs, then the store's events, port and device rows
  // and the run. Plan mode records nothing.
  void Finish(Pass& p);
  void LogPass(const Pass& p, std::chrono::milliseconds elapsed,
               const std::vector<store::Event>& events, const DeviceCache* cache);
  void RecordQuietPass(Pass& p, DeviceCache& cache);
  bool RecordEvents(Pass& p, DeviceCache* cache, std::vector<store::Event> events);
  /// The port rows of this pass; `old_rows`: the stored ones (their last-applied times carry
  /// over), read for the pass rather than kept per device.
  std::vector<store::PortStatusRow> PortRows(const Pass& p,
                                             const std::vector<store::PortStatusRow>& old_rows,
                                             const std::string& now) const;
  store::DeviceStatusRow DeviceRow(const Pass& p, const DeviceCache* cache, const std::string& now);

  store::Store& store_;
  AdapterFactory& factory_;
  const runtime::Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  core::ServiceTable services_;
  std::mutex mu_;
  struct CachedAdapter {
    core::Device device;      // the spec it was made for
    std::string credentials;  // AdapterFactory::CredentialsVersion when it was made
    std::unique_ptr<DeviceAdapter> adapter;
  };
  std::map<std::string, CachedAdapter> adapters_;
  std::map<std::string, DeviceCache> cache_;  // entries are used by one worker at a time
  std::map<std::string, int64_t> recovering_;
  std::function<bool()> may_write_;
  NotifyPolicy notify_;
  /// At a device's first pass in this process: its standing conditions from its device row.
  void LoadStanding(const std::string& device, DeviceCache& cache);
  /// Records `events` with the notifications they call for (one transaction).
  Status AddEvents(const std::vector<store::Event>& events);
  double guard_share_ = 0.5;
  int guard_min_ = 10;  // device -> the open intent Recover() found
  std::map<std::string, store::DeviceOverride> overrides_;
  int64_t overrides_version_ = -2;
};

/// The audited event that lets a device's held mass deletion proceed on its next pass (what
/// `netconverge release` and POST /v1/admin/devices/{name}/release record; `who` says by whom).
store::Event DeletionsReleasedEvent(const std::string& device, const std::string& who,
                                    const std::string& now);

/// Applies an operator override to the device; returns notes for what differs from the manifest.
std::vector<std::string> ApplyOverride(const std::optional<store::DeviceOverride>& o,
                                       core::Device& device);
std::string FormatReportLine(const std::string& display, int number, bool updated = false);
/// The objects a plan changes: NAT rules by number, switch sub-interfaces by name.
class Touched {
 public:
  explicit Touched(const core::Plan& plan);
  /// Whether the plan changes the object a status row describes.
  bool operator()(const core::PortStatus& p) const {
    return numbers_.count(p.number) || names_.count(p.port);
  }

 private:
  std::set<int> numbers_;
  std::set<std::string> names_;
};
/// Adds the plan's changes to the report as added / updated / deleted lines.
void ReportChanges(const core::Plan& plan, SyncReport& report);

}  // namespace nc::reconcilers
