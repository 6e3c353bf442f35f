// The reconciler in-process: the real DeviceReconciler over the store contract in memory
// (fakes::MemoryStore) and devices behind the adapter contract (fakes::FakeDevice), with a clock
// that moves only when told. No socket, no file, no thread: each case is a few passes and
// asserts what reached the device and what the store recorded.
#include <doctest/doctest.h>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <string>

#include "controller/api/v1alpha1/yaml_codec.hpp"
#include "controller/core/validate.hpp"
#include "controller/reconcilers/device_reconciler.hpp"
#include "test/fakes/fake_clock.hpp"
#include "test/fakes/fake_device.hpp"
#include "test/fakes/memory_store.hpp"
#include "test/unit/core/fixtures.hpp"

using namespace nc;
using reconcilers::DeviceReconciler;
using reconcilers::DeviceResult;

namespace {

constexpr const char* kEdge = "default/edge1";

std::string DeviceYaml(const std::string& extra = "") {
  return "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: edge1, namespace: "
         "default}\n"
         "spec:\n  platform: vyos\n  address: 127.0.0.1:8443\n  credentialsRef: {file: "
         "creds.yaml}\n"
         "  ownership: {ruleRange: 10000-10099, tag: netconverge}\n" +
         extra;
}

// A PortForward with one tcp port per `ports` entry (name=externalPort), plus spec lines.
std::string PortForward(const std::string& name,
                        const std::vector<std::pair<std::string, std::string>>& ports,
                        const std::string& extra = "") {
  std::string y =
      "---\napiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: " + name +
      ", namespace: default}\nspec:\n  deviceRef: edge1\n  vm: " + name +
      "\n  internalAddress: 192.168.10.11\n  inboundInterface: eth0\n" + extra + "  ports:\n";
  for (const auto& [port, ext] : ports)
    y += "    - {name: " + port + ", protocol: tcp, externalPort: \"" + ext + "\"}\n";
  return y;
}

core::NatRule Foreign(const std::string& port) {
  core::NatRule r;
  r.description = "hand-made";
  r.inbound_interface = "eth0";
  r.protocol = "tcp";
  r.destination_port = port;
  r.translation_address = "10.9.9.9";
  return r;
}

struct Rig {
  fakes::MemoryStore store;
  fakes::FakeFactory factory;
  testing::FakeClock clock;
  std::shared_ptr<spdlog::logger> log =
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  core::ServiceTable services = testing::DebianServices();
  std::unique_ptr<DeviceReconciler> rec;
  core::DesiredState desired;
  uint64_t generation = 0;

  Rig() { Restart(); }
  /// A new process on the same store and devices (caches gone).
  void Restart() {
    rec = std::make_unique<DeviceReconciler>(store, factory, clock, log, services);
    rec->SetDeletionGuard(2.0, 0);  // off unless a case turns it on
  }
  void Declare(const std::string& yaml) {
    auto decoded = api::DecodeManifests(yaml, "test.yaml");
    REQUIRE(decoded.problems.empty());
    auto v = core::Validate(decoded.manifests, services);
    for (const auto& p : v.problems) FAIL_CHECK(p.message);
    REQUIRE(v.problems.empty());
    desired = std::move(v.desired);
    desired.generation = ++generation;
  }
  DeviceResult Pass(const std::string& trigger = "poll",
                    DeviceReconciler::Mode mode = DeviceReconciler::Mode::kApply) {
    return rec->Reconcile(desired, kEdge, trigger, mode);
  }
  fakes::FakeDeviceState& Edge() { return *factory.Device(kEdge); }
  std::vector<store::Event> Events(const std::string& reason) {
    store::EventFilter f;
    f.limit = 1000;
    auto all = store.Events(f);
    REQUIRE(all);
    std::vector<store::Event> out;
    for (const auto& e : *all)
      if (e.reason == reason) out.push_back(e);
    return out;
  }
  std::string State(const std::string& resource, const std::string& port) {
    auto rows = store.PortStatuses(kEdge);
    REQUIRE(rows);
    for (const auto& r : *rows)
      if (r.resource == resource && r.port == port) return r.state;
    return "(none)";
  }
  int NumberOf(const std::string& resource, const std::string& port) {
    auto a = store.Allocations(kEdge);
    REQUIRE(a);
    auto it = a->find({resource, port});
    return it == a->end() ? 0 : it->second;
  }
  store::DeviceStatusRow Row() {
    auto rows = store.DeviceStatuses();
    REQUIRE(rows);
    REQUIRE(rows->size() == 1);
    return rows->front();
  }
};

}  // namespace

TEST_SUITE("unit/reconciler") {
  TEST_CASE(
      "a first pass adds every declared port with the lowest free numbers, records them, one "
      "commit") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}, {"ssh", "2201"}}));
    auto r = t.Pass("manifest-change");
    REQUIRE_FALSE(r.error);
    CHECK(r.commits == 1);
    CHECK(t.Edge().applies == 1);
    REQUIRE(t.Edge().rules.size() == 2);
    CHECK(t.Edge().rules.at(10000).destination_port == "80");
    CHECK(t.Edge().rules.at(10001).destination_port == "2201");
    CHECK(t.NumberOf("default/web1", "http") == 10000);
    auto last = t.store.LastApplied(kEdge);
    REQUIRE(last);
    CHECK(last->size() == 2);
    CHECK(t.State("default/web1", "ssh") == "Applied");
    CHECK(t.Events("Applied").size() == 1);
    auto runs = t.store.Runs(kEdge, 10);
    REQUIRE(runs);
    REQUIRE(runs->size() == 1);
    CHECK(runs->front().outcome == "Success");
    auto ops = t.store.Operations(runs->front().id);
    REQUIRE(ops);
    CHECK(*ops == std::vector<std::string>{"set nat destination rule 10000",
                                           "set nat destination rule 10001"});
    CHECK(t.Row().synced);
  }

  TEST_CASE(
      "allocation: numbers survive a restart and the removal of another port - a freed number is "
      "not reused while its rule exists") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("a", {{"p1", "1001"}, {"p2", "1002"}, {"p3", "1003"}}));
    REQUIRE_FALSE(t.Pass().error);
    t.Restart();
    t.Declare(DeviceYaml() + PortForward("a", {{"p1", "1001"}, {"p3", "1003"}, {"p4", "1004"}}));
    auto r = t.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(t.NumberOf("default/a", "p1") == 10000);
    CHECK(t.NumberOf("default/a", "p3") == 10002);
    // p2's rule 10001 was deleted in the same pass, so p4 does not take it over mid-flight.
    CHECK(t.NumberOf("default/a", "p4") == 10003);
    CHECK(t.Edge().rules.count(10001) == 0);
    CHECK(t.Edge().rules.at(10002).destination_port == "1003");
  }

  TEST_CASE(
      "an unchanged poll plans nothing, sends nothing, adds no run and counts on the device row") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    REQUIRE_FALSE(t.Pass().error);
    REQUIRE_FALSE(t.Pass().error);  // the first clean pass at these inputs
    const int begun = t.store.Calls("BeginRun");
    const int parsed = t.Edge().parsed_observes;
    const auto runs = t.store.Runs("", 1000)->size();
    auto r = t.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(r.unchanged_poll);
    CHECK(t.Edge().applies == 1);
    CHECK(t.store.Calls("BeginRun") == begun);
    CHECK(t.store.Calls("RecordQuietPass") == 1);
    CHECK(t.store.Runs("", 1000)->size() == runs);  // no run for it
    REQUIRE(r.device_row);
    CHECK(r.device_row->quiet_polls == 1);
    CHECK(t.Edge().parsed_observes == parsed);  // the answer's fingerprint matched: not parsed
  }

  TEST_CASE("a pass that changes no port's row writes the device row only") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}, {"https", "443"}}));
    REQUIRE_FALSE(t.Pass().error);
    const int port_writes = t.store.Calls("SaveStatus+ports");
    CHECK(port_writes >= 1);
    // Planned in full again (not a poll), nothing new for any port: the rows stay as stored.
    REQUIRE_FALSE(t.Pass("manifest-change").error);
    CHECK(t.store.Calls("SaveStatus+ports") == port_writes);
    // One port's spec changes a minute later: its row's last-applied time moves, so the rows
    // are written.
    t.clock.Advance(std::chrono::minutes(1));
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "8080"}, {"https", "443"}}));
    REQUIRE_FALSE(t.Pass("manifest-change").error);
    CHECK(t.store.Calls("SaveStatus+ports") == port_writes + 1);
  }

  TEST_CASE("a spec change updates only that rule - a removed port's rule is deleted") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("a", {{"p1", "1001"}, {"p2", "1002"}}));
    REQUIRE_FALSE(t.Pass().error);
    t.Declare(DeviceYaml() + PortForward("a", {{"p1", "1101"}}));
    auto r = t.Pass("manifest-change");
    REQUIRE_FALSE(r.error);
    REQUIRE(r.plan.changes.size() == 2);
    CHECK(r.plan.changes[0].kind == core::ChangeKind::kUpdate);
    CHECK(r.plan.changes[1].kind == core::ChangeKind::kDelete);
    CHECK(t.Edge().rules.size() == 1);
    CHECK(t.Edge().rules.at(10000).destination_port == "1101");
    CHECK(r.report.updated.size() == 1);
    CHECK(r.report.deleted.size() == 1);
  }

  TEST_CASE(
      "onConflict Abort (default): a hand-made rule on the port leaves the resource alone, "
      "once-recorded ConflictDetected") {
    Rig t;
    t.Edge().rules[100] = Foreign("25");
    t.Declare(DeviceYaml() + PortForward("mail", {{"smtp", "25"}}));
    for (int i = 0; i < 3; ++i) REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Edge().applies == 0);
    CHECK(t.Edge().rules.at(100) == Foreign("25"));
    CHECK(t.State("default/mail", "smtp") == "Conflict");
    CHECK(t.Events("ConflictDetected").size() == 1);
    CHECK_FALSE(t.Row().synced);
  }

  TEST_CASE("onConflict Skip applies the other ports and leaves the hand-made rule") {
    Rig t;
    t.Edge().rules[100] = Foreign("25");
    t.Declare(DeviceYaml() +
              PortForward("mail", {{"smtp", "25"}, {"imap", "143"}}, "  onConflict: Skip\n"));
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Edge().rules.at(100) == Foreign("25"));
    CHECK(t.Edge().rules.size() == 2);
    CHECK(t.State("default/mail", "smtp") == "Skipped");
    CHECK(t.State("default/mail", "imap") == "Applied");
  }

  TEST_CASE("onConflict Override deletes the hand-made rule and creates ours in the same commit") {
    Rig t;
    t.Edge().rules[100] = Foreign("25");
    t.Declare(DeviceYaml() + PortForward("mail", {{"smtp", "25"}}, "  onConflict: Override\n"));
    auto r = t.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(r.commits == 1);
    CHECK(t.Edge().rules.count(100) == 0);
    CHECK(t.Edge().rules.at(10000).translation_address == "192.168.10.11");
  }

  TEST_CASE("onConflict Adopt records ownership before it changes the rule, and keeps its number") {
    Rig t;
    t.Edge().rules[100] = Foreign("25");
    int saved_before_apply = -1;
    t.store.fail = [&](const std::string& m) -> std::optional<Error> {
      if (m == "BeginIntent" && saved_before_apply < 0)
        saved_before_apply = t.NumberOf("default/mail", "smtp");
      return std::nullopt;
    };
    t.Declare(DeviceYaml() + PortForward("mail", {{"smtp", "25"}}, "  onConflict: Adopt\n"));
    auto r = t.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(saved_before_apply == 100);
    CHECK(t.Edge().rules.at(100).translation_address == "192.168.10.11");
    CHECK(t.Edge().rules.size() == 1);
    CHECK(t.State("default/mail", "smtp") == "Applied");
  }

  TEST_CASE("drift with Enforce: an out-of-band change is reverted and recorded") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    REQUIRE_FALSE(t.Pass().error);
    t.Edge().rules.at(10000).translation_port = "8080";
    auto r = t.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(t.Edge().applies == 2);
    CHECK(t.Edge().rules.at(10000).translation_port.empty());
    CHECK(t.Events("DriftDetected").size() == 1);
  }

  TEST_CASE("drift with Report: recorded once, shown as Drifted, never reverted") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}, "  driftPolicy: Report\n"));
    REQUIRE_FALSE(t.Pass().error);
    t.Edge().rules.at(10000).translation_port = "8080";
    for (int i = 0; i < 3; ++i) REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Edge().applies == 1);
    CHECK(t.Edge().rules.at(10000).translation_port == "8080");
    CHECK(t.State("default/web1", "http") == "Drifted");
    CHECK(t.Events("DriftDetected").size() == 1);  // a standing condition: recorded when it appears
    CHECK(t.Row().drifted == 1);
  }

  TEST_CASE(
      "an unreachable device: the pass fails, one Unreachable event, the device row says so, the "
      "queue backs off") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    t.Edge().observe_error = Error{ErrorCode::kUnavailable, "connect: connection refused"};
    for (int i = 0; i < 2; ++i) {
      auto r = t.Pass();
      REQUIRE(r.error);
      CHECK(r.error->code == ErrorCode::kUnavailable);
      CHECK(r.requeue_after.count() == 0);  // the work queue's backoff decides
    }
    CHECK(t.Edge().applies == 0);
    CHECK(t.Events("Unreachable").size() == 1);
    CHECK_FALSE(t.Row().reachable);
    t.Edge().observe_error.reset();
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Row().reachable);
    CHECK(t.Edge().rules.size() == 1);
  }

  TEST_CASE("refused credentials are AuthenticationFailed, a standing condition, not Unreachable") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    t.Edge().observe_error = Error{ErrorCode::kPermissionDenied, "401 invalid API key"};
    auto r = t.Pass();
    REQUIRE(r.error);
    CHECK(t.Events("AuthenticationFailed").size() == 1);
    CHECK(t.Events("Unreachable").empty());
    REQUIRE(r.conditions.size() == 1);
    CHECK(r.conditions[0].first == "AuthenticationFailed");
  }

  TEST_CASE(
      "a device that refuses one resource: it is isolated, the others applied, held until its spec "
      "changes") {
    Rig t;
    t.Edge().refuse = [](const core::Plan& p) -> std::optional<std::string> {
      for (const auto& ch : p.changes)
        if (ch.after && ch.after->destination_port == "6666")
          return "Invalid port 6666 in rule " + std::to_string(ch.number);
      return std::nullopt;
    };
    t.Declare(DeviceYaml() + PortForward("bad", {{"x", "6666"}}) +
              PortForward("good", {{"y", "80"}}));
    auto r = t.Pass();
    REQUIRE_FALSE(r.error);  // the rest was applied
    CHECK(t.Edge().rules.size() == 1);
    CHECK(t.Edge().rules.begin()->second.destination_port == "80");
    CHECK(t.State("default/bad", "x") == "DeviceRejected");
    CHECK(t.State("default/good", "y") == "Applied");
    REQUIRE(r.rejected == std::vector<std::string>{"default/bad"});
    const auto rejected = t.Events("DeviceRejected");
    REQUIRE(rejected.size() == 1);
    CHECK(rejected[0].message.find("Invalid port 6666") != std::string::npos);
    // Held: the next passes do not send it again until its backoff ends or its spec changes.
    const int applies = t.Edge().applies;
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Edge().applies == applies);
    t.Declare(DeviceYaml() + PortForward("bad", {{"x", "6667"}}) +
              PortForward("good", {{"y", "80"}}));
    REQUIRE_FALSE(t.Pass("manifest-change").error);
    CHECK(t.Edge().rules.size() == 2);
    CHECK(t.State("default/bad", "x") == "Applied");
  }

  TEST_CASE(
      "a rejected resource is tried again when its backoff ends (30 s after the first refusal)") {
    Rig t;
    bool refusing = true;
    t.Edge().refuse = [&](const core::Plan&) -> std::optional<std::string> {
      return refusing ? std::optional<std::string>("commit failed") : std::nullopt;
    };
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    auto r = t.Pass();
    REQUIRE(r.error);
    CHECK(r.error->code == ErrorCode::kRejected);
    refusing = false;
    t.clock.Advance(std::chrono::seconds(29));
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Edge().rules.empty());
    t.clock.Advance(std::chrono::seconds(2));
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Edge().rules.size() == 1);
    CHECK(t.State("default/web1", "http") == "Applied");
  }

  TEST_CASE(
      "an answer lost after the commit is ambiguous: nothing recorded as applied, the next pass "
      "re-reads and sends nothing twice") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    t.Edge().lose_answer_once = true;
    auto r = t.Pass();
    REQUIRE(r.error);
    CHECK(r.error->code == ErrorCode::kDeadlineExceeded);
    const auto failed = t.Events("ApplyFailed");
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].message.find("outcome unknown") != std::string::npos);
    auto last = t.store.LastApplied(kEdge);
    REQUIRE(last);
    CHECK(last->empty());
    CHECK(t.State("default/web1", "http") == "Pending");
    // The device did commit: the next pass finds our tagged rule and sends nothing.
    auto again = t.Pass();
    REQUIRE_FALSE(again.error);
    CHECK(t.Edge().applies == 1);
    CHECK(t.State("default/web1", "http") == "Applied");
  }

  TEST_CASE("a busy commit lock fails the pass without isolation, ports pending, nothing changed") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("a", {{"p", "80"}}) + PortForward("b", {{"q", "81"}}));
    t.Edge().apply_error = Error{ErrorCode::kConflict, "commit lock still busy after retries"};
    auto r = t.Pass();
    REQUIRE(r.error);
    CHECK(r.error->code == ErrorCode::kConflict);
    CHECK(t.Edge().applies == 1);  // no bisection: the device did not refuse the change itself
    CHECK(t.Edge().rules.empty());
    CHECK(t.State("default/a", "p") == "Pending");
    CHECK(r.report.failed.size() == 2);
    CHECK(t.Events("DeviceRejected").empty());
  }

  TEST_CASE(
      "a read-back that differs is rolled back by the adapter: RollbackSucceeded, intent "
      "RolledBack, nothing recorded") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    t.Edge().verify_mismatch_once = true;
    auto r = t.Pass();
    REQUIRE(r.error);
    CHECK(t.Events("RollbackSucceeded").size() == 1);
    CHECK(t.Edge().rules.empty());
    auto open = t.store.OpenIntents();
    REQUIRE(open);
    CHECK(open->empty());  // finished (as RolledBack)
    CHECK(r.snapshot_id > 0);
    auto last = t.store.LastApplied(kEdge);
    REQUIRE(last);
    CHECK(last->empty());
  }

  TEST_CASE(
      "the snapshot and intent are on record before the device is touched - a store that cannot "
      "take them sends nothing") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    t.store.fail = [](const std::string& m) -> std::optional<Error> {
      if (m == "BeginIntent") return Error{ErrorCode::kUnavailable, "disk I/O error"};
      return std::nullopt;
    };
    auto r = t.Pass();
    REQUIRE(r.error);
    CHECK(t.Edge().applies == 0);
    CHECK(t.Edge().rules.empty());
  }

  TEST_CASE(
      "a store that cannot record the run: nothing is sent, and the next pass plans in full") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    REQUIRE_FALSE(t.Pass().error);
    REQUIRE_FALSE(t.Pass().error);
    t.Edge().rules.at(10000).translation_port = "9999";  // drift while the store is broken
    t.store.fail = [](const std::string& m) -> std::optional<Error> {
      if (m == "BeginRun") return Error{ErrorCode::kUnavailable, "database is locked"};
      return std::nullopt;
    };
    auto r = t.Pass();
    REQUIRE(r.error);
    CHECK(r.error->message.find("nothing sent") != std::string::npos);
    CHECK(t.Edge().applies == 1);
    t.store.fail = nullptr;
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Edge().rules.at(10000).translation_port.empty());  // repaired
  }

  TEST_CASE(
      "recovery: an intent a stopped process left open is closed with a Recovered event, its "
      "pending commit confirmed once") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    auto run = t.store.BeginRun(kEdge, "poll", "2026-11-30T00:00:00Z");
    REQUIRE(run);
    REQUIRE(t.store.BeginIntent(store::Snapshot{0, kEdge, "2026-11-30T00:00:00Z", *run, {}, {}}, 1,
                                core::OpLog{"set nat destination rule 10000"}));
    t.Edge().commit_pending = true;
    t.Restart();
    CHECK(t.rec->Recover() == std::vector<std::string>{kEdge});
    auto open = t.store.OpenIntents();
    REQUIRE(open);
    CHECK(open->empty());
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Edge().confirms == 1);
    CHECK_FALSE(t.Edge().commit_pending);
    CHECK(t.Events("Recovered").size() == 2);  // the intent, then the confirmed commit
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Edge().confirms == 1);  // once
    CHECK(t.Edge().rules.size() == 1);
  }

  TEST_CASE(
      "a phase override (Observe) wins over the manifest until cleared: planned, not applied") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    REQUIRE(t.store.SetOverride({kEdge, "Observe", "", "2026-11-30T00:00:00Z", "cli test"},
                                store::Event{0, "2026-11-30T00:00:00Z", kEdge, "", "Normal",
                                             "PhaseChanged", "to Observe", 0}));
    auto r = t.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(t.Edge().applies == 0);
    CHECK(r.plan.changes.size() == 1);
    CHECK(t.Events("ObserveOnly").size() == 1);
    CHECK(t.Events("Overridden").size() == 1);
    CHECK(t.State("default/web1", "http") == "Pending");
    // Cleared by another process: the store's data version moves and the override is re-read.
    REQUIRE(t.store.SetOverride({kEdge, "", "", "2026-11-30T00:01:00Z", ""},
                                store::Event{0, "2026-11-30T00:01:00Z", kEdge, "", "Normal",
                                             "PhaseChanged", "cleared", 0}));
    t.store.OtherWriter();
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Edge().applies == 1);
    CHECK(t.State("default/web1", "http") == "Applied");
  }

  TEST_CASE("management CreateUpdate never deletes - paused devices plan and send nothing") {
    Rig t;
    t.Declare(DeviceYaml("  management: CreateUpdate\n") + PortForward("a", {{"p", "80"}}));
    REQUIRE_FALSE(t.Pass().error);
    t.Declare(DeviceYaml("  management: CreateUpdate\n"));
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Edge().rules.size() == 1);
    t.Declare(DeviceYaml("  paused: true\n") + PortForward("b", {{"q", "81"}}));
    auto r = t.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(t.Edge().applies == 1);
    CHECK(t.Events("Paused").size() == 1);
  }

  TEST_CASE("the mass-deletion guard holds a wipe until released, then deletes") {
    Rig t;
    t.rec->SetDeletionGuard(0.5, 3);
    t.Declare(DeviceYaml() +
              PortForward("a", {{"p1", "1001"}, {"p2", "1002"}, {"p3", "1003"}, {"p4", "1004"}}));
    REQUIRE_FALSE(t.Pass().error);
    t.Declare(DeviceYaml());
    auto r = t.Pass("manifest-change");
    REQUIRE_FALSE(r.error);
    CHECK(t.Edge().rules.size() == 4);
    CHECK(t.Events("DeletionsHeld").size() == 1);
    CHECK(std::any_of(r.conditions.begin(), r.conditions.end(),
                      [](const auto& c) { return c.first == "DeletionsHeld"; }));
    REQUIRE(t.store.AddEvents({store::Event{0, t.clock.UtcIso(), kEdge, "", "Normal",
                                            "DeletionsReleased", "by test", 0}}));
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.Edge().rules.empty());
  }

  TEST_CASE("a closed write gate (leadership lost) stops the pass before anything is sent") {
    Rig t;
    t.rec->SetWriteGate([] { return false; });
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    auto r = t.Pass();
    REQUIRE(r.error);
    CHECK(r.error->code == ErrorCode::kFailedPrecondition);
    CHECK(t.Edge().applies == 0);
  }

  TEST_CASE("plan mode reads the device and the store and writes neither") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}, {"ssh", "22"}}));
    auto r = t.Pass("cli", DeviceReconciler::Mode::kPlan);
    REQUIRE_FALSE(r.error);
    CHECK(r.plan.changes.size() == 2);
    CHECK(r.operations.size() == 2);
    CHECK(t.Edge().applies == 0);
    auto a = t.store.Allocations(kEdge);
    REQUIRE(a);
    CHECK(a->empty());
    auto runs = t.store.Runs(kEdge, 10);
    REQUIRE(runs);
    CHECK(runs->empty());
  }

  TEST_CASE(
      "rollback to a snapshot restores the rules in one transaction and can itself be undone") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    REQUIRE_FALSE(t.Pass().error);
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "8080"}}));
    auto changed = t.Pass("manifest-change");
    REQUIRE_FALSE(changed.error);
    REQUIRE(changed.snapshot_id > 0);
    CHECK(t.Edge().rules.at(10000).destination_port == "8080");
    auto rb = t.rec->Rollback(t.desired, kEdge, changed.snapshot_id);
    REQUIRE_FALSE(rb.error);
    CHECK(t.Edge().rules.at(10000).destination_port == "80");
    CHECK(rb.snapshot_id > changed.snapshot_id);  // the state before the rollback
    CHECK(t.Events("RollbackSucceeded").size() == 1);
    auto other = t.rec->Rollback(t.desired, "default/other", changed.snapshot_id);
    REQUIRE(other.error);
  }

  TEST_CASE("rotated credentials make a new adapter - unchanged ones reuse it") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    REQUIRE_FALSE(t.Pass().error);
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.factory.created == 1);
    t.factory.credentials_version = "rotated";
    REQUIRE_FALSE(t.Pass().error);
    CHECK(t.factory.created == 2);
  }

  TEST_CASE("an adapter that cannot be made is a ConfigurationError, recorded once") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    t.factory.create_error = Error{ErrorCode::kInvalidArgument, "creds.yaml: no such file"};
    REQUIRE(t.Pass().error);
    REQUIRE(t.Pass().error);
    CHECK(t.Events("ConfigurationError").size() == 1);
  }

  TEST_CASE(
      "standing adapter conditions are reported with the pass and recorded when they appear") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    t.Edge().conditions = {{"UnconfirmedCommits", "the device has no commit-confirm"}};
    auto r = t.Pass();
    REQUIRE_FALSE(r.error);
    REQUIRE(r.conditions.size() == 1);
    REQUIRE_FALSE(t.Pass("manifest-change").error);
    CHECK(t.Events("UnconfirmedCommits").size() == 1);
  }

  TEST_CASE(
      "a switch: a VLAN sub-interface with its bridge domain is created, then reverted when "
      "changed by hand") {
    Rig t;
    const std::string sw =
        "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: sw1, namespace: "
        "default}\n"
        "spec: {platform: dnos, address: 127.0.0.1:2222, credentialsRef: {file: creds.yaml}}\n---\n"
        "apiVersion: netconverge.io/v1alpha1\nkind: VlanInterface\nmetadata: {name: web, "
        "namespace: default}\n"
        "spec: {deviceRef: sw1, interface: ge100-0/0/31, vlan: 251, bridgeDomain: BD-251}\n";
    t.Declare(sw);
    auto& dev = *t.factory.Device("default/sw1");
    dev.switch_state.ports = {"ge100-0/0/31"};
    auto r = t.rec->Reconcile(t.desired, "default/sw1", "poll", DeviceReconciler::Mode::kApply);
    REQUIRE_FALSE(r.error);
    REQUIRE(dev.switch_state.interfaces.count("ge100-0/0/31.251"));
    CHECK(dev.switch_state.interfaces.at("ge100-0/0/31.251").bridge_domain == "BD-251");
    CHECK(dev.switch_state.bridge_domains.count("BD-251") == 1);
    dev.switch_state.interfaces.at("ge100-0/0/31.251").admin_enabled = false;
    r = t.rec->Reconcile(t.desired, "default/sw1", "poll", DeviceReconciler::Mode::kApply);
    REQUIRE_FALSE(r.error);
    CHECK(dev.switch_state.interfaces.at("ge100-0/0/31.251").admin_enabled);
    CHECK(t.Events("DriftDetected").size() == 1);
    auto applied = t.store.AppliedInterfaces("default/sw1");
    REQUIRE(applied);
    CHECK(applied->count("ge100-0/0/31.251") == 1);
  }

  TEST_CASE("device text reaching the store is one printable line of at most 4 KiB") {
    Rig t;
    t.Declare(DeviceYaml() + PortForward("web1", {{"http", "80"}}));
    t.Edge().observe_error =
        Error{ErrorCode::kUnavailable, std::string(20000, 'x') + "\n\x1b[31mred"};
    auto r = t.Pass();
    REQUIRE(r.error);
    CHECK(r.error->message.size() <= 4096);
    const auto ev = t.Events("Unreachable");
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].message.size() <= 4096);
    CHECK(ev[0].message.find('\x1b') == std::string::npos);
  }
}
