#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "adapters/vyos/config_tree.hpp"
#include "adapters/vyos/vyos_codec.hpp"

using namespace nc;
using namespace nc::vyos;

namespace {

std::string SharedFile(const std::string& rel) {
  std::ifstream in(std::string(NC_SHARED_DIR) + "/data/vyos-1x/" + rel);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool SharedPresent() {
  bool present = std::filesystem::exists(std::string(NC_SHARED_DIR) + "/data/vyos-1x/configs");
  if (!present) MESSAGE("SKIPPED: ../shared/data/vyos-1x is absent; real-config tests not run");
  return present;
}

std::set<std::string> Lines(const std::string& text, const std::string& prefix) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.rfind(prefix, 0) == 0) out.insert(l);
  return out;
}

}  // namespace

TEST_SUITE("vyos/config_tree") {
  TEST_CASE("config.boot grammar: tag nodes, multi values, comments, quoting, valueless leaves") {
    auto t = ParseConfigBoot(R"(/* top comment */
interfaces {
    ethernet eth0 {
        address 192.0.2.1/24
        address "2001:db8::1/64"
        description 'uplink "A"'
    }
}
nat {
    destination {
        rule 20 {
            disable
            log
            translation { address 10.0.0.2 }
        }
        rule 3 {
            inbound-interface pppoe0
        }
    }
}
// Warning: Do not remove the following line.
// vyos-config-version: "nat@5"
)");
    REQUIRE(t);
    const auto* addr = t->Find({"interfaces", "ethernet", "eth0", "address"});
    REQUIRE(addr);
    CHECK(addr->values == std::vector<std::string>{"192.0.2.1/24", "2001:db8::1/64"});
    CHECK(t->Find({"interfaces", "ethernet", "eth0", "description"})->values[0] == "uplink \"A\"");
    CHECK(t->Find({"interfaces", "ethernet"})->tag);
    const auto* rules = t->Find({"nat", "destination", "rule"});
    REQUIRE(rules);
    CHECK(rules->children.begin()->first == "3");  // numeric order
    CHECK(t->Find({"nat", "destination", "rule", "20", "disable"})->leaf);
    CHECK(t->children.at("interfaces").comment == "top comment");
  }

  TEST_CASE("rendering and re-parsing config.boot round-trips") {
    auto t = ParseConfigBoot(
        "nat {\n destination {\n  rule 10 {\n   description \"a b\"\n   disable\n  }\n }\n}\n");
    REQUIRE(t);
    auto again = ParseConfigBoot(RenderConfigBoot(*t));
    REQUIRE(again);
    CHECK(*again == *t);
    CHECK(RenderSetCommands(*t) ==
          "set nat destination rule 10 description 'a b'\nset nat destination rule 10 disable\n");
  }

  TEST_CASE("syntax errors name the line") {
    auto t = ParseConfigBoot("nat {\n  destination {\n    rule 10 {\n");
    REQUIRE_FALSE(t);
    CHECK(t.error().message.find("missing '}'") != std::string::npos);
    auto dup = ParseConfigBoot("a {\n}\na {\n}\n");
    REQUIRE_FALSE(dup);
    CHECK(dup.error().message.find("line 3") == 0);
  }

  TEST_CASE("showConfig JSON: one value a string, several an array, valueless {}") {
    auto t = FromJson(
        R"({"rule":{"10":{"disable":{},"destination":{"port":"80,443"},"load-balance":{"hash":["a","b"]}}}})");
    REQUIRE(t);
    CHECK(t->Find({"rule", "10", "disable"})->leaf);
    CHECK(t->Find({"rule", "10", "load-balance", "hash"})->values.size() == 2);
    CHECK(
        ToJson(*t) ==
        R"({"rule":{"10":{"destination":{"port":"80,443"},"disable":{},"load-balance":{"hash":["a","b"]}}}})");
  }

  TEST_CASE(
      "every real VyOS config in shared/data parses, and nat-basic renders the golden set "
      "commands") {
    if (!SharedPresent()) return;
    for (const auto& entry : std::filesystem::directory_iterator(std::string(NC_SHARED_DIR) +
                                                                 "/data/vyos-1x/configs")) {
      std::ifstream in(entry.path());
      std::stringstream ss;
      ss << in.rdbuf();
      auto t = ParseConfigBoot(ss.str());
      INFO(entry.path().string());
      CHECK(t.has_value());
    }
    auto t = ParseConfigBoot(SharedFile("configs/nat-basic"));
    REQUIRE(t);
    const auto golden = Lines(SharedFile("config-tests/nat-basic"), "set nat destination");
    REQUIRE(golden.size() == 15);
    CHECK(Lines(RenderSetCommands(*t), "set nat destination") == golden);
  }

  TEST_CASE("destination rules of every era map onto the model") {
    if (!SharedPresent()) return;
    auto complex = ParseConfigBoot(SharedFile("configs/dialup-router-complex"));
    REQUIRE(complex);
    auto rules = DestinationRules(*complex->Find({"nat", "destination"}));
    REQUIRE(rules.count(100));
    CHECK(rules[100].inbound_interface == "pppoe0");  // the 1.3 leaf form
    CHECK(rules[100].destination_port == "80,443");
    CHECK(rules[100].description == "HTTP(S)");
    CHECK(rules[100].log);
    CHECK(rules[100].unmanaged.empty());
    // The direct JSON reader (used on every poll) agrees with the tree reader.
    for (const char* f : {"configs/dialup-router-complex", "configs/dialup-router-medium-vpn",
                          "configs/nat-basic"}) {
      auto tree = ParseConfigBoot(SharedFile(f));
      REQUIRE(tree);
      const auto* dest = tree->Find({"nat", "destination"});
      REQUIRE(dest);
      auto via_json = DestinationRulesFromJson(ToJson(*dest));
      REQUIRE(via_json);
      CHECK(*via_json == DestinationRules(*dest));
    }
    auto basic = ParseConfigBoot(SharedFile("configs/nat-basic"));
    auto b = DestinationRules(*basic->Find({"nat", "destination"}));
    CHECK(b.at(10022).inbound_interface == "pppoe7");  // the 1.4 `name` form
    CHECK(b.at(10022).translation_port == "22");
  }
}
