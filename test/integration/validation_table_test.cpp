// What VyOS accepts, value by value: each row is run through netconverge's validation (the
// function `netconverge validate` calls) and, with that validation bypassed, through
// netconverge's writer to vyos-sim, whose independent checks (written from VyOS's own schema)
// give the router's verdict. Both must agree with the row - and so with each other.
#include <doctest/doctest.h>

#include "controller/core/validate.hpp"
#include "test/integration/harness.hpp"
#include "test/unit/core/fixtures.hpp"

using namespace nc;
using namespace nc::testing;

namespace {

struct Row {
  const char* field;  // externalPort, internalPort, destinationAddress, sourceAddress,
                      // internalAddress, inboundInterface, description
  std::string value;
  bool accept;
  const char*
      source;  // the VyOS source that decides it (../shared/data/vyos-1x/schema, ipaddrcheck)
};

std::vector<Row> Table() {
  return {
      {"externalPort", "80", true, "validators/port-multi: a number 1-65535"},
      {"externalPort", "80,443", true, "validators/port-multi: a comma list"},
      {"externalPort", "1000-2000", true,
       "validators/port-multi: ^[0-9]{1,5}-[0-9]{1,5}$, ascending"},
      {"externalPort", "http", true, "validators/port-multi: /etc/services first column"},
      {"externalPort", "www", true, "validators/port-multi: /etc/services aliases too (tmp[2:])"},
      {"externalPort", "80,!443", true, "validators/port-multi: '!' per item"},
      {"externalPort", "!22", true, "nat-port.xml.i: the whole list negated"},
      {"externalPort", "0080", true, "validators/port-multi: isnumeric() then int()"},
      {"externalPort", "ms-wbt-server", true, "validators/port-multi: Debian's name for 3389"},
      {"externalPort", "rdp", false, "validators/port-multi: not in Debian 12's /etc/services"},
      {"externalPort", "0", false, "validators/port-multi: range(1, 65536)"},
      {"externalPort", "65536", false, "validators/port-multi: range(1, 65536)"},
      {"externalPort", "2000-1000", false, "validators/port-multi: port_1 > port_2"},
      {"externalPort", "80,", false, "validators/port-multi: an empty item is no service name"},
      {"internalPort", "8080", true, "validators/port-range: a number"},
      {"internalPort", "8000-8010", true, "validators/port-range: one range"},
      {"internalPort", "http", true, "validators/port-range: /etc/services first column"},
      {"internalPort", "www", false, "validators/port-range: first column only (no aliases)"},
      {"internalPort", "postgres", false, "validators/port-range: an alias of postgresql"},
      {"internalPort", "80,443", false, "validators/port-range: no list"},
      {"internalPort", "!80", false, "nat-translation-port.xml.i: no negation"},
      {"internalPort", "70000", false, "validators/port-range: range(1, 65536)"},
      {"destinationAddress", "203.0.113.5", true, "ipaddrcheck --is-ipv4-single"},
      {"destinationAddress", "203.0.113.0/24", true, "ipaddrcheck --is-ipv4-net"},
      {"destinationAddress", "203.0.113.5/24", false, "ipaddrcheck --is-ipv4-net: host bits set"},
      {"destinationAddress", "203.0.113.0/024", false,
       "ipaddrcheck is_ipv4_cidr: \\/([1-9]\\d*|0)"},
      {"destinationAddress", "10.0.0.1-10.0.0.9", true, "ipaddrcheck --is-ipv4-range"},
      {"destinationAddress", "10.0.0.9-10.0.0.1", false,
       "ipaddrcheck is_ipv4_range: first above last"},
      {"destinationAddress", "10.0.0.250-10.0.1.5", false,
       "ipaddrcheck is_ipv4_range: compares s_addr (network order) on x86"},
      {"destinationAddress", "!203.0.113.5", true, "validators/ipv4-address-exclude"},
      {"destinationAddress", "!10.0.0.0/8", true, "validators/ipv4-prefix-exclude"},
      {"destinationAddress", "203.0.113.256", false, "ipaddrcheck: octets up to 255 (libcidr)"},
      {"destinationAddress", "010.0.0.1", false, "ipaddrcheck is_ipv4_single: ([1-9]\\d{0,2}|0)"},
      {"sourceAddress", "198.51.100.0/24", true, "nat-address.xml.i: ipv4-prefix"},
      {"sourceAddress", "!198.51.100.7", true, "nat-address.xml.i: ipv4-address-exclude"},
      {"internalAddress", "192.168.10.11", true, "nat.xml.in translation address: ipv4-address"},
      {"internalAddress", "192.168.10.0/28", true, "nat.xml.in translation address: ipv4-prefix"},
      {"internalAddress", "192.168.10.11-192.168.10.14", true,
       "nat.xml.in translation address: ipv4-range"},
      {"internalAddress", "!192.168.10.11", false,
       "nat.xml.in translation address: no -exclude validator"},
      {"internalAddress", "192.168.10.11/24", false,
       "nat.xml.in translation address: ipv4-prefix needs a network"},
      {"inboundInterface", "eth0", true, "firewall/match-interface.xml.i regex"},
      {"inboundInterface", "bond0.20", true, "firewall/match-interface.xml.i regex"},
      {"inboundInterface", "pppoe0", true, "firewall/match-interface.xml.i regex"},
      {"inboundInterface", "eth*", true, "firewall/match-interface.xml.i regex: (\\*?)"},
      {"inboundInterface", "!eth1", true, "firewall/match-interface.xml.i regex: (\\!?)"},
      {"inboundInterface", "lo", true, "firewall/match-interface.xml.i regex: (\\!?)lo"},
      {"inboundInterface", "blue", true, "validators/vrf-name: a VRF"},
      {"inboundInterface", "0eth", false,
       "validators/vrf-name: no leading digit; no interface prefix"},
      {"inboundInterface", "averyveryverylongname", false, "validators/vrf-name: 1-15 characters"},
      {"description", "HTTP(S)", true, "generic-description.xml.i: .{0,255}"},
      {"description", "it's \"quoted\" \\ back", true,
       "generic-description.xml.i: any character but newline"},
      {"description", "Zürich Büro 東京", true, "generic-description.xml.i: bytes, UTF-8 text"},
      {"description", "two\nlines", false, "generic-description.xml.i: '.' is no newline"},
      {"description", std::string(241, 'a'), true,
       "generic-description.xml.i: 241 + ' [netconverge]' = 255 bytes"},
      {"description", std::string(242, 'a'), false,
       "generic-description.xml.i: 256 bytes with the tag"},
  };
}

api::PortForwardObject RowObject(const Row& row) {
  auto port = MakePort("app", "tcp", "30000", "");
  auto pf = MakePortForward("row", "row", {port});
  const std::string f = row.field;
  if (f == "externalPort")
    pf.spec.ports[0].external_port = row.value;
  else if (f == "internalPort")
    pf.spec.ports[0].internal_port = row.value;
  else if (f == "destinationAddress")
    pf.spec.destination_address = row.value;
  else if (f == "sourceAddress")
    pf.spec.ports[0].source_address = row.value;
  else if (f == "internalAddress")
    pf.spec.internal_address = row.value;
  else if (f == "inboundInterface")
    pf.spec.inbound_interface = row.value;
  else if (f == "description")
    pf.spec.ports[0].description = row.value;
  return pf;
}

// The rule the controller would write for the row, built without validating anything.
core::NatRule RowRule(const Row& row) {
  core::NatRule r;
  r.description = core::TaggedDescription("row", "netconverge");
  r.inbound_interface = "eth0";
  r.protocol = "tcp";
  r.destination_port = "30000";
  r.translation_address = "192.168.10.11";
  const std::string f = row.field;
  if (f == "externalPort")
    r.destination_port = row.value;
  else if (f == "internalPort")
    r.translation_port = row.value;
  else if (f == "destinationAddress")
    r.destination_address = row.value;
  else if (f == "sourceAddress")
    r.source_address = row.value;
  else if (f == "internalAddress")
    r.translation_address = row.value;
  else if (f == "inboundInterface")
    r.inbound_interface = row.value;
  else if (f == "description")
    r.description = core::TaggedDescription(row.value, "netconverge");
  return r;
}

}  // namespace

TEST_SUITE("integration/validation") {
  TEST_CASE(
      "validation table: netconverge's verdict and vyos-sim's independent one agree with VyOS on "
      "every value") {
    const auto rows = Table();
    REQUIRE(rows.size() >= 40);
    const auto services = source::LoadServices();
    REQUIRE_FALSE(services.empty());  // netbase's /etc/services, as on VyOS
    SimHarness h;
    auto adapter = h.factory.Create(h.Desired().devices.at("default/edge1"));
    REQUIRE(adapter);
    auto observed = (*adapter)->Observe();
    REQUIRE(observed);
    int accepted = 0, rejected = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      INFO("row " << i << ": " << row.field << " = '" << row.value << "' (" << row.source << ")");
      // 1. netconverge's validation.
      api::Manifests m;
      m.devices.push_back(MakeDevice());
      m.port_forwards.push_back(RowObject(row));
      const auto v = core::Validate(m, services);
      std::string problems;
      for (const auto& p : v.problems) problems += p.ToString() + "\n";
      INFO("validate: " << (problems.empty() ? std::string("accepted") : problems));
      CHECK(v.problems.empty() == row.accept);
      // 2. The router's verdict: the rule written with validation bypassed.
      core::Plan plan;
      core::RuleChange add;
      add.kind = core::ChangeKind::kAdd;
      add.number = 10000 + static_cast<int>(i);
      add.after = RowRule(row);
      plan.changes.push_back(add);
      auto out = (*adapter)->Apply(plan, *observed);
      INFO("vyos-sim: " << (out.error ? out.error->message : std::string("accepted")));
      CHECK(!out.error == row.accept);
      if (!out.error) {
        ++accepted;
        observed->nat_rules = *out.read_back;
        // Read back through vyos-sim's own rendering: the value arrived as written (quotes,
        // backslashes and UTF-8 included).
        const auto device = h.DeviceRules();
        REQUIRE(device.count(add.number));
        const auto& got = device.at(add.number);
        const std::string f = row.field;
        if (f == "description") CHECK(got.description == add.after->description);
        if (f == "inboundInterface") CHECK(got.inbound_interface == row.value);
        if (f == "externalPort") CHECK(got.destination_port == row.value);
      } else {
        ++rejected;
      }
    }
    MESSAGE(
        "validation table: " << rows.size() << " values, " << accepted << " accepted and "
                             << rejected
                             << " rejected by vyos-sim, each as netconverge's validate decided");
  }
}
