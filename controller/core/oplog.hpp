// The operations of a pass, in the form the store keeps them: lines of text, each ended by '\n'.
// A 10,000-rule apply sends about 70,000 lines (4.5 MiB); as a vector of strings they took
// 10 MiB. Here the lines are kept in segments: the newest raw, up to kSegmentBytes, the earlier
// ones deflated (zlib, level 1: the lines repeat, about 10 times smaller), plus 4 bytes a line
// for its end. The interface is a container's (push_back, size, begin, [i]); its elements are
// returned as strings (a line of a deflated segment has no place of its own). The store writes
// one row per segment (ForEachSegment) without joining them. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nc::core {

class OpLog {
 public:
  /// Raw bytes gathered before they are deflated as one segment.
  static constexpr size_t kSegmentBytes = size_t{256} * 1024;

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string*;
    using reference = std::string;

    const_iterator() = default;
    const_iterator(const OpLog* log, size_t i) : log_(log), i_(i) {}
    /// The line (a copy: the iterator inflates each segment once, not each line).
    std::string operator*() const;
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
    // The segment the current line is in, raw (shared by copies of the iterator).
    mutable size_t seg_ = SIZE_MAX;
    mutable std::shared_ptr<const std::string> raw_;
  };
  using value_type = std::string;
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

  size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }
  std::string operator[](size_t i) const;
  std::string front() const { return (*this)[0]; }
  std::string back() const { return (*this)[size() - 1]; }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size()}; }

  /// Every line, each followed by '\n' (empty when there is none): what the store keeps.
  std::string Text() const;
  /// Text().size(), without building it.
  size_t TextSize() const { return text_bytes_; }
  /// Each segment's raw text in order (whole lines; joined they are Text()), built one at a time.
  void ForEachSegment(const std::function<void(std::string_view)>& fn) const;
  /// The lines of a stored text (the inverse of Text()).
  static OpLog FromText(std::string_view text);

  bool operator==(const OpLog& o) const { return Text() == o.Text(); }

 private:
  struct Segment {
    std::string deflated;
    size_t raw_size = 0;
    size_t first_line = 0;  // the index of its first line
  };
  /// Which segment line `i` is in (segments_.size() = the raw tail).
  size_t SegmentOf(size_t i) const;
  size_t FirstLine(size_t seg) const;
  /// A segment's raw text (the tail's is tail_).
  std::string Raw(size_t seg) const;
  /// Line `i` within `raw`, the text of its segment.
  std::string_view LineIn(std::string_view raw, size_t i, size_t seg) const;
  void Seal();

  std::vector<Segment> segments_;
  std::string tail_;
  size_t tail_first_line_ = 0;
  size_t text_bytes_ = 0;
  std::vector<uint32_t> ends_;  // the offset of each line's '\n' within its segment
};

}  // namespace nc::core
