// Writing JSON: one tiny helper on RapidJSON's Writer, so that every JSON text netconverge sends
// or stores is escaped by RapidJSON (no string concatenation of JSON anywhere). Header-only.
//   JsonWriter w;
//   w.Object().Str("name", n).Num("generation", g).Key("conditions").Array() ... .End().End();
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace nc::core {

class JsonWriter {
 public:
  JsonWriter& Object() {
    w_.StartObject();
    open_ += '{';
    return *this;
  }
  JsonWriter& Array() {
    w_.StartArray();
    open_ += '[';
    return *this;
  }
  /// Ends the innermost object or array.
  JsonWriter& End() {
    if (open_.empty()) return *this;
    if (open_.back() == '{')
      w_.EndObject();
    else
      w_.EndArray();
    open_.pop_back();
    return *this;
  }
  JsonWriter& Key(std::string_view k) {
    w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    return *this;
  }
  JsonWriter& String(std::string_view v) {
    w_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    return *this;
  }
  JsonWriter& Int(int64_t v) {
    w_.Int64(v);
    return *this;
  }
  JsonWriter& Bool(bool v) {
    w_.Bool(v);
    return *this;
  }
  JsonWriter& Null() {
    w_.Null();
    return *this;
  }
  /// A value that is already JSON (e.g. from another JsonWriter or a parsed document).
  JsonWriter& Raw(std::string_view json, rapidjson::Type type = rapidjson::kObjectType) {
    w_.RawValue(json.data(), json.size(), type);
    return *this;
  }
  /// A parsed RapidJSON value, written as it is.
  template <class Value>
  JsonWriter& Copy(const Value& v) {
    v.Accept(w_);
    return *this;
  }
  // Members.
  JsonWriter& Str(std::string_view k, std::string_view v) { return Key(k).String(v); }
  JsonWriter& Num(std::string_view k, int64_t v) { return Key(k).Int(v); }
  JsonWriter& Flag(std::string_view k, bool v) { return Key(k).Bool(v); }
  /// `k: v`, or `k: null` when v is empty.
  JsonWriter& StrOrNull(std::string_view k, std::string_view v) {
    return v.empty() ? Key(k).Null() : Str(k, v);
  }

  std::string str() const { return {buf_.GetString(), buf_.GetSize()}; }

 private:
  rapidjson::StringBuffer buf_;
  rapidjson::Writer<rapidjson::StringBuffer> w_{buf_};
  std::string open_;  // the kinds of what is open, innermost last
};

}  // namespace nc::core
