// Reading JSON that came from outside (a device's answer, the API server, a client's body, a
// token): nesting is bounded before RapidJSON's recursive parser sees the text, so a document
// nested 150,000 deep is an error, never a stack overflow, and nothing downstream that walks the
// tree recursively can be driven deeper than kMaxJsonDepth. Header-only; for the translation
// units that already use RapidJSON.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <string>
#include <string_view>

namespace nc::core {

inline constexpr int kMaxJsonDepth = 100;

/// Whether arrays and objects in `text` nest deeper than `max_depth` (strings and their escapes
/// are skipped). Linear, no allocation; the text need not be valid JSON.
inline bool JsonNestsDeeperThan(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

/// Parses `text` into `d`. On failure `d` is null and *why (when given) says why: "JSON nested
/// deeper than 100 levels" or "malformed JSON at offset N (reason)".
inline bool ParseJson(rapidjson::Document& d, std::string_view text, std::string* why = nullptr) {
  if (JsonNestsDeeperThan(text, kMaxJsonDepth)) {
    d.SetNull();
    if (why) *why = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return false;
  }
  d.Parse(text.data(), text.size());
  if (d.HasParseError()) {
    if (why)
      *why = "malformed JSON at offset " + std::to_string(d.GetErrorOffset()) + " (" +
             rapidjson::GetParseError_En(d.GetParseError()) + ")";
    d.SetNull();
    return false;
  }
  return true;
}

/// The string member `key` of object `v`; "" when `v` is not an object or the member is missing
/// or not a string.
inline std::string JsonStr(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return "";
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsString()
             ? std::string(it->value.GetString(), it->value.GetStringLength())
             : "";
}

/// The member `key` of object `v`, or nullptr.
inline const rapidjson::Value* JsonMember(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(key);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

}  // namespace nc::core
