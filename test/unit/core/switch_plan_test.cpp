// ComputeSwitchPlan: the classification of spec changes, drift, conflicts and deletions for
// switch sub-interfaces, and bridge domains created and removed with their members.
#include <doctest/doctest.h>

#include "controller/core/plan.hpp"

using namespace nc::core;

namespace {

VlanRule Want(const std::string& resource, const std::string& name, int vlan,
              const std::string& bd = "") {
  VlanRule v;
  v.device = "default/sw1";
  v.resource = resource;
  v.name = name;
  v.parent = name.substr(0, name.find('.'));
  v.iface = SubInterface{
      vlan, true, true, TaggedDescription("VlanInterface " + resource, "netconverge"), bd, {}};
  return v;
}

struct Fixture {
  Device device;
  SwitchState observed;
  std::map<std::string, AppliedInterface> applied;
  std::vector<VlanRule> vlans;
  std::string held;
  std::set<std::string> orphaned;
  Plan Run() { return ComputeSwitchPlan({device, vlans, observed, applied, held, orphaned}); }
  Fixture() {
    device.platform = Platform::kDnos;
    device.name = "sw1";
    observed.ports = {"ge100-0/0/1", "ge100-0/0/2"};
  }
};

}  // namespace

TEST_SUITE("unit/switch-plan") {
  TEST_CASE(
      "a new interface and its bridge domain are added - a parent port that does not exist holds "
      "it back") {
    Fixture f;
    f.vlans = {Want("default/a", "ge100-0/0/1.10", 10, "BD-1"),
               Want("default/b", "ge100-0/0/9.10", 10)};
    auto p = f.Run();
    REQUIRE(p.interfaces.size() == 1);
    CHECK(p.interfaces[0].kind == ChangeKind::kAdd);
    REQUIRE(p.bridge_domains.size() == 1);
    CHECK(p.bridge_domains[0].name == "BD-1");
    CHECK(HasOwnershipTag(p.bridge_domains[0].description, "netconverge"));
    CHECK(p.ports[1].state == PortState::kPending);
    CHECK(p.ports[1].message == "parent port ge100-0/0/9 does not exist on the device");
  }

  TEST_CASE("in sync: nothing to do") {
    Fixture f;
    f.vlans = {Want("default/a", "ge100-0/0/1.10", 10)};
    f.observed.interfaces["ge100-0/0/1.10"] = f.vlans[0].iface;
    f.applied["ge100-0/0/1.10"] = {"default/a", f.vlans[0].iface};
    auto p = f.Run();
    CHECK_FALSE(p.HasChanges());
    CHECK(p.ports[0].state == PortState::kApplied);
  }

  TEST_CASE("drift vs spec change: last applied decides") {
    Fixture f;
    f.vlans = {Want("default/a", "ge100-0/0/1.10", 10)};
    auto changed = f.vlans[0].iface;
    changed.vlan = 11;
    f.observed.interfaces["ge100-0/0/1.10"] = changed;
    f.applied["ge100-0/0/1.10"] = {"default/a", f.vlans[0].iface};
    auto p = f.Run();
    REQUIRE(p.interfaces.size() == 1);
    CHECK(p.interfaces[0].drift);
    CHECK(p.notices[0].reason == "DriftDetected");
    CHECK(p.notices[0].message.find("vlan-id: '10' -> '11'") != std::string::npos);
    f.vlans[0].drift_policy = DriftPolicy::kReport;
    p = f.Run();
    CHECK(p.interfaces.empty());
    CHECK(p.ports[0].state == PortState::kDrifted);
    // The spec changed (last applied differs from desired): a plain update, no drift.
    f.vlans[0].drift_policy = DriftPolicy::kEnforce;
    f.vlans[0].iface.vlan = 12;
    p = f.Run();
    REQUIRE(p.interfaces.size() == 1);
    CHECK_FALSE(p.interfaces[0].drift);
  }

  TEST_CASE("conflicts with a foreign interface follow onConflict") {
    Fixture f;
    f.vlans = {Want("default/a", "ge100-0/0/1.10", 10)};
    f.observed.interfaces["ge100-0/0/1.10"] = SubInterface{10, false, true, "", "", {}};
    CHECK(f.Run().ports[0].state == PortState::kConflict);
    CHECK_FALSE(f.Run().HasChanges());
    f.vlans[0].on_conflict = ConflictPolicy::kSkip;
    CHECK(f.Run().ports[0].state == PortState::kSkipped);
    f.vlans[0].on_conflict = ConflictPolicy::kAdopt;
    auto p = f.Run();
    REQUIRE(p.interfaces.size() == 1);
    CHECK(p.interfaces[0].kind == ChangeKind::kUpdate);
    CHECK(p.notices[0].reason == "Adopted");
  }

  TEST_CASE(
      "owned interfaces no longer declared are deleted - foreign ones never - CreateUpdate and "
      "held deletes withhold") {
    Fixture f;
    f.observed.interfaces["ge100-0/0/1.10"] =
        SubInterface{10, true, true, "x [netconverge]", "BD-1", {}};
    f.observed.interfaces["ge100-0/0/1.20"] = SubInterface{20, true, true, "foreign", "BD-1", {}};
    f.observed.bridge_domains["BD-1"] =
        BridgeDomain{"bridge domain [netconverge]", {"ge100-0/0/1.10", "ge100-0/0/1.20"}};
    auto p = f.Run();
    REQUIRE(p.interfaces.size() == 1);
    CHECK(p.interfaces[0].name == "ge100-0/0/1.10");
    CHECK(p.interfaces[0].kind == ChangeKind::kDelete);
    CHECK(p.bridge_domains.empty());  // a foreign member remains
    f.observed.interfaces.erase("ge100-0/0/1.20");
    f.observed.bridge_domains["BD-1"].members = {"ge100-0/0/1.10"};
    p = f.Run();
    REQUIRE(p.bridge_domains.size() == 1);
    CHECK(p.bridge_domains[0].kind == ChangeKind::kDelete);
    f.device.management = ManagementPolicy::kCreateUpdate;
    p = f.Run();
    CHECK_FALSE(p.HasChanges());
    CHECK(p.notices[0].reason == "DeleteWithheld");
    f.device.management = ManagementPolicy::kFull;
    f.held = "manifest broken.yaml does not parse";
    p = f.Run();
    CHECK_FALSE(p.HasChanges());
    CHECK(p.notices[0].reason == "DeleteHeld");
  }

  TEST_CASE("deletionPolicy Orphan: the interface stays, handed back without the ownership tag") {
    Fixture f;
    f.observed.interfaces["ge100-0/0/1.10"] =
        SubInterface{10, true, true, "web [netconverge]", "", {}};
    f.applied["ge100-0/0/1.10"] = {"default/a", f.observed.interfaces["ge100-0/0/1.10"]};
    f.orphaned = {"default/a"};
    auto p = f.Run();
    REQUIRE(p.interfaces.size() == 1);
    CHECK(p.interfaces[0].kind == ChangeKind::kUpdate);
    CHECK(p.interfaces[0].after->description == "web");
    CHECK(p.interfaces[0].after->vlan == 10);
    CHECK(p.released_interfaces == std::vector<std::string>{"ge100-0/0/1.10"});
    CHECK(p.notices[0].reason == "Orphaned");
  }

  TEST_CASE("ExpectedAfter moves bridge-domain membership with the interfaces") {
    SwitchState obs;
    obs.interfaces["a.1"] = SubInterface{1, true, true, "", "X", {}};
    obs.bridge_domains["X"] = BridgeDomain{"", {"a.1", "bundle-1"}};
    Plan p;
    p.interfaces.push_back({ChangeKind::kUpdate, "a.1", "r", obs.interfaces["a.1"],
                            SubInterface{1, true, true, "", "Y", {}}, "", false});
    p.bridge_domains.push_back({ChangeKind::kAdd, "Y", "d", ""});
    auto after = ExpectedAfter(obs, p);
    CHECK(after.bridge_domains.at("X").members == std::vector<std::string>{"bundle-1"});
    CHECK(after.bridge_domains.at("Y").members == std::vector<std::string>{"a.1"});
  }
}
