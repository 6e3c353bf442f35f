#include "controller/store/sqlite_store.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <utility>
#include "controller/core/encoding.hpp"
#include "controller/core/json.hpp"
#include "controller/core/json_writer.hpp"

#include "controller/runtime/clock.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sqlite3.h>

#include <chrono>
#include <ctime>
#include <thread>

namespace nc::store {

namespace {

constexpr const char* kMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
    "NULL, "
    "applied_at TEXT NOT NULL)";

std::string NowUtc() {
  return runtime::FormatUtc(std::chrono::system_clock::now());
}

// RAII prepared statement.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  /// Without SQLite's own copy: `v` must outlive the statement's steps (a pass's 4 MB texts).
  Stmt& BindStatic(int i, std::string_view v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& BindBlob(int i, const std::string& bytes) {
    sqlite3_bind_blob(st_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
  }
  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return last_ = sqlite3_step(st_); }
  /// After a `while (Step() == SQLITE_ROW)` loop: whether it ended because the rows ran out
  /// (SQLITE_DONE), not because of an error (BUSY, I/O) that would leave a partial read.
  Status Finished() const {
    if (rc_ != SQLITE_OK) return PrepareError();
    if (last_ != SQLITE_DONE)
      return MakeError(ErrorCode::kInternal,
                       std::string("store: reading stopped: ") + sqlite3_errmsg(db_));
    return {};
  }
  std::string Text(int col) const {
    auto* p = sqlite3_column_text(st_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(st_, col)))
             : "";
  }
  int64_t Int(int col) const { return sqlite3_column_int64(st_, col); }
  bool Null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  std::string Bytes(int col) const {
    const void* p = sqlite3_column_blob(st_, col);
    return p ? std::string(static_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(st_, col)))
             : "";
  }
  /// Ready for the next row of a loop (one prepare per loop, not per row).
  Stmt& Reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    return *this;
  }
  Status Done() {
    int rc = Step();
    if (rc != SQLITE_DONE)
      return MakeError(ErrorCode::kInternal, std::string("store: ") + sqlite3_errmsg(db_));
    return {};
  }
  Status PrepareError() const {
    return MakeError(ErrorCode::kInternal, std::string("store: ") + sqlite3_errmsg(db_));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_;
  int last_ = SQLITE_OK;
};

/// The operations of a run or an intent, a row per segment of the log (whole lines, at most
/// 256 KiB; read back joined in order by seq): `insert` takes (owner id, seq, text). A
/// 10,000-rule apply's 4.5 MB of lines is never held, nor stored, as one text.
Status InsertSegments(sqlite3* db, const char* insert, int64_t id, const core::OpLog& ops) {
  Stmt o(db, insert);
  int seq = 0;
  Status st;
  ops.ForEachSegment([&](std::string_view raw) {
    if (!st) return;
    o.Reset().Bind(1, id).Bind(2, seq++).BindStatic(3, raw);
    st = o.Done();
  });
  return st;
}

}  // namespace

namespace {

// Every migration, oldest first (docs/database-migrations.md).
const Migration kMigrationList[] = {
    {1, "ownership: rule-number allocations and last-applied records",
     "CREATE TABLE allocations ("
     "  device TEXT NOT NULL, resource TEXT NOT NULL, port TEXT NOT NULL, rule_number INTEGER "
     "NOT NULL,"
     "  created_at TEXT NOT NULL, PRIMARY KEY (device, resource, port), UNIQUE (device, "
     "rule_number));"
     "CREATE TABLE last_applied ("
     "  device TEXT NOT NULL, rule_number INTEGER NOT NULL, resource TEXT NOT NULL, port TEXT "
     "NOT NULL,"
     "  rule_json TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (device, rule_number));",
     "DROP TABLE last_applied; DROP TABLE allocations;"},
    {2, "history and status: runs, operations sent, events, device and port status",
     "CREATE TABLE runs ("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, trigger TEXT NOT NULL,"
     "  started_at TEXT NOT NULL, finished_at TEXT, outcome TEXT, message TEXT, changes INTEGER "
     "DEFAULT 0,"
     "  commits INTEGER DEFAULT 0, duration_ms INTEGER DEFAULT 0);"
     "CREATE INDEX runs_device ON runs(device, id);"
     "CREATE TABLE operations ("
     "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
     "  text TEXT NOT NULL, PRIMARY KEY (run_id, seq));"
     "CREATE TABLE events ("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, device TEXT NOT NULL, resource "
     "TEXT,"
     "  type TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL, run_id INTEGER);"
     "CREATE INDEX events_device ON events(device, id);"
     "CREATE TABLE device_status ("
     "  device TEXT PRIMARY KEY, reachable INTEGER, synced INTEGER, message TEXT, "
     "platform_version TEXT,"
     "  transport TEXT, last_observed_at TEXT, last_applied_at TEXT, managed INTEGER, unmanaged "
     "INTEGER,"
     "  drifted INTEGER, last_run_id INTEGER, updated_at TEXT);"
     "CREATE TABLE port_status ("
     "  device TEXT NOT NULL, resource TEXT NOT NULL, port TEXT NOT NULL, display TEXT, "
     "rule_number INTEGER,"
     "  state TEXT NOT NULL, message TEXT, last_applied_at TEXT, updated_at TEXT NOT NULL,"
     "  PRIMARY KEY (device, resource, port));",
     "DROP TABLE port_status; DROP TABLE device_status; DROP TABLE events; DROP TABLE operations;"
     "DROP TABLE runs;"},
    {3, "safe apply: snapshots of the device and intent records written before it is touched",
     "CREATE TABLE snapshots ("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, taken_at TEXT NOT NULL, "
     "run_id INTEGER,"
     "  rules_json TEXT NOT NULL);"
     "CREATE INDEX snapshots_device ON snapshots(device, id);"
     "CREATE TABLE intents ("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, run_id INTEGER, snapshot_id "
     "INTEGER NOT NULL,"
     "  changes INTEGER NOT NULL, operations TEXT NOT NULL, started_at TEXT NOT NULL, "
     "finished_at TEXT,"
     "  outcome TEXT);"
     "CREATE INDEX intents_open ON intents(device, finished_at);",
     "DROP TABLE intents; DROP TABLE snapshots;"},
    {4, "switches: last-applied sub-interfaces, switch state in snapshots",
     "CREATE TABLE applied_interfaces ("
     "  device TEXT NOT NULL, name TEXT NOT NULL, resource TEXT NOT NULL, body_json TEXT NOT "
     "NULL,"
     "  applied_at TEXT NOT NULL, PRIMARY KEY (device, name));"
     "ALTER TABLE snapshots ADD COLUMN switch_json TEXT;"
     "ALTER TABLE device_status ADD COLUMN fallback_active INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE device_status ADD COLUMN fallbacks INTEGER NOT NULL DEFAULT 0;",
     "ALTER TABLE device_status DROP COLUMN fallbacks; ALTER TABLE device_status DROP COLUMN "
     "fallback_active;"
     "ALTER TABLE snapshots DROP COLUMN switch_json; DROP TABLE applied_interfaces;"},
    {5,
     "operations: per-device overrides of the management phase and the fallback (netconverge "
     "phase/fallback)",
     "CREATE TABLE device_overrides ("
     "  device TEXT PRIMARY KEY, management TEXT NOT NULL DEFAULT '', fallback TEXT NOT NULL "
     "DEFAULT '',"
     "  updated_at TEXT NOT NULL);",
     "DROP TABLE device_overrides;"},
    {6, "health: a one-row table the writability check writes for real",
     "CREATE TABLE write_check (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL);",
     "DROP TABLE write_check;"},
    {7, "scale: an unchanged poll counts on the device row instead of adding a run",
     "ALTER TABLE device_status ADD COLUMN quiet_polls INTEGER NOT NULL DEFAULT 0;",
     "ALTER TABLE device_status DROP COLUMN quiet_polls;"},
    // Down: the snapshots taken since cannot be read by an older binary and are removed.
    {8, "scale: snapshots compressed (zlib), 8 to 10 times smaller",
     "ALTER TABLE snapshots ADD COLUMN rules_z BLOB;"
     "ALTER TABLE snapshots ADD COLUMN switch_z BLOB;",
     "DELETE FROM intents WHERE snapshot_id IN (SELECT id FROM snapshots WHERE rules_z IS NOT "
     "NULL);"
     "DELETE FROM snapshots WHERE rules_z IS NOT NULL;"
     "ALTER TABLE snapshots DROP COLUMN switch_z; ALTER TABLE snapshots DROP COLUMN rules_z;"},
    {9,
     "history: each run's added/updated/deleted counts, transport and who asked for it; the "
     "management phase and paused flag on the device row; who set an override",
     "ALTER TABLE runs ADD COLUMN added INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE runs ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE runs ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE runs ADD COLUMN transport TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE runs ADD COLUMN actor TEXT NOT NULL DEFAULT '';"
     "CREATE INDEX snapshots_run ON snapshots(run_id);"
     "ALTER TABLE device_status ADD COLUMN management TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE device_status ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE device_overrides ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';",
     "ALTER TABLE device_overrides DROP COLUMN updated_by;"
     "ALTER TABLE device_status DROP COLUMN paused; ALTER TABLE device_status DROP COLUMN "
     "management;"
     "DROP INDEX snapshots_run; ALTER TABLE runs DROP COLUMN actor;"
     "ALTER TABLE runs DROP COLUMN transport; ALTER TABLE runs DROP COLUMN deleted;"
     "ALTER TABLE runs DROP COLUMN updated; ALTER TABLE runs DROP COLUMN added;"},
    // AUTOINCREMENT: an id is never reused, even after retention empties the table (a webhook
    // receiver dedupes on it).
    {10,
     "notifications: the webhook outbox, written with the events it announces; the device's "
     "standing conditions, so that a restart does not announce them again",
     "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, webhook TEXT NOT NULL, "
     "device TEXT NOT NULL, reason TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, "
     "created_at TEXT NOT NULL, next_attempt_at TEXT NOT NULL, attempts INTEGER NOT NULL "
     "DEFAULT 0, last_error TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL DEFAULT '', "
     "settled_at TEXT);"
     "CREATE INDEX outbox_pending ON outbox(outcome, next_attempt_at);"
     "ALTER TABLE device_status ADD COLUMN standing TEXT NOT NULL DEFAULT '';",
     "ALTER TABLE device_status DROP COLUMN standing; DROP TABLE outbox;"},
    // Down: an open intent's operations go back into its row.
    {11,
     "scale: an intent's operations stored a row per segment of at most 256 KiB, so that a "
     "10,000-rule intent is never one 4 MB value",
     "CREATE TABLE intent_operations (intent_id INTEGER NOT NULL REFERENCES intents(id) ON "
     "DELETE CASCADE, seq INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (intent_id, seq));",
     "UPDATE intents SET operations = operations || COALESCE((SELECT group_concat(text, '') FROM "
     "(SELECT text FROM intent_operations WHERE intent_id = intents.id ORDER BY seq)), '') "
     "WHERE finished_at IS NULL;"
     "DROP TABLE intent_operations;"},
};

}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations(std::begin(kMigrationList),
                                                  std::end(kMigrationList));
  return kMigrations;
}

int LatestSchemaVersion() {
  return Migrations().back().version;
}

SqliteStore::SqliteStore(sqlite3* db) : db_(db) {}
SqliteStore::~SqliteStore() {
  sqlite3_close_v2(db_);
}

Status SqliteStore::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return MakeError(ErrorCode::kInternal, "store: " + msg);
  }
  return {};
}

Status SqliteStore::InTransaction(const std::function<Status()>& body) {
  std::lock_guard lk(mu_);
  if (auto st = Exec("BEGIN IMMEDIATE"); !st) return st;
  auto st = body();
  if (!st) {
    (void)Exec("ROLLBACK");
    return st;
  }
  return Exec("COMMIT");
}

Status SqliteStore::WriteCheck() {
  // A committed change, not an empty transaction: a full disk or a failing device shows only
  // when pages reach the write-ahead log.
  return InTransaction([this] {
    return Exec(
        "INSERT INTO write_check (id, at) VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) "
        "ON CONFLICT (id) DO UPDATE SET at = excluded.at");
  });
}

int SqliteStore::VersionLocked() {
  Stmt s(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!s.ok() || s.Step() != SQLITE_ROW) return 0;
  return static_cast<int>(s.Int(0));
}

int SqliteStore::SchemaVersion() {
  std::lock_guard lk(mu_);
  return VersionLocked();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, OpenMode mode) {
  struct stat before {};
  const bool on_disk = path != ":memory:" && path.rfind("file:", 0) != 0;
  const bool existed = on_disk && ::stat(path.c_str(), &before) == 0;
  if (existed && S_ISREG(before.st_mode) && before.st_size == 0)
    // SQLite would take an empty file for a new database; a store does not become empty by
    // itself, and starting afresh would lose every ownership record without a word.
    return MakeError(
        ErrorCode::kFailedPrecondition,
        "store " + path +
            " is an empty file (0 bytes), not a netconverge store: it was truncated or "
            "never written. Restore it from a backup; to start without history and ownership "
            "records, "
            "delete it first");
  if (on_disk && !existed) {
    if (auto st = CreateFile(path); !st) return tl::unexpected(st.error());
  }
  return OpenConnection(path, mode);
}

Status SqliteStore::CreateFile(const std::string& path) {
  // Built whole under another name and linked into place: the store's name never shows a
  // half-made or empty file, to a crash or to another process opening it at the same time.
  static std::atomic<int> serial{0};
  const std::string tmp =
      path + ".new-" + std::to_string(::getpid()) + "-" + std::to_string(serial++);
  auto remove_tmp = [&] {
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((tmp + suffix).c_str());
  };
  remove_tmp();
  {
    auto fresh = OpenConnection(tmp, OpenMode::kRequireCurrent);
    if (!fresh) {
      remove_tmp();
      return tl::unexpected(fresh.error());
    }
  }  // closed: the last connection folds the WAL into the file
  // Owner-only, like a key file: it holds every change made and the operations sent. SQLite
  // creates the -wal and -shm files with the main file's mode.
  ::chmod(tmp.c_str(), 0600);
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  remove_tmp();
  if (linked != 0 && err != EEXIST)  // EEXIST: another process made it first, which is as good
    return MakeError(ErrorCode::kUnavailable,
                     "cannot create store " + path + ": " + std::strerror(err));
  return {};
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::OpenConnection(const std::string& path,
                                                                 OpenMode mode) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return MakeError(ErrorCode::kUnavailable, "cannot open store " + path + ": " + msg);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  sqlite3_busy_timeout(db, 5000);
  // Before any table exists (a new file): freed pages can be handed back (Prune). No effect on
  // an existing store; EnsureIncrementalVacuum converts one.
  if (auto st = store->Exec("PRAGMA auto_vacuum=INCREMENTAL"); !st)
    return tl::unexpected(st.error());
  // WAL + synchronous=FULL: a crash (even of the machine) never loses a committed record.
  // Switching to WAL needs the file to itself and does not wait on the busy handler: retry.
  for (int attempt = 0;; ++attempt) {
    auto st = store->Exec("PRAGMA journal_mode=WAL");
    if (st) break;
    if (attempt >= 250) return tl::unexpected(st.error());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const char* pragma : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto st = store->Exec(pragma); !st) return tl::unexpected(st.error());
  }
  if (auto st = store->Exec(kMigrationsTable); !st) return tl::unexpected(st.error());
  int version = store->SchemaVersion();
  const int latest = LatestSchemaVersion();
  if (mode == OpenMode::kNoMigrate) return store;
  if (version > latest)
    return MakeError(ErrorCode::kFailedPrecondition,
                     "store " + path + " has schema version " + std::to_string(version) +
                         ", newer than this netconverge knows (" + std::to_string(latest) +
                         "); use a newer netconverge or `netconverge db downgrade " +
                         std::to_string(latest) + "` with the newer one");
  if (version == 0) {
    // A new store: initialise it in one transaction, so that nobody sees it half-made.
    if (auto st = store->Initialize(); !st) return tl::unexpected(st.error());
  } else if (version < latest) {
    if (mode != OpenMode::kAutoMigrate)
      return MakeError(ErrorCode::kFailedPrecondition,
                       "store " + path + " has schema version " + std::to_string(version) +
                           " (current is " + std::to_string(latest) +
                           "); run `netconverge db upgrade` or start with --auto-migrate");
    if (auto st = store->Upgrade(latest); !st) return tl::unexpected(st.error());
  }
  return store;
}

Status SqliteStore::Initialize() {
  return InTransaction([&]() -> Status {
    if (VersionLocked() != 0) return {};  // someone else initialised it meanwhile
    for (const auto& m : Migrations()) {
      if (auto e = Exec(m.up); !e) return e;
      Stmt s(db_, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
      s.Bind(1, m.version).Bind(2, std::string(m.name)).Bind(3, NowUtc());
      if (auto e = s.Done(); !e) return e;
    }
    return {};
  });
}

Status SqliteStore::Upgrade(int target) {
  std::lock_guard lk(mu_);
  if (target > LatestSchemaVersion())
    return MakeError(ErrorCode::kInvalidArgument, "no migration " + std::to_string(target) +
                                                      "; latest is " +
                                                      std::to_string(LatestSchemaVersion()));
  for (const auto& m : Migrations()) {
    if (m.version > target) continue;
    // The version is read inside the write transaction: two processes opening a new store at
    // once (the daemon and a `status`) must not both run a migration.
    auto st = InTransaction([&]() -> Status {
      if (VersionLocked() >= m.version) return {};
      if (auto e = Exec(m.up); !e) return e;
      Stmt s(db_, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
      s.Bind(1, m.version).Bind(2, std::string(m.name)).Bind(3, NowUtc());
      return s.Done();
    });
    if (!st)
      return MakeError(st.error().code,
                       "migration " + std::to_string(m.version) + ": " + st.error().message);
  }
  return {};
}

Status SqliteStore::Downgrade(int target) {
  std::lock_guard lk(mu_);
  if (target < 0) return MakeError(ErrorCode::kInvalidArgument, "target version must be >= 0");
  const auto& ms = Migrations();
  for (auto it = ms.rbegin(); it != ms.rend(); ++it) {
    if (it->version <= target) continue;
    auto st = InTransaction([&]() -> Status {
      if (VersionLocked() < it->version) return {};
      if (auto e = Exec(it->down); !e) return e;
      Stmt s(db_, "DELETE FROM schema_migrations WHERE version = ?");
      s.Bind(1, it->version);
      return s.Done();
    });
    if (!st)
      return MakeError(st.error().code,
                       "downgrade of " + std::to_string(it->version) + ": " + st.error().message);
  }
  return {};
}

Result<std::vector<MigrationRecord>> SqliteStore::History() {
  std::lock_guard lk(mu_);
  std::map<int, std::string> applied;
  Stmt s(db_, "SELECT version, applied_at FROM schema_migrations ORDER BY version");
  while (s.Step() == SQLITE_ROW) applied[static_cast<int>(s.Int(0))] = s.Text(1);
  std::vector<MigrationRecord> out;
  for (const auto& m : Migrations())
    out.push_back({m.version, m.name, applied.count(m.version) ? applied[m.version] : ""});
  for (const auto& [v, at] : applied)
    if (v > LatestSchemaVersion()) out.push_back({v, "(unknown to this binary)", at});
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

Result<std::string> SqliteStore::IntegrityCheck() {
  std::lock_guard lk(mu_);
  Stmt s(db_, "PRAGMA integrity_check");
  std::string out;
  while (s.Step() == SQLITE_ROW) out += (out.empty() ? "" : "\n") + s.Text(0);
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

Result<std::map<core::PortKey, int>> SqliteStore::Allocations(const std::string& device) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT resource, port, rule_number FROM allocations WHERE device = ?");
  if (!s.ok()) return tl::unexpected(s.PrepareError().error());
  s.Bind(1, device);
  std::map<core::PortKey, int> out;
  while (s.Step() == SQLITE_ROW)
    out[core::PortKey{s.Text(0), s.Text(1)}] = static_cast<int>(s.Int(2));
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

Status SqliteStore::SaveAllocations(const std::string& device,
                                    const std::map<core::PortKey, int>& allocations,
                                    const std::string& now) {
  if (allocations.empty()) return {};
  return InTransaction([&]() -> Status {
    Stmt d(db_,
           "DELETE FROM allocations WHERE device = ? AND ((resource = ? AND port = ?) OR "
           "rule_number = ?)");
    Stmt i(db_,
           "INSERT INTO allocations (device, resource, port, rule_number, created_at) VALUES (?, "
           "?, ?, ?, ?)");
    for (const auto& [key, n] : allocations) {
      d.Reset().Bind(1, device).Bind(2, key.resource).Bind(3, key.port).Bind(4, n);
      if (auto st = d.Done(); !st) return st;
      i.Reset().Bind(1, device).Bind(2, key.resource).Bind(3, key.port).Bind(4, n).Bind(5, now);
      if (auto st = i.Done(); !st) return st;
    }
    return {};
  });
}

Result<std::map<int, core::AppliedRecord>> SqliteStore::LastApplied(const std::string& device) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT rule_number, resource, port, rule_json FROM last_applied WHERE device = ?");
  s.Bind(1, device);
  std::map<int, core::AppliedRecord> out;
  while (s.Step() == SQLITE_ROW) {
    auto rule = NatRuleFromJson(s.Text(3));
    if (!rule) return tl::unexpected(rule.error());
    out[static_cast<int>(s.Int(0))] = core::AppliedRecord{s.Text(1), s.Text(2), *rule};
  }
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

Status SqliteStore::RecordApplied(const std::string& device, const AppliedUpdate& u,
                                  const std::string& now) {
  return InTransaction([&]() -> Status {
    Stmt s(db_,
           "INSERT OR REPLACE INTO last_applied (device, rule_number, resource, port, rule_json, "
           "applied_at) "
           "VALUES (?, ?, ?, ?, ?, ?)");
    for (const auto& [n, rec] : u.upserts) {
      s.Reset()
          .Bind(1, device)
          .Bind(2, n)
          .BindStatic(3, rec.resource)
          .BindStatic(4, rec.port)
          .Bind(5, NatRuleToJson(*rec.rule))
          .Bind(6, now);
      if (auto st = s.Done(); !st) return st;
    }
    Stmt rm(db_, "DELETE FROM last_applied WHERE device = ? AND rule_number = ?");
    for (int n : u.removed) {
      rm.Reset().Bind(1, device).Bind(2, n);
      if (auto st = rm.Done(); !st) return st;
    }
    Stmt ra(db_, "DELETE FROM allocations WHERE device = ? AND rule_number = ?");
    for (int n : u.released) {
      ra.Reset().Bind(1, device).Bind(2, n);
      if (auto st = ra.Done(); !st) return st;
    }
    // Allocations of ports no longer declared end once their rule is gone from the device.
    Stmt sel(db_, "SELECT resource, port, rule_number FROM allocations WHERE device = ?");
    sel.Bind(1, device);
    std::vector<std::pair<core::PortKey, int>> stale;
    while (sel.Step() == SQLITE_ROW) {
      core::PortKey key{sel.Text(0), sel.Text(1)};
      int n = static_cast<int>(sel.Int(2));
      if (!u.desired.count(key) && !u.on_device.count(n)) stale.emplace_back(key, n);
    }
    if (auto st = sel.Finished(); !st) return st;
    for (const auto& [key, n] : stale) {
      Stmt d(db_, "DELETE FROM allocations WHERE device = ? AND rule_number = ?");
      d.Bind(1, device).Bind(2, n);
      if (auto st = d.Done(); !st) return st;
      Stmt d2(db_, "DELETE FROM last_applied WHERE device = ? AND rule_number = ?");
      d2.Bind(1, device).Bind(2, n);
      if (auto st = d2.Done(); !st) return st;
    }
    return {};
  });
}

Result<int64_t> SqliteStore::BeginRun(const std::string& device, const std::string& trigger,
                                      const std::string& now) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "INSERT INTO runs (device, trigger, started_at) VALUES (?, ?, ?)");
  s.Bind(1, device).Bind(2, trigger).Bind(3, now);
  if (auto st = s.Done(); !st) return tl::unexpected(st.error());
  return sqlite3_last_insert_rowid(db_);
}

Status SqliteStore::FinishRun(const Run& run, const core::OpLog& operations) {
  return InTransaction([&]() -> Status {
    Stmt s(db_,
           "UPDATE runs SET finished_at = ?, outcome = ?, message = ?, changes = ?, commits = ?, "
           "duration_ms = ?, added = ?, updated = ?, deleted = ?, transport = ?, actor = ? "
           "WHERE id = ?");
    s.Bind(1, run.finished_at)
        .Bind(2, run.outcome)
        .Bind(3, run.message)
        .Bind(4, run.changes)
        .Bind(5, run.commits)
        .Bind(6, run.duration_ms)
        .Bind(7, run.added)
        .Bind(8, run.updated)
        .Bind(9, run.deleted)
        .Bind(10, run.transport)
        .Bind(11, run.actor)
        .Bind(12, run.id);
    if (auto st = s.Done(); !st) return st;
    if (operations.empty()) return {};
    return InsertSegments(db_, "INSERT INTO operations (run_id, seq, text) VALUES (?, ?, ?)",
                          run.id, operations);
  });
}

Status SqliteStore::RecordQuietPass(const std::string& device, const std::string& observed_at,
                                    const std::string& updated_at) {
  return InTransaction([&]() -> Status {
    Stmt u(db_,
           "UPDATE device_status SET last_observed_at = ?, quiet_polls = quiet_polls + 1, "
           "updated_at = ? WHERE device = ?");
    u.Bind(1, observed_at).Bind(2, updated_at).Bind(3, device);
    return u.Done();
  });
}

namespace {

constexpr const char* kRunColumns =
    "SELECT id, device, trigger, started_at, COALESCE(finished_at, ''), COALESCE(outcome, ''), "
    "COALESCE(message, ''), changes, commits, duration_ms, added, updated, deleted, transport, "
    "actor, COALESCE((SELECT MAX(id) FROM snapshots WHERE snapshots.run_id = runs.id), 0) "
    "FROM runs ";

Run RunFrom(Stmt& s) {
  return Run{s.Int(0),
             s.Text(1),
             s.Text(2),
             s.Text(3),
             s.Text(4),
             s.Text(5),
             s.Text(6),
             static_cast<int>(s.Int(7)),
             static_cast<int>(s.Int(8)),
             s.Int(9),
             static_cast<int>(s.Int(10)),
             static_cast<int>(s.Int(11)),
             static_cast<int>(s.Int(12)),
             s.Text(13),
             s.Text(14),
             s.Int(15)};
}

}  // namespace

Result<std::vector<Run>> SqliteStore::Runs(const std::string& device, int limit) {
  std::lock_guard lk(mu_);
  const std::string sql = std::string(kRunColumns) + (device.empty() ? "" : "WHERE device = ? ") +
                          "ORDER BY id DESC LIMIT ?";
  Stmt s(db_, sql.c_str());
  if (device.empty())
    s.Bind(1, limit);
  else
    s.Bind(1, device).Bind(2, limit);
  std::vector<Run> out;
  while (s.Step() == SQLITE_ROW) out.push_back(RunFrom(s));
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

Result<Run> SqliteStore::GetRun(int64_t id) {
  std::lock_guard lk(mu_);
  const std::string sql = std::string(kRunColumns) + "WHERE id = ?";
  Stmt s(db_, sql.c_str());
  s.Bind(1, id);
  if (s.Step() != SQLITE_ROW) {
    if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
    return MakeError(ErrorCode::kNotFound, "no run " + std::to_string(id));
  }
  Run run = RunFrom(s);
  s.Step();  // to the end (one row by its key)
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return run;
}

Result<std::vector<std::string>> SqliteStore::Operations(int64_t run_id) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT text FROM operations WHERE run_id = ? ORDER BY seq");
  s.Bind(1, run_id);
  std::vector<std::string> out;
  while (s.Step() == SQLITE_ROW) {
    const std::string text = s.Text(0);
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
      out.push_back(text.substr(start, nl - start));
    if (start < text.size()) out.push_back(text.substr(start));
  }
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

namespace {

/// core::Deflate after an 8-byte little-endian length of the input (what Inflate allocates).
Result<std::string> Deflate(const std::string& in) {
  auto z = core::Deflate(in);
  if (!z) return MakeError(ErrorCode::kInternal, "store: cannot compress a snapshot");
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<size_t>(i)] =
        static_cast<char>((static_cast<uint64_t>(in.size()) >> (8 * i)) & 0xff);
  return out + *z;
}

Result<std::string> Inflate(const std::string& in) {
  if (in.size() < 8) return MakeError(ErrorCode::kInternal, "store: a snapshot is damaged");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | static_cast<unsigned char>(in[static_cast<size_t>(i)]);
  if (n > (uint64_t{1} << 32))
    return MakeError(ErrorCode::kInternal, "store: a snapshot is damaged (length)");
  auto out = core::Inflate(std::string_view(in).substr(8), static_cast<size_t>(n));
  if (!out) return MakeError(ErrorCode::kInternal, "store: a snapshot is damaged (deflate)");
  return out;
}

std::string RulesToJson(const std::map<int, core::NatRule>& rules) {
  core::JsonWriter w;
  w.Object();
  for (const auto& [n, r] : rules) w.Key(std::to_string(n)).Raw(NatRuleToJson(r));
  return w.End().str();
}

Result<std::map<int, core::NatRule>> RulesFromJson(const std::string& json) {
  rapidjson::Document d;
  if (!core::ParseJson(d, json) || !d.IsObject())
    return MakeError(ErrorCode::kInternal, "store: corrupt snapshot");
  std::map<int, core::NatRule> out;
  for (const auto& m : std::as_const(d).GetObject()) {  // const: C++20-unambiguous !=
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    m.value.Accept(w);
    auto r = NatRuleFromJson(std::string(buf.GetString(), buf.GetSize()));
    if (!r) return tl::unexpected(r.error());
    out[std::atoi(m.name.GetString())] = *r;
  }
  return out;
}

}  // namespace

std::string SubInterfaceToJson(const core::SubInterface& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("vlan");
  w.Int(s.vlan);
  w.Key("l2");
  w.Bool(s.l2_service);
  w.Key("admin");
  w.Bool(s.admin_enabled);
  w.Key("description");
  w.String(s.description.c_str(), static_cast<rapidjson::SizeType>(s.description.size()));
  w.Key("bridgeDomain");
  w.String(s.bridge_domain.c_str(), static_cast<rapidjson::SizeType>(s.bridge_domain.size()));
  w.Key("unmanaged");
  w.StartArray();
  for (const auto& u : s.unmanaged) w.String(u.c_str(), static_cast<rapidjson::SizeType>(u.size()));
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

namespace {

Result<core::SubInterface> SubInterfaceFromValue(const rapidjson::Value& v) {
  if (!v.IsObject() || !v.HasMember("vlan") || !v["vlan"].IsInt())
    return MakeError(ErrorCode::kInternal, "store: corrupt interface record");
  core::SubInterface s;
  s.vlan = v["vlan"].GetInt();
  s.l2_service = v.HasMember("l2") && v["l2"].IsBool() && v["l2"].GetBool();
  s.admin_enabled = !v.HasMember("admin") || !v["admin"].IsBool() || v["admin"].GetBool();
  if (v.HasMember("description") && v["description"].IsString())
    s.description = v["description"].GetString();
  if (v.HasMember("bridgeDomain") && v["bridgeDomain"].IsString())
    s.bridge_domain = v["bridgeDomain"].GetString();
  if (v.HasMember("unmanaged") && v["unmanaged"].IsArray())
    for (const auto& u : v["unmanaged"].GetArray())
      if (u.IsString()) s.unmanaged.emplace_back(u.GetString());
  return s;
}

std::string SwitchToJson(const core::SwitchState& st) {
  core::JsonWriter w;
  w.Object().Key("interfaces").Object();
  for (const auto& [name, s] : st.interfaces) w.Key(name).Raw(SubInterfaceToJson(s));
  w.End().Key("bridgeDomains").Object();
  for (const auto& [name, bd] : st.bridge_domains) {
    w.Key(name).Object().Str("description", bd.description).Key("members").Array();
    for (const auto& m : bd.members) w.String(m);
    w.End().End();
  }
  return w.End().End().str();
}

Result<core::SwitchState> SwitchFromJson(const std::string& json) {
  core::SwitchState st;
  if (json.empty()) return st;
  rapidjson::Document d;
  if (!core::ParseJson(d, json) || !d.IsObject())
    return MakeError(ErrorCode::kInternal, "store: corrupt switch snapshot");
  if (d.HasMember("interfaces") && d["interfaces"].IsObject())
    for (const auto& m : std::as_const(d)["interfaces"].GetObject()) {
      auto s = SubInterfaceFromValue(m.value);
      if (!s) return tl::unexpected(s.error());
      st.interfaces[m.name.GetString()] = *s;
    }
  if (d.HasMember("bridgeDomains") && d["bridgeDomains"].IsObject())
    for (const auto& m : std::as_const(d)["bridgeDomains"].GetObject()) {
      core::BridgeDomain bd;
      if (m.value.HasMember("description") && m.value["description"].IsString())
        bd.description = m.value["description"].GetString();
      if (m.value.HasMember("members") && m.value["members"].IsArray())
        for (const auto& x : m.value["members"].GetArray())
          if (x.IsString()) bd.members.emplace_back(x.GetString());
      st.bridge_domains[m.name.GetString()] = bd;
    }
  return st;
}

}  // namespace

Result<std::map<std::string, core::AppliedInterface>> SqliteStore::AppliedInterfaces(
    const std::string& device) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT name, resource, body_json FROM applied_interfaces WHERE device = ?");
  s.Bind(1, device);
  std::map<std::string, core::AppliedInterface> out;
  while (s.Step() == SQLITE_ROW) {
    rapidjson::Document d;
    const std::string body = s.Text(2);
    (void)core::ParseJson(d, body);  // null if not JSON: refused just below
    auto sub = SubInterfaceFromValue(d);
    if (!sub) return tl::unexpected(sub.error());
    out[s.Text(0)] = core::AppliedInterface{s.Text(1), *sub};
  }
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

Status SqliteStore::RecordAppliedInterfaces(
    const std::string& device, const std::map<std::string, core::AppliedInterface>& upserts,
    const std::vector<std::string>& removed, const std::string& now) {
  return InTransaction([&]() -> Status {
    Stmt s(db_,
           "INSERT OR REPLACE INTO applied_interfaces (device, name, resource, body_json, "
           "applied_at) VALUES (?, ?, ?, ?, ?)");
    for (const auto& [name, rec] : upserts) {
      s.Reset()
          .Bind(1, device)
          .Bind(2, name)
          .Bind(3, rec.resource)
          .Bind(4, SubInterfaceToJson(rec.iface))
          .Bind(5, now);
      if (auto st = s.Done(); !st) return st;
    }
    Stmt rm(db_, "DELETE FROM applied_interfaces WHERE device = ? AND name = ?");
    for (const auto& name : removed) {
      rm.Reset().Bind(1, device).Bind(2, name);
      if (auto st = rm.Done(); !st) return st;
    }
    return {};
  });
}

Result<Intent> SqliteStore::BeginIntent(const Snapshot& snap, int changes,
                                        const core::OpLog& operations, int keep) {
  Intent in;
  auto st = InTransaction([&]() -> Status {
    // Compressed: a 10,000-rule router's snapshot is 2.8 MB of JSON, 0.3 MB deflated.
    Stmt s(db_,
           "INSERT INTO snapshots (device, taken_at, run_id, rules_json, switch_json, rules_z, "
           "switch_z) VALUES (?, ?, ?, '', '', ?, ?)");
    auto rules_z = Deflate(RulesToJson(snap.rules));
    auto switch_z = Deflate(SwitchToJson(snap.switch_state));
    if (!rules_z) return tl::unexpected(rules_z.error());
    if (!switch_z) return tl::unexpected(switch_z.error());
    s.Bind(1, snap.device)
        .Bind(2, snap.taken_at)
        .Bind(3, snap.run_id)
        .BindBlob(4, *rules_z)
        .BindBlob(5, *switch_z);
    if (auto e = s.Done(); !e) return e;
    const int64_t snapshot_id = sqlite3_last_insert_rowid(db_);
    // The operations a row per segment of the log (schema 11): neither their joined text nor a
    // record holding it (4 MB each for 10,000 rules) is built.
    Stmt i(db_,
           "INSERT INTO intents (device, run_id, snapshot_id, changes, operations, started_at) "
           "VALUES (?, ?, ?, ?, '', ?)");
    i.Bind(1, snap.device)
        .Bind(2, snap.run_id)
        .Bind(3, snapshot_id)
        .Bind(4, changes)
        .Bind(5, snap.taken_at);
    if (auto e = i.Done(); !e) return e;
    const int64_t intent_id = sqlite3_last_insert_rowid(db_);
    if (auto e = InsertSegments(
            db_, "INSERT INTO intent_operations (intent_id, seq, text) VALUES (?, ?, ?)", intent_id,
            operations);
        !e)
      return e;
    in = Intent{intent_id, snap.device, snap.run_id, snapshot_id, changes, "", snap.taken_at};
    Stmt prune(db_,
               "DELETE FROM snapshots WHERE device = ? AND id NOT IN "
               "(SELECT id FROM snapshots WHERE device = ? ORDER BY id DESC LIMIT ?)");
    prune.Bind(1, snap.device).Bind(2, snap.device).Bind(3, keep);
    return prune.Done();
  });
  if (!st) return tl::unexpected(st.error());
  return in;
}

Status SqliteStore::FinishIntent(int64_t intent_id, const std::string& outcome,
                                 const std::string& now) {
  return InTransaction([&]() -> Status {
    // A finished intent's operations are the run's (kept there): not twice.
    Stmt o(db_, "DELETE FROM intent_operations WHERE intent_id = ?");
    o.Bind(1, intent_id);
    if (auto st = o.Done(); !st) return st;
    Stmt s(db_, "UPDATE intents SET finished_at = ?, outcome = ?, operations = '' WHERE id = ?");
    s.Bind(1, now).Bind(2, outcome).Bind(3, intent_id);
    return s.Done();
  });
}

Result<std::vector<Intent>> SqliteStore::OpenIntents() {
  std::lock_guard lk(mu_);
  Stmt s(db_,
         "SELECT id, device, COALESCE(run_id, 0), snapshot_id, changes, operations, started_at "
         "FROM intents "
         "WHERE finished_at IS NULL ORDER BY id");
  std::vector<Intent> out;
  while (s.Step() == SQLITE_ROW)
    out.push_back(Intent{s.Int(0), s.Text(1), s.Int(2), s.Int(3), static_cast<int>(s.Int(4)),
                         s.Text(5), s.Text(6)});
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  // Since schema 11 the operations are a row per segment (an intent from before has them in
  // its own row).
  Stmt o(db_, "SELECT text FROM intent_operations WHERE intent_id = ? ORDER BY seq");
  for (auto& in : out) {
    o.Reset().Bind(1, in.id);
    while (o.Step() == SQLITE_ROW) in.operations += o.Text(0);
    if (auto st = o.Finished(); !st) return tl::unexpected(st.error());
  }
  return out;
}

Result<Snapshot> SqliteStore::GetSnapshot(int64_t id) {
  std::lock_guard lk(mu_);
  Stmt s(db_,
         "SELECT id, device, taken_at, COALESCE(run_id, 0), rules_json, COALESCE(switch_json, ''), "
         "rules_z, switch_z FROM snapshots WHERE id = ?");
  s.Bind(1, id);
  if (s.Step() != SQLITE_ROW)
    return MakeError(ErrorCode::kNotFound, "no snapshot " + std::to_string(id));
  // Taken before schema 8: plain JSON.
  auto rules_json = s.Null(6) ? Result<std::string>(s.Text(4)) : Inflate(s.Bytes(6));
  auto switch_json = s.Null(7) ? Result<std::string>(s.Text(5)) : Inflate(s.Bytes(7));
  if (!rules_json) return tl::unexpected(rules_json.error());
  if (!switch_json) return tl::unexpected(switch_json.error());
  auto rules = RulesFromJson(*rules_json);
  if (!rules) return tl::unexpected(rules.error());
  auto sw = SwitchFromJson(*switch_json);
  if (!sw) return tl::unexpected(sw.error());
  return Snapshot{s.Int(0), s.Text(1), s.Text(2), s.Int(3), std::move(*rules), std::move(*sw)};
}

Result<std::vector<Snapshot>> SqliteStore::Snapshots(const std::string& device, int limit) {
  std::lock_guard lk(mu_);
  Stmt s(db_,
         "SELECT id, device, taken_at, COALESCE(run_id, 0) FROM snapshots WHERE device = ? ORDER "
         "BY id DESC LIMIT ?");
  s.Bind(1, device).Bind(2, limit);
  std::vector<Snapshot> out;
  while (s.Step() == SQLITE_ROW)
    out.push_back(Snapshot{s.Int(0), s.Text(1), s.Text(2), s.Int(3), {}, {}});
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

Status SqliteStore::AddEvents(const std::vector<Event>& events) {
  if (events.empty()) return {};
  return InTransaction([&]() -> Status { return InsertEvents(events); });
}

Status SqliteStore::InsertEvents(const std::vector<Event>& events) {
  Stmt s(db_,
         "INSERT INTO events (time, device, resource, type, reason, message, run_id) VALUES (?, "
         "?, ?, ?, ?, ?, ?)");
  for (const auto& e : events) {
    s.Reset()
        .Bind(1, e.time)
        .Bind(2, e.device)
        .Bind(3, e.resource)
        .Bind(4, e.type)
        .Bind(5, e.reason)
        .Bind(6, e.message)
        .Bind(7, e.run_id);
    if (auto st = s.Done(); !st) return st;
  }
  return {};
}

Status SqliteStore::AddEventsAndNotify(const std::vector<Event>& events,
                                       const std::vector<Notification>& notifications) {
  if (notifications.empty()) return AddEvents(events);
  return InTransaction([&]() -> Status {
    if (auto st = InsertEvents(events); !st) return st;
    Stmt s(db_,
           "INSERT INTO outbox (webhook, device, reason, key, body, created_at, next_attempt_at) "
           "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE "
           "outcome = '' AND webhook = ?1 AND device = ?2 AND reason = ?3 AND key = ?4)");
    for (const auto& n : notifications) {
      s.Reset()
          .Bind(1, n.webhook)
          .Bind(2, n.device)
          .Bind(3, n.reason)
          .Bind(4, n.key)
          .Bind(5, n.body)
          .Bind(6, n.created_at)
          .Bind(7, n.next_attempt_at);
      if (auto st = s.Done(); !st) return st;
    }
    return {};
  });
}

Result<std::vector<Notification>> SqliteStore::DueNotifications(const std::string& now, int limit) {
  std::lock_guard lk(mu_);
  Stmt s(db_,
         "SELECT id, webhook, device, reason, key, body, created_at, next_attempt_at, attempts, "
         "last_error FROM outbox WHERE outcome = '' AND next_attempt_at <= ? ORDER BY id LIMIT ?");
  s.Bind(1, now).Bind(2, limit);
  std::vector<Notification> out;
  while (s.Step() == SQLITE_ROW)
    out.push_back(Notification{s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5),
                               s.Text(6), s.Text(7), static_cast<int>(s.Int(8)), s.Text(9)});
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

Status SqliteStore::SettleNotification(int64_t id, const std::string& outcome,
                                       const std::string& now) {
  return InTransaction([&]() -> Status {
    Stmt s(db_, "UPDATE outbox SET outcome = ?, settled_at = ? WHERE id = ?");
    s.Bind(1, outcome).Bind(2, now).Bind(3, id);
    return s.Done();
  });
}

Status SqliteStore::RetryNotification(int64_t id, const std::string& next_attempt_at,
                                      const std::string& error) {
  return InTransaction([&]() -> Status {
    Stmt s(db_,
           "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
           "WHERE id = ?");
    s.Bind(1, next_attempt_at).Bind(2, error).Bind(3, id);
    return s.Done();
  });
}

Result<int64_t> SqliteStore::PendingNotifications() {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT COUNT(*) FROM outbox WHERE outcome = ''");
  if (s.Step() != SQLITE_ROW)
    return MakeError(ErrorCode::kInternal, "store: counting pending notifications failed");
  return s.Int(0);
}

Result<std::vector<Event>> SqliteStore::Events(const EventFilter& f) {
  std::lock_guard lk(mu_);
  Stmt s(db_,
         "SELECT id, time, device, COALESCE(resource, ''), type, reason, message, COALESCE(run_id, "
         "0) FROM events "
         "WHERE (? = '' OR device = ?) AND (? = '' OR resource = ?) AND (? = '' OR time >= ?) "
         "ORDER BY id DESC LIMIT ?");
  s.Bind(1, f.device)
      .Bind(2, f.device)
      .Bind(3, f.resource)
      .Bind(4, f.resource)
      .Bind(5, f.since)
      .Bind(6, f.since)
      .Bind(7, f.limit);
  std::vector<Event> out;
  while (s.Step() == SQLITE_ROW)
    out.push_back(Event{s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5), s.Text(6),
                        s.Int(7)});
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

Result<std::map<std::string, DeviceOverride>> SqliteStore::Overrides() {
  std::lock_guard lk(mu_);
  Stmt s(db_,
         "SELECT device, management, fallback, updated_at, updated_by FROM device_overrides ORDER "
         "BY device");
  std::map<std::string, DeviceOverride> out;
  while (s.Step() == SQLITE_ROW)
    out[s.Text(0)] = DeviceOverride{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4)};
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

Status SqliteStore::SetOverride(const DeviceOverride& o, const Event& audit) {
  return InTransaction([&]() -> Status {
    if (o.management.empty() && o.fallback.empty()) {
      Stmt d(db_, "DELETE FROM device_overrides WHERE device = ?");
      d.Bind(1, o.device);
      if (auto st = d.Done(); !st) return st;
    } else {
      Stmt s(db_,
             "INSERT OR REPLACE INTO device_overrides (device, management, fallback, updated_at, "
             "updated_by) VALUES (?, ?, ?, ?, ?)");
      s.Bind(1, o.device)
          .Bind(2, o.management)
          .Bind(3, o.fallback)
          .Bind(4, o.updated_at)
          .Bind(5, o.updated_by);
      if (auto st = s.Done(); !st) return st;
    }
    Stmt e(db_,
           "INSERT INTO events (time, device, resource, type, reason, message, run_id) VALUES (?, "
           "?, NULL, ?, ?, ?, NULL)");
    e.Bind(1, audit.time)
        .Bind(2, audit.device)
        .Bind(3, audit.type)
        .Bind(4, audit.reason)
        .Bind(5, audit.message);
    return e.Done();
  });
}

Result<PruneCounts> SqliteStore::Prune(const std::string& before) {
  PruneCounts n;
  auto st = InTransaction([&]() -> Status {
    // Operations go with their runs (ON DELETE CASCADE); a run an open intent refers to stays.
    Stmt r(db_,
           "DELETE FROM runs WHERE started_at < ? AND finished_at IS NOT NULL AND id NOT IN "
           "(SELECT run_id FROM intents WHERE finished_at IS NULL AND run_id IS NOT NULL)");
    r.Bind(1, before);
    if (auto e = r.Done(); !e) return e;
    n.runs = sqlite3_changes(db_);
    Stmt e(db_, "DELETE FROM events WHERE time < ?");
    e.Bind(1, before);
    if (auto x = e.Done(); !x) return x;
    n.events = sqlite3_changes(db_);
    Stmt i(db_, "DELETE FROM intents WHERE finished_at IS NOT NULL AND finished_at < ?");
    i.Bind(1, before);
    if (auto x = i.Done(); !x) return x;
    n.intents = sqlite3_changes(db_);
    // A device's newest snapshot stays however old (the state before its last change), and so
    // does one an unfinished apply may still need.
    Stmt sn(db_,
            "DELETE FROM snapshots WHERE taken_at < ? AND id NOT IN (SELECT MAX(id) FROM "
            "snapshots GROUP BY device) AND id NOT IN (SELECT snapshot_id FROM intents WHERE "
            "finished_at IS NULL)");
    sn.Bind(1, before);
    if (auto x = sn.Done(); !x) return x;
    n.snapshots = sqlite3_changes(db_);
    Stmt ns(db_, "DELETE FROM outbox WHERE outcome != '' AND settled_at < ?");
    ns.Bind(1, before);
    if (auto x = ns.Done(); !x) return x;
    n.notifications = sqlite3_changes(db_);
    Stmt ne(db_,
            "UPDATE outbox SET outcome = 'expired', settled_at = created_at WHERE outcome = '' "
            "AND created_at < ?");
    ne.Bind(1, before);
    if (auto x = ne.Done(); !x) return x;
    n.notifications_expired = sqlite3_changes(db_);
    return {};
  });
  if (!st) return tl::unexpected(st.error());
  // The pages freed go back to the file system (auto_vacuum=INCREMENTAL), so the file follows
  // what is kept rather than the largest it ever was.
  if (n.runs + n.events + n.intents + n.snapshots + n.notifications > 0) {
    std::lock_guard lk(mu_);
    if (auto v = Exec("PRAGMA incremental_vacuum"); !v) return tl::unexpected(v.error());
  }
  return n;
}

Result<bool> SqliteStore::EnsureIncrementalVacuum() {
  std::lock_guard lk(mu_);
  int64_t mode = -1;
  {
    Stmt s(db_, "PRAGMA auto_vacuum");
    if (s.Step() != SQLITE_ROW)
      return MakeError(ErrorCode::kInternal, "store: PRAGMA auto_vacuum gave no answer");
    mode = s.Int(0);
  }
  if (mode == 2) return false;  // incremental already
  if (auto st = Exec("PRAGMA auto_vacuum=INCREMENTAL"); !st) return tl::unexpected(st.error());
  if (auto st = Exec("VACUUM"); !st) return tl::unexpected(st.error());
  return true;
}

int64_t SqliteStore::DataVersion() {
  std::lock_guard lk(mu_);
  Stmt s(db_, "PRAGMA data_version");
  return s.Step() == SQLITE_ROW ? s.Int(0) : -1;
}

Status SqliteStore::SaveStatus(const DeviceStatusRow& d, const std::vector<PortStatusRow>* ports) {
  return InTransaction([&]() -> Status {
    Stmt s(db_,
           "INSERT OR REPLACE INTO device_status (device, reachable, synced, message, "
           "platform_version, transport, "
           "last_observed_at, last_applied_at, managed, unmanaged, drifted, last_run_id, "
           "updated_at, fallback_active, "
           "fallbacks, quiet_polls, management, paused, standing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
           "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.Bind(1, d.device)
        .Bind(2, d.reachable ? 1 : 0)
        .Bind(3, d.synced ? 1 : 0)
        .Bind(4, d.message)
        .Bind(5, d.platform_version)
        .Bind(6, d.transport)
        .Bind(7, d.last_observed_at)
        .Bind(8, d.last_applied_at)
        .Bind(9, d.managed)
        .Bind(10, d.unmanaged)
        .Bind(11, d.drifted)
        .Bind(12, d.last_run_id)
        .Bind(13, d.updated_at)
        .Bind(14, d.fallback_active ? 1 : 0)
        .Bind(15, d.fallbacks)
        .Bind(16, d.quiet_polls)
        .Bind(17, d.management)
        .Bind(18, d.paused ? 1 : 0)
        .Bind(19, d.standing);
    if (auto st = s.Done(); !st) return st;
    if (!ports) return {};
    Stmt del(db_, "DELETE FROM port_status WHERE device = ?");
    del.Bind(1, d.device);
    if (auto st = del.Done(); !st) return st;
    Stmt i(db_,
           "INSERT INTO port_status (device, resource, port, display, rule_number, state, message, "
           "last_applied_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& p : *ports) {
      i.Reset()
          .Bind(1, p.device)
          .Bind(2, p.resource)
          .Bind(3, p.port)
          .Bind(4, p.display)
          .Bind(5, p.rule_number)
          .Bind(6, p.state)
          .Bind(7, p.message)
          .Bind(8, p.last_applied_at)
          .Bind(9, p.updated_at);
      if (auto st = i.Done(); !st) return st;
    }
    return {};
  });
}

Result<std::vector<DeviceStatusRow>> SqliteStore::DeviceStatuses() {
  std::lock_guard lk(mu_);
  Stmt s(db_,
         "SELECT device, reachable, synced, COALESCE(message,''), COALESCE(platform_version,''), "
         "COALESCE(transport,''), COALESCE(last_observed_at,''), COALESCE(last_applied_at,''), "
         "managed, unmanaged, "
         "drifted, last_run_id, COALESCE(updated_at,''), fallback_active, fallbacks, quiet_polls, "
         "management, paused, standing FROM device_status ORDER BY device");
  std::vector<DeviceStatusRow> out;
  while (s.Step() == SQLITE_ROW) {
    DeviceStatusRow d;
    d.device = s.Text(0);
    d.reachable = s.Int(1) != 0;
    d.synced = s.Int(2) != 0;
    d.message = s.Text(3);
    d.platform_version = s.Text(4);
    d.transport = s.Text(5);
    d.last_observed_at = s.Text(6);
    d.last_applied_at = s.Text(7);
    d.managed = static_cast<int>(s.Int(8));
    d.unmanaged = static_cast<int>(s.Int(9));
    d.drifted = static_cast<int>(s.Int(10));
    d.last_run_id = s.Int(11);
    d.updated_at = s.Text(12);
    d.fallback_active = s.Int(13) != 0;
    d.fallbacks = s.Int(14);
    d.quiet_polls = s.Int(15);
    d.management = s.Text(16);
    d.paused = s.Int(17) != 0;
    d.standing = s.Text(18);
    out.push_back(std::move(d));
  }
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

Result<std::vector<PortStatusRow>> SqliteStore::PortStatuses(const std::string& device) {
  std::lock_guard lk(mu_);
  // Two statements, so that one device's rows are found by the key's index, not by a scan.
  const std::string select =
      "SELECT device, resource, port, COALESCE(display,''), COALESCE(rule_number,0), state, "
      "COALESCE(message,''), COALESCE(last_applied_at,''), updated_at FROM port_status ";
  const std::string sql = select + (device.empty() ? "" : "WHERE device = ? ") +
                          "ORDER BY device, rule_number, resource, port";
  Stmt s(db_, sql.c_str());
  if (!device.empty()) s.Bind(1, device);
  std::vector<PortStatusRow> out;
  while (s.Step() == SQLITE_ROW)
    out.push_back(PortStatusRow{s.Text(0), s.Text(1), s.Text(2), s.Text(3),
                                static_cast<int>(s.Int(4)), s.Text(5), s.Text(6), s.Text(7),
                                s.Text(8)});
  if (auto st = s.Finished(); !st) return tl::unexpected(st.error());
  return out;
}

std::string NatRuleToJson(const core::NatRule& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  auto field = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  field("description", r.description);
  field("inboundInterface", r.inbound_interface);
  field("protocol", r.protocol);
  field("destinationAddress", r.destination_address);
  field("destinationPort", r.destination_port);
  field("sourceAddress", r.source_address);
  field("translationAddress", r.translation_address);
  field("translationPort", r.translation_port);
  w.Key("disabled");
  w.Bool(r.disabled);
  w.Key("log");
  w.Bool(r.log);
  w.Key("unmanaged");
  w.StartArray();
  for (const auto& u : r.unmanaged) w.String(u.c_str(), static_cast<rapidjson::SizeType>(u.size()));
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

Result<core::NatRule> NatRuleFromJson(const std::string& json) {
  rapidjson::Document d;
  if (!core::ParseJson(d, json) || !d.IsObject())
    return MakeError(ErrorCode::kInternal, "store: corrupt rule record");
  core::NatRule r;
  auto get = [&](const char* k, std::string* out) {
    if (d.HasMember(k) && d[k].IsString()) *out = d[k].GetString();
  };
  get("description", &r.description);
  get("inboundInterface", &r.inbound_interface);
  get("protocol", &r.protocol);
  get("destinationAddress", &r.destination_address);
  get("destinationPort", &r.destination_port);
  get("sourceAddress", &r.source_address);
  get("translationAddress", &r.translation_address);
  get("translationPort", &r.translation_port);
  r.disabled = d.HasMember("disabled") && d["disabled"].IsBool() && d["disabled"].GetBool();
  r.log = d.HasMember("log") && d["log"].IsBool() && d["log"].GetBool();
  if (d.HasMember("unmanaged") && d["unmanaged"].IsArray())
    for (const auto& u : d["unmanaged"].GetArray())
      if (u.IsString()) r.unmanaged.emplace_back(u.GetString());
  return r;
}

}  // namespace nc::store
