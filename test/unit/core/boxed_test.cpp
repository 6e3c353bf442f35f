// Boxed<T>: an optional kept on the heap. Absent is one pointer; a copy is deep (changing it
// leaves the original alone); equality is by content, as std::optional's.
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "controller/core/boxed.hpp"
#include "controller/core/model.hpp"

using nc::core::Boxed;
using nc::core::NatRule;

TEST_SUITE("core.boxed") {
  TEST_CASE("absent costs a pointer, present holds the value") {
    static_assert(sizeof(Boxed<NatRule>) == sizeof(void*));
    Boxed<NatRule> none = std::nullopt;
    CHECK_FALSE(none);
    CHECK_FALSE(none.has_value());
    NatRule r;
    r.translation_port = "22";
    Boxed<NatRule> some = r;
    REQUIRE(some);
    CHECK(some->translation_port == "22");
    CHECK((*some).translation_port == "22");
    CHECK(none.value_or(r).translation_port == "22");
    CHECK(some.value_or(NatRule{}).translation_port == "22");
  }

  TEST_CASE("a copy is deep, assignment replaces, reset empties") {
    NatRule r;
    r.description = "VM vm1 Port SSH";
    Boxed<NatRule> a = r;
    Boxed<NatRule> b = a;
    b->description = "changed";
    CHECK(a->description == "VM vm1 Port SSH");
    Boxed<NatRule> c;
    c = a;
    CHECK(c == a);
    c->log = true;
    CHECK_FALSE(c == a);
    c = std::nullopt;
    CHECK_FALSE(c);
    Boxed<NatRule> moved = std::move(a);
    CHECK(moved->description == "VM vm1 Port SSH");
    moved.reset();
    CHECK_FALSE(moved);
  }

  TEST_CASE("equality by content: both absent, or both present and equal") {
    CHECK(Boxed<std::string>() == Boxed<std::string>(std::nullopt));
    CHECK(Boxed<std::string>(std::string("x")) == Boxed<std::string>(std::string("x")));
    CHECK_FALSE(Boxed<std::string>(std::string("x")) == Boxed<std::string>(std::string("y")));
    CHECK_FALSE(Boxed<std::string>(std::string("x")) == Boxed<std::string>());
    CHECK_FALSE(Boxed<std::string>() == Boxed<std::string>(std::string("x")));
    const std::optional<std::string> opt = "z";
    CHECK(*Boxed<std::string>(opt) == "z");
    CHECK_FALSE(Boxed<std::string>(std::optional<std::string>()));
  }
}
