#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "controller/store/sqlite_store.hpp"
#include "controller/store/store_lock.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>

using namespace nc;
using namespace nc::store;

namespace {

std::string TempDb(const char* name) {
  auto p = std::filesystem::temp_directory_path() /
           (std::string("nc-store-") + name + "-" + std::to_string(::getpid()) + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + suffix);
  return p.string();
}

}  // namespace

TEST_SUITE("store/sqlite") {
  TEST_CASE("a new store and its WAL are readable by their owner only") {
    auto path = TempDb("mode");
    auto s = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
    REQUIRE(s);
    REQUIRE((*s)->WriteCheck());
    for (const char* suffix : {"", "-wal", "-shm"}) {
      struct stat st {};
      REQUIRE(::stat((path + suffix).c_str(), &st) == 0);
      CAPTURE(suffix);
      CHECK((st.st_mode & 0777) == 0600);
    }
  }

  TEST_CASE("an empty file is refused, never silently made a new store") {
    auto path = TempDb("empty");
    std::ofstream(path).close();
    auto s = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
    REQUIRE_FALSE(s);
    CHECK(s.error().message.find("is an empty file (0 bytes)") != std::string::npos);
    CHECK(std::filesystem::file_size(path) == 0);  // left as it was
  }

  TEST_CASE("one writer per store: a second lock is refused naming the holder, and freed with it") {
    auto path = TempDb("lock");
    {
      auto first = WriterLock::Acquire(path, "run");
      REQUIRE(first);
      auto second = WriterLock::Acquire(path, "apply");
      REQUIRE_FALSE(second);
      CHECK(second.error().code == ErrorCode::kFailedPrecondition);
      CHECK(second.error().message.find("in use by netconverge run (pid " +
                                        std::to_string(::getpid())) != std::string::npos);
    }
    CHECK(WriterLock::Acquire(path, "apply"));
    std::filesystem::remove(path + ".lock");
  }

  TEST_CASE("a new store is created at the latest schema, in WAL mode") {
    auto path = TempDb("new");
    auto s = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
    REQUIRE(s);
    CHECK((*s)->SchemaVersion() == LatestSchemaVersion());
    CHECK(*(*s)->IntegrityCheck() == "ok");
    CHECK(std::filesystem::exists(path + "-wal"));
  }

  TEST_CASE(
      "pruned history gives its pages back to the file system - a store made without incremental "
      "vacuum is converted once") {
    auto path = TempDb("vacuum");
    auto open = [&] {
      auto s = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
      REQUIRE(s);
      return std::move(*s);
    };
    {
      auto s = open();
      CHECK(*s->EnsureIncrementalVacuum() == false);  // made so
      std::vector<Event> events;
      for (int i = 0; i < 4000; ++i)
        events.push_back({0, "2026-01-01T00:00:00Z", "d", "", "Normal", "Synced",
                          std::string(1000, static_cast<char>('a' + i % 26)), 0});
      REQUIRE(s->AddEvents(events));
    }  // closed: the WAL is folded into the file
    const auto full = std::filesystem::file_size(path);
    {
      auto s = open();
      auto n = s->Prune("2026-02-01T00:00:00Z");
      REQUIRE(n);
      CHECK(n->events == 4000);
    }
    const auto pruned = std::filesystem::file_size(path);
    CAPTURE(full);
    CAPTURE(pruned);
    CHECK(full > 4'000'000);
    CHECK(pruned * 10 < full);

    // A store from before (auto_vacuum NONE) is converted by the daemon's start, once.
    {
      sqlite3* db = nullptr;
      REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
      REQUIRE(sqlite3_exec(db, "PRAGMA auto_vacuum=NONE; VACUUM;", nullptr, nullptr, nullptr) ==
              SQLITE_OK);
      sqlite3_close(db);
    }
    auto s = open();
    CHECK(*s->EnsureIncrementalVacuum() == true);
    CHECK(*s->EnsureIncrementalVacuum() == false);
    CHECK(*s->IntegrityCheck() == "ok");
  }

  TEST_CASE("migrations go down and up - an older store is refused without auto-migrate") {
    auto path = TempDb("migrate");
    {
      auto s = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
      REQUIRE(s);
      REQUIRE((*s)->Downgrade(1));
      CHECK((*s)->SchemaVersion() == 1);
      auto h = (*s)->History();
      REQUIRE(h);
      CHECK(h->at(0).applied_at != "");
      CHECK(h->at(1).applied_at == "");
    }
    auto refused = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::kFailedPrecondition);
    CHECK(refused.error().message.find("db upgrade") != std::string::npos);
    auto upgraded = SqliteStore::Open(path, SqliteStore::OpenMode::kAutoMigrate);
    REQUIRE(upgraded);
    CHECK((*upgraded)->SchemaVersion() == LatestSchemaVersion());
  }

  TEST_CASE(
      "schema 11 down and up: an open intent's segmented operations go back into its row whole, "
      "and are read whole again after the upgrade") {
    auto path = TempDb("intent-segments");
    core::OpLog ops;
    for (int i = 0; i < 20000; ++i)
      ops.push_back("  set nat destination rule " + std::to_string(10000 + i) + " protocol 'tcp'");
    REQUIRE(ops.TextSize() > core::OpLog::kSegmentBytes);  // two segments or more
    {
      auto s = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
      REQUIRE(s);
      REQUIRE((*s)->BeginIntent({0, "d", "t", 0, {}, {}}, 20000, ops));
      REQUIRE((*s)->Downgrade(10));
    }
    {
      // Read with SQLite itself: schema 10 keeps an intent's operations in its row.
      sqlite3* db = nullptr;
      REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
      sqlite3_stmt* st = nullptr;
      REQUIRE(sqlite3_prepare_v2(db, "SELECT operations FROM intents", -1, &st, nullptr) ==
              SQLITE_OK);
      REQUIRE(sqlite3_step(st) == SQLITE_ROW);
      const std::string text(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                             static_cast<size_t>(sqlite3_column_bytes(st, 0)));
      CHECK(text.size() == ops.TextSize());
      CHECK(text == ops.Text());
      sqlite3_finalize(st);
      sqlite3_close(db);
    }
    auto up = SqliteStore::Open(path, SqliteStore::OpenMode::kAutoMigrate);
    REQUIRE(up);
    auto open = (*up)->OpenIntents();
    REQUIRE(open);
    REQUIRE(open->size() == 1);
    CHECK(open->front().operations == ops.Text());
    REQUIRE((*up)->FinishIntent(open->front().id, "Success", "t2"));
    auto none = (*up)->OpenIntents();
    REQUIRE(none);
    CHECK(none->empty());
  }

  TEST_CASE("a store newer than the binary is refused") {
    auto path = TempDb("newer");
    {
      auto s = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
      REQUIRE(s);
    }
    // A later netconverge recorded a migration this binary does not know.
    std::string cmd =
        "sqlite3 " + path + " \"INSERT INTO schema_migrations VALUES (999, 'future', 'x')\"";
    REQUIRE(std::system(cmd.c_str()) == 0);
    auto refused = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("newer than this netconverge knows") != std::string::npos);
  }

  TEST_CASE("two processes opening a new store at once both succeed (migrations run once)") {
    for (int round = 0; round < 10; ++round) {
      auto path = TempDb(("race" + std::to_string(round)).c_str());
      std::atomic<int> ok{0};
      std::vector<std::thread> threads;
      for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
          auto s = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
          if (s && (*s)->SchemaVersion() == LatestSchemaVersion())
            ++ok;
          else if (!s)
            MESSAGE(s.error().message);
        });
      for (auto& t : threads) t.join();
      CHECK(ok == 4);
    }
  }

  TEST_CASE("allocations are stable and a number moves to its new owner") {
    auto s = SqliteStore::Open(":memory:", SqliteStore::OpenMode::kRequireCurrent);
    REQUIRE(s);
    auto& st = **s;
    REQUIRE(st.SaveAllocations("d", {{{"ns/a", "p"}, 10000}, {{"ns/b", "p"}, 10001}}, "t"));
    REQUIRE(st.SaveAllocations("d", {{{"ns/c", "p"}, 10001}}, "t"));
    auto a = st.Allocations("d");
    REQUIRE(a);
    CHECK(a->size() == 2);
    CHECK(a->at({"ns/c", "p"}) == 10001);
    CHECK_FALSE(a->count({"ns/b", "p"}));
  }

  TEST_CASE(
      "snapshots are stored compressed and read back whole - one taken before schema 8 (plain "
      "JSON) too - and a finished intent keeps no second copy of its operations") {
    auto path = TempDb("snapshots");
    auto s = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
    REQUIRE(s);
    auto& st = **s;
    std::map<int, core::NatRule> rules;
    for (int n = 10000; n < 12000; ++n) {
      core::NatRule r;
      r.description = "VM vm" + std::to_string(n) + " Port ssh [netconverge:default/vm]";
      r.inbound_interface = "eth0";
      r.protocol = "tcp";
      r.destination_port = std::to_string(n + 10000);
      r.translation_address = "192.168.10." + std::to_string(n % 250);
      rules[n] = r;
    }
    auto in = st.BeginIntent({0, "d", "t", 0, rules, {}}, 1, core::OpLog{"set a", "set b"});
    REQUIRE(in);
    REQUIRE(st.FinishIntent(in->id, "Success", "t"));
    auto back = st.GetSnapshot(in->snapshot_id);
    REQUIRE(back);
    CHECK(back->rules == rules);
    AppliedUpdate u;
    u.upserts[10001] = {"ns/a", "p", &rules[10001]};
    u.on_device = {10001};
    REQUIRE(st.RecordApplied("d", u, "t"));

    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    auto one = [&](const char* sql) {
      sqlite3_stmt* q = nullptr;
      REQUIRE(sqlite3_prepare_v2(db, sql, -1, &q, nullptr) == SQLITE_OK);
      REQUIRE(sqlite3_step(q) == SQLITE_ROW);
      std::string v = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
      sqlite3_finalize(q);
      return v;
    };
    const int64_t z = std::stoll(one("SELECT length(rules_z) FROM snapshots"));
    const int64_t json = std::stoll(one("SELECT SUM(length(rule_json)) FROM last_applied")) * 2000;
    CAPTURE(z);
    CAPTURE(json);
    CHECK(z * 5 < json);  // 2,000 rules: at least 5 times smaller than their JSON
    CHECK(one("SELECT rules_json FROM snapshots").empty());
    CHECK(one("SELECT operations FROM intents").empty());  // the run keeps them
    // As schema 7 wrote it: JSON, no rules_z.
    REQUIRE(sqlite3_exec(db,
                         "UPDATE snapshots SET rules_z = NULL, rules_json = '{\"10001\":' || "
                         "(SELECT rule_json FROM last_applied WHERE rule_number = 10001) || '}'",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto legacy = st.GetSnapshot(in->snapshot_id);
    REQUIRE(legacy);
    REQUIRE(legacy->rules.size() == 1);
    CHECK(legacy->rules.at(10001) == rules[10001]);
  }

  TEST_CASE("applied records are written and stale allocations end with their rules") {
    auto s = SqliteStore::Open(":memory:", SqliteStore::OpenMode::kRequireCurrent);
    REQUIRE(s);
    auto& st = **s;
    REQUIRE(st.SaveAllocations("d", {{{"ns/a", "p"}, 10000}, {{"ns/b", "p"}, 10001}}, "t"));
    core::NatRule r;
    r.description = "x [netconverge]";
    r.unmanaged = {"log"};
    AppliedUpdate u;
    u.upserts[10000] = {"ns/a", "p", &r};
    u.desired = {{"ns/a", "p"}};
    u.on_device = {10000};
    REQUIRE(st.RecordApplied("d", u, "t"));
    auto la = st.LastApplied("d");
    REQUIRE(la);
    CHECK(la->at(10000).rule == r);
    auto a = st.Allocations("d");
    CHECK(a->size() == 1);  // b is gone: not declared, not on the device
  }

  TEST_CASE("runs keep the operations sent - events are filtered newest first") {
    auto s = SqliteStore::Open(":memory:", SqliteStore::OpenMode::kRequireCurrent);
    REQUIRE(s);
    auto& st = **s;
    auto id = st.BeginRun("d", "poll", "2026-01-01T00:00:00Z");
    REQUIRE(id);
    Run run;
    run.id = *id;
    run.outcome = "Success";
    REQUIRE(st.FinishRun(run, {"set a", "set b"}));
    CHECK(*st.Operations(*id) == std::vector<std::string>{"set a", "set b"});
    REQUIRE(st.AddEvents(
        {{0, "2026-01-01T00:00:00Z", "d", "ns/a", "Normal", "Applied", "one", *id},
         {0, "2026-01-02T00:00:00Z", "d", "ns/b", "Warning", "DriftDetected", "two", *id},
         {0, "2026-01-03T00:00:00Z", "e", "", "Normal", "Applied", "three", 0}}));
    EventFilter f;
    f.device = "d";
    auto ev = st.Events(f);
    REQUIRE(ev->size() == 2);
    CHECK(ev->at(0).message == "two");
    f.since = "2026-01-02T00:00:00Z";
    f.device.clear();
    CHECK(st.Events(f)->size() == 2);
  }

  TEST_CASE(
      "retention prunes old runs with their operations, old events and closed intents, nothing "
      "else") {
    auto s = SqliteStore::Open(":memory:", SqliteStore::OpenMode::kRequireCurrent);
    REQUIRE(s);
    auto& st = **s;
    auto finished = [&](const std::string& at) {
      auto id = st.BeginRun("d", "poll", at);
      REQUIRE(id);
      Run run;
      run.id = *id;
      run.outcome = "Success";
      REQUIRE(st.FinishRun(run, {"set " + at}));
      return *id;
    };
    const int64_t old_run = finished("2026-01-01T00:00:00Z");
    const int64_t new_run = finished("2026-03-01T00:00:00Z");
    const auto open_run = st.BeginRun("d", "poll", "2026-01-01T00:00:00Z");  // never finished
    REQUIRE(open_run);
    REQUIRE(
        st.AddEvents({{0, "2026-01-01T00:00:00Z", "d", "", "Normal", "Applied", "old", old_run},
                      {0, "2026-03-01T00:00:00Z", "d", "", "Normal", "Applied", "new", new_run}}));
    REQUIRE(
        st.SaveAllocations("d", {{core::PortKey{"ns/a", "ssh"}, 10000}}, "2026-01-01T00:00:00Z"));
    auto n = st.Prune("2026-02-01T00:00:00Z");
    REQUIRE(n);
    CHECK(n->runs == 1);
    CHECK(n->events == 1);
    CHECK(st.Operations(old_run)->empty());
    CHECK(*st.Operations(new_run) == std::vector<std::string>{"set 2026-03-01T00:00:00Z"});
    auto runs = st.Runs("d", 10);
    REQUIRE(runs);
    CHECK(runs->size() == 2);  // the new one and the unfinished one
    auto ev = st.Events({});
    REQUIRE(ev->size() == 1);
    CHECK(ev->at(0).message == "new");
    CHECK(st.Allocations("d")->size() == 1);  // ownership is never pruned
  }

  TEST_CASE("rule records round-trip through JSON") {
    core::NatRule r;
    r.description = "VM a Port B [netconverge]";
    r.disabled = true;
    r.unmanaged = {"log", "source port 53"};
    CHECK(*NatRuleFromJson(NatRuleToJson(r)) == r);
  }
}

TEST_SUITE("store/sqlite") {
  TEST_CASE("a read that fails part-way is an error, never a partial result") {
    auto path = TempDb("partial");
    {
      auto s = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
      REQUIRE(s);
      std::map<core::PortKey, int> alloc;
      for (int i = 0; i < 3000; ++i)
        alloc[core::PortKey{"default/pf-" + std::to_string(i) + std::string(40, 'x'), "app"}] =
            10000 + i;
      REQUIRE((*s)->SaveAllocations("default/edge1", alloc, "2026-11-30T00:00:00Z"));
      auto all = (*s)->Allocations("default/edge1");
      REQUIRE(all);
      REQUIRE(all->size() == 3000);
    }  // closed: the WAL is checkpointed into the file
    // Damage pages in the second half of the file: the allocations table's later leaves.
    {
      const auto size = std::filesystem::file_size(path);
      REQUIRE(size > 64 * 1024);
      std::FILE* f = std::fopen(path.c_str(), "r+b");
      REQUIRE(f);
      for (uintmax_t off = size / 2; off + 4096 <= size; off += 4096) {
        std::fseek(f, static_cast<long>(off), SEEK_SET);
        const std::string junk(64, '\xff');
        std::fwrite(junk.data(), 1, junk.size(), f);
      }
      std::fclose(f);
    }
    auto s = SqliteStore::Open(path, SqliteStore::OpenMode::kRequireCurrent);
    if (!s) return;  // refusing to open a damaged store is as good: nothing partial is read
    auto all = (*s)->Allocations("default/edge1");
    INFO((all ? std::to_string(all->size()) + " allocations read" : all.error().message));
    CHECK((!all || all->size() == 3000));  // all or an error: never some
  }
}
