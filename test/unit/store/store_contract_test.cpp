// The store::Store contract, run against both implementations: the product's SqliteStore (a real
// file) and the tests' MemoryStore (test/fakes). A reconciler test on the fake proves something
// about the product only while the two agree; this suite is where they are held to it.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>

#include "controller/store/sqlite_store.hpp"
#include "test/fakes/memory_store.hpp"

using namespace nc;

namespace {

struct Sqlite {
  std::filesystem::path dir;
  std::unique_ptr<store::SqliteStore> s;
  Sqlite() {
    static int n = 0;
    dir = std::filesystem::temp_directory_path() /
          ("nc-contract-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
    std::filesystem::create_directories(dir);
    auto o = store::SqliteStore::Open((dir / "s.db").string(),
                                      store::SqliteStore::OpenMode::kAutoMigrate);
    REQUIRE(o);
    s = std::move(*o);
  }
  ~Sqlite() {
    s.reset();
    std::filesystem::remove_all(dir);
  }
  store::Store& get() { return *s; }
};

struct Memory {
  fakes::MemoryStore s;
  store::Store& get() { return s; }
};

core::NatRule Rule(const std::string& port) {
  core::NatRule r;
  r.description = "[netconverge] x";
  r.protocol = "tcp";
  r.destination_port = port;
  r.translation_address = "10.0.0.1";
  return r;
}

store::Event Ev(const std::string& time, const std::string& device, const std::string& resource,
                const std::string& reason) {
  return store::Event{0, time, device, resource, "Normal", reason, reason + " at " + time, 0};
}

}  // namespace

TEST_SUITE("unit/store-contract") {
  TEST_CASE_TEMPLATE(
      "allocations: a saved number replaces the port's old number and the number's old port", T,
      Sqlite, Memory) {
    T impl;
    auto& s = impl.get();
    REQUIRE(s.SaveAllocations("d", {{{"r", "a"}, 10}, {{"r", "b"}, 11}}, "t"));
    REQUIRE(s.SaveAllocations("d", {{{"r", "a"}, 12}, {{"r", "c"}, 11}}, "t"));
    REQUIRE(s.SaveAllocations("other", {{{"r", "a"}, 10}}, "t"));
    auto a = s.Allocations("d");
    REQUIRE(a);
    CHECK(*a == std::map<core::PortKey, int>{{{"r", "a"}, 12}, {{"r", "c"}, 11}});
  }

  TEST_CASE_TEMPLATE(
      "applied records: upserts, removals, released numbers and stale allocations in one update", T,
      Sqlite, Memory) {
    T impl;
    auto& s = impl.get();
    REQUIRE(s.SaveAllocations("d", {{{"r", "a"}, 10}, {{"r", "b"}, 11}, {{"r", "c"}, 12}}, "t"));
    store::AppliedUpdate u;
    const auto r1 = Rule("1"), r2 = Rule("2"), r3 = Rule("3");
    u.upserts = {{10, {"r", "a", &r1}}, {11, {"r", "b", &r2}}, {12, {"r", "c", &r3}}};
    u.desired = {{"r", "a"}, {"r", "b"}, {"r", "c"}};
    u.on_device = {10, 11, 12};
    REQUIRE(s.RecordApplied("d", u, "t"));
    store::AppliedUpdate v;
    v.removed = {11};
    v.released = {11};
    v.desired = {{"r", "a"}};  // c no longer declared and gone from the device: its allocation ends
    v.on_device = {10};
    REQUIRE(s.RecordApplied("d", v, "t"));
    auto last = s.LastApplied("d");
    REQUIRE(last);
    REQUIRE(last->size() == 1);
    CHECK(last->at(10).rule == Rule("1"));
    auto a = s.Allocations("d");
    REQUIRE(a);
    CHECK(*a == std::map<core::PortKey, int>{{{"r", "a"}, 10}});
  }

  TEST_CASE_TEMPLATE("a run's operations of many log segments read back as every line in order", T,
                     Sqlite, Memory) {
    T impl;
    auto& s = impl.get();
    core::OpLog ops;
    std::vector<std::string> lines;
    for (int i = 0; i < 30000; ++i) {
      lines.push_back("  set nat destination rule " + std::to_string(10000 + i) +
                      " translation address '192.168.10." + std::to_string(i % 250) + "'");
      ops.push_back(lines.back());
    }
    REQUIRE(ops.TextSize() > 2 * core::OpLog::kSegmentBytes);  // three segments or more
    auto r = s.BeginRun("d", "manifest-change", "2026-01-01T00:00:00Z");
    REQUIRE(r);
    REQUIRE(s.FinishRun({*r, "d", "manifest-change", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z",
                         "Success", "", 30000, 1, 1000, 30000, 0, 0, "https-api", "controller", 0},
                        ops));
    auto back = s.Operations(*r);
    REQUIRE(back);
    CHECK(back->size() == lines.size());
    CHECK(*back == lines);
    // An intent's operations, written segment by segment, read back as the one text.
    REQUIRE(s.BeginIntent({0, "d", "2026-01-01T00:00:02Z", *r, {}, {}}, 30000, ops));
    auto open = s.OpenIntents();
    REQUIRE(open);
    REQUIRE(open->size() == 1);
    CHECK(open->front().operations.size() == ops.TextSize());
    CHECK(open->front().operations == ops.Text());
  }

  TEST_CASE_TEMPLATE(
      "runs: newest first, limited, operations line by line - a quiet pass adds no run, it moves "
      "the device row's last-seen time and counts - a recorded status resets the count",
      T, Sqlite, Memory) {
    T impl;
    auto& s = impl.get();
    auto r1 = s.BeginRun("d", "poll", "2026-01-01T00:00:00Z");
    REQUIRE(r1);
    REQUIRE(s.FinishRun({*r1, "d", "poll", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z",
                         "Success", "", 2, 1, 1000, 1, 1, 0, "https-api", "api key:ops", 0},
                        {"set a", "set b"}));
    auto r2 = s.BeginRun("e", "poll", "2026-01-01T00:00:02Z");
    REQUIRE(r2);
    store::DeviceStatusRow row;
    row.device = "d";
    row.last_observed_at = "old";
    REQUIRE(s.SaveStatus(row, nullptr));
    row.last_run_id = *r1;
    REQUIRE(s.SaveStatus(row, nullptr));
    REQUIRE(s.RecordQuietPass("d", "new", "2026-01-01T00:00:03Z"));
    REQUIRE(s.RecordQuietPass("d", "new", "2026-01-01T00:00:04Z"));
    REQUIRE(s.RecordQuietPass("absent", "new", "2026-01-01T00:00:04Z"));  // no row: nothing
    auto all = s.Runs("", 10);
    REQUIRE(all);
    REQUIRE(all->size() == 2);  // quiet passes add no run
    CHECK(all->at(0).id == *r2);
    CHECK(all->at(1).outcome == "Success");
    auto d = s.Runs("d", 1);
    REQUIRE(d);
    REQUIRE(d->size() == 1);
    CHECK(d->at(0).id == *r1);  // still d's newest: the quiet passes added none
    // What the history shows: the counts, the transport and who asked, by list and by id.
    for (const auto& run : {d->at(0), *s.GetRun(*r1)}) {
      CHECK(run.id == *r1);
      CHECK(run.added == 1);
      CHECK(run.updated == 1);
      CHECK(run.deleted == 0);
      CHECK(run.commits == 1);
      CHECK(run.transport == "https-api");
      CHECK(run.actor == "api key:ops");
    }
    auto none = s.GetRun(*r2 + 100);
    REQUIRE_FALSE(none);
    CHECK(none.error().code == ErrorCode::kNotFound);
    auto ops = s.Operations(*r1);
    REQUIRE(ops);
    CHECK(*ops == std::vector<std::string>{"set a", "set b"});
    auto rows = s.DeviceStatuses();
    REQUIRE(rows);
    REQUIRE(rows->size() == 1);
    CHECK(rows->at(0).last_observed_at == "new");
    CHECK(rows->at(0).updated_at == "2026-01-01T00:00:04Z");
    CHECK(rows->at(0).last_run_id == *r1);
    CHECK(rows->at(0).quiet_polls == 2);
    REQUIRE(s.SaveStatus(row, nullptr));  // a recorded pass: counting starts again
    rows = s.DeviceStatuses();
    REQUIRE(rows);
    CHECK(rows->at(0).quiet_polls == 0);
  }

  TEST_CASE_TEMPLATE(
      "intents and snapshots: open until finished, the newest `keep` snapshots kept, unknown ids "
      "NotFound",
      T, Sqlite, Memory) {
    T impl;
    auto& s = impl.get();
    store::Snapshot snap{0, "d", "2026-01-01T00:00:00Z", 0, {{10, Rule("1")}}, {}};
    std::vector<store::Intent> in;
    for (int i = 0; i < 3; ++i) {
      auto x = s.BeginIntent(snap, 1, core::OpLog{"set x"}, 2);
      REQUIRE(x);
      in.push_back(*x);
    }
    REQUIRE(s.FinishIntent(in[1].id, "Success", "2026-01-01T00:00:01Z"));
    auto open = s.OpenIntents();
    REQUIRE(open);
    REQUIRE(open->size() == 2);
    CHECK(open->at(0).id == in[0].id);
    CHECK(open->at(1).operations == "set x\n");
    auto snaps = s.Snapshots("d", 10);
    REQUIRE(snaps);
    REQUIRE(snaps->size() == 2);
    CHECK(snaps->at(0).id == in[2].snapshot_id);
    auto got = s.GetSnapshot(in[2].snapshot_id);
    REQUIRE(got);
    CHECK(got->rules == snap.rules);
    auto gone = s.GetSnapshot(in[0].snapshot_id);
    REQUIRE_FALSE(gone);
    CHECK(gone.error().code == ErrorCode::kNotFound);
  }

  TEST_CASE_TEMPLATE(
      "events: filtered by device, resource and time, newest first - an override writes its audit "
      "event",
      T, Sqlite, Memory) {
    T impl;
    auto& s = impl.get();
    REQUIRE(s.AddEvents({Ev("2026-01-01T00:00:00Z", "d", "", "A"),
                         Ev("2026-01-02T00:00:00Z", "d", "d/r", "B"),
                         Ev("2026-01-03T00:00:00Z", "e", "", "C")}));
    store::EventFilter f;
    f.device = "d";
    auto d = s.Events(f);
    REQUIRE(d);
    REQUIRE(d->size() == 2);
    CHECK(d->at(0).reason == "B");
    f.resource = "d/r";
    CHECK(s.Events(f)->size() == 1);
    store::EventFilter since;
    since.since = "2026-01-02T00:00:00Z";
    since.limit = 1;
    auto x = s.Events(since);
    REQUIRE(x);
    REQUIRE(x->size() == 1);
    CHECK(x->at(0).reason == "C");
    REQUIRE(s.SetOverride({"d", "Observe", "", "t", "cli ops"},
                          Ev("2026-01-04T00:00:00Z", "d", "", "PhaseChanged")));
    auto o = s.Overrides();
    REQUIRE(o);
    CHECK(o->at("d").management == "Observe");
    CHECK(o->at("d").updated_by == "cli ops");
    REQUIRE(
        s.SetOverride({"d", "", "", "t", ""}, Ev("2026-01-05T00:00:00Z", "d", "", "PhaseCleared")));
    CHECK(s.Overrides()->empty());
    f.resource.clear();
    auto after = s.Events(f);
    REQUIRE(after);
    CHECK(after->size() == 4);
    CHECK(after->at(0).reason == "PhaseCleared");
  }

  TEST_CASE_TEMPLATE(
      "prune: old finished runs, events and closed intents go - a run an open intent refers to "
      "stays",
      T, Sqlite, Memory) {
    T impl;
    auto& s = impl.get();
    auto a = s.BeginRun("d", "poll", "2026-01-01T00:00:00Z");
    auto b = s.BeginRun("d", "poll", "2026-01-01T00:00:01Z");
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(s.FinishRun({*a, "d", "poll", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "Success",
                         "", 0, 0, 0, 0, 0, 0, "", "", 0},
                        {"x"}));
    REQUIRE(s.FinishRun({*b, "d", "poll", "2026-01-01T00:00:01Z", "2026-01-01T00:00:01Z", "Failed",
                         "", 0, 0, 0, 0, 0, 0, "", "", 0},
                        {}));
    REQUIRE(s.BeginIntent({0, "d", "2026-01-01T00:00:01Z", *b, {}, {}}, 1, core::OpLog{"x"}));
    REQUIRE(s.AddEvents(
        {Ev("2026-01-01T00:00:00Z", "d", "", "Old"), Ev("2026-02-01T00:00:00Z", "d", "", "New")}));
    // Device e: three old snapshots whose applies finished - the newest of them stays.
    std::vector<int64_t> snaps;
    for (const char* at :
         {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z"}) {
      auto in = s.BeginIntent({0, "e", at, 0, {}, {}}, 1, core::OpLog{"y"});
      REQUIRE(in);
      REQUIRE(s.FinishIntent(in->id, "Success", at));
      snaps.push_back(in->snapshot_id);
    }
    auto n = s.Prune("2026-01-15T00:00:00Z");
    REQUIRE(n);
    CHECK(n->runs == 1);
    CHECK(n->events == 1);
    CHECK(n->snapshots == 2);
    CHECK(!s.GetSnapshot(snaps[0]));
    CHECK(!s.GetSnapshot(snaps[1]));
    CHECK(s.GetSnapshot(snaps[2]));            // e's newest
    CHECK(s.Snapshots("d", 10)->size() == 1);  // an open intent's
    auto runs = s.Runs("d", 10);
    REQUIRE(runs);
    REQUIRE(runs->size() == 1);
    CHECK(runs->at(0).id == *b);
    CHECK(s.Operations(*a)->empty());
  }

  TEST_CASE_TEMPLATE("status: ports replaced only when given, read back in rule order", T, Sqlite,
                     Memory) {
    T impl;
    auto& s = impl.get();
    store::DeviceStatusRow d;
    d.device = "d";
    d.reachable = true;
    std::vector<store::PortStatusRow> ports = {{"d", "r", "b", "B", 11, "Applied", "", "", "t"},
                                               {"d", "r", "a", "A", 10, "Applied", "", "", "t"}};
    REQUIRE(s.SaveStatus(d, &ports));
    d.synced = true;
    REQUIRE(s.SaveStatus(d, nullptr));
    auto p = s.PortStatuses("d");
    REQUIRE(p);
    REQUIRE(p->size() == 2);
    CHECK(p->at(0).port == "a");
    auto rows = s.DeviceStatuses();
    REQUIRE(rows);
    CHECK(rows->at(0).synced);
  }

  TEST_CASE_TEMPLATE(
      "outbox - written with its event - due when its time comes - not queued twice while "
      "pending - retried with its error - settled - retention expires the never-accepted",
      T, Sqlite, Memory) {
    T impl;
    auto& s = impl.get();
    auto note = [](const std::string& webhook, const std::string& reason, const std::string& key,
                   const std::string& at) {
      return store::Notification{0,  webhook, "d", reason, key, "{\"reason\":\"" + reason + "\"}",
                                 at, at,      0,   ""};
    };
    const auto e = Ev("2026-01-01T00:00:00Z", "d", "r", "ConflictDetected");
    REQUIRE(
        s.AddEventsAndNotify({e}, {note("w1", "ConflictDetected", "r|x", "2026-01-01T00:00:00Z"),
                                   note("w2", "ConflictDetected", "r|x", "2026-01-01T00:00:00Z"),
                                   note("w1", "Unreachable", "|down", "2026-01-01T00:10:00Z")}));
    CHECK(s.Events({})->size() == 1);
    CHECK(*s.PendingNotifications() == 3);
    // The same again while pending: not queued twice (a restart re-announcing a standing one).
    REQUIRE(
        s.AddEventsAndNotify({e}, {note("w1", "ConflictDetected", "r|x", "2026-01-01T00:01:00Z")}));
    CHECK(*s.PendingNotifications() == 3);
    auto due = s.DueNotifications("2026-01-01T00:05:00Z", 10);
    REQUIRE(due);
    REQUIRE(due->size() == 2);  // the Unreachable one waits until 00:10
    CHECK(due->at(0).webhook == "w1");
    CHECK(due->at(1).webhook == "w2");
    CHECK(due->at(0).id < due->at(1).id);
    CHECK(due->at(0).body == "{\"reason\":\"ConflictDetected\"}");
    REQUIRE(s.RetryNotification(due->at(0).id, "2026-01-01T00:06:00Z", "HTTP 503"));
    REQUIRE(s.SettleNotification(due->at(1).id, "delivered", "2026-01-01T00:05:00Z"));
    due = s.DueNotifications("2026-01-01T00:05:30Z", 10);
    REQUIRE(due);
    CHECK(due->empty());
    due = s.DueNotifications("2026-01-01T00:10:00Z", 10);
    REQUIRE(due);
    REQUIRE(due->size() == 2);
    CHECK(due->at(0).attempts == 1);
    CHECK(due->at(0).last_error == "HTTP 503");
    CHECK(due->at(1).reason == "Unreachable");
    CHECK(*s.PendingNotifications() == 2);
    // Delivered, a new one of the same kind may be queued again.
    REQUIRE(
        s.AddEventsAndNotify({}, {note("w2", "ConflictDetected", "r|x", "2026-01-02T00:00:00Z")}));
    CHECK(*s.PendingNotifications() == 3);
    auto n = s.Prune("2026-01-01T12:00:00Z");
    REQUIRE(n);
    CHECK(n->notifications == 1);          // the delivered one
    CHECK(n->notifications_expired == 2);  // pending since before the retention
    CHECK(*s.PendingNotifications() == 1);
    due = s.DueNotifications("2026-01-03T00:00:00Z", 10);
    REQUIRE(due);
    REQUIRE(due->size() == 1);
    CHECK(due->at(0).created_at == "2026-01-02T00:00:00Z");
  }
}
