// The operations of a pass kept as one text: lines read back as they were added, a header line
// replaced after the lines below it (its count known only then), two logs appended, the stored
// text parsed back, and a newline inside an operation kept within its one line.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "controller/core/oplog.hpp"

using nc::core::OpLog;

TEST_SUITE("core.oplog") {
  TEST_CASE("lines in order, the text is each line and a newline, an empty log has no text") {
    OpLog log;
    CHECK(log.empty());
    CHECK(log.Text().empty());
    log.push_back("POST /configure (2 commands)");
    log.push_back("  set nat destination rule 10000 protocol 'tcp'");
    log.emplace_back();
    REQUIRE(log.size() == 3);
    CHECK(log[0] == "POST /configure (2 commands)");
    CHECK(log[1] == "  set nat destination rule 10000 protocol 'tcp'");
    CHECK(log[2].empty());
    CHECK(log.front() == "POST /configure (2 commands)");
    CHECK(log.back().empty());
    CHECK(log.Text() ==
          "POST /configure (2 commands)\n  set nat destination rule 10000 protocol 'tcp'\n\n");
    std::vector<std::string> seen(log.begin(), log.end());
    CHECK(seen == std::vector<std::string>{"POST /configure (2 commands)",
                                           "  set nat destination rule 10000 protocol 'tcp'", ""});
    CHECK(std::find(log.begin(), log.end(), "") - log.begin() == 2);
  }

  TEST_CASE("Set replaces one line, longer or shorter, and the lines after it move") {
    OpLog log{"header", "  a", "  bb"};
    log.Set(0, "POST /configure (2 commands, confirm 1 min)");
    CHECK(log[0] == "POST /configure (2 commands, confirm 1 min)");
    CHECK(log[1] == "  a");
    CHECK(log[2] == "  bb");
    log.Set(1, "");
    CHECK(log[1].empty());
    CHECK(log[2] == "  bb");
    log.Set(2, "x");
    CHECK(log.Text() == "POST /configure (2 commands, confirm 1 min)\n\nx\n");
  }

  TEST_CASE("Append, FromText (the stored form) and a newline inside a line") {
    OpLog a{"one"};
    OpLog b{"two", "three"};
    a.Append(b);
    CHECK(a == OpLog{"one", "two", "three"});
    CHECK(a.size() == 3);
    CHECK(a[2] == "three");
    CHECK(OpLog::FromText(a.Text()) == a);
    CHECK(OpLog::FromText("no newline at the end").size() == 1);
    CHECK(OpLog::FromText("").empty());
    OpLog odd;
    odd.push_back("set x 'a\nb'");
    REQUIRE(odd.size() == 1);
    CHECK(odd[0] == "set x 'a\\nb'");
  }
}
