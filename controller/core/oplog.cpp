#include "controller/core/oplog.hpp"

#include "controller/core/encoding.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace nc::core {

namespace {

/// A segment deflated (core::Deflate fails only for want of memory).
std::string DeflateSegment(std::string_view raw) {
  auto z = Deflate(raw);
  if (!z) throw std::bad_alloc();
  return std::move(*z);
}

std::string InflateSegment(const std::string& deflated, size_t raw_size) {
  auto raw = Inflate(deflated, raw_size);
  if (!raw) throw std::logic_error("OpLog: a segment it deflated does not inflate");
  return std::move(*raw);
}

/// `line` as one line: a '\n' inside it kept as the two characters "\n".
void AppendLine(std::string& to, std::string_view line) {
  if (line.find('\n') == std::string_view::npos) {
    to.append(line);
    return;
  }
  for (char c : line) {
    if (c == '\n')
      to += "\\n";
    else
      to += c;
  }
}

}  // namespace

OpLog::OpLog(std::initializer_list<std::string_view> lines) {
  for (auto l : lines) push_back(l);
}

void OpLog::push_back(std::string_view line) {
  const size_t before = tail_.size();
  AppendLine(tail_, line);
  ends_.push_back(static_cast<uint32_t>(tail_.size()));
  tail_ += '\n';
  text_bytes_ += tail_.size() - before;
  if (tail_.size() >= kSegmentBytes) Seal();
}

void OpLog::Seal() {
  segments_.push_back(Segment{DeflateSegment(tail_), tail_.size(), tail_first_line_});
  tail_.clear();
  tail_first_line_ = ends_.size();
}

size_t OpLog::FirstLine(size_t seg) const {
  return seg < segments_.size() ? segments_[seg].first_line : tail_first_line_;
}

size_t OpLog::SegmentOf(size_t i) const {
  if (i >= tail_first_line_) return segments_.size();
  auto it = std::upper_bound(segments_.begin(), segments_.end(), i,
                             [](size_t line, const Segment& s) { return line < s.first_line; });
  return static_cast<size_t>(it - segments_.begin()) - 1;
}

std::string OpLog::Raw(size_t seg) const {
  return seg < segments_.size() ? InflateSegment(segments_[seg].deflated, segments_[seg].raw_size)
                                : tail_;
}

std::string_view OpLog::LineIn(std::string_view raw, size_t i, size_t seg) const {
  const size_t begin = i == FirstLine(seg) ? 0 : ends_[i - 1] + 1;
  return raw.substr(begin, ends_[i] - begin);
}

std::string OpLog::operator[](size_t i) const {
  const size_t seg = SegmentOf(i);
  if (seg == segments_.size()) return std::string(LineIn(tail_, i, seg));
  return std::string(LineIn(Raw(seg), i, seg));
}

std::string OpLog::const_iterator::operator*() const {
  const size_t seg = log_->SegmentOf(i_);
  if (seg == log_->segments_.size()) return std::string(log_->LineIn(log_->tail_, i_, seg));
  if (seg != seg_ || !raw_) {
    raw_ = std::make_shared<const std::string>(log_->Raw(seg));
    seg_ = seg;
  }
  return std::string(log_->LineIn(*raw_, i_, seg));
}

void OpLog::Set(size_t i, std::string_view line) {
  const size_t seg = SegmentOf(i);
  std::string raw = Raw(seg);
  const size_t begin = i == FirstLine(seg) ? 0 : ends_[i - 1] + 1;
  const size_t old_len = ends_[i] - begin;
  std::string repl;
  AppendLine(repl, line);
  raw.replace(begin, old_len, repl);
  const auto shift = static_cast<int64_t>(repl.size()) - static_cast<int64_t>(old_len);
  const size_t last = seg + 1 < segments_.size()    ? segments_[seg + 1].first_line
                      : seg + 1 == segments_.size() ? tail_first_line_
                                                    : ends_.size();
  for (size_t k = i; k < last; ++k)
    ends_[k] = static_cast<uint32_t>(static_cast<int64_t>(ends_[k]) + shift);
  text_bytes_ = static_cast<size_t>(static_cast<int64_t>(text_bytes_) + shift);
  if (seg == segments_.size()) {
    tail_ = std::move(raw);
  } else {
    segments_[seg].raw_size = raw.size();
    segments_[seg].deflated = DeflateSegment(raw);
  }
}

void OpLog::Append(const OpLog& other) {
  for (const auto& line : other) push_back(line);
}

std::string OpLog::Text() const {
  std::string out;
  out.reserve(text_bytes_);
  ForEachSegment([&](std::string_view raw) { out += raw; });
  return out;
}

void OpLog::ForEachSegment(const std::function<void(std::string_view)>& fn) const {
  for (size_t seg = 0; seg < segments_.size(); ++seg) fn(Raw(seg));
  if (!tail_.empty()) fn(tail_);
}

OpLog OpLog::FromText(std::string_view text) {
  OpLog out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string_view::npos; start = nl + 1)
    out.push_back(text.substr(start, nl - start));
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

}  // namespace nc::core
