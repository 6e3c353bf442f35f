#include "adapters/vyos/vyos_codec.hpp"
#include "controller/core/encoding.hpp"
#include "controller/core/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <optional>

namespace nc::vyos {

namespace {

/// A RapidJSON output stream appending to a std::string: a request body is written once, in
/// place, instead of into a buffer that is then copied.
struct StringOut {
  using Ch = char;
  std::string& s;
  void Put(char c) { s.push_back(c); }
  void Flush() {}
};

/// Counts what would be written (the size of a command in a body, without writing it).
struct CountOut {
  using Ch = char;
  size_t n = 0;
  void Put(char) { ++n; }
  void Flush() {}
};

using Writer = rapidjson::Writer<StringOut>;

template <typename W>
void Str(W& w, const std::string& s) {
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string First(const ConfigNode* n) {
  return n && n->leaf && !n->values.empty() ? n->values.front() : "";
}

// Flattens a subtree into "path value" strings, skipping the children listed in `managed`.
void Flatten(const ConfigNode& n, const std::string& prefix, std::vector<std::string>& out) {
  if (n.leaf) {
    if (n.values.empty()) out.push_back(prefix);
    for (const auto& v : n.values) out.push_back(prefix + " " + v);
    return;
  }
  if (n.children.empty()) out.push_back(prefix);
  for (const auto& [name, child] : n.children)
    Flatten(child, prefix.empty() ? name : prefix + " " + name, out);
}

template <typename W>
void WriteCommand(W& w, const Command& c) {
  w.StartObject();
  w.Key("op");
  Str(w, c.op);
  w.Key("path");
  w.StartArray();
  for (const auto& p : c.path) Str(w, p);
  w.EndArray();
  if (c.value) {
    w.Key("value");
    Str(w, *c.value);
  }
  w.EndObject();
}

std::vector<std::string> RulePath(int n) {
  return {"nat", "destination", "rule", std::to_string(n)};
}

}  // namespace

void AppendCliLine(std::string& out, const Command& c) {
  out += c.op;
  for (const auto& p : c.path) (out += ' ') += p;
  if (c.value) {
    out += " '";
    for (char ch : *c.value) {
      if (ch == '\'')
        out += "'\\''";
      else
        out += ch;
    }
    out += '\'';
  }
}

std::string ToCliLine(const Command& c) {
  std::string s;
  AppendCliLine(s, c);
  return s;
}

core::NatRule NatRuleFromNode(const ConfigNode& rule) {
  core::NatRule r;
  for (const auto& [name, child] : rule.children) {
    if (name == "description") {
      r.description = First(&child);
    } else if (name == "inbound-interface") {
      if (child.leaf) {  // VyOS <= 1.3: `inbound-interface eth0`
        r.inbound_interface = First(&child);
      } else {
        for (const auto& [k, v] : child.children) {
          if (k == "name" || k == "interface-name")
            r.inbound_interface = First(&v);
          else
            Flatten(v, "inbound-interface " + k, r.unmanaged);
        }
      }
    } else if (name == "protocol") {
      r.protocol = First(&child);
    } else if (name == "destination" || name == "source" || name == "translation") {
      for (const auto& [k, v] : child.children) {
        if (name == "destination" && k == "address")
          r.destination_address = First(&v);
        else if (name == "destination" && k == "port")
          r.destination_port = First(&v);
        else if (name == "source" && k == "address")
          r.source_address = First(&v);
        else if (name == "translation" && k == "address")
          r.translation_address = First(&v);
        else if (name == "translation" && k == "port")
          r.translation_port = First(&v);
        else
          Flatten(v, name + " " + k, r.unmanaged);
      }
    } else if (name == "disable") {
      r.disabled = true;
    } else if (name == "log" && child.leaf && child.values.empty()) {
      r.log = true;
    } else {
      Flatten(child, name, r.unmanaged);
    }
  }
  std::sort(r.unmanaged.begin(), r.unmanaged.end());
  return r;
}

std::map<int, core::NatRule> DestinationRules(const ConfigNode& nat_destination) {
  std::map<int, core::NatRule> out;
  auto it = nat_destination.children.find("rule");
  if (it == nat_destination.children.end()) return out;
  for (const auto& [num, node] : it->second.children) {
    int64_t n = 0;
    if (!core::ParseInt(num, 1, 999999, &n)) continue;
    out[static_cast<int>(n)] = NatRuleFromNode(node);
  }
  return out;
}

namespace {

// The JSON twin of Flatten/NatRuleFromNode: a 10,000-rule read is parsed straight into the model
// without building a ConfigNode tree first (the no-op pass must stay cheap).
void FlattenJson(const rapidjson::Value& v, const std::string& prefix,
                 std::vector<std::string>& out) {
  if (v.IsString()) {
    out.push_back(prefix + " " + v.GetString());
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray())
      if (e.IsString()) out.push_back(prefix + " " + e.GetString());
  } else if (v.IsObject()) {
    if (v.MemberCount() == 0) out.push_back(prefix);
    for (const auto& m : v.GetObject())
      FlattenJson(m.value, prefix + " " + m.name.GetString(), out);
  }
}

const char* JsonKind(const rapidjson::Value& v) {
  return v.IsObject()   ? "an object"
         : v.IsArray()  ? "a list"
         : v.IsString() ? "a string"
         : v.IsNumber() ? "a number"
         : v.IsBool()   ? "a boolean"
                        : "null";
}

/// A leaf's value as VyOS's showConfig gives it: a string, or a list of strings for a multi
/// node (the first is taken). Anything else is not an answer this code understands.
Result<std::string> LeafJson(const rapidjson::Value& v, const std::string& where) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsArray() && !v.Empty()) {
    for (const auto& e : v.GetArray())
      if (!e.IsString())
        return MakeError(ErrorCode::kUnavailable,
                         where + " holds " + JsonKind(e) + " in its list, not a string");
    return std::string(v[0].GetString(), v[0].GetStringLength());
  }
  return MakeError(ErrorCode::kUnavailable, where + " is " + JsonKind(v) + ", not a value");
}

/// A valueless node (`disable`, `log`): showConfig gives {}.
Status FlagJson(const rapidjson::Value& v, const std::string& where) {
  if (v.IsObject() && v.MemberCount() == 0) return {};
  return MakeError(ErrorCode::kUnavailable,
                   where + " is " + JsonKind(v) + ", not a valueless node ({})");
}

/// One rule of a showConfig answer. Strict: a value of a kind showConfig never gives is an
/// error, never an empty field. An answer read wrong would be planned against and, on a failed
/// check, "restored" - deleting what the device really had.
Result<core::NatRule> NatRuleFromJsonValue(const rapidjson::Value& rule, const std::string& where) {
  if (!rule.IsObject())
    return MakeError(ErrorCode::kUnavailable, where + " is " + JsonKind(rule) + ", not a rule");
  core::NatRule r;
  auto leaf = [&](const rapidjson::Value& v, const std::string& name, std::string* out) -> Status {
    auto value = LeafJson(v, where + " " + name);
    if (!value) return tl::unexpected(value.error());
    *out = std::move(*value);
    return {};
  };
  for (const auto& m : rule.GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    const auto& v = m.value;
    Status st;
    if (name == "description") {
      st = leaf(v, name, &r.description);
    } else if (name == "inbound-interface") {
      if (!v.IsObject()) {
        st = leaf(v, name, &r.inbound_interface);
      } else {
        for (const auto& c : v.GetObject()) {
          const std::string k = c.name.GetString();
          if (k == "name" || k == "interface-name")
            st = leaf(c.value, name + " " + k, &r.inbound_interface);
          else
            FlattenJson(c.value, "inbound-interface " + k, r.unmanaged);
          if (!st) break;
        }
      }
    } else if (name == "protocol") {
      st = leaf(v, name, &r.protocol);
    } else if (name == "destination" || name == "source" || name == "translation") {
      if (!v.IsObject())
        return MakeError(ErrorCode::kUnavailable,
                         where + " " + name + " is " + JsonKind(v) + ", not a node");
      for (const auto& c : v.GetObject()) {
        const std::string k = c.name.GetString();
        std::string* field = name == "destination" && k == "address"   ? &r.destination_address
                             : name == "destination" && k == "port"    ? &r.destination_port
                             : name == "source" && k == "address"      ? &r.source_address
                             : name == "translation" && k == "address" ? &r.translation_address
                             : name == "translation" && k == "port"    ? &r.translation_port
                                                                       : nullptr;
        if (field)
          st = leaf(c.value, name + " " + k, field);
        else
          FlattenJson(c.value, name + " " + k, r.unmanaged);
        if (!st) break;
      }
    } else if (name == "disable") {
      st = FlagJson(v, where + " disable");
      r.disabled = true;
    } else if (name == "log" && v.IsObject() && v.MemberCount() == 0) {
      r.log = true;
    } else {
      FlattenJson(v, name, r.unmanaged);
    }
    if (!st) return tl::unexpected(st.error());
  }
  std::sort(r.unmanaged.begin(), r.unmanaged.end());
  return r;
}

}  // namespace

namespace {

Result<std::map<int, core::NatRule>> RulesOfData(const rapidjson::Value& doc) {
  std::map<int, core::NatRule> out;
  if (!doc.IsObject())
    return MakeError(ErrorCode::kUnavailable,
                     "showConfig data is " + std::string(JsonKind(doc)) + ", not a node");
  auto it = doc.FindMember("rule");
  if (it == doc.MemberEnd()) return out;
  if (!it->value.IsObject())
    return MakeError(ErrorCode::kUnavailable,
                     "showConfig: rule is " + std::string(JsonKind(it->value)) + ", not a node");
  for (const auto& m : it->value.GetObject()) {
    const std::string_view name(m.name.GetString(), m.name.GetStringLength());
    int64_t n = 0;
    if (!core::ParseInt(name, 1, 999999, &n))
      return MakeError(
          ErrorCode::kUnavailable,
          "showConfig: rule '" + core::PrintableText(name, 64) + "' is not a rule number");
    auto rule = NatRuleFromJsonValue(m.value, "showConfig: rule " + std::to_string(n));
    if (!rule) return tl::unexpected(rule.error());
    out.emplace_hint(out.end(), static_cast<int>(n), std::move(*rule));
  }
  return out;
}

}  // namespace

Result<std::map<int, core::NatRule>> DestinationRulesFromJson(std::string_view data_json) {
  rapidjson::Document doc;
  std::string why = "not an object";
  if (!core::ParseJson(doc, data_json, &why) || !doc.IsObject())
    return MakeError(ErrorCode::kUnavailable, "showConfig data is not a JSON object: " + why);
  return RulesOfData(doc);
}

namespace {

/// One pass over a showConfig answer without its DOM (a 10,000-rule router's answer is 3 MB of
/// text and about 10 MB as a DOM): the envelope's success and error, the kinds of `data` and
/// `data.rule`, and each rule, parsed alone as soon as its value ends (neither the answer nor a
/// list of where its rules are is copied). The first rule that cannot be read is kept as the
/// error, reported after the envelope's own errors, as the DOM reader orders them.
class AnswerScan : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, AnswerScan> {
 public:
  AnswerScan(const rapidjson::MemoryStream& is, std::string_view text) : is_(is), text_(text) {}

  bool Null() { return Scalar(rapidjson::Value()); }
  bool Bool(bool b) {
    if (At(1, "success") && !success_seen_) success = b;
    return Scalar(rapidjson::Value(b));
  }
  bool Int(int i) { return Scalar(rapidjson::Value(i)); }
  bool Uint(unsigned i) { return Scalar(rapidjson::Value(i)); }
  bool Int64(int64_t i) { return Scalar(rapidjson::Value(i)); }
  bool Uint64(uint64_t i) { return Scalar(rapidjson::Value(i)); }
  bool Double(double d) { return Scalar(rapidjson::Value(d)); }
  bool String(const char* str, rapidjson::SizeType n, bool /*copy*/) {
    if (At(1, "error") && !error_seen_) error.assign(str, n);
    return Scalar(rapidjson::Value(rapidjson::StringRef(str, n)));
  }
  bool Key(const char* str, rapidjson::SizeType n, bool /*copy*/) {
    key_.assign(str, n);
    return true;
  }
  bool StartObject() { return Open(true); }
  bool StartArray() { return Open(false); }
  bool EndObject(rapidjson::SizeType /*members*/) { return Close(); }
  bool EndArray(rapidjson::SizeType /*elements*/) { return Close(); }

  bool root_object = false;
  std::optional<bool> success;
  std::string error;
  std::string data_kind;  // "" absent, else JsonKind
  std::string rule_kind;
  std::map<int, core::NatRule> rules;
  std::optional<Error> rule_error;  // the first rule that cannot be read

 private:
  /// A value at `depth` (open containers) under `key` of its parent: the envelope's members
  /// (1), the first `data` object's (2). As a DOM reads them, the first of duplicate keys counts.
  bool At(size_t depth, const char* key) const {
    return open_.size() == depth && open_.back().object && key_ == key &&
           (depth != 2 || open_[1].counted);
  }
  /// Marks what a DOM's first-member lookup would find: the first success, error, data, rule.
  bool Mark(const char* kind) {
    bool counted = false;
    if (At(1, "success")) success_seen_ = true;
    if (At(1, "error")) error_seen_ = true;
    if (At(1, "data") && data_kind.empty()) {
      data_kind = kind;
      counted = true;
    }
    if (At(2, "rule") && rule_kind.empty()) {
      rule_kind = kind;
      counted = true;
    }
    return counted;
  }
  /// Inside the counted data.rule object: each value is a rule.
  bool InRules() const { return open_.size() == 3 && open_[2].counted && open_[2].object; }
  bool Scalar(const rapidjson::Value& v) {
    if (InRules()) Rule(key_, 0, 0, JsonKind(v));
    Mark(JsonKind(v));
    return true;
  }
  bool Open(bool object) {
    if (open_.empty()) root_object = object;
    if (InRules()) {
      rule_name_ = key_;
      rule_begin_ = Bracket("{[");
    }
    const bool counted = Mark(object ? "an object" : "a list");
    open_.push_back({counted, object});
    return true;
  }
  bool Close() {
    open_.pop_back();
    if (InRules()) Rule(rule_name_, rule_begin_, Bracket("}]") + 1, nullptr);
    return true;
  }
  /// One member of data.rule: its name, and its value's text or (a scalar) its kind.
  void Rule(const std::string& name, size_t begin, size_t end, const char* scalar_kind) {
    if (rule_error) return;
    int64_t n = 0;
    if (!core::ParseInt(name, 1, 999999, &n)) {
      rule_error =
          Error{ErrorCode::kUnavailable,
                "showConfig: rule '" + core::PrintableText(name, 64) + "' is not a rule number"};
      return;
    }
    const std::string where = "showConfig: rule " + std::to_string(n);
    if (scalar_kind) {
      rule_error = Error{ErrorCode::kUnavailable, where + " is " + scalar_kind + ", not a rule"};
      return;
    }
    rapidjson::Document one;
    if (!core::ParseJson(one, text_.substr(begin, end - begin))) {
      rule_error = Error{ErrorCode::kUnavailable, where + " cannot be read"};
      return;
    }
    auto rule = NatRuleFromJsonValue(one, where);
    if (!rule) {
      rule_error = rule.error();
      return;
    }
    rules.emplace(static_cast<int>(n), std::move(*rule));  // the first of a duplicate, as a DOM
  }

  /// Where the bracket of the container starting or ending now is: the iterative reader calls
  /// the handler before taking it (the recursive one after).
  size_t Bracket(const char* which) const {
    const char c = is_.Peek();
    return c != '\0' && std::strchr(which, c) ? is_.Tell() : is_.Tell() - 1;
  }
  struct Container {
    bool counted;  // the first data (depth 1) or data.rule (depth 2) container
    bool object;
  };
  const rapidjson::MemoryStream& is_;
  std::string_view text_;
  std::vector<Container> open_;
  std::string key_;
  std::string rule_name_;
  size_t rule_begin_ = 0;
  bool success_seen_ = false;
  bool error_seen_ = false;
};

}  // namespace

Result<std::map<int, core::NatRule>> ParseDestinationAnswer(std::string_view body) {
  const std::string not_envelope = "showConfig answer is not a VyOS API envelope: ";
  if (core::JsonNestsDeeperThan(body, core::kMaxJsonDepth))
    return MakeError(ErrorCode::kUnavailable, not_envelope + "JSON nested deeper than " +
                                                  std::to_string(core::kMaxJsonDepth) + " levels");
  // Read in place, without the byte-order mark RapidJSON's DOM reader skips (each of EF BB BF,
  // as it does). A NUL byte ends the text for this reader as for the DOM reader.
  size_t bom = 0;
  for (unsigned char b : {0xEFu, 0xBBu, 0xBFu})
    if (bom < body.size() && static_cast<unsigned char>(body[bom]) == b) ++bom;
  const std::string_view text = body.substr(bom);
  rapidjson::MemoryStream is(text.data(), text.size());
  AnswerScan scan(is, text);
  rapidjson::Reader reader;
  if (!reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag>(is, scan))
    return MakeError(ErrorCode::kUnavailable,
                     not_envelope + "malformed JSON at offset " +
                         std::to_string(reader.GetErrorOffset()) + " (" +
                         rapidjson::GetParseError_En(reader.GetParseErrorCode()) + ")");
  rapidjson::MemoryStream rest(text.data() + is.Tell(), text.size() - is.Tell());
  rapidjson::SkipWhitespace(rest);
  if (rest.Peek() != '\0')
    return MakeError(
        ErrorCode::kUnavailable,
        not_envelope + "malformed JSON at offset " + std::to_string(is.Tell()) + " (" +
            rapidjson::GetParseError_En(rapidjson::kParseErrorDocumentRootNotSingular) + ")");
  if (!scan.root_object || !scan.success)
    return MakeError(ErrorCode::kUnavailable, not_envelope + "no boolean \"success\"");
  if (!*scan.success) {
    std::string err = scan.error;
    if (IsEmptyPathError(err)) return std::map<int, core::NatRule>{};
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return MakeError(ErrorCode::kUnavailable, "showConfig failed: " + err);
  }
  if (scan.data_kind.empty()) return std::map<int, core::NatRule>{};
  if (scan.data_kind != "an object")
    return MakeError(ErrorCode::kUnavailable,
                     "showConfig data is " + scan.data_kind + ", not a node");
  if (scan.rule_kind.empty()) return std::map<int, core::NatRule>{};
  if (scan.rule_kind != "an object")
    return MakeError(ErrorCode::kUnavailable,
                     "showConfig: rule is " + scan.rule_kind + ", not a node");
  if (scan.rule_error) return tl::unexpected(*scan.rule_error);
  return std::move(scan.rules);
}

std::vector<Command> RuleSetCommands(int number, const core::NatRule& rule,
                                     InterfaceSyntax syntax) {
  std::vector<Command> out;
  const auto base = RulePath(number);
  auto set = [&](std::initializer_list<const char*> sub, const std::string& value) {
    if (value.empty()) return;
    auto p = base;
    for (const char* s : sub) p.emplace_back(s);
    out.push_back(Command{"set", std::move(p), value});
  };
  set({"description"}, rule.description);
  if (syntax == InterfaceSyntax::kLeaf)
    set({"inbound-interface"}, rule.inbound_interface);
  else
    set({"inbound-interface", "name"}, rule.inbound_interface);
  set({"protocol"}, rule.protocol);
  set({"destination", "address"}, rule.destination_address);
  set({"destination", "port"}, rule.destination_port);
  set({"source", "address"}, rule.source_address);
  set({"translation", "address"}, rule.translation_address);
  set({"translation", "port"}, rule.translation_port);
  for (const auto& [on, leaf] : {std::pair{rule.disabled, "disable"}, std::pair{rule.log, "log"}}) {
    if (!on) continue;
    auto p = base;
    p.emplace_back(leaf);
    out.push_back(Command{"set", std::move(p), std::nullopt});
  }
  return out;
}

std::vector<Command> ChangeCommands(const core::RuleChange& change, InterfaceSyntax syntax) {
  std::vector<Command> out;
  if (change.kind != core::ChangeKind::kAdd)
    out.push_back(Command{"delete", RulePath(change.number), std::nullopt});
  if (change.after) {
    auto sets = RuleSetCommands(change.number, *change.after, syntax);
    std::move(sets.begin(), sets.end(), std::back_inserter(out));
  }
  return out;
}

std::vector<std::pair<size_t, size_t>> BatchRanges(const core::Plan& plan, int64_t max_body_bytes,
                                                   InterfaceSyntax syntax) {
  std::vector<std::pair<size_t, size_t>> ranges;
  size_t first = 0;
  int64_t size = 128;  // envelope, key, confirm_time
  for (size_t i = 0; i < plan.changes.size(); ++i) {
    int64_t need = 0;
    for (const auto& c : ChangeCommands(plan.changes[i], syntax)) {
      CountOut count;
      rapidjson::Writer<CountOut> w(count);
      WriteCommand(w, c);
      need += static_cast<int64_t>(count.n) + 1;  // and its comma
    }
    if (i > first && size + need > max_body_bytes) {
      ranges.emplace_back(first, i);
      first = i;
      size = 128;
    }
    size += need;
  }
  if (first < plan.changes.size()) ranges.emplace_back(first, plan.changes.size());
  return ranges;
}

std::vector<Command> RangeCommands(const core::Plan& plan, std::pair<size_t, size_t> range,
                                   InterfaceSyntax syntax) {
  std::vector<Command> out;
  out.reserve((range.second - range.first) * 8);
  for (size_t i = range.first; i < range.second; ++i) {
    auto cmds = ChangeCommands(plan.changes[i], syntax);
    std::move(cmds.begin(), cmds.end(), std::back_inserter(out));
  }
  return out;
}

std::vector<std::vector<Command>> BatchCommands(const core::Plan& plan, int64_t max_body_bytes,
                                                InterfaceSyntax syntax) {
  std::vector<std::vector<Command>> batches;
  for (const auto& range : BatchRanges(plan, max_body_bytes, syntax))
    batches.push_back(RangeCommands(plan, range, syntax));
  return batches;
}

namespace {

/// The /configure body around the commands `write` writes: the key, the commands, confirm_time.
std::string ConfigureBody(const std::string& key, int confirm_minutes, size_t commands,
                          const std::function<void(Writer&)>& write) {
  std::string body;
  body.reserve(128 + commands * 96);  // a `set` is about 100 bytes
  StringOut out{body};
  Writer w(out);
  w.StartObject();
  w.Key("key");
  Str(w, key);
  w.Key("commands");
  w.StartArray();
  write(w);
  w.EndArray();
  if (confirm_minutes > 0) {
    w.Key("confirm_time");
    w.Int(confirm_minutes);
  }
  w.EndObject();
  return body;
}

}  // namespace

std::string EncodeConfigure(const std::string& key, const std::vector<Command>& commands,
                            int confirm_minutes) {
  return ConfigureBody(key, confirm_minutes, commands.size(), [&](Writer& w) {
    for (const auto& c : commands) WriteCommand(w, c);
  });
}

/// Writes into the string it points at (a stream's current piece).
struct PieceOut {
  using Ch = char;
  std::string* s = nullptr;
  void Put(char c) { s->push_back(c); }
  void Flush() {}
};

struct ConfigureStream::State {
  State(std::string k, const core::Plan& p, std::pair<size_t, size_t> r, InterfaceSyntax s, int c)
      : key(std::move(k)), plan(p), range(r), syntax(s), confirm_minutes(c), next(r.first) {}
  std::string key;
  const core::Plan& plan;
  std::pair<size_t, size_t> range;
  InterfaceSyntax syntax;
  int confirm_minutes;
  PieceOut out;
  rapidjson::Writer<PieceOut> w{out};
  size_t next = 0;  // the next change to encode
  enum class Stage { kHead, kChanges, kDone } stage = Stage::kHead;

  /// The whole body through `w`: the key, the commands of the range, confirm_time.
  template <typename W>
  static void Head(W& w, const std::string& key) {
    w.StartObject();
    w.Key("key");
    Str(w, key);
    w.Key("commands");
    w.StartArray();
  }
  template <typename W>
  static void Tail(W& w, int confirm_minutes) {
    w.EndArray();
    if (confirm_minutes > 0) {
      w.Key("confirm_time");
      w.Int(confirm_minutes);
    }
    w.EndObject();
  }
};

ConfigureStream::ConfigureStream(const std::string& key, const core::Plan& plan,
                                 std::pair<size_t, size_t> range, InterfaceSyntax syntax,
                                 int confirm_minutes)
    : s_(std::make_unique<State>(key, plan, range, syntax, confirm_minutes)) {}

ConfigureStream::~ConfigureStream() = default;

size_t ConfigureStream::Size(const std::function<void(const Command&)>& on_command) const {
  CountOut count;
  rapidjson::Writer<CountOut> w(count);
  State::Head(w, s_->key);
  for (size_t i = s_->range.first; i < s_->range.second; ++i)
    for (const auto& c : ChangeCommands(s_->plan.changes[i], s_->syntax)) {
      WriteCommand(w, c);
      if (on_command) on_command(c);
    }
  State::Tail(w, s_->confirm_minutes);
  return count.n;
}

bool ConfigureStream::Next(std::string& piece, size_t min_bytes) {
  auto& s = *s_;
  if (s.stage == State::Stage::kDone) return false;
  piece.clear();
  piece.reserve(min_bytes + 1024);
  s.out.s = &piece;
  if (s.stage == State::Stage::kHead) {
    State::Head(s.w, s.key);
    s.stage = State::Stage::kChanges;
  }
  while (s.next < s.range.second && piece.size() < min_bytes) {
    for (const auto& c : ChangeCommands(s.plan.changes[s.next], s.syntax)) WriteCommand(s.w, c);
    ++s.next;
  }
  if (s.next == s.range.second) {
    State::Tail(s.w, s.confirm_minutes);
    s.stage = State::Stage::kDone;
  }
  s.out.s = nullptr;
  return true;
}

std::string EncodeConfigureRange(const std::string& key, const core::Plan& plan,
                                 std::pair<size_t, size_t> range, InterfaceSyntax syntax,
                                 int confirm_minutes,
                                 const std::function<void(const Command&)>& on_command) {
  ConfigureStream stream(key, plan, range, syntax, confirm_minutes);
  std::string body;
  body.reserve(stream.Size(on_command));
  for (std::string piece; stream.Next(piece);) body += piece;
  return body;
}

std::string EncodeRetrieve(const std::string& key, const std::string& op,
                           const std::vector<std::string>& path) {
  std::string body;
  StringOut out{body};
  Writer w(out);
  w.StartObject();
  w.Key("key");
  Str(w, key);
  w.Key("op");
  Str(w, op);
  w.Key("path");
  w.StartArray();
  for (const auto& p : path) Str(w, p);
  w.EndArray();
  w.EndObject();
  return body;
}

std::string EncodeOp(const std::string& key, const std::string& op) {
  std::string body;
  StringOut out{body};
  Writer w(out);
  w.StartObject();
  w.Key("key");
  Str(w, key);
  w.Key("op");
  Str(w, op);
  w.EndObject();
  return body;
}

Result<Envelope> ParseEnvelope(std::string_view body) {
  rapidjson::Document doc;
  std::string why = "no boolean \"success\"";
  if (!core::ParseJson(doc, body, &why) || !doc.IsObject() || !doc.HasMember("success") ||
      !doc["success"].IsBool())
    return MakeError(ErrorCode::kUnavailable, "response is not a VyOS API envelope: " + why);
  Envelope e;
  e.success = doc["success"].GetBool();
  if (doc.HasMember("data")) {
    const auto& d = doc["data"];
    if (d.IsString()) e.data_text = std::string(d.GetString(), d.GetStringLength());
    StringOut out{e.data_json};
    Writer w(out);
    d.Accept(w);
  }
  if (doc.HasMember("error") && doc["error"].IsString())
    e.error.assign(doc["error"].GetString(), doc["error"].GetStringLength());
  return e;
}

std::string VersionFromShow(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.substr(0, 8) != "Version:") continue;
    line.remove_prefix(8);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.substr(0, 5) == "VyOS ") line.remove_prefix(5);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    return std::string(line);
  }
  return "";
}

std::pair<int, int> VersionNumber(const std::string& version) {
  int major = 0;
  int minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) return {0, 0};
  return {major, minor};
}

bool UsesLeafInterface(const std::string& version) {
  const auto [major, minor] = VersionNumber(version);
  return major == 1 && minor > 0 && minor <= 3;
}

std::optional<int> RuleNamedIn(std::string_view text) {
  for (size_t pos = text.find("rule "); pos != std::string_view::npos;
       pos = text.find("rule ", pos + 5)) {
    size_t i = pos + 5;
    int n = 0;
    size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && digits < 7)
      n = n * 10 + (text[i++] - '0'), ++digits;
    if (digits > 0) return n;
  }
  return std::nullopt;
}

bool IsSetTimeError(std::string_view text) {
  return text.find("Set failed") != std::string_view::npos ||
         text.find("Value validation failed") != std::string_view::npos ||
         text.find("Delete failed") != std::string_view::npos;
}

bool IsRestOff(int status, std::string_view body) {
  return status == 404 && body.find("\"detail\"") != std::string_view::npos &&
         body.find("Not Found") != std::string_view::npos;
}

std::string RestOffMessage() {
  return "the router's REST API is off: VyOS 1.5 serves /retrieve and /configure only when "
         "`service https api rest` "
         "is configured (404 {\"detail\":\"Not Found\"}); on the router run `configure`, `set "
         "service https api rest`, "
         "`commit`, `save`";
}

bool IsLockedError(std::string_view error) {
  return error.find("temporarily locked") != std::string_view::npos;
}

bool IsEmptyPathError(std::string_view error) {
  return error.find("Configuration under specified path is empty") != std::string_view::npos;
}

}  // namespace nc::vyos
