#include "controller/api/v1alpha1/types.hpp"

namespace nc::api {

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
