// Boxed<T>: an optional, immutable value kept on the heap. Absent is two pointers; a copy shares
// the value; it can point into a structure that owns the value (and keeps it alive); equality is
// by content, as std::optional's.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/core/boxed.hpp"
#include "controller/core/model.hpp"

using nc::core::Boxed;
using nc::core::NatRule;

TEST_SUITE("core.boxed") {
  TEST_CASE("absent costs a pointer, present holds the value") {
    static_assert(sizeof(Boxed<NatRule>) == 2 * sizeof(void*));
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

  TEST_CASE("a copy shares the value, assignment replaces, reset empties") {
    NatRule r;
    r.description = "VM vm1 Port SSH";
    Boxed<NatRule> a = r;
    Boxed<NatRule> b = a;
    CHECK(&*b == &*a);  // shared, not copied
    Boxed<NatRule> c;
    c = a;
    CHECK(c == a);
    NatRule other = r;
    other.log = true;
    c = other;  // replaces c's value; a's is untouched
    CHECK_FALSE(c == a);
    CHECK(a->description == "VM vm1 Port SSH");
    CHECK_FALSE(a->log);
    c = std::nullopt;
    CHECK_FALSE(c);
    Boxed<NatRule> moved = std::move(a);
    CHECK(moved->description == "VM vm1 Port SSH");
    moved.reset();
    CHECK_FALSE(moved);
    CHECK(b->description == "VM vm1 Port SSH");  // the last sharer still holds it
  }

  TEST_CASE("an aliasing box points into its owner and keeps it alive") {
    auto owner = std::make_shared<std::vector<NatRule>>(2);
    (*owner)[1].translation_port = "8022";
    Boxed<NatRule> in(std::shared_ptr<const NatRule>(owner, &(*owner)[1]));
    const NatRule* where = &(*owner)[1];
    std::weak_ptr<std::vector<NatRule>> watch = owner;
    owner.reset();
    REQUIRE_FALSE(watch.expired());  // the box keeps its owner
    CHECK(&*in == where);
    CHECK(in->translation_port == "8022");
    NatRule same;
    same.translation_port = "8022";
    CHECK(in == Boxed<NatRule>(same));  // equality by content, wherever it lives
    in.reset();
    CHECK(watch.expired());
    CHECK_FALSE(Boxed<NatRule>(std::shared_ptr<const NatRule>()));
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
