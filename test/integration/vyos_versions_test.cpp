// Real VyOS routers of three versions, and the ways they refuse work: 1.3's leaf syntax, 1.4's
// API without commit-confirm, 1.5 with REST off, builds that arm the confirm timer before they
// commit, and a value the router rejects for one resource among thirty. Every router state is
// read through vyos-sim's own rendering.
#include <doctest/doctest.h>

#include <cmath>

#include "test/integration/harness.hpp"

using namespace nc;
using namespace nc::testing;

namespace {

// `count` PortForwards pf-0.. with one port each: external 30000+i, internal `internal(i)`.
void DeclarePortForwards(SimHarness& h, int count, const std::function<int(int)>& internal) {
  for (int i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    h.Manifest("pf-" + n + ".yaml",
               PortForwardYaml(
                   "pf-" + n, "vm" + n,
                   "    - {name: app, protocol: tcp, externalPort: " + std::to_string(30000 + i) +
                       ", internalPort: " + std::to_string(internal(i)) + "}\n",
                   "", "192.168.20." + std::to_string(10 + i)));
  }
}

int ConfigureRequests(const reconcilers::DeviceResult& r) {
  int n = 0;
  for (const auto& op : r.operations) n += op.rfind("POST /configure (", 0) == 0;
  return n;
}

}  // namespace

TEST_SUITE("integration/vyos-versions") {
  TEST_CASE(
      "the same 20 PortForwards converge on VyOS 1.3, 1.4 and 1.5 - 1.3 in its leaf syntax - and a "
      "no-op pass sends nothing") {
    for (auto profile : {sim::vy::Version::k13, sim::vy::Version::k14, sim::vy::Version::k15}) {
      sim::VyosSim::Options o;
      o.profile = profile;
      o.version = profile == sim::vy::Version::k13   ? "1.3.8"
                  : profile == sim::vy::Version::k14 ? "1.4.1"
                                                     : o.version;
      INFO("VyOS " << o.version);
      SimHarness h(o);
      DeclarePortForwards(h, 20, [](int i) { return 8000 + i; });
      auto r = h.Pass();
      INFO((r.error ? r.error->message : std::string()));
      REQUIRE_FALSE(r.error);
      const auto rules = h.DeviceRules();
      CHECK(rules.size() == 20);
      for (const auto& [n, rule] : rules) {
        CHECK(rule.inbound_interface == "eth0");
        CHECK(rule.protocol == "tcp");
        CHECK(rule.other.empty());
      }
      const std::string commands = h.sim->RunningSetCommands();
      if (profile == sim::vy::Version::k13) {
        CHECK(commands.find("inbound-interface 'eth0'") != std::string::npos);
        CHECK(commands.find("inbound-interface name") == std::string::npos);
      } else {
        CHECK(commands.find("inbound-interface name 'eth0'") != std::string::npos);
      }
      // 1.5 confirms through the API; 1.3 and 1.4 have no commit-confirm there (no SSH declared).
      const auto st = h.sim->Stats();
      CHECK(st.commit_confirms == (profile == sim::vy::Version::k15 ? 1 : 0));
      CHECK(st.info == (profile == sim::vy::Version::k15 ? 1 : 0));
      CHECK(CountEvents(*h.store, "UnconfirmedCommits") ==
            (profile == sim::vy::Version::k15 ? 0 : 1));
      // The no-op pass: one read, nothing sent; /info and /show are not asked again.
      h.sim->ResetStats();
      auto again = h.Pass();
      REQUIRE_FALSE(again.error);
      CHECK_FALSE(again.plan.HasChanges());
      const auto st2 = h.sim->Stats();
      CHECK(st2.configure == 0);
      CHECK(st2.config_file == 0);
      CHECK(st2.info == 0);
      CHECK(st2.requests == 1);
    }
  }

  TEST_CASE(
      "isolation: of 30 PortForwards the router refuses one value naming no rule - the 29 others "
      "are applied, the one is DeviceRejected") {
    SimHarness h;
    DeclarePortForwards(h, 30, [](int i) { return 8000 + i; });
    sim::Faults f;
    f.reject_values = {"8017"};  // pf-17's translation port, refused at set time
    h.sim->SetFaults(f);
    h.sim->ResetStats();
    auto r = h.Pass();
    // One pass suffices: the others are on the router.
    CHECK_FALSE(r.error);
    auto rules = h.DeviceRules();
    CHECK(rules.size() == 29);
    for (const auto& [n, rule] : rules) CHECK(rule.translation_port != "8017");
    // At most ceil(log2 30) + 1 = 6 commits beyond the refused one.
    const int extra = ConfigureRequests(r) - 1;
    MESSAGE("isolation of 1 offender among 30 resources: " << extra << " extra commit request(s)");
    CHECK(extra <= static_cast<int>(std::ceil(std::log2(30.0))) + 1);
    REQUIRE(r.rejected.size() == 1);
    CHECK(r.rejected[0] == "default/pf-17");
    auto ports = h.store->PortStatuses("default/edge1");
    REQUIRE(ports);
    int rejected = 0;
    for (const auto& p : *ports) {
      if (p.resource != "default/pf-17") {
        CHECK(p.state == "Applied");
        continue;
      }
      ++rejected;
      CHECK(p.state == "DeviceRejected");
      CHECK(p.message.find("8017 is not a valid value here") !=
            std::string::npos);  // the router's own text
    }
    CHECK(rejected == 1);
    CHECK(CountEvents(*h.store, "DeviceRejected") == 1);
    REQUIRE(r.device_row);
    CHECK(r.device_row->message.find("default/pf-17") != std::string::npos);
    CHECK_FALSE(h.sim->ConfirmPending());
    // Held back while unchanged (its backoff), without touching the others.
    h.sim->ResetStats();
    auto held = h.Pass();
    CHECK_FALSE(held.error);
    CHECK(h.sim->Stats().configure == 0);
    // Its spec fixed: applied in the next pass.
    h.Manifest("pf-17.yaml",
               PortForwardYaml(
                   "pf-17", "vm17",
                   "    - {name: app, protocol: tcp, externalPort: 30017, internalPort: 9017}\n",
                   "", "192.168.20.27"));
    auto fixed = h.Pass();
    REQUIRE_FALSE(fixed.error);
    CHECK(fixed.rejected.empty());
    rules = h.DeviceRules();
    CHECK(rules.size() == 30);
    bool found = false;
    for (const auto& [n, rule] : rules) found |= rule.translation_port == "9017";
    CHECK(found);
    ports = h.store->PortStatuses("default/edge1");
    for (const auto& p : *ports) CHECK(p.state == "Applied");
  }

  TEST_CASE(
      "a router that arms the confirm timer before it commits: a failed commit leaves no timer, no "
      "revert, and the rules converge") {
    sim::VyosSim::Options o;
    o.arm_first = true;
    o.confirm_minute_ms = 60'000;
    SimHarness h(o);
    DeclarePortForwards(h, 3, [](int i) { return 8000 + i; });
    sim::Faults f;
    f.fail_commits = 1;
    f.fail_message = "Commit failed: injected";
    h.sim->SetFaults(f);
    h.sim->ResetStats();
    auto r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(h.DeviceRules().size() == 3);
    CHECK_FALSE(h.sim->ConfirmPending());  // no timer of ours is left: nothing can revert later
    auto st = h.sim->Stats();
    CHECK(st.commit_confirms == 2);  // the failed commit armed one too
    CHECK(st.confirms == 2);         // ... which was stopped, as was the second one
    CHECK(st.reverts == 0);
    // The commit lock: the retry is not refused as "another confirm is pending".
    DeclarePortForwards(h, 4, [](int i) { return 8000 + i; });
    f = {};
    f.lock_busy = 1;
    h.sim->SetFaults(f);
    auto r2 = h.Pass();
    REQUIRE_FALSE(r2.error);
    CHECK(h.DeviceRules().size() == 4);
    CHECK_FALSE(h.sim->ConfirmPending());
    CHECK(h.sim->Stats().reverts == 0);
  }

  TEST_CASE("another party's pending confirm is never confirmed by netconverge") {
    sim::VyosSim::Options o;
    o.arm_first = true;
    SimHarness h(o);
    // Someone else's commit-confirm is pending (their timer).
    sim::SimRequest req{"POST", "/configure", "application/json",
                        "{\"key\": \"netconverge-demo-key\", \"commands\": [{\"op\": \"set\", "
                        "\"path\": [\"system\", \"host-name\"], "
                        "\"value\": \"theirs\"}], \"confirm_time\": 5}"};
    REQUIRE(h.sim->Handle(req).status == 200);
    REQUIRE(h.sim->ConfirmPending());
    DeclarePortForwards(h, 1, [](int i) { return 8000 + i; });
    auto r = h.Pass();
    REQUIRE(r.error);
    CHECK(r.error->message.find("another commit-confirm is pending") != std::string::npos);
    CHECK(h.sim->ConfirmPending());  // still theirs
    CHECK(h.sim->Stats().confirms == 0);
  }

  TEST_CASE("VyOS 1.5 without `service https api rest`: the pass and test-device say so") {
    sim::VyosSim::Options o;
    o.rest = false;
    SimHarness h(o);
    DeclarePortForwards(h, 1, [](int i) { return 8000 + i; });
    auto r = h.Pass();
    REQUIRE(r.error);
    CHECK(r.error->message.find("service https api rest") != std::string::npos);
    CHECK(CountEvents(*h.store, "ConfigurationError") == 1);
    REQUIRE(r.device_row);
    CHECK(r.device_row->reachable);  // it answers; it is set up wrongly
    auto adapter = h.factory.Create(h.Desired().devices.at("default/edge1"));
    REQUIRE(adapter);
    bool named = false;
    for (const auto& c : (*adapter)->Diagnose()) {
      INFO(c.name << ": " << c.state << " " << c.detail);
      if (c.state == "FAIL")
        named |= c.detail.find("set service https api rest") != std::string::npos;
    }
    CHECK(named);
    CHECK(h.sim->Stats().configure == 0);
  }
}
