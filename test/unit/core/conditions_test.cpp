#include <doctest/doctest.h>

#include <rapidjson/document.h>

#include "controller/core/conditions.hpp"
#include "controller/core/json_writer.hpp"

using namespace nc::core;

TEST_SUITE("core/conditions") {
  TEST_CASE(
      "a resource is Ready only when every object is in force and the device reachable - the first "
      "problem explains") {
    std::vector<ObjectHealth> ok = {{"ssh", PortState::kApplied, ""},
                                    {"web", PortState::kDisabled, ""}};
    auto h = ResourceConditions(ok, true, "", true);
    REQUIRE(h.conditions.size() == 4);
    CHECK(h.conditions[0] == Condition{"Ready", "True", "Applied", ""});
    CHECK(h.in_force == 2);
    CHECK(ResourceConditions(ok, false, "", true).conditions[0].status ==
          "False");  // synced, device unreachable
    std::vector<ObjectHealth> bad = {{"ssh", PortState::kApplied, ""},
                                     {"smtp", PortState::kConflict, "rule 100 is hand-made"}};
    h = ResourceConditions(bad, true, "", true);
    CHECK(h.message == "smtp: Conflict (rule 100 is hand-made)");
    CHECK(h.conditions[1] == Condition{"Synced", "False", "Conflict", h.message});
    CHECK(h.conditions[3].status == "True");   // Conflict
    CHECK(h.conditions[2].status == "False");  // Drifted
    h = ResourceConditions({}, false, "connect: refused", false);
    CHECK(h.conditions.size() == 2);  // a VlanInterface has no Drifted/Conflict
    CHECK(h.conditions[0].reason == "Pending");
    CHECK(h.message == "connect: refused");
  }

  TEST_CASE("device conditions: Ready, Reachable, Synced, then the standing ones") {
    auto c = DeviceConditions(
        {true, false, "2 change(s) pending", {{"UnconfirmedCommits", "no commit-confirm"}}});
    REQUIRE(c.size() == 4);
    CHECK(c[0] == Condition{"Ready", "False", "NotSynced", "2 change(s) pending"});
    CHECK(c[1].status == "True");
    CHECK(c[3] ==
          Condition{"UnconfirmedCommits", "True", "UnconfirmedCommits", "no commit-confirm"});
    CHECK(ParsePortState("DeviceRejected") == PortState::kRejected);
    CHECK_FALSE(ParsePortState("Nope"));
  }

  TEST_CASE("JsonWriter escapes what it is given and nests objects and arrays") {
    JsonWriter w;
    w.Object()
        .Str("holder", "a\"b\\c\n")
        .Num("n", -3)
        .Flag("f", true)
        .StrOrNull("empty", "")
        .Key("list")
        .Array();
    w.String("x").Object().Str("k", "v").End().End().Key("raw").Raw(R"({"y":1})").End();
    rapidjson::Document d;
    REQUIRE_FALSE(d.Parse(w.str().c_str()).HasParseError());
    CHECK(std::string(d["holder"].GetString()) == "a\"b\\c\n");
    CHECK(d["empty"].IsNull());
    CHECK(std::string(d["list"][1]["k"].GetString()) == "v");
    CHECK(d["raw"]["y"].GetInt() ==
          1);  // (not Value == int: C++20 rewrites it into endless recursion)
  }
}
