#include <doctest/doctest.h>

#include "controller/core/validate.hpp"
#include "test/unit/core/fixtures.hpp"

using namespace nc;
using namespace nc::core;
using nc::testing::DebianServices;
using nc::testing::MakeDevice;
using nc::testing::MakePort;
using nc::testing::MakePortForward;

namespace {

bool HasProblem(const ValidationResult& r, const std::string& field, const std::string& needle) {
  for (const auto& p : r.problems)
    if (p.field == field && p.message.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_SUITE("core/validate") {
  TEST_CASE("a valid port forward becomes one tagged rule per port") {
    api::Manifests m;
    m.devices.push_back(MakeDevice());
    m.port_forwards.push_back(
        MakePortForward("web1", "web1", {MakePort("ssh", "tcp", "2201", "22")}));
    auto r = Validate(m, DebianServices());
    REQUIRE(r.problems.empty());
    REQUIRE(r.desired.rules.size() == 1);
    const auto& rule = r.desired.rules[0];
    CHECK(rule.device() == "default/edge1");
    CHECK(rule.display() == "VM web1 Port SSH");
    CHECK(rule.rule.description == "VM web1 Port SSH [netconverge]");
    CHECK(rule.rule.translation_address == "192.168.10.11");
    CHECK(rule.rule.translation_port == "22");
    CHECK(rule.rule.destination_port == "2201");
    CHECK(rule.rule.protocol == "tcp");
    CHECK_FALSE(rule.rule.disabled);
  }

  TEST_CASE("field problems name the file, line and field path") {
    api::Manifests m;
    m.devices.push_back(MakeDevice());
    auto pf = MakePortForward("web1", "web1",
                              {MakePort("ssh", "tcp", "22"), MakePort("bad", "tcp", "70000")});
    m.port_forwards.push_back(pf);
    auto r = Validate(m, DebianServices());
    REQUIRE(r.problems.size() == 1);
    const auto& p = r.problems[0];
    CHECK(p.field == "spec.ports[1].externalPort");
    CHECK(p.pos.file == "web1.yaml");
    CHECK(p.pos.line == 15);
    CHECK(p.ToString().find(
              "web1.yaml:15:7: PortForward default/web1: spec.ports[1].externalPort:") == 0);
    CHECK(r.desired.rules.empty());
  }

  TEST_CASE("descriptions and translation-port lists that VyOS would reject are refused") {
    api::Manifests m;
    m.devices.push_back(MakeDevice());
    auto long_desc = MakePort("a", "tcp", "1000");
    long_desc.description = std::string(300, 'x');
    auto quoted = MakePort("b", "tcp", "1001");
    quoted.description = "two\nlines";
    auto list = MakePort("c", "tcp", "1002", "80,443");
    auto noproto = MakePort("d", "", "1003");
    m.port_forwards.push_back(MakePortForward("web1", "web1", {long_desc, quoted, list, noproto}));
    auto r = Validate(m, DebianServices());
    CHECK(HasProblem(r, "spec.ports[0].description", "300 bytes"));
    CHECK(HasProblem(r, "spec.ports[0].description", "ownership tag"));
    CHECK(HasProblem(r, "spec.ports[1].description", "newline"));
    CHECK(HasProblem(r, "spec.ports[2].internalPort", "no list"));
    CHECK(HasProblem(r, "spec.ports[3].protocol", "required"));
  }

  TEST_CASE("two resources claiming the same external port are both reported") {
    api::Manifests m;
    m.devices.push_back(MakeDevice());
    m.port_forwards.push_back(MakePortForward("web1", "web1", {MakePort("http", "tcp", "80")}));
    m.port_forwards.push_back(
        MakePortForward("web2", "web2", {MakePort("alt", "tcp_udp", "70-90")}));
    m.port_forwards.push_back(MakePortForward("dns", "dns", {MakePort("dns", "udp", "80")}));
    auto r = Validate(m, DebianServices());
    int overlaps = 0;
    for (const auto& p : r.problems)
      if (p.message.find("overlaps") != std::string::npos) ++overlaps;
    // web1/web2 (tcp) and web2/dns (udp) overlap; web1/dns do not (different protocols).
    CHECK(overlaps == 4);
    CHECK(r.desired.rules.empty());
  }

  TEST_CASE("validating consumed manifests gives the same result and releases the ports") {
    api::Manifests m;
    m.devices.push_back(MakeDevice());
    m.port_forwards.push_back(MakePortForward(
        "web1", "web1", {MakePort("http", "tcp", "80"), MakePort("ssh", "tcp", "2201", "22")}));
    m.port_forwards.push_back(
        MakePortForward("web2", "web2", {MakePort("alt", "tcp_udp", "70-90")}));
    m.port_forwards.push_back(MakePortForward("dns", "dns", {MakePort("dns", "udp", "53")}));
    auto pinned = MakePortForward("db", "db", {MakePort("pg", "tcp", "5432")});
    pinned.spec.ports[0].rule_number = 10007;
    auto twin = MakePortForward("db2", "db2", {MakePort("pg", "tcp", "5433")});
    twin.spec.ports[0].rule_number = 10007;
    m.port_forwards.push_back(pinned);
    m.port_forwards.push_back(twin);
    const auto kept = Validate(m, DebianServices());
    api::Manifests consumed = m;
    const auto got = Validate(std::move(consumed), DebianServices());
    // The overlap's message names the other port, its external port and its line, all read
    // from the rules once the specs are gone.
    REQUIRE(kept.problems.size() == 4);  // web1/web2 overlap (2), db/db2 pin (2)
    CHECK(got.problems == kept.problems);
    CHECK(got.desired == kept.desired);
    REQUIRE(got.desired.rules.size() == 1);
    CHECK(got.desired.rules[0].resource() == "default/dns");
    for (const auto& pf : consumed.port_forwards)  // NOLINT(bugprone-use-after-move)
      CHECK(pf.spec.ports.empty());
    CHECK(m.port_forwards[0].spec.ports.size() == 2);  // the const overload leaves them alone
  }

  TEST_CASE("different interfaces may use the same external port") {
    api::Manifests m;
    m.devices.push_back(MakeDevice());
    m.port_forwards.push_back(MakePortForward("web1", "web1", {MakePort("http", "tcp", "80")}));
    auto other = MakePortForward("web2", "web2", {MakePort("http", "tcp", "80")});
    other.spec.inbound_interface = "eth1";
    m.port_forwards.push_back(other);
    CHECK(Validate(m, DebianServices()).problems.empty());
  }

  TEST_CASE("pins must be unique and inside the owned range unless adopting") {
    api::Manifests m;
    m.devices.push_back(MakeDevice());
    auto a = MakePort("a", "tcp", "1000");
    a.rule_number = 10050;
    auto b = MakePort("b", "tcp", "1001");
    b.rule_number = 10050;
    auto c = MakePort("c", "tcp", "1002");
    c.rule_number = 100;
    m.port_forwards.push_back(MakePortForward("web1", "web1", {a, b, c}));
    auto r = Validate(m, DebianServices());
    CHECK(HasProblem(r, "spec.ports[0].ruleNumber", "pinned by 2"));
    CHECK(HasProblem(r, "spec.ports[2].ruleNumber", "outside"));
    auto adopt = MakePortForward("legacy", "legacy", {c});
    adopt.spec.on_conflict = "Adopt";
    api::Manifests m2;
    m2.devices.push_back(MakeDevice());
    m2.port_forwards.push_back(adopt);
    CHECK(Validate(m2, DebianServices()).problems.empty());
  }

  TEST_CASE("more ports than the owned range holds is an error on the device") {
    api::Manifests m;
    auto d = MakeDevice();
    d.spec.ownership_rule_range = "100-101";
    m.devices.push_back(d);
    m.port_forwards.push_back(MakePortForward(
        "web1", "web1",
        {MakePort("a", "tcp", "1"), MakePort("b", "tcp", "2"), MakePort("c", "tcp", "3")}));
    auto r = Validate(m, DebianServices());
    CHECK(HasProblem(r, "spec.ownership.ruleRange", "holds only 2"));
  }

  TEST_CASE("unknown devices, bad names and bad enums are reported") {
    api::Manifests m;
    m.devices.push_back(MakeDevice());
    auto pf = MakePortForward("Web_1", "vm 1", {MakePort("ssh", "sctp", "22")}, "nosuch");
    pf.spec.on_conflict = "Replace";
    pf.spec.inbound_interface = "0eth;reboot";
    m.port_forwards.push_back(pf);
    auto r = Validate(m, DebianServices());
    CHECK(HasProblem(r, "metadata.name", "not a valid name"));
    CHECK(HasProblem(r, "spec.vm", "must be"));
    CHECK(HasProblem(r, "spec.deviceRef", "no Device 'nosuch'"));
    CHECK(HasProblem(r, "spec.ports[0].protocol", "sctp"));
    CHECK(HasProblem(r, "spec.onConflict", "Replace"));
    CHECK(HasProblem(r, "spec.inboundInterface", "VyOS interface name"));
  }

  TEST_CASE("device defaults and relative paths") {
    api::Manifests m;
    auto d = MakeDevice();
    d.pos.file = "manifests/sub/dev.yaml";
    d.spec.tls_ca_file = "../ca.pem";
    d.spec.commit_confirm_timeout = "90s";
    m.devices.push_back(d);
    auto r = Validate(m, DebianServices());
    REQUIRE(r.problems.empty());
    const auto& dev = r.desired.devices.at("default/edge1");
    CHECK(dev.credentials_file == "manifests/sub/creds.yaml");
    CHECK(dev.tls_ca_file == "manifests/sub/../ca.pem");
    CHECK(dev.commit_confirm_minutes == 2);  // rounded up to whole minutes
    CHECK(dev.rule_range == RuleRange{10000, 19999});
    CHECK(dev.poll_interval_ms == 30000);
  }
}
