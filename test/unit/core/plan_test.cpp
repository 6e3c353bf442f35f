#include <doctest/doctest.h>

#include "controller/core/allocate.hpp"
#include "controller/core/plan.hpp"
#include "controller/core/validate.hpp"
#include "test/unit/core/fixtures.hpp"

using namespace nc;
using namespace nc::core;
using nc::testing::DebianServices;
using nc::testing::MakeDevice;
using nc::testing::MakePort;
using nc::testing::MakePortForward;

namespace {

// A small world: desired state from api objects, a device's rules, and the store's records.
struct World {
  DesiredState desired;
  std::map<PortKey, int> allocations;
  std::map<int, AppliedRecord> last_applied;
  std::map<int, NatRule> device;
  ServiceTable services = DebianServices();
  std::string held;

  explicit World(std::vector<api::PortForwardObject> pfs, api::DeviceObject dev = MakeDevice()) {
    Declare(std::move(pfs), dev);
  }

  void Declare(std::vector<api::PortForwardObject> pfs, api::DeviceObject dev = MakeDevice()) {
    api::Manifests m;
    m.devices.push_back(dev);
    m.port_forwards = std::move(pfs);
    auto r = Validate(m, services);
    REQUIRE(r.problems.empty());
    desired = r.desired;
  }

  // The reconciler's own planning step (allocation, then the plan).
  Plan Compute() {
    const auto& device_obj = desired.devices.at("default/edge1");
    auto np = PlanNat({device_obj, desired.RulesFor("default/edge1"), allocations, device,
                       last_applied, services, held, desired.orphaned, nullptr});
    for (const auto& [k, n] : np.allocated) allocations[k] = n;
    return np.plan;
  }

  // What a successful apply does: device and store follow the plan.
  void Apply(const Plan& plan) {
    device = ExpectedAfter(device, plan);
    for (const auto& ch : plan.changes)
      if (ch.kind == ChangeKind::kDelete) last_applied.erase(ch.number);
    for (const auto& p : plan.ports) {
      if (p.state != PortState::kApplied && p.state != PortState::kDisabled) continue;
      for (const auto& r : desired.rules)
        if (r.resource() == p.resource && r.port == p.port)
          last_applied[p.number] = {r.resource(), r.port, r.rule};
    }
  }
};

NatRule Foreign(const std::string& port, const std::string& iface = "eth0") {
  NatRule r;
  r.description = "hand-made";
  r.inbound_interface = iface;
  r.protocol = "tcp";
  r.destination_port = port;
  r.translation_address = "10.9.9.9";
  return r;
}

}  // namespace

TEST_SUITE("core/plan") {
  TEST_CASE(
      "new ports are added with the lowest free numbers of the range, in deterministic order") {
    World w({MakePortForward(
        "web1", "web1", {MakePort("ssh", "tcp", "2201", "22"), MakePort("http", "tcp", "80")})});
    auto plan = w.Compute();
    REQUIRE(plan.changes.size() == 2);
    CHECK(plan.changes[0].kind == ChangeKind::kAdd);
    CHECK(plan.changes[0].number == 10000);
    CHECK(plan.changes[0].port == "http");
    CHECK(plan.changes[1].number == 10001);
    CHECK(plan.changes[1].reason == "new port");
    CHECK(w.Compute() == plan);  // pure: same inputs, same plan
  }

  TEST_CASE("with the desired state's owner, after-rules point into it instead of being copies") {
    World w({MakePortForward(
        "web1", "web1", {MakePort("ssh", "tcp", "2201", "22"), MakePort("http", "tcp", "80")})});
    const Plan copied = w.Compute();
    auto shared = std::make_shared<const DesiredState>(w.desired);
    const auto rules = shared->RulesFor("default/edge1");
    std::map<PortKey, int> allocations;
    auto np =
        PlanNat({shared->devices.at("default/edge1"), rules, allocations, w.device, w.last_applied,
                 w.services, w.held, shared->orphaned, shared->weak_from_this().lock()});
    CHECK(np.plan == copied);  // the same plan by content
    REQUIRE(np.plan.changes.size() == 2);
    for (const auto& ch : np.plan.changes) {
      const auto it = std::find_if(rules.begin(), rules.end(),
                                   [&](const PortRule& r) { return r.port == ch.port; });
      REQUIRE(it != rules.end());
      CHECK(&*ch.after == &it->rule);  // not a copy
    }
    // The plan keeps the desired state alive: a reload may replace it mid-pass.
    std::weak_ptr<const DesiredState> watch = shared;
    shared.reset();
    CHECK_FALSE(watch.expired());
    CHECK(np.plan.changes[0].after->destination_port == "80");
    np.plan.changes.clear();
    CHECK(watch.expired());
  }

  TEST_CASE("nothing to do once the device matches") {
    World w({MakePortForward("web1", "web1", {MakePort("ssh", "tcp", "2201", "22")})});
    w.Apply(w.Compute());
    auto plan = w.Compute();
    CHECK_FALSE(plan.HasChanges());
    REQUIRE(plan.ports.size() == 1);
    CHECK(plan.ports[0].state == PortState::kApplied);
  }

  TEST_CASE("a spec change updates only that rule, with the field in the reason") {
    World w({MakePortForward(
        "web1", "web1", {MakePort("ssh", "tcp", "2201", "22"), MakePort("http", "tcp", "80")})});
    w.Apply(w.Compute());
    w.Declare({MakePortForward(
        "web1", "web1", {MakePort("ssh", "tcp", "2201", "2222"), MakePort("http", "tcp", "80")})});
    auto plan = w.Compute();
    REQUIRE(plan.changes.size() == 1);
    CHECK(plan.changes[0].kind == ChangeKind::kUpdate);
    CHECK(plan.changes[0].number == 10001);
    CHECK_FALSE(plan.changes[0].drift);
    CHECK(plan.changes[0].reason.find("translation port: '22' -> '2222'") != std::string::npos);
  }

  TEST_CASE("removing a port deletes its rule - other resources keep their numbers") {
    World w({MakePortForward("a", "a", {MakePort("p", "tcp", "1000")}),
             MakePortForward("b", "b", {MakePort("p", "tcp", "2000")})});
    w.Apply(w.Compute());
    CHECK(w.allocations.at({"default/b", "p"}) == 10001);
    w.Declare({MakePortForward("b", "b", {MakePort("p", "tcp", "2000")})});
    auto plan = w.Compute();
    REQUIRE(plan.changes.size() == 1);
    CHECK(plan.changes[0].kind == ChangeKind::kDelete);
    CHECK(plan.changes[0].number == 10000);
    CHECK(plan.changes[0].display == "VM a Port P");
    // A new resource does not take b's number.
    w.Apply(plan);
    w.Declare({MakePortForward("b", "b", {MakePort("p", "tcp", "2000")}),
               MakePortForward("c", "c", {MakePort("p", "tcp", "3000")})});
    auto p2 = w.Compute();
    CHECK(w.allocations.at({"default/b", "p"}) == 10001);
    REQUIRE(p2.changes.size() == 1);
    CHECK(p2.changes[0].number != 10001);
  }

  TEST_CASE("unowned rules are never touched and their numbers never reused") {
    World w({MakePortForward("web1", "web1", {MakePort("ssh", "tcp", "2201")})});
    w.device[100] = Foreign("25");
    w.device[10000] = Foreign("26");  // hand-made rule inside the owned range, no tag
    auto plan = w.Compute();
    REQUIRE(plan.changes.size() == 1);
    CHECK(plan.changes[0].number == 10001);
    w.Apply(plan);
    w.Declare({});
    auto removal = w.Compute();
    REQUIRE(removal.changes.size() == 1);
    CHECK(removal.changes[0].number == 10001);
    CHECK(removal.changes[0].kind == ChangeKind::kDelete);
  }

  TEST_CASE("an out-of-band change is drift: Enforce reverts it") {
    World w({MakePortForward("web1", "web1", {MakePort("ssh", "tcp", "2201", "22")})});
    w.Apply(w.Compute());
    w.device[10000].translation_port = "2222";
    w.device[10000].unmanaged.push_back("log");
    auto plan = w.Compute();
    REQUIRE(plan.changes.size() == 1);
    CHECK(plan.changes[0].drift);
    CHECK(plan.changes[0].kind == ChangeKind::kUpdate);
    CHECK(plan.changes[0].reason.find("translation port: '22' -> '2222'") != std::string::npos);
    REQUIRE(plan.notices.size() == 1);
    CHECK(plan.notices[0].reason == "DriftDetected");
  }

  TEST_CASE("drift with driftPolicy Report is recorded but not reverted") {
    auto pf = MakePortForward("web1", "web1", {MakePort("ssh", "tcp", "2201", "22")});
    pf.spec.drift_policy = "Report";
    World w({pf});
    w.Apply(w.Compute());
    w.device.erase(10000);
    auto plan = w.Compute();
    CHECK_FALSE(plan.HasChanges());
    CHECK(plan.ports[0].state == PortState::kDrifted);
    CHECK(plan.notices[0].reason == "DriftDetected");
  }

  TEST_CASE("a conflict with a hand-made rule aborts the whole resource by default") {
    World w({MakePortForward("web1", "web1",
                             {MakePort("smtp", "tcp", "25"), MakePort("ssh", "tcp", "2201")})});
    w.device[100] = Foreign("20-30");
    auto plan = w.Compute();
    CHECK_FALSE(plan.HasChanges());
    REQUIRE(plan.ports.size() == 2);
    CHECK(plan.ports[0].state == PortState::kConflict);
    CHECK(plan.ports[1].state == PortState::kPending);
    CHECK(plan.notices[0].reason == "ConflictDetected");
  }

  TEST_CASE("onConflict Skip, Override and Adopt") {
    auto make = [](const std::string& policy) {
      auto pf = MakePortForward("web1", "web1",
                                {MakePort("smtp", "tcp", "25"), MakePort("ssh", "tcp", "2201")});
      pf.spec.on_conflict = policy;
      return pf;
    };
    SUBCASE("Skip leaves the device and applies the other ports") {
      World w({make("Skip")});
      w.device[100] = Foreign("25");
      auto plan = w.Compute();
      REQUIRE(plan.changes.size() == 1);
      CHECK(plan.changes[0].port == "ssh");
      CHECK(plan.ports[0].state == PortState::kSkipped);
    }
    SUBCASE("Override deletes the foreign rule and creates ours in one plan") {
      World w({make("Override")});
      w.device[100] = Foreign("25");
      auto plan = w.Compute();
      REQUIRE(plan.changes.size() == 3);
      CHECK(plan.changes[0].number == 100);
      CHECK(plan.changes[0].kind == ChangeKind::kDelete);
    }
    SUBCASE("Adopt takes the existing rule over and converges it") {
      World w({make("Adopt")});
      w.device[100] = Foreign("25");
      auto plan = w.Compute();
      REQUIRE(plan.adopted.count({"default/web1", "smtp"}));
      CHECK(plan.adopted.at({"default/web1", "smtp"}) == 100);
      bool updated_100 = false;
      for (const auto& c : plan.changes)
        if (c.number == 100 && c.kind == ChangeKind::kUpdate) updated_100 = true;
      CHECK(updated_100);
    }
  }

  TEST_CASE("held deletions and CreateUpdate keep owned rules") {
    World w({MakePortForward("a", "a", {MakePort("p", "tcp", "1000")})});
    w.Apply(w.Compute());
    w.Declare({});
    w.held = "manifest x.yaml is broken";
    auto plan = w.Compute();
    CHECK_FALSE(plan.HasChanges());
    CHECK(plan.notices[0].reason == "DeleteHeld");
    w.held.clear();
    auto dev = MakeDevice();
    dev.spec.management = "CreateUpdate";
    w.Declare({}, dev);
    plan = w.Compute();
    CHECK_FALSE(plan.HasChanges());
    CHECK(plan.notices[0].reason == "DeleteWithheld");
  }

  TEST_CASE("a lost store finds tagged rules again instead of duplicating them") {
    World w({MakePortForward("web1", "web1", {MakePort("ssh", "tcp", "2201", "22")})});
    w.Apply(w.Compute());
    w.allocations.clear();
    w.last_applied.clear();
    auto plan = w.Compute();
    CHECK_FALSE(plan.HasChanges());
    CHECK(plan.ports[0].number == 10000);
  }

  TEST_CASE("disabled ports render the disable leaf and report Disabled") {
    auto p = MakePort("db", "tcp", "15432", "5432");
    p.enabled = false;
    World w({MakePortForward("db1", "db1", {p})});
    auto plan = w.Compute();
    REQUIRE(plan.changes.size() == 1);
    CHECK(plan.changes[0].after->disabled);
    CHECK(plan.ports[0].state == PortState::kDisabled);
  }
}
