// The local store on SQLite (WAL, one transaction per record, numbered up/down migrations
// embedded in the binary): rule-number allocations and ownership, last-applied records, runs
// with the exact operations sent, events, and the status of devices and ports. Thread-safe
// (one connection behind a mutex); every call blocks briefly on the file.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controller/core/model.hpp"
#include "controller/core/result.hpp"
#include "controller/store/store.hpp"

struct sqlite3;

namespace nc::store {

struct Migration {
  int version;
  const char* name;
  const char* up;
  const char* down;
};
/// The migrations this binary knows, ascending.
const std::vector<Migration>& Migrations();
int LatestSchemaVersion();

struct MigrationRecord {
  int version = 0;
  std::string name;
  std::string applied_at;  // empty when not applied
};

class SqliteStore final : public Store {
 public:
  enum class OpenMode {
    kRequireCurrent,  // the daemon: refuse a newer schema; upgrade an older one only if auto
    kAutoMigrate,     // upgrade an older schema
    kNoMigrate,       // `db` commands: open whatever is there
  };

  /// Opens (creating) the store. A new, empty file is initialised to the latest schema.
  /// Errors: kFailedPrecondition for a schema newer than this binary or older without
  /// auto-migration; kUnavailable when the file cannot be opened.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, OpenMode mode);
  ~SqliteStore() override;

  int SchemaVersion();
  Status Upgrade(int target);
  Status Downgrade(int target);
  Result<std::vector<MigrationRecord>> History();
  Result<std::string> IntegrityCheck();
  /// A store made before auto_vacuum=INCREMENTAL (schema 7 and older) is converted once, by a
  /// VACUUM; true when it was. New stores are made so.
  Result<bool> EnsureIncrementalVacuum();

  Result<std::map<core::PortKey, int>> Allocations(const std::string& device) override;
  Status SaveAllocations(const std::string& device, const std::map<core::PortKey, int>& allocations,
                         const std::string& now) override;
  Result<std::map<int, core::AppliedRecord>> LastApplied(const std::string& device) override;
  Status RecordApplied(const std::string& device, const AppliedUpdate& update,
                       const std::string& now) override;
  Result<std::map<std::string, core::AppliedInterface>> AppliedInterfaces(
      const std::string& device) override;
  Status RecordAppliedInterfaces(const std::string& device,
                                 const std::map<std::string, core::AppliedInterface>& upserts,
                                 const std::vector<std::string>& removed,
                                 const std::string& now) override;
  Result<int64_t> BeginRun(const std::string& device, const std::string& trigger,
                           const std::string& now) override;
  Status FinishRun(const Run& run, const core::OpLog& operations) override;
  Result<std::vector<Run>> Runs(const std::string& device, int limit) override;
  Result<Run> GetRun(int64_t id) override;
  Status RecordQuietPass(const std::string& device, const std::string& observed_at,
                         const std::string& updated_at) override;
  Result<std::vector<std::string>> Operations(int64_t run_id) override;
  Result<Intent> BeginIntent(const Snapshot& snapshot, int changes, const core::OpLog& operations,
                             int keep = 50) override;
  Status FinishIntent(int64_t intent_id, const std::string& outcome,
                      const std::string& now) override;
  Result<std::vector<Intent>> OpenIntents() override;
  Result<Snapshot> GetSnapshot(int64_t id) override;
  Result<std::vector<Snapshot>> Snapshots(const std::string& device, int limit) override;
  Status AddEvents(const std::vector<Event>& events) override;
  Status AddEventsAndNotify(const std::vector<Event>& events,
                            const std::vector<Notification>& notifications) override;
  Result<std::vector<Notification>> DueNotifications(const std::string& now, int limit) override;
  Status SettleNotification(int64_t id, const std::string& outcome,
                            const std::string& now) override;
  Status RetryNotification(int64_t id, const std::string& next_attempt_at,
                           const std::string& error) override;
  Result<int64_t> PendingNotifications() override;
  Status WriteCheck() override;
  Result<PruneCounts> Prune(const std::string& before) override;
  Result<std::map<std::string, DeviceOverride>> Overrides() override;
  Status SetOverride(const DeviceOverride& o, const Event& audit) override;
  Result<std::vector<Event>> Events(const EventFilter& filter) override;
  Status SaveStatus(const DeviceStatusRow& device,
                    const std::vector<PortStatusRow>* ports) override;
  int64_t DataVersion() override;
  Result<std::vector<DeviceStatusRow>> DeviceStatuses() override;
  Result<std::vector<PortStatusRow>> PortStatuses(const std::string& device) override;

 private:
  explicit SqliteStore(sqlite3* db);
  static Result<std::unique_ptr<SqliteStore>> OpenConnection(const std::string& path,
                                                             OpenMode mode);
  static Status CreateFile(const std::string& path);
  Status Exec(const std::string& sql);
  Status Initialize();
  Status InTransaction(const std::function<Status()>& body);
  Status InsertEvents(const std::vector<Event>& events);  // inside a transaction
  int VersionLocked();

  sqlite3* db_;
  std::recursive_mutex mu_;
};

std::string SubInterfaceToJson(const core::SubInterface& s);
/// NatRule <-> the JSON kept in last_applied.
std::string NatRuleToJson(const core::NatRule& r);
Result<core::NatRule> NatRuleFromJson(const std::string& json);

}  // namespace nc::store
