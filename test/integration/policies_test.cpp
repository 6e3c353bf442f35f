// onConflict, driftPolicy, management phases and pause against vyos-sim over HTTPS, on a device
// that also holds rules netconverge does not own.
#include <doctest/doctest.h>

#include "test/integration/harness.hpp"

using namespace nc;
using namespace nc::testing;

namespace {

const char* kForeign =
    "set nat destination rule 100 description 'mail relay'\n"
    "set nat destination rule 100 destination port '25'\n"
    "set nat destination rule 100 inbound-interface name 'eth0'\n"
    "set nat destination rule 100 protocol 'tcp'\n"
    "set nat destination rule 100 translation address '192.168.10.5'\n"
    "set nat destination rule 200 description 'old web'\n"
    "set nat destination rule 200 destination port '8080'\n"
    "set nat destination rule 200 inbound-interface name 'eth1'\n"
    "set nat destination rule 200 protocol 'tcp'\n"
    "set nat destination rule 200 translation address '192.168.20.5'\n";

const std::string kMailPorts =
    "    - {name: smtp, protocol: tcp, externalPort: 25}\n"
    "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n";

std::string StateOf(store::SqliteStore& s, const std::string& resource, const std::string& port) {
  auto rows = s.PortStatuses("default/edge1");
  for (const auto& r : *rows)
    if (r.resource == resource && r.port == port) return r.state;
  return "";
}

struct PolicyHarness : SimHarness {
  SimRule rule200;
  explicit PolicyHarness(const std::string& device_extra = "") : SimHarness({}, device_extra) {
    REQUIRE(sim->ApplyOutOfBand(kForeign));
    rule200 = DeviceRules().at(200);
    // Another resource on the same device, with no conflict: it must converge whatever happens.
    Manifest("web2.yaml", PortForwardYaml("web2", "web2",
                                          "    - {name: https, protocol: tcp, externalPort: 443}\n",
                                          "", "192.168.10.12"));
  }
  bool Web2Applied() { return StateOf(*store, "default/web2", "https") == "Applied"; }
};

}  // namespace

TEST_SUITE("integration/policies") {
  TEST_CASE("onConflict Abort: the resource is left alone and reported, the rest converges") {
    PolicyHarness h;
    const auto mail = h.DeviceRules().at(100);
    h.Manifest("mail.yaml", PortForwardYaml("mail", "mail", kMailPorts));
    auto r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(h.DeviceRules().at(100) == mail);
    CHECK(h.DeviceRules().at(200) == h.rule200);
    CHECK(StateOf(*h.store, "default/mail", "smtp") == "Conflict");
    CHECK(StateOf(*h.store, "default/mail", "ssh") == "Pending");  // whole resource held back
    CHECK(h.Web2Applied());
    CHECK(CountEvents(*h.store, "ConflictDetected") == 1);
    h.Pass();
    CHECK(CountEvents(*h.store, "ConflictDetected") == 1);  // a standing condition is recorded once
  }

  TEST_CASE("onConflict Skip: the colliding port is skipped, the others applied") {
    PolicyHarness h;
    const auto mail = h.DeviceRules().at(100);
    h.Manifest("mail.yaml", PortForwardYaml("mail", "mail", kMailPorts, "  onConflict: Skip\n"));
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.DeviceRules().at(100) == mail);
    CHECK(StateOf(*h.store, "default/mail", "smtp") == "Skipped");
    CHECK(StateOf(*h.store, "default/mail", "ssh") == "Applied");
    CHECK(h.Web2Applied());
  }

  TEST_CASE("onConflict Override: the foreign rule is replaced in the same commit") {
    PolicyHarness h;
    h.Manifest("mail.yaml",
               PortForwardYaml("mail", "mail", kMailPorts, "  onConflict: Override\n"));
    h.sim->ResetStats();
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.sim->Stats().commits == 1);
    auto rules = h.DeviceRules();
    CHECK_FALSE(rules.count(100));
    CHECK(rules.at(200) == h.rule200);
    CHECK(StateOf(*h.store, "default/mail", "smtp") == "Applied");
    bool ours_on_25 = false;
    for (const auto& [n, rule] : rules)
      ours_on_25 = ours_on_25 || (rule.destination_port == "25" &&
                                  rule.description == "VM mail Port SMTP [netconverge]");
    CHECK(ours_on_25);
  }

  TEST_CASE("onConflict Adopt: the existing rule keeps its number, becomes ours and converges") {
    PolicyHarness h;
    h.Manifest("mail.yaml", PortForwardYaml("mail", "mail", kMailPorts, "  onConflict: Adopt\n"));
    REQUIRE_FALSE(h.Pass().error);
    auto rules = h.DeviceRules();
    REQUIRE(rules.count(100));
    CHECK(rules.at(100).description == "VM mail Port SMTP [netconverge]");
    CHECK(rules.at(100).translation_address == "192.168.10.11");
    CHECK(h.store->Allocations("default/edge1")->at({"default/mail", "smtp"}) == 100);
    CHECK(CountEvents(*h.store, "Adopted") == 1);
    // Removing the resource now deletes the adopted rule: it is ours.
    h.Remove("mail.yaml");
    REQUIRE_FALSE(h.Pass().error);
    CHECK_FALSE(h.DeviceRules().count(100));
    CHECK(h.DeviceRules().at(200) == h.rule200);
  }

  TEST_CASE("driftPolicy Report keeps the device as changed and marks the port Drifted, once") {
    PolicyHarness h;
    h.Manifest(
        "mail.yaml",
        PortForwardYaml("mail", "mail", "    - {name: ssh, protocol: tcp, externalPort: 2201}\n",
                        "  driftPolicy: Report\n"));
    REQUIRE_FALSE(h.Pass().error);
    const int n = h.store->Allocations("default/edge1")->at({"default/mail", "ssh"});
    REQUIRE(h.sim->ApplyOutOfBand("set nat destination rule " + std::to_string(n) +
                                  " translation port '2222'\n"));
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.DeviceRules().at(n).translation_port == "2222");
    CHECK(StateOf(*h.store, "default/mail", "ssh") == "Drifted");
    REQUIRE_FALSE(h.Poll().error);
    REQUIRE_FALSE(h.Poll().error);
    CHECK(CountEvents(*h.store, "DriftDetected") == 1);
    auto dev = h.store->DeviceStatuses();
    CHECK(dev->at(0).drifted == 1);
  }

  TEST_CASE("management Observe plans and reports but never writes - CreateUpdate never deletes") {
    PolicyHarness h("  management: Observe\n");
    h.Manifest(
        "mail.yaml",
        PortForwardYaml("mail", "mail", "    - {name: ssh, protocol: tcp, externalPort: 2201}\n"));
    h.sim->ResetStats();
    auto r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(r.plan.changes.size() == 2);
    CHECK(h.sim->Stats().configure == 0);
    CHECK(StateOf(*h.store, "default/mail", "ssh") == "Pending");
    CHECK(CountEvents(*h.store, "ObserveOnly") == 1);

    h.WriteDevice("  management: CreateUpdate\n");
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.DeviceRules().size() == 4);
    h.Remove("mail.yaml");
    auto del = h.Pass();
    REQUIRE_FALSE(del.error);
    CHECK(h.DeviceRules().size() == 4);  // withheld
    CHECK(CountEvents(*h.store, "DeleteWithheld") == 1);
    h.WriteDevice("  management: Full\n");
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.DeviceRules().size() == 3);
  }

  TEST_CASE("a paused device and a paused resource are not written") {
    PolicyHarness h("  paused: true\n");
    h.Manifest(
        "mail.yaml",
        PortForwardYaml("mail", "mail", "    - {name: ssh, protocol: tcp, externalPort: 2201}\n"));
    h.sim->ResetStats();
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.sim->Stats().configure == 0);
    h.WriteDevice("");
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.DeviceRules().size() == 4);
    // A paused resource keeps its rule as it is, even when its spec changes or it is removed.
    h.Manifest("mail.yaml",
               "apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata:\n  name: mail\n  "
               "annotations: "
               "{netconverge.io/paused: \"true\"}\nspec:\n  deviceRef: edge1\n  vm: mail\n  "
               "internalAddress: 192.168.10.99\n"
               "  inboundInterface: eth0\n  ports:\n    - {name: ssh, protocol: tcp, externalPort: "
               "2201}\n");
    const auto before = h.DeviceRules();
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.DeviceRules() == before);
  }

  TEST_CASE(
      "an operator's phase override (netconverge phase, another connection) wins over the manifest "
      "until cleared") {
    PolicyHarness h;  // the manifest says Full
    REQUIRE_FALSE(h.Pass().error);
    // The CLI is another process: its own connection to the same file.
    auto cli =
        store::SqliteStore::Open(h.store_path, store::SqliteStore::OpenMode::kRequireCurrent);
    REQUIRE(cli);
    auto set = [&](const std::string& management, const std::string& fallback) {
      REQUIRE((*cli)->SetOverride(
          {"default/edge1", management, fallback, "2026-11-22T10:00:00Z", "cli test"},
          {0, "2026-11-22T10:00:00Z", "default/edge1", "", "Normal", "PhaseOverridden", "test",
           0}));
    };
    set("Observe", "");
    h.Manifest(
        "mail.yaml",
        PortForwardYaml("mail", "mail", "    - {name: ssh, protocol: tcp, externalPort: 2201}\n"));
    h.sim->ResetStats();
    auto r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(r.plan.changes.size() == 1);
    CHECK(h.sim->Stats().configure == 0);  // Observe: nothing written
    bool noted = false;
    for (const auto& n : r.plan.notices)
      noted = noted || (n.reason == "Overridden" &&
                        n.message.find("management phase Observe (the manifest says Full)") !=
                            std::string::npos);
    CHECK(noted);
    CHECK(CountEvents(*h.store, "ObserveOnly") == 1);

    set("CreateUpdate", "");  // creations go through, deletions are withheld
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.DeviceRules().size() == 4);
    h.Remove("mail.yaml");
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.DeviceRules().size() == 4);
    CHECK(CountEvents(*h.store, "DeleteWithheld") == 1);

    set("", "");  // cleared: the manifest's Full deletes
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.DeviceRules().size() == 3);
    auto o = h.store->Overrides();
    REQUIRE(o);
    CHECK(o->empty());
  }

  TEST_CASE("a mass deletion is held with DeletionsHeld until released - then it proceeds, once") {
    // A manifest emptied or cut short under the daemon must not wipe the router.
    SimHarness h;
    std::string ports;
    for (int i = 0; i < 12; ++i)
      ports += "    - {name: p" + std::to_string(i) +
               ", protocol: tcp, externalPort: " + std::to_string(3000 + i) + "}\n";
    h.Manifest("big.yaml", PortForwardYaml("big", "big", ports));
    REQUIRE_FALSE(h.Pass().error);
    const auto full = h.DeviceRules();
    REQUIRE(full.size() == 12);
    std::filesystem::remove(h.dir / "manifests" / "big.yaml");
    auto held = h.Pass();
    REQUIRE_FALSE(held.error);
    CHECK_FALSE(held.plan.HasChanges());
    CHECK(h.DeviceRules() == full);
    CHECK(CountEvents(*h.store, "DeletionsHeld") == 1);
    bool condition = false;
    for (const auto& [reason, message] : held.conditions)
      condition = condition || (reason == "DeletionsHeld" &&
                                message.find("12 of the 12 objects") != std::string::npos);
    CHECK(condition);
    CHECK_FALSE(h.Pass().plan.HasChanges());  // still held, and the standing event is not repeated
    CHECK(CountEvents(*h.store, "DeletionsHeld") == 1);
    // `netconverge release` records this event; the next pass deletes.
    REQUIRE(
        h.store->AddEvents({store::Event{0, "2026-11-30T00:00:00Z", "default/edge1", "", "Normal",
                                         "DeletionsReleased", "released by test", 0}}));
    auto released = h.Pass();
    REQUIRE_FALSE(released.error);
    CHECK(released.report.deleted.size() == 12);
    CHECK(h.DeviceRules().empty());
    // The release was used up: the next mass deletion is held again.
    h.Manifest("big.yaml", PortForwardYaml("big", "big", ports));
    REQUIRE_FALSE(h.Pass().error);
    std::filesystem::remove(h.dir / "manifests" / "big.yaml");
    CHECK_FALSE(h.Pass().plan.HasChanges());
    CHECK(h.DeviceRules().size() == 12);
  }

  TEST_CASE("deletions under the guard's share or count go through at once") {
    SimHarness h;
    std::string ports;
    for (int i = 0; i < 12; ++i)
      ports += "    - {name: p" + std::to_string(i) +
               ", protocol: tcp, externalPort: " + std::to_string(3000 + i) + "}\n";
    h.Manifest("a.yaml", PortForwardYaml("a", "a", ports));
    h.Manifest("b.yaml",
               PortForwardYaml("b", "b", "    - {name: x, protocol: tcp, externalPort: 4000}\n"));
    REQUIRE_FALSE(h.Pass().error);
    std::filesystem::remove(h.dir / "manifests" / "b.yaml");  // 1 of 13
    CHECK(h.Pass().report.deleted.size() == 1);
    CHECK(CountEvents(*h.store, "DeletionsHeld") == 0);
  }
}
