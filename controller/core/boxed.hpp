// Boxed<T>: an optional value kept on the heap. It reads like std::optional<T> (bool test, *, ->,
// assignment from a T or std::nullopt, equality by content) but an absent value costs one pointer
// instead of sizeof(T). A plan of 10,000 new rules holds 10,000 absent "before" rules: 296 bytes
// each as std::optional<NatRule>, 8 as Boxed<NatRule> (issue 15: memory per rule).
#pragma once

#include <memory>
#include <optional>
#include <utility>

namespace nc::core {

template <typename T>
class Boxed {
 public:
  Boxed() = default;
  Boxed(std::nullopt_t) {}  // NOLINT(google-explicit-constructor): reads like std::optional
  Boxed(const T& v) : p_(std::make_unique<T>(v)) {}        // NOLINT(google-explicit-constructor)
  Boxed(T&& v) : p_(std::make_unique<T>(std::move(v))) {}  // NOLINT(google-explicit-constructor)
  Boxed(const std::optional<T>& v)                         // NOLINT(google-explicit-constructor)
      : p_(v ? std::make_unique<T>(*v) : nullptr) {}
  Boxed(const Boxed& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  Boxed& operator=(std::nullopt_t) {
    p_.reset();
    return *this;
  }
  Boxed& operator=(const T& v) {
    p_ = std::make_unique<T>(v);
    return *this;
  }
  Boxed& operator=(T&& v) {
    p_ = std::make_unique<T>(std::move(v));
    return *this;
  }
  ~Boxed() = default;

  bool has_value() const { return p_ != nullptr; }  // NOLINT(readability-identifier-naming)
  explicit operator bool() const { return p_ != nullptr; }
  const T& operator*() const { return *p_; }
  T& operator*() { return *p_; }
  const T* operator->() const { return p_.get(); }
  T* operator->() { return p_.get(); }
  /// The value, or `fallback` when absent (std::optional::value_or).
  T value_or(T fallback) const {  // NOLINT(readability-identifier-naming)
    return p_ ? *p_ : std::move(fallback);
  }
  void reset() { p_.reset(); }

  friend bool operator==(const Boxed& a, const Boxed& b) {
    return a.p_ && b.p_ ? *a.p_ == *b.p_ : !a.p_ && !b.p_;
  }

 private:
  std::unique_ptr<T> p_;
};

}  // namespace nc::core
