// VlanInterfaces on a DNOS switch (switch-sim) over real SSH on loopback: create, change, delete,
// bridge domains, no-op passes, drift, onConflict, and host-key checking.
#include <doctest/doctest.h>

#include <algorithm>

#include "adapters/switch/vlan_importer.hpp"
#include "test/integration/switch_harness.hpp"

using namespace nc;
using namespace nc::testing;

namespace {

bool Has(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

const std::string kSub = "interfaces ge100-0/0/31.251";
const std::string kBd = "network-services bridge-domain instance BD-251";

}  // namespace

TEST_SUITE("integration/switch") {
  TEST_CASE(
      "create, change VLAN / admin state / bridge domain, delete: one commit per pass, verified "
      "and confirmed") {
    SwitchHarness h;
    h.Manifest("web.yaml", VlanYaml("web-vlan", "ge100-0/0/31", 251,
                                    "  bridgeDomain: BD-251\n  description: web tier\n"));
    auto r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK(r.commits == 1);
    CHECK(h.sim->Stats().commits == 1);
    CHECK(h.sim->Stats().confirms == 1);
    CHECK_FALSE(h.sim->PendingConfirm());
    auto run = h.Running();
    CHECK(Has(run, kSub + " vlan-id 251"));
    CHECK(Has(run, kSub + " l2-service enabled"));
    CHECK(Has(run, kSub + " description \"web tier [netconverge]\""));
    CHECK(Has(run, kBd + " interface ge100-0/0/31.251 ^"));
    CHECK(Has(run, kBd + " description \"bridge domain [netconverge]\""));
    CHECK(h.StateOf("default/web-vlan") == "Applied");
    CHECK(r.report.added.size() == 2);  // the bridge domain and the interface

    // A no-op pass: reads only, no configuration command at all.
    h.sim->ResetStats();
    r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK_FALSE(r.wrote);
    CHECK(r.operations.empty());
    CHECK(h.sim->Stats().config_lines == 0);
    CHECK(h.sim->Stats().commits == 0);

    // Change the VLAN, disable it and move it to another bridge domain: one commit; BD-251 has no
    // member left and was created by netconverge, so it goes.
    h.Manifest("web.yaml", VlanYaml("web-vlan", "ge100-0/0/31", 251,
                                    "  bridgeDomain: BD-900\n  description: web tier\n  "
                                    "adminState: disabled\n  subinterface: 251\n"));
    h.Manifest("web.yaml", VlanYaml("web-vlan", "ge100-0/0/31", 252,
                                    "  subinterface: 251\n  bridgeDomain: BD-900\n  description: "
                                    "web tier\n  adminState: disabled\n"));
    h.sim->ResetStats();
    r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK(h.sim->Stats().commits == 1);
    run = h.Running();
    CHECK(Has(run, kSub + " vlan-id 252"));
    CHECK(Has(run, kSub + " admin-state disabled"));
    CHECK(Has(run, "network-services bridge-domain instance BD-900 interface ge100-0/0/31.251 ^"));
    CHECK(h.Running("BD-251").empty());
    CHECK(h.StateOf("default/web-vlan") == "Disabled");
    // Detach happened before the old bridge domain was removed (the order the sim requires).
    const auto& ops = r.operations;
    auto at = [&](const std::string& s) {
      return std::find(ops.begin(), ops.end(), s) - ops.begin();
    };
    CHECK(at("no " + kBd + " interface ge100-0/0/31.251") < at("no " + kBd));

    // Delete: the sub-interface and its (our) bridge domain go, in one commit.
    h.Remove("web.yaml");
    h.sim->ResetStats();
    r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK(h.sim->Stats().commits == 1);
    CHECK(h.Running("ge100-0/0/31.251").empty());
    CHECK(h.Running("BD-900").empty());
    CHECK(h.Running("ge100-0/0/31 admin-state enabled").size() ==
          1);  // the parent port is untouched
  }

  TEST_CASE("a foreign bridge domain and foreign sub-interfaces are never removed") {
    SwitchHarness h;
    REQUIRE(h.sim->CommitOutOfBand(
        {"interfaces ge100-0/0/5.10 vlan-id 10", "interfaces ge100-0/0/5.10 l2-service enabled",
         "network-services bridge-domain instance CORE interface ge100-0/0/5.10"}));
    h.Manifest("a.yaml", VlanYaml("a", "ge100-0/0/6", 20, "  bridgeDomain: CORE\n"));
    REQUIRE_FALSE(h.Pass().error);
    CHECK(Has(h.Running(),
              "network-services bridge-domain instance CORE interface ge100-0/0/6.20 ^"));
    h.Remove("a.yaml");
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.Running("ge100-0/0/6.20").empty());
    CHECK(Has(h.Running(),
              "network-services bridge-domain instance CORE interface ge100-0/0/5.10 ^"));
    CHECK(Has(h.Running(), "interfaces ge100-0/0/5.10 vlan-id 10"));
  }

  TEST_CASE(
      "drift on the switch: Enforce reverts it in one commit, Report records it and leaves it") {
    SwitchHarness h;
    h.Manifest("a.yaml", VlanYaml("a", "ge100-0/0/1", 100));
    h.Manifest("b.yaml", VlanYaml("b", "ge100-0/0/2", 200, "  driftPolicy: Report\n"));
    REQUIRE_FALSE(h.Pass().error);
    REQUIRE(h.sim->CommitOutOfBand({"interfaces ge100-0/0/1.100 vlan-id 101",
                                    "interfaces ge100-0/0/2.200 admin-state disabled"}));
    h.sim->ResetStats();
    auto r = h.Pass("poll");
    REQUIRE_FALSE(r.error);
    CHECK(h.sim->Stats().commits == 1);
    CHECK(Has(h.Running(), "interfaces ge100-0/0/1.100 vlan-id 100"));
    CHECK(Has(h.Running(), "interfaces ge100-0/0/2.200 admin-state disabled"));  // reported, kept
    CHECK(h.StateOf("default/b") == "Drifted");
    CHECK(h.StateOf("default/a") == "Applied");
    CHECK(CountEvents(*h.store, "DriftDetected") == 2);
    // Deleted out of band: re-created.
    REQUIRE(h.sim->CommitOutOfBand({"no interfaces ge100-0/0/1.100"}));
    REQUIRE_FALSE(h.Pass("poll").error);
    CHECK(Has(h.Running(), "interfaces ge100-0/0/1.100 vlan-id 100"));
  }

  TEST_CASE(
      "an interface already configured on the switch: Abort reports it, Adopt takes it over") {
    SwitchHarness h;
    REQUIRE(h.sim->CommitOutOfBand({"interfaces ge100-0/0/7.70 vlan-id 70",
                                    "interfaces ge100-0/0/7.70 ipv4-address 10.7.0.1/24",
                                    "interfaces ge100-0/0/8.80 vlan-id 80"}));
    h.Manifest("x.yaml", VlanYaml("x", "ge100-0/0/7", 70));
    h.Manifest("y.yaml", VlanYaml("y", "ge100-0/0/9", 90));  // no conflict: converges regardless
    auto r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(h.StateOf("default/x") == "Conflict");
    CHECK(h.StateOf("default/y") == "Applied");
    CHECK(Has(h.Running(), "interfaces ge100-0/0/7.70 ipv4-address 10.7.0.1/24"));
    CHECK(CountEvents(*h.store, "ConflictDetected") == 1);

    h.Manifest("x.yaml", VlanYaml("x", "ge100-0/0/7", 70, "  onConflict: Adopt\n"));
    r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK(h.StateOf("default/x") == "Applied");
    CHECK(
        h.Running("ge100-0/0/7.70 ipv4-address").empty());  // an L2 service cannot keep an address
    CHECK(Has(h.Running(), "interfaces ge100-0/0/7.70 l2-service enabled"));
    CHECK(CountEvents(*h.store, "Adopted") == 1);

    h.Manifest("z.yaml", VlanYaml("z", "ge100-0/0/8", 80, "  onConflict: Skip\n"));
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.StateOf("default/z") == "Skipped");
    CHECK(h.Running("ge100-0/0/8.80") ==
          std::vector<std::string>{"interfaces ge100-0/0/8.80 vlan-id 80"});
    // Once adopted it is ours: removing the resource removes it.
    h.Remove("x.yaml");
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.Running("ge100-0/0/7.70").empty());
  }

  TEST_CASE(
      "a changed host key is refused - strict refuses an unknown key - accept-new records it") {
    SwitchHarness h;
    h.Manifest("a.yaml", VlanYaml("a", "ge100-0/0/1", 100));
    REQUIRE_FALSE(h.Pass().error);
    // The device comes back with a new host key on the same port.
    const int port = h.server->port();
    h.server->Stop();
    REQUIRE(sim::GenerateKeyFile((h.dir / "host_key").string()));
    h.ssh.port = port;
    h.StartServer();
    h.Restart();
    h.Manifest("b.yaml", VlanYaml("b", "ge100-0/0/2", 200));
    auto r = h.Pass();
    REQUIRE(r.error);
    CHECK(r.error->code == ErrorCode::kPermissionDenied);
    CHECK(r.error->message.find("host key has CHANGED") != std::string::npos);
    CHECK(h.Running("ge100-0/0/2.200").empty());
    // accept-new does not accept a changed key either.
    h.WriteDevice("", "  ssh: {knownHosts: ../known_hosts, hostKeyPolicy: accept-new}\n");
    r = h.Pass();
    REQUIRE(r.error);
    CHECK(r.error->message.find("CHANGED") != std::string::npos);
    // An unknown host (no known_hosts yet): accept-new records it in a new owner-only file,
    // then it is pinned.
    std::filesystem::remove(h.dir / "known_hosts");
    r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK((std::filesystem::status(h.dir / "known_hosts").permissions() &
           std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    std::ifstream kh(h.dir / "known_hosts");
    std::string recorded((std::istreambuf_iterator<char>(kh)), std::istreambuf_iterator<char>());
    CHECK(recorded.find("[127.0.0.1]:" + std::to_string(port)) != std::string::npos);
    CHECK(Has(h.Running(), "interfaces ge100-0/0/2.200 vlan-id 200"));
    // strict with an unknown key: refused, naming the fingerprint and the file.
    WriteFile(h.dir / "known_hosts", "");
    h.WriteDevice("");
    h.Restart();
    h.Manifest("c.yaml", VlanYaml("c", "ge100-0/0/3", 300));
    r = h.Pass();
    REQUIRE(r.error);
    CHECK(r.error->message.find("not in") != std::string::npos);
    CHECK(r.error->message.find("SHA256:") != std::string::npos);
  }

  TEST_CASE(
      "validation: bad VLAN, bad port name, two claims on one VLAN, a VlanInterface on a VyOS "
      "device") {
    SwitchHarness h;
    h.Manifest("bad.yaml",
               VlanYaml("bad", "ge100-0/0/31", 5000) + "---\n" + VlanYaml("port", "eth0", 5) +
                   "---\n" + VlanYaml("a", "ge100-0/0/1", 10) + "---\n" +
                   VlanYaml("b", "ge100-0/0/1", 10, "  subinterface: 11\n") + "---\n" +
                   VlanYaml("c", "ge100-0/0/2", 12, "  l2Service: false\n  bridgeDomain: BD\n") +
                   "---\n" +
                   VlanYaml("d", "ge100-0/0/3", 13, "  description: 'a \"quoted\" # remark'\n"));
    auto v = source::ValidateDirectory((h.dir / "manifests").string(), h.services);
    std::string all;
    for (const auto& p : v.problems) all += p.ToString() + "\n";
    CHECK(all.find("VlanInterface default/bad: spec.vlan: 5000 is not a VLAN id (1-4094)") !=
          std::string::npos);
    CHECK(all.find("VlanInterface default/port: spec.interface: 'eth0' is not a DNOS port name") !=
          std::string::npos);
    CHECK(all.find("VlanInterface default/a: spec.vlan: claims VLAN 10 on ge100-0/0/1, as does "
                   "VlanInterface default/b") != std::string::npos);
    CHECK(all.find("VlanInterface default/c: spec.bridgeDomain: a bridge-domain member must be an "
                   "L2 service") != std::string::npos);
    CHECK(all.find("VlanInterface default/d: spec.description: contains the character \"") !=
          std::string::npos);
    CHECK(v.desired.vlans.empty());
  }

  TEST_CASE(
      "import: existing sub-interfaces become VlanInterfaces that adopt them without a change of "
      "service") {
    SwitchHarness h;
    REQUIRE(h.sim->CommitOutOfBand(
        {"interfaces ge100-0/0/10.110 vlan-id 110",
         "interfaces ge100-0/0/10.110 l2-service enabled",
         "interfaces ge100-0/0/10.110 description \"tenant a\"",
         "interfaces ge100-0/0/11.5 vlan-id 111", "interfaces ge100-0/0/11.5 admin-state disabled",
         "network-services bridge-domain instance TENANTS interface ge100-0/0/10.110"}));
    auto desired = h.Desired();
    auto adapter = h.factory.Create(desired.devices.at("default/sw1"));
    REQUIRE(adapter);
    auto observed = (*adapter)->Observe();
    REQUIRE(observed);
    auto imported = switchcli::ImportVlanInterfaces(
        observed->switch_state, {"sw1", "default", "netconverge", "device default/sw1"});
    CHECK(imported.imported == 2);
    CHECK(imported.yaml.find("  interface: ge100-0/0/11\n  vlan: 111\n  subinterface: 5\n") !=
          std::string::npos);
    CHECK(imported.yaml.find("  bridgeDomain: TENANTS\n") != std::string::npos);
    CHECK(imported.yaml.find("  adminState: disabled\n") != std::string::npos);
    h.Manifest("imported.yaml", imported.yaml);
    auto r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK(h.StateOf("default/sw1-ge100-0-0-10-110") == "Applied");
    CHECK(h.StateOf("default/sw1-ge100-0-0-11-5") == "Disabled");
    // Same service: VLANs, L2, admin state and membership unchanged; only the ownership tag added.
    auto run = h.Running();
    CHECK(Has(run, "interfaces ge100-0/0/10.110 vlan-id 110"));
    CHECK(Has(run, "interfaces ge100-0/0/10.110 description \"tenant a [netconverge]\""));
    CHECK(Has(run, "network-services bridge-domain instance TENANTS interface ge100-0/0/10.110 ^"));
    CHECK(Has(run, "interfaces ge100-0/0/11.5 admin-state disabled"));
    CHECK(CountEvents(*h.store, "Adopted") == 2);
    h.sim->ResetStats();
    REQUIRE_FALSE(h.Pass().error);
    CHECK(h.sim->Stats().config_lines == 0);
  }
}
