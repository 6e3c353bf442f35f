#include "controller/core/oplog.hpp"

#include <utility>

namespace nc::core {

OpLog::OpLog(std::initializer_list<std::string_view> lines) {
  for (auto l : lines) push_back(l);
}

void OpLog::push_back(std::string_view line) {
  if (line.find('\n') == std::string_view::npos) {
    text_.append(line);
  } else {
    for (char c : line) {
      if (c == '\n')
        text_ += "\\n";
      else
        text_ += c;
    }
  }
  ends_.push_back(static_cast<uint32_t>(text_.size()));
  text_ += '\n';
}

std::string_view OpLog::operator[](size_t i) const {
  const size_t begin = i == 0 ? 0 : ends_[i - 1] + 1;
  return std::string_view(text_).substr(begin, ends_[i] - begin);
}

void OpLog::Set(size_t i, std::string_view line) {
  OpLog one;
  one.push_back(line);
  const size_t begin = i == 0 ? 0 : ends_[i - 1] + 1;
  const size_t old_len = ends_[i] - begin;
  const std::string_view repl = std::string_view(one.text_).substr(0, one.text_.size() - 1);
  text_.replace(begin, old_len, repl);
  const auto shift = static_cast<int64_t>(repl.size()) - static_cast<int64_t>(old_len);
  for (size_t k = i; k < ends_.size(); ++k)
    ends_[k] = static_cast<uint32_t>(static_cast<int64_t>(ends_[k]) + shift);
}

void OpLog::Append(const OpLog& other) {
  const auto base = static_cast<uint32_t>(text_.size());
  text_ += other.text_;
  for (uint32_t e : other.ends_) ends_.push_back(base + e);
}

OpLog OpLog::FromText(std::string text) {
  OpLog out;
  if (!text.empty() && text.back() != '\n') text += '\n';
  out.text_ = std::move(text);
  for (size_t i = 0; i < out.text_.size(); ++i)
    if (out.text_[i] == '\n') out.ends_.push_back(static_cast<uint32_t>(i));
  return out;
}

}  // namespace nc::core
