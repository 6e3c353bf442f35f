// The operations of a pass, in the form the store keeps them: one text, a line per operation,
// each ended by '\n', with the line ends indexed. A 10,000-rule apply sends about 70,000 lines;
// as a vector of strings they took 10 MiB (a 32-byte string and an allocation each), as one text
// 4.5 MiB plus 4 bytes a line. The interface is a container's (push_back, size, begin, [i]), its
// elements string_views into the text. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace nc::core {

class OpLog {
 public:
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string_view*;
    using reference = std::string_view;

    const_iterator() = default;
    const_iterator(const OpLog* log, size_t i) : log_(log), i_(i) {}
    std::string_view operator*() const { return (*log_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    const_iterator operator++(int) {
      auto old = *this;
      ++i_;
      return old;
    }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }
    difference_type operator-(const const_iterator& o) const {
      return static_cast<difference_type>(i_) - static_cast<difference_type>(o.i_);
    }

   private:
    const OpLog* log_ = nullptr;
    size_t i_ = 0;
  };
  using value_type = std::string_view;
  using iterator = const_iterator;

  OpLog() = default;
  OpLog(std::initializer_list<std::string_view> lines);

  /// Appends one line. A '\n' inside it (no operation has one: values are validated before they
  /// reach a command) is kept as the two characters "\n", so that one operation stays one line.
  void push_back(std::string_view line);
  void emplace_back(std::string_view line = {}) { push_back(line); }
  /// Replaces line `i` (a header whose count is known once its lines are written).
  void Set(size_t i, std::string_view line);
  void Append(const OpLog& other);
  void Reserve(size_t bytes) { text_.reserve(bytes); }

  size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }
  std::string_view operator[](size_t i) const;
  std::string_view front() const { return (*this)[0]; }
  std::string_view back() const { return (*this)[size() - 1]; }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size()}; }

  /// Every line, each followed by '\n' (empty when there is none): what the store keeps.
  const std::string& Text() const { return text_; }
  /// The lines of a stored text (the inverse of Text()).
  static OpLog FromText(std::string text);

  bool operator==(const OpLog& o) const { return text_ == o.text_; }

 private:
  std::string text_;
  std::vector<uint32_t> ends_;  // the offset of each line's '\n'
};

}  // namespace nc::core
