// Text from outside made safe: UTF-8 checks, printable echoes, secrets redacted, JSON nesting
// bounded before any recursive parser sees it.
#include <doctest/doctest.h>

#include "controller/core/encoding.hpp"
#include "controller/core/json.hpp"

using namespace nc::core;

TEST_SUITE("unit/core-text") {
  TEST_CASE(
      "UTF-8 sequences: well-formed ones have their length, overlong, surrogate and stray bytes "
      "0") {
    CHECK(Utf8SequenceLength("a", 0) == 1);
    CHECK(Utf8SequenceLength("\xc3\xbc", 0) == 2);          // ü
    CHECK(Utf8SequenceLength("\xe6\x9d\xb1", 0) == 3);      // 東
    CHECK(Utf8SequenceLength("\xf0\x9f\x98\x80", 0) == 4);  // an emoji
    CHECK(Utf8SequenceLength("\xc0\xaf", 0) == 0);          // overlong '/'
    CHECK(Utf8SequenceLength("\xe0\x80\xaf", 0) == 0);      // overlong '/'
    CHECK(Utf8SequenceLength("\xed\xa0\x80", 0) == 0);      // a UTF-16 surrogate
    CHECK(Utf8SequenceLength("\xf4\x90\x80\x80", 0) == 0);  // beyond U+10FFFF
    CHECK(Utf8SequenceLength("\x80", 0) == 0);
    CHECK(Utf8SequenceLength("\xe6\x9d", 0) == 0);  // cut short
  }

  TEST_CASE(
      "PrintableText escapes control and non-UTF-8 bytes, keeps UTF-8, and says how much it cut") {
    CHECK(PrintableText("Zürich\n\x1b[31m\xff") == "Zürich\\x0a\\x1b[31m\\xff");
    CHECK(PrintableText(std::string(5000, 'a'), 100) ==
          std::string(60, 'a') + "... (4940 more bytes)");  // marker included
    CHECK(PrintableText(std::string(5000, 'a'), 4096).size() <= 4096);
    CHECK(PrintableText("東京東京", 7) == "東... (9 more bytes)");  // never half a character
  }

  TEST_CASE("RedactSecrets removes every occurrence of each secret, and leaves short ones alone") {
    CHECK(RedactSecrets("key=s3cr3t-key&again=s3cr3t-key", {"s3cr3t-key"}) ==
          "key=<redacted>&again=<redacted>");
    CHECK(RedactSecrets("abc", {"", "ab"}) == "abc");
    CHECK(RedactSecrets("pw hunter22 key k3y-value", {"hunter22", "k3y-value"}) ==
          "pw <redacted> key <redacted>");
  }

  TEST_CASE(
      "JSON nested past the limit is an error before parsing - a megabyte of open brackets and "
      "150,000 levels included") {
    rapidjson::Document d;
    std::string why;
    CHECK_FALSE(ParseJson(d, std::string(1 << 20, '['), &why));
    CHECK(why == "JSON nested deeper than 100 levels");
    CHECK(d.IsNull());
    CHECK_FALSE(ParseJson(d, std::string(150000, '{') + std::string(150000, '}'), &why));
    // Brackets inside strings are text, not nesting.
    CHECK(ParseJson(d, "{\"a\": \"" + std::string(1000, '[') + "\\\"[\"}", &why));
    CHECK(d["a"].GetStringLength() == 1002);
    CHECK(ParseJson(d, std::string(100, '[') + std::string(100, ']')));
    CHECK_FALSE(ParseJson(d, std::string(101, '[') + std::string(101, ']')));
    CHECK_FALSE(ParseJson(d, "{\"a\": ", &why));
    CHECK(why.rfind("malformed JSON at offset 6", 0) == 0);
  }
}
