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

  TEST_CASE(
      "a log of many segments: lines, text, segments of whole lines, Set and Append across them") {
    // 70,000 lines of a 10,000-rule apply: about 4.5 MB, many deflated segments.
    OpLog log;
    log.push_back("header");
    std::string expected = "header\n";
    for (int i = 0; i < 70000; ++i) {
      const std::string line = "  set nat destination rule " + std::to_string(10000 + i / 7) +
                               " description 'VM vm" + std::to_string(i) + " Port ssh'";
      log.push_back(line);
      expected += line + "\n";
    }
    REQUIRE(log.size() == 70001);
    CHECK(log.TextSize() == expected.size());
    CHECK(log.Text() == expected);
    CHECK(log[1] == "  set nat destination rule 10000 description 'VM vm0 Port ssh'");
    CHECK(log[40000] == "  set nat destination rule 15714 description 'VM vm39999 Port ssh'");
    CHECK(log.back() == "  set nat destination rule 19999 description 'VM vm69999 Port ssh'");
    size_t segments = 0, joined = 0;
    std::string whole;
    log.ForEachSegment([&](std::string_view raw) {
      ++segments;
      joined += raw.size();
      CHECK(raw.size() <= OpLog::kSegmentBytes + 128);
      CHECK(raw.back() == '\n');  // whole lines: a stored row splits into lines on its own
      whole += raw;
    });
    CHECK(segments >= expected.size() / OpLog::kSegmentBytes);
    CHECK(joined == expected.size());
    CHECK(whole == expected);
    // Iteration reads every line once, in order.
    size_t n = 0, bytes = 0;
    for (const std::string& line : log) {
      ++n;
      bytes += line.size() + 1;
    }
    CHECK(n == 70001);
    CHECK(bytes == expected.size());
    // The header, in the first (deflated) segment, replaced once its lines are known.
    log.Set(0, "POST /configure (70000 commands, confirm 1 min)");
    CHECK(log[0] == "POST /configure (70000 commands, confirm 1 min)");
    CHECK(log[1] == "  set nat destination rule 10000 description 'VM vm0 Port ssh'");
    CHECK(log.Text() == "POST /configure (70000 commands, confirm 1 min)\n" +
                            expected.substr(std::string("header\n").size()));
    // A line in the middle, shorter: the lines after it in its segment move, later ones not.
    log.Set(40000, "x");
    CHECK(log[40000] == "x");
    CHECK(log[40001] == "  set nat destination rule 15714 description 'VM vm40000 Port ssh'");
    CHECK(log[69999] == "  set nat destination rule 19999 description 'VM vm69998 Port ssh'");
    OpLog copy{"first"};
    copy.Append(log);
    CHECK(copy.size() == 70002);
    CHECK(copy.Text() == "first\n" + log.Text());
    CHECK(OpLog::FromText(log.Text()) == log);
  }
}
