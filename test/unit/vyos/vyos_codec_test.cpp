#include <doctest/doctest.h>

#include "adapters/vyos/schema.hpp"
#include "adapters/vyos/vyos_codec.hpp"
#include "test/unit/core/fixtures.hpp"

using namespace nc;
using namespace nc::vyos;

namespace {

core::NatRule Rule() {
  core::NatRule r;
  r.description = "VM web1 Port SSH [netconverge]";
  r.inbound_interface = "eth0";
  r.protocol = "tcp";
  r.destination_port = "2201";
  r.translation_address = "192.168.10.11";
  r.translation_port = "22";
  return r;
}

}  // namespace

TEST_SUITE("vyos/codec") {
  TEST_CASE("a rule renders as sets of every leaf, protocol included") {
    auto cmds = RuleSetCommands(10001, Rule());
    REQUIRE(cmds.size() == 6);
    CHECK(ToCliLine(cmds[0]) ==
          "set nat destination rule 10001 description 'VM web1 Port SSH [netconverge]'");
    CHECK(ToCliLine(cmds[1]) == "set nat destination rule 10001 inbound-interface name 'eth0'");
    CHECK(ToCliLine(cmds[2]) == "set nat destination rule 10001 protocol 'tcp'");
    auto disabled = Rule();
    disabled.disabled = true;
    CHECK(ToCliLine(RuleSetCommands(5, disabled).back()) == "set nat destination rule 5 disable");
  }

  TEST_CASE("an update is a delete followed by every set, in one list") {
    core::RuleChange ch{core::ChangeKind::kUpdate,
                        10001,
                        "default/web1",
                        "ssh",
                        "VM web1 Port SSH",
                        Rule(),
                        Rule(),
                        "x",
                        false};
    auto cmds = ChangeCommands(ch);
    CHECK(cmds.front().op == "delete");
    CHECK(cmds.size() == 7);
  }

  TEST_CASE("showConfig JSON round-trips through the model") {
    auto json =
        R"({"rule": {"10001": {"description": "VM web1 Port SSH [netconverge]", "destination": {"port": "2201"},
      "inbound-interface": {"name": "eth0"}, "protocol": "tcp", "translation": {"address": "192.168.10.11", "port": "22"}},
      "100": {"disable": {}, "log": {}, "inbound-interface": {"group": "WAN"}, "source": {"port": "53"}}}})";
    auto rules = DestinationRulesFromJson(json);
    REQUIRE(rules);
    CHECK(rules->at(10001) == Rule());
    const auto& foreign = rules->at(100);
    CHECK(foreign.disabled);
    CHECK(foreign.log);
    CHECK(foreign.unmanaged ==
          std::vector<std::string>{"inbound-interface group WAN", "source port 53"});
  }

  TEST_CASE("request bodies are raw JSON with string values") {
    auto body = EncodeConfigure("K3Y", RuleSetCommands(7, Rule()), 2);
    CHECK(body.find(R"("key":"K3Y")") != std::string::npos);
    CHECK(body.find(R"("confirm_time":2)") != std::string::npos);
    CHECK(body.find(R"("path":["nat","destination","rule","7","protocol"],"value":"tcp")") !=
          std::string::npos);
  }

  TEST_CASE("plans larger than the body limit split between rules, never inside one") {
    core::Plan plan;
    for (int i = 0; i < 100; ++i)
      plan.changes.push_back(
          {core::ChangeKind::kAdd, 10000 + i, "r", "p", "d", std::nullopt, Rule(), "new", false});
    CHECK(BatchCommands(plan, 1 << 20).size() == 1);
    auto small = BatchCommands(plan, 8 * 1024);
    CHECK(small.size() > 1);
    size_t total = 0;
    for (const auto& b : small) {
      CHECK(b.size() % 6 == 0);
      total += b.size();
    }
    CHECK(total == 600);
  }

  TEST_CASE(
      "a batch's body built change by change is byte for byte the body of its commands, and "
      "every command is told once, in order") {
    core::Plan plan;
    auto changed = Rule();
    changed.translation_port = "2222";
    changed.disabled = true;
    plan.changes.push_back(
        {core::ChangeKind::kAdd, 10001, "r", "a", "d", std::nullopt, Rule(), "new", false});
    plan.changes.push_back(
        {core::ChangeKind::kUpdate, 10002, "r", "b", "d", Rule(), changed, "changed", false});
    plan.changes.push_back(
        {core::ChangeKind::kDelete, 10003, "r", "c", "d", Rule(), std::nullopt, "gone", false});
    for (auto syntax : {InterfaceSyntax::kName, InterfaceSyntax::kLeaf})
      for (std::pair<size_t, size_t> range : {std::pair<size_t, size_t>{0, 3}, {1, 3}, {1, 2}}) {
        const auto commands = RangeCommands(plan, range, syntax);
        std::vector<std::string> told;
        const auto body = EncodeConfigureRange(
            "K3Y", plan, range, syntax, 2, [&](const Command& c) { told.push_back(ToCliLine(c)); });
        CHECK(body == EncodeConfigure("K3Y", commands, 2));
        REQUIRE(told.size() == commands.size());
        for (size_t i = 0; i < told.size(); ++i) CHECK(told[i] == ToCliLine(commands[i]));
      }
  }

  TEST_CASE(
      "a streamed body is its size exactly, in pieces of at least the asked size but the last, "
      "and joined is byte for byte the body of its commands") {
    core::Plan plan;
    auto changed = Rule();
    changed.translation_port = "2222";
    for (int i = 0; i < 40; ++i)
      plan.changes.push_back({core::ChangeKind::kAdd, 10000 + i, "r", "p" + std::to_string(i), "d",
                              std::nullopt, i % 2 ? Rule() : changed, "new", false});
    const std::pair<size_t, size_t> range{3, 37};
    const auto expected = EncodeConfigure("K3Y", RangeCommands(plan, range), 5);
    for (size_t min_bytes : {size_t{1}, size_t{100}, size_t{1000}, size_t{1} << 20}) {
      ConfigureStream stream("K3Y", plan, range, InterfaceSyntax::kName, 5);
      size_t told = 0;
      CHECK(stream.Size([&](const Command&) { ++told; }) == expected.size());
      CHECK(told == RangeCommands(plan, range).size());
      std::string joined;
      std::vector<size_t> sizes;
      for (std::string piece; stream.Next(piece, min_bytes);) {
        sizes.push_back(piece.size());
        joined += piece;
      }
      CHECK(joined.size() == expected.size());
      CHECK(joined == expected);
      REQUIRE_FALSE(sizes.empty());
      for (size_t i = 0; i + 1 < sizes.size(); ++i) CHECK(sizes[i] >= min_bytes);
      // The head alone, then one change a piece (the last with the tail).
      if (min_bytes == 1) CHECK(sizes.size() == range.second - range.first + 1);
      if (min_bytes == (size_t{1} << 20)) CHECK(sizes.size() == 1);
      std::string after;
      CHECK_FALSE(stream.Next(after, min_bytes));
    }
  }

  TEST_CASE(
      "the streaming showConfig reader agrees with the DOM reader - rules, odd shapes, "
      "duplicates and refusals alike") {
    const std::string rule =
        R"({"description": "x", "inbound-interface": {"name": "eth0"}, "protocol": "tcp",)"
        R"( "destination": {"port": "22"}, "translation": {"address": "10.0.0.1", "port": "22"},)"
        R"( "log": {}, "source": {"group": {"address-group": "G"}}})";
    for (const std::string& data : std::vector<std::string>{
             R"({"rule": {"10": )" + rule + R"(, "20": )" + rule + "}}",
             R"({"rule": {"10": )" + rule + R"(, "10": {"description": "second"}}})",
             R"({"rule": {"10": )" + rule + R"(}, "rule": {"30": {}}})", R"({"rule": {}})", R"({})",
             R"({"rule": []})", R"({"rule": "x"})", R"([])", R"(null)", R"("text")",
             R"({"rule": {"10": "x"}})", R"({"rule": {"10": [1, 2]}})", R"({"rule": {"10": null}})",
             R"({"rule": {"ten": {}}})", R"({"rule": {"0": {}}})",
             R"({"rule": {"10": {"description": 5}}})", R"({"other": {"rule": {"10": {}}}})",
             R"({"rule": {"10": {"disable": {}, "nested": {"a": {"b": ["c", "d"]}}}}})"}) {
      CAPTURE(data);
      const auto streamed =
          ParseDestinationAnswer(R"({"success": true, "data": )" + data + R"(, "error": null})");
      const auto dom = DestinationRulesFromJson(data);
      REQUIRE(streamed.has_value() == dom.has_value());
      if (dom)
        CHECK(*streamed == *dom);
      else if (data[0] == '{')
        CHECK(streamed.error().message == dom.error().message);
      else  // the envelope's data is not a node (the DOM reader of bare data words it its way)
        CHECK(streamed.error().message.find("showConfig data is ") == 0);
    }
    // The envelope itself.
    CHECK(ParseDestinationAnswer(R"({"success": true})")->empty());
    CHECK(ParseDestinationAnswer(
              R"({"success": false, "error": "Configuration under specified path is empty\n"})")
              ->empty());
    auto failed = ParseDestinationAnswer(R"({"success": false, "error": "boom\n"})");
    REQUIRE_FALSE(failed);
    CHECK(failed.error().message == "showConfig failed: boom");
    for (const char* bad : {R"([true])", R"({"success": 1})", R"({"data": {}})",
                            R"({"success": true} x)", R"({"success": true)", ""}) {
      CAPTURE(bad);
      auto r = ParseDestinationAnswer(bad);
      REQUIRE_FALSE(r);
      CHECK(r.error().message.find("not a VyOS API envelope") != std::string::npos);
    }
    CHECK_FALSE(ParseDestinationAnswer(std::string(200, '[') + std::string(200, ']')));
  }

  TEST_CASE("envelopes: data of any type, error texts kept") {
    auto ok = ParseEnvelope(R"({"success": true, "data": "Reboot timer stopped", "error": null})");
    REQUIRE(ok);
    CHECK(*ok->data_text == "Reboot timer stopped");
    auto err = ParseEnvelope(
        R"({"success": false, "data": null, "error": "Configuration under specified path is empty\n"})");
    REQUIRE(err);
    CHECK(IsEmptyPathError(err->error));
    CHECK_FALSE(ParseEnvelope("<html>504</html>"));
  }

  TEST_CASE("versions: show version output, major and minor, 1.5's REST-off answer") {
    CHECK(VersionFromShow("Version:          VyOS 1.4.1\nRelease train:    sagitta\n") == "1.4.1");
    CHECK(VersionFromShow("\nVersion:          VyOS 1.3.8\r\n") == "1.3.8");
    CHECK(VersionFromShow("no version here") == "");
    CHECK(VersionNumber("1.3.8") == std::pair{1, 3});
    CHECK(VersionNumber("1.5-rolling-202506010000") == std::pair{1, 5});
    CHECK(VersionNumber("2025.11") == std::pair{2025, 11});
    CHECK(VersionNumber("unknown") == std::pair{0, 0});
    CHECK(IsRestOff(404, R"({"detail":"Not Found"})"));
    CHECK_FALSE(IsRestOff(404, "<html>404 Not Found</html>"));
    CHECK(RestOffMessage().find("set service https api rest") != std::string::npos);
  }

  TEST_CASE(
      "1.3 writes the inbound-interface leaf, 1.4+ its name node - CLI values are shell-quoted") {
    core::NatRule r;
    r.inbound_interface = "eth0";
    r.protocol = "tcp";
    r.description = "it's \"quoted\"";
    auto leaf = RuleSetCommands(7, r, InterfaceSyntax::kLeaf);
    auto name = RuleSetCommands(7, r, InterfaceSyntax::kName);
    CHECK(ToCliLine(leaf[1]) == "set nat destination rule 7 inbound-interface 'eth0'");
    CHECK(ToCliLine(name[1]) == "set nat destination rule 7 inbound-interface name 'eth0'");
    CHECK(ToCliLine(leaf[0]) == "set nat destination rule 7 description 'it'\\''s \"quoted\"'");
  }

  TEST_CASE("the schema knows tag values, leaf values and VyOS's value errors") {
    auto services = testing::DebianServices();
    auto r = ResolveSetPath({"nat", "destination", "rule", "10", "destination", "port"},
                            std::string("80,443"), services);
    REQUIRE(r);
    CHECK(r->is_tag_value[3]);
    auto bad = ResolveSetPath({"nat", "destination", "rule", "10", "translation", "port"},
                              std::string("80,443"), services);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("Value validation failed") != std::string::npos);
    auto path =
        ResolveSetPath({"nat", "destination", "rule", "10", "bogus"}, std::string("x"), services);
    REQUIRE_FALSE(path);
    CHECK(path.error().message.find(
              "Configuration path: [nat destination rule 10 bogus x] is not valid") == 0);
    CHECK_FALSE(ResolveSetPath({"nat", "destination", "rule", "1000000", "disable"}, std::nullopt,
                               services));
  }
}
