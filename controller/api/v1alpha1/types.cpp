#include "controller/api/v1alpha1/types.hpp"

#include <mutex>
#include <stdexcept>
#include <unordered_set>

namespace nc::api {

namespace {

/// The one copy of a field path: the same pointer for equal paths, for the process's life.
const std::string* InternPath(std::string_view path) {
  static std::mutex mu;
  static std::unordered_set<std::string>* pool = new std::unordered_set<std::string>();
  std::lock_guard lk(mu);
  return &*pool->emplace(path).first;  // unordered_set never moves its elements
}

}  // namespace

LineColumn& FieldPositions::operator[](std::string_view field) {
  const std::string* key = InternPath(field);
  for (auto& [k, at] : entries_)
    if (k == key) return at;
  return entries_.emplace_back(key, LineColumn{}).second;
}

const LineColumn* FieldPositions::Find(std::string_view field) const {
  for (const auto& [k, at] : entries_)
    if (*k == field) return &at;
  return nullptr;
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
