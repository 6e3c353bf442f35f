#include "controller/api/v1alpha1/types.hpp"

#include <stdexcept>

namespace nc::api {

LineColumn& FieldPositions::operator[](std::string_view field) {
  for (auto& [k, at] : entries_)
    if (*k == field) return at;
  return entries_.emplace_back(std::make_shared<const std::string>(field), LineColumn{}).second;
}

void FieldPositions::Set(Path path, LineColumn at) {
  for (auto& [k, a] : entries_)
    if (*k == *path) {
      a = at;
      return;
    }
  entries_.emplace_back(std::move(path), at);
}

const LineColumn* FieldPositions::Find(std::string_view field) const {
  for (const auto& [k, at] : entries_)
    if (*k == field) return &at;
  return nullptr;
}

bool FieldPositions::operator==(const FieldPositions& o) const {
  if (entries_.size() != o.entries_.size()) return false;
  for (size_t i = 0; i < entries_.size(); ++i)
    if (*entries_[i].first != *o.entries_[i].first || entries_[i].second != o.entries_[i].second)
      return false;
  return true;
}

const LineColumn& FieldPositions::at(std::string_view field) const {
  if (const auto* p = Find(field)) return *p;
  throw std::out_of_range("no position recorded for field " + std::string(field));
}

std::string Problem::ToString() const {
  std::string out;
  if (!pos.file.empty()) {
    out += pos.file;
    if (pos.line > 0) {
      out += ":" + std::to_string(pos.line);
      if (pos.column > 0) out += ":" + std::to_string(pos.column);
    }
    out += ": ";
  }
  if (!kind.empty()) {
    out += kind;
    if (!object.empty()) out += " " + object;
    out += ": ";
  }
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

}  // namespace nc::api
