// Boxed<T>: an optional, immutable value kept on the heap. It reads like std::optional<T> (bool
// test, *, ->, assignment from a T or std::nullopt, equality by content) but an absent value costs
// two pointers instead of sizeof(T), and copies share the value instead of copying it. A plan of
// 10,000 new rules holds 10,000 absent "before" rules (296 bytes each as std::optional<NatRule>),
// and its "after" rules can point into the desired state that holds them (`Boxed(shared_ptr)`,
// an aliasing pointer) instead of being 10,000 copies (issue 15: memory per rule).
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
  Boxed(const T& v) : p_(std::make_shared<const T>(v)) {}  // NOLINT(google-explicit-constructor)
  Boxed(T&& v)                                             // NOLINT(google-explicit-constructor)
      : p_(std::make_shared<const T>(std::move(v))) {}
  Boxed(const std::optional<T>& v)  // NOLINT(google-explicit-constructor)
      : p_(v ? std::make_shared<const T>(*v) : nullptr) {}
  /// Shares `p` (null = absent): e.g. an aliasing pointer into a structure that owns the value.
  explicit Boxed(std::shared_ptr<const T> p) : p_(std::move(p)) {}
  Boxed& operator=(std::nullopt_t) {
    p_.reset();
    return *this;
  }
  Boxed& operator=(const T& v) {
    p_ = std::make_shared<const T>(v);
    return *this;
  }
  Boxed& operator=(T&& v) {
    p_ = std::make_shared<const T>(std::move(v));
    return *this;
  }

  bool has_value() const { return p_ != nullptr; }  // NOLINT(readability-identifier-naming)
  explicit operator bool() const { return p_ != nullptr; }
  const T& operator*() const { return *p_; }
  const T* operator->() const { return p_.get(); }
  /// The value, or `fallback` when absent (std::optional::value_or).
  T value_or(T fallback) const {  // NOLINT(readability-identifier-naming)
    return p_ ? *p_ : std::move(fallback);
  }
  void reset() { p_.reset(); }

  friend bool operator==(const Boxed& a, const Boxed& b) {
    return a.p_ && b.p_ ? a.p_ == b.p_ || *a.p_ == *b.p_ : !a.p_ && !b.p_;
  }

 private:
  std::shared_ptr<const T> p_;
};

}  // namespace nc::core
