// The fault matrix (docs/operations.md): for each fault vyos-sim can inject during an apply,
// afterwards every rule on the device is wholly old or wholly new, the store agrees with the
// device, the expected events exist, and the device converges once the fault is gone.
#include <doctest/doctest.h>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <sqlite3.h>

#include <thread>

#include "test/integration/harness.hpp"

using namespace nc;
using namespace nc::testing;

namespace {

const std::string kOld =
    "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n"
    "    - {name: http, protocol: tcp, externalPort: 80}\n";
const std::string kNew =
    "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 2222}\n"
    "    - {name: https, protocol: tcp, externalPort: 443}\n";

struct Matrix : SimHarness {
  std::map<int, SimRule> old_rules;
  std::map<int, SimRule> new_rules;

  explicit Matrix(sim::VyosSim::Options o = {}, const std::string& extra = "")
      : SimHarness(o, extra) {
    REQUIRE(
        sim->ApplyOutOfBand("set nat destination rule 100 destination port '25'\n"
                            "set nat destination rule 100 inbound-interface name 'eth0'\n"
                            "set nat destination rule 100 protocol 'tcp'\n"
                            "set nat destination rule 100 translation address '192.168.10.5'\n"));
    Manifest("web1.yaml", PortForwardYaml("web1", "web1", kOld));
    REQUIRE_FALSE(Pass().error);
    old_rules = DeviceRules();
    Manifest("web1.yaml", PortForwardYaml("web1", "web1", kNew));
  }

  // Learns the new state once, on a scratch emulator fed the same passes.
  void LearnNew() {
    SimHarness scratch;
    REQUIRE(scratch.sim->ApplyOutOfBand(
        "set nat destination rule 100 destination port '25'\n"
        "set nat destination rule 100 inbound-interface name 'eth0'\n"
        "set nat destination rule 100 protocol 'tcp'\n"
        "set nat destination rule 100 translation address '192.168.10.5'\n"));
    scratch.Manifest("web1.yaml", PortForwardYaml("web1", "web1", kOld));
    REQUIRE_FALSE(scratch.Pass().error);
    scratch.Manifest("web1.yaml", PortForwardYaml("web1", "web1", kNew));
    REQUIRE_FALSE(scratch.Pass().error);
    new_rules = scratch.DeviceRules();
  }

  // Every rule number is wholly in the old or wholly in the new state (never a mix of leaves).
  void CheckWhole() {
    if (new_rules.empty()) LearnNew();
    auto now = DeviceRules();
    std::set<int> numbers;
    for (const auto& m : {now, old_rules, new_rules})
      for (const auto& [n, r] : m) numbers.insert(n);
    for (int n : numbers) {
      INFO("rule " << n);
      auto get = [&](const std::map<int, SimRule>& m) {
        auto it = m.find(n);
        return it == m.end() ? std::optional<SimRule>() : std::optional<SimRule>(it->second);
      };
      auto cur = get(now);
      CHECK((cur == get(old_rules) || cur == get(new_rules)));
    }
  }

  // The store agrees with the device: every last-applied record is what the device holds.
  void CheckStore() {
    CHECK(*store->IntegrityCheck() == "ok");
    auto records = store->LastApplied("default/edge1");
    REQUIRE(records);
    auto now = DeviceRules();
    for (const auto& [n, rec] : *records) {
      INFO("record " << n);
      if (now.count(n)) CHECK((now.at(n) == FromModel(rec.rule) || old_rules.count(n)));
    }
  }

  void CheckConverges() {
    sim->SetFaults({});
    auto r = Pass();
    REQUIRE_FALSE(r.error);
    if (new_rules.empty()) LearnNew();
    CHECK(DeviceRules() == new_rules);
    CHECK_FALSE(sim->ConfirmPending());
    CHECK_FALSE(Pass().plan.HasChanges());
  }
};

}  // namespace

TEST_SUITE("integration/faults") {
  TEST_CASE("fault: a commit refused once at commit time is tried again in the same pass") {
    Matrix m;
    sim::Faults f;
    f.fail_commits = 1;
    f.fail_message = "Commit failed: injected";
    m.sim->SetFaults(f);
    m.sim->ResetStats();
    auto r = m.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(m.sim->Stats().commits == 1);  // the refused attempt committed nothing
    CHECK(CountEvents(*m.store, "DeviceRejected") == 0);
    m.CheckWhole();
    m.CheckStore();
    m.CheckConverges();
  }

  TEST_CASE("fault: the commit lock is busy three times") {
    Matrix m;
    sim::Faults f;
    f.lock_busy = 3;
    m.sim->SetFaults(f);
    m.sim->ResetStats();
    auto r = m.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(m.sim->Stats().commits == 1);
    CHECK(m.sim->Stats().configure >= 4);
    m.CheckWhole();
    m.CheckStore();
    m.CheckConverges();
  }

  TEST_CASE("fault: 504 from the gateway after the commit succeeded") {
    Matrix m;
    sim::Faults f;
    f.after_commit = "504";
    f.after_commit_count = 1;
    m.sim->SetFaults(f);
    auto r = m.Pass();
    REQUIRE_FALSE(r.error);  // re-read: the commit happened; verified, confirmed, saved
    CHECK(std::find(r.operations.begin(), r.operations.end(),
                    "  (no answer: re-reading the device)") != r.operations.end());
    m.CheckWhole();
    m.CheckStore();
    m.CheckConverges();
  }

  TEST_CASE("fault: the connection drops after the commit and before the confirm") {
    sim::VyosSim::Options o;
    o.confirm_minute_ms = 2500;
    o.confirm_action = "reload";
    Matrix m(o, "  commitConfirm: {enabled: true, timeout: 1m}\n");
    sim::Faults f;
    f.fail_confirm = 3;
    m.sim->SetFaults(f);
    auto r = m.Pass();
    REQUIRE(r.error);
    CHECK(r.error->message.find("confirm failed") != std::string::npos);
    m.CheckWhole();  // new, unconfirmed
    for (int i = 0; i < 300 && m.sim->ConfirmPending(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(m.DeviceRules() == m.old_rules);  // the device's timer reverted it
    CHECK(CountEvents(*m.store, "ApplyFailed") == 1);
    m.CheckStore();
    m.CheckConverges();
  }

  TEST_CASE("fault: the read-back differs from the plan") {
    Matrix m;
    sim::Faults f;
    f.corrupt_skip = 1;      // the observe reads true ...
    f.corrupt_readback = 1;  // ... the verification read does not
    m.sim->SetFaults(f);
    auto r = m.Pass();
    REQUIRE(r.error);
    CHECK(r.error->message.find("verification failed") != std::string::npos);
    CHECK(m.DeviceRules() == m.old_rules);  // rolled back with the inverse plan
    CHECK_FALSE(m.sim->ConfirmPending());
    CHECK(CountEvents(*m.store, "RollbackSucceeded") == 1);
    m.CheckStore();
    m.CheckConverges();
  }

  TEST_CASE(
      "fault: answers that do not parse as rules stop the pass before any operation - observed or "
      "read back") {
    // Before: rule entries that were not objects parsed as empty rules; the plan "updated" them,
    // the read-back "differed", and the inverse plan deleted every rule and confirmed.
    const std::string deep =
        "{\"success\": true, \"error\": null, \"data\": " + std::string(150000, '[') +
        std::string(150000, ']') + "}";
    const std::vector<std::pair<std::string, std::string>> answers = {
        {"rule entries that are not objects",
         R"({"success": true, "error": null, "data": {"rule": {"100": "x", "101": [1, 2], "102": 7}}})"},
        {"a rule number that is not a number",
         R"({"success": true, "error": null, "data": {"rule": {"abc": {}}}})"},
        {"a port that is a number",
         R"({"success": true, "error": null, "data": {"rule": {"100": {"destination": {"port": 25}}}}})"},
        {"data that is a list", R"({"success": true, "error": null, "data": [1]})"},
        {"JSON nested 150,000 deep", deep},
    };
    for (const auto& [what, body] : answers) {
      for (int skip : {0, 1}) {  // 0: the observing read; 1: the verification read after the commit
        CAPTURE(what);
        CAPTURE(skip);
        Matrix m;
        sim::Faults f;
        f.answer_count = 1;
        f.answer_skip = skip;
        f.answer_body = body;
        m.sim->SetFaults(f);
        m.sim->ResetStats();
        auto r = m.Pass();
        REQUIRE(r.error);
        if (skip == 0) {
          CHECK(m.sim->Stats().commits ==
                0);  // nothing sent on the strength of an answer not understood
          CHECK(m.DeviceRules() == m.old_rules);
        } else {
          // The commit is not confirmed: the state to return to is the one read cleanly before it.
          CHECK(m.DeviceRules() == m.old_rules);
          CHECK(m.DeviceRules().count(100) == 1);  // the foreign rule was never touched
        }
        CHECK_FALSE(m.sim->ConfirmPending());
        m.CheckStore();
        m.CheckConverges();
      }
    }
  }

  TEST_CASE(
      "fault: the store refuses the pass's record - nothing is sent, it is logged, and the drift "
      "is repaired once it can write") {
    // Before: BeginRun failed silently after the device's answer was cached as seen, so every
    // later poll took the "unchanged" shortcut and the drift stayed on the router for good.
    Matrix m;
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
    m.log = std::make_shared<spdlog::logger>("test", sink);
    m.Restart();
    REQUIRE_FALSE(m.Pass().error);  // the new spec applied
    REQUIRE_FALSE(m.Poll().plan.HasChanges());
    const auto converged = m.DeviceRules();
    // The store cannot take a run for passes with this trigger (as with a full disk); the
    // trigger is created now, so that the passes after it see no change of data version.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(m.store_path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "CREATE TRIGGER full BEFORE INSERT ON runs WHEN NEW.trigger = 'refused' "
                         "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    REQUIRE_FALSE(m.Poll().plan.HasChanges());   // the cache is reloaded once for the schema change
    const int ours = converged.rbegin()->first;  // 100 is the hand-made rule
    REQUIRE(ours != 100);
    REQUIRE(m.sim->ApplyOutOfBand("set nat destination rule " + std::to_string(ours) +
                                  " translation port '9999'\n"));
    m.sim->ResetStats();
    auto refused = m.Pass(reconcilers::DeviceReconciler::Mode::kApply, "refused");
    REQUIRE(refused.error);
    CHECK(refused.error->message.find("store: cannot record the pass, nothing sent") !=
          std::string::npos);
    CHECK(m.sim->Stats().commits == 0);
    bool logged = false;
    for (const auto& line : sink->last_formatted())
      logged = logged || line.find("store: cannot record the pass") != std::string::npos;
    CHECK(logged);
    auto repaired = m.Poll();
    REQUIRE_FALSE(repaired.error);
    CHECK(repaired.plan.HasChanges());
    CHECK(m.DeviceRules() == converged);
  }

  TEST_CASE(
      "fault: a device that echoes the API key in a 5 MB error - the key is nowhere, the text is "
      "bounded") {
    Matrix m;
    const std::string key = "netconverge-demo-key";
    sim::Faults f;
    f.fail_commits = 3;
    f.fail_message =
        "Commit failed: request {\"key\": \"" + key + "\"} " + std::string(5 << 20, 'x');
    m.sim->SetFaults(f);
    auto r = m.Pass();
    REQUIRE(r.error);
    CHECK(r.error->message.find(key) == std::string::npos);
    CHECK(r.error->message.find("<redacted>") != std::string::npos);
    CHECK(r.error->message.size() <= 4200);
    store::EventFilter all;
    all.limit = 1000;
    auto events = m.store->Events(all);
    REQUIRE(events);
    size_t bytes = 0;
    for (const auto& e : *events) {
      CHECK(e.message.find(key) == std::string::npos);
      bytes += e.message.size();
    }
    CHECK(bytes < 64 * 1024);
    auto runs = m.store->Runs("default/edge1", 10);
    REQUIRE(runs);
    for (const auto& run : *runs) {
      CHECK(run.message.find(key) == std::string::npos);
      CHECK(run.message.size() <= 4200);
    }
    REQUIRE(r.device_row);
    CHECK(r.device_row->message.find(key) == std::string::npos);
  }

  TEST_CASE(
      "fault: the process dies between commit and confirm - recovery confirms the pending commit, "
      "the device never reverts") {
    // Before: the recovery pass found the new rules live, planned nothing, never confirmed, and
    // the device's timer reverted them a moment later (then the next commit found "another
    // commit-confirm is pending").
    Matrix m;
    sim::Faults f;
    f.fail_confirm = 3;  // every confirm of the pass is lost: the commit stays pending
    m.sim->SetFaults(f);
    REQUIRE(m.Pass().error);
    REQUIRE(m.sim->ConfirmPending());
    // What a kill before the intent's end leaves in the store: the intent open.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(m.store_path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "UPDATE intents SET finished_at = NULL, outcome = NULL WHERE id = (SELECT "
                         "MAX(id) FROM intents)",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    m.sim->SetFaults({});
    m.Restart();  // a new process
    CHECK(m.reconciler->Recover() == std::vector<std::string>{"default/edge1"});
    m.sim->ResetStats();
    auto r = m.Pass();
    REQUIRE_FALSE(r.error);
    CHECK_FALSE(m.sim->ConfirmPending());
    CHECK(m.sim->Stats().commits == 0);  // the confirmed commit already was the desired state
    m.LearnNew();
    CHECK(m.DeviceRules() == m.new_rules);
    CHECK(CountEvents(*m.store, "Recovered") == 2);  // the open intent, then its confirm
    m.CheckStore();
    m.CheckConverges();
  }

  TEST_CASE("fault: the device answers the commit after the request deadline") {
    Matrix m({}, "  vyos: {requestTimeout: 1s}\n");
    sim::Faults f;
    f.slow_ms = 2500;
    f.slow_count = 1;
    f.slow_path = "/configure";  // the commit happens; its answer comes too late
    m.sim->SetFaults(f);
    m.sim->ResetStats();
    auto r = m.Pass();
    REQUIRE_FALSE(r.error);  // deadline exceeded, re-read: committed; verified, confirmed, saved
    CHECK(std::find(r.operations.begin(), r.operations.end(),
                    "  (no answer: re-reading the device)") != r.operations.end());
    CHECK(m.sim->Stats().commits == 1);  // nothing was committed twice
    m.CheckWhole();
    m.CheckStore();
    m.CheckConverges();
  }

  TEST_CASE("fault: a reboot loses changes that could not be saved") {
    Matrix m;
    sim::Faults f;
    f.fail_saves = 1;
    m.sim->SetFaults(f);
    auto r = m.Pass();
    REQUIRE(r.error);
    CHECK(r.error->message.find("save failed") != std::string::npos);
    m.CheckWhole();
    m.sim->Reboot();  // the unsaved change is gone
    CHECK(m.DeviceRules() == m.old_rules);
    m.CheckStore();
    m.CheckConverges();
    m.sim->Reboot();  // and now it survives a reboot
    m.LearnNew();
    CHECK(m.DeviceRules() == m.new_rules);
  }
}
