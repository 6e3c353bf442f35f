#include <doctest/doctest.h>

#include "controller/core/values.hpp"
#include "test/unit/core/fixtures.hpp"

using namespace nc::core;
using nc::testing::DebianServices;

TEST_SUITE("core/values") {
  TEST_CASE("port lists accept numbers, ranges and known service names") {
    auto services = DebianServices();
    auto r = ParsePortMulti("80,443,8000-8010,ssh", services);
    REQUIRE(r);
    CHECK(r->size() == 4);
    CHECK((*r)[2] == PortInterval{8000, 8010});
    CHECK((*r)[3] == PortInterval{22, 22});
  }

  TEST_CASE("ports out of range, reversed ranges and unknown names are refused with the value") {
    auto services = DebianServices();
    auto big = ParsePortMulti("70000", services);
    REQUIRE_FALSE(big);
    CHECK(big.error().message.find("70000") != std::string::npos);
    CHECK_FALSE(ParsePortMulti("0", services));
    CHECK_FALSE(ParsePortMulti("90-80", services));
    CHECK_FALSE(ParsePortMulti("nosuchservice", services));
    CHECK_FALSE(ParsePortMulti("80,,443", services));
  }

  TEST_CASE("a translation port is one port or one range, never a list") {
    auto services = DebianServices();
    CHECK(ParsePortRange("22", services));
    CHECK(ParsePortRange("1000-1010", services));
    auto list = ParsePortRange("80,443", services);
    REQUIRE_FALSE(list);
    CHECK(list.error().message.find("no list") != std::string::npos);
  }

  TEST_CASE("/etc/services text is parsed with aliases and comments") {
    auto t = ParseServices(
        "# comment\nhttp\t\t80/tcp\t\twww   # WorldWideWeb\ndomain 53/udp\nbad line\n");
    CHECK(t.tcp.at("http") == 80);
    CHECK(t.tcp.at("www") == 80);
    CHECK(t.udp.at("domain") == 53);
    CHECK_FALSE(t.Knows("bad"));
  }

  TEST_CASE("addresses, prefixes, ranges and negation follow VyOS syntax") {
    CHECK(CheckAddressMatch("192.0.2.1", false));
    CHECK(CheckAddressMatch("192.0.2.0/24", false));
    CHECK(CheckAddressMatch("192.0.2.1-192.0.2.9", false));
    CHECK(CheckAddressMatch("!10.0.0.0/8", true));
    CHECK_FALSE(CheckAddressMatch("!10.0.0.0/8", false));
    CHECK_FALSE(CheckAddressMatch("10.0.0.256", false));
    CHECK_FALSE(CheckAddressMatch("10.0.0.0/33", false));
    CHECK_FALSE(CheckAddressMatch("010.0.0.1", false));
  }

  TEST_CASE(
      "interface names: VyOS's interface regex or a VRF name (firewall/match-interface.xml.i)") {
    CHECK(CheckInterfaceName("eth0"));
    CHECK(CheckInterfaceName("bond1.20"));
    CHECK(CheckInterfaceName("pppoe0"));
    CHECK(CheckInterfaceName("eth*"));
    CHECK(CheckInterfaceName("lo"));
    CHECK(CheckInterfaceName("!eth1"));
    CHECK(CheckInterfaceName("eth"));                      // (.+)? makes the suffix optional
    CHECK(CheckInterfaceName("ethFOO+"));                  // any suffix
    CHECK(CheckInterfaceName("blue"));                     // a VRF name
    CHECK(CheckInterfaceName("any"));                      // a VRF name too
    CHECK(CheckInterfaceName("vtun-vrf"));                 // vrf-name's pattern loses "vtun"
    CHECK_FALSE(CheckInterfaceName("mgmt-vrf-too-long"));  // 17 characters, no interface prefix
    CHECK_FALSE(CheckInterfaceName("0blue"));              // a VRF name cannot start with a digit
    CHECK(CheckInterfaceName("enp0s3"));
    CHECK_FALSE(CheckInterfaceName("foo\nbar"));
    CHECK_FALSE(CheckInterfaceName(""));
  }

  TEST_CASE("descriptions: up to 255 bytes of one line - quotes, backslashes and UTF-8 allowed") {
    CHECK(CheckDescription("VM web1 Port SSH", 255));
    CHECK(CheckDescription("it's", 255));
    CHECK(CheckDescription("say \"hi\"", 255));
    CHECK(CheckDescription("back\\slash", 255));
    CHECK(CheckDescription("Zürich – 東京", 255));
    CHECK_FALSE(CheckDescription("line\nbreak", 255));
    CHECK_FALSE(CheckDescription("tab\there", 255));
    CHECK_FALSE(CheckDescription("\xff\xfe not UTF-8", 255));
    CHECK_FALSE(CheckDescription(std::string(256, 'a'), 255));
    CHECK(CheckDescription(std::string(255, 'a'), 255));
    std::string accents;
    for (int i = 0; i < 128; ++i) accents += "é";  // 128 characters, 256 bytes: VyOS counts bytes
    CHECK_FALSE(CheckDescription(accents, 255));
  }

  TEST_CASE("durations use Go syntax") {
    CHECK(*ParseDurationMs("30s") == 30000);
    CHECK(*ParseDurationMs("1m30s") == 90000);
    CHECK(*ParseDurationMs("500ms") == 500);
    CHECK(*ParseDurationMs("2h") == 7200000);
    CHECK_FALSE(ParseDurationMs("30"));
    CHECK_FALSE(ParseDurationMs("fast"));
  }

  TEST_CASE("rule ranges are lo-hi within 1-999999") {
    CHECK(ParseRuleRange("10000-19999")->first == 10000);
    CHECK_FALSE(ParseRuleRange("0-10"));
    CHECK_FALSE(ParseRuleRange("20-10"));
    CHECK_FALSE(ParseRuleRange("1-1000000"));
  }
}
