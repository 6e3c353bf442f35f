#include "adapters/vyos/config_tree.hpp"
#include "controller/core/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>

namespace nc::vyos {

bool NumericLess::operator()(const std::string& a, const std::string& b) const {
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i]));
    const bool db = std::isdigit(static_cast<unsigned char>(b[j]));
    if (da && db) {
      size_t ie = i;
      size_t je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      std::string_view na(a.data() + i, ie - i);
      std::string_view nb(b.data() + j, je - j);
      while (na.size() > 1 && na[0] == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb[0] == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  if ((a.size() - i) != (b.size() - j)) return (a.size() - i) < (b.size() - j);
  return a < b;
}

const ConfigNode* ConfigNode::Find(const std::vector<std::string>& path) const {
  const ConfigNode* n = this;
  for (const auto& p : path) {
    auto it = n->children.find(p);
    if (it == n->children.end()) return nullptr;
    n = &it->second;
  }
  return n;
}

ConfigNode* ConfigNode::Find(const std::vector<std::string>& path) {
  return const_cast<ConfigNode*>(static_cast<const ConfigNode*>(this)->Find(path));
}

namespace {

enum class Tok { kOpen, kClose, kWord, kString, kNewline, kComment, kEnd };

struct Token {
  Tok kind;
  std::string text;
  int line;
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  Result<Token> Next() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
        continue;
      }
      if (c == '\n') {
        ++pos_;
        return Token{Tok::kNewline, "", line_++};
      }
      if (c == '/' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '*') return Comment();
      if (c == '/' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '/') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
        continue;
      }
      if (c == '{') {
        ++pos_;
        return Token{Tok::kOpen, "{", line_};
      }
      if (c == '}') {
        ++pos_;
        return Token{Tok::kClose, "}", line_};
      }
      if (c == '"' || c == '\'') return Quoted(c);
      size_t start = pos_;
      while (pos_ < s_.size()) {
        char d = s_[pos_];
        if (d == ' ' || d == '\t' || d == '\r' || d == '\n' || d == '{' || d == '}' || d == '"' ||
            d == '\'')
          break;
        ++pos_;
      }
      return Token{Tok::kWord, std::string(s_.substr(start, pos_ - start)), line_};
    }
    return Token{Tok::kEnd, "", line_};
  }

 private:
  // A /* comment */ from pos_, its text trimmed.
  Result<Token> Comment() {
    size_t end = s_.find("*/", pos_ + 2);
    if (end == std::string_view::npos)
      return MakeError(ErrorCode::kInvalidArgument,
                       "line " + std::to_string(line_) + ": unterminated comment");
    std::string body(s_.substr(pos_ + 2, end - pos_ - 2));
    int start_line = line_;
    for (char ch : body) line_ += ch == '\n';
    pos_ = end + 2;
    size_t b = body.find_first_not_of(' ');
    size_t e = body.find_last_not_of(' ');
    return Token{Tok::kComment, b == std::string::npos ? "" : body.substr(b, e - b + 1),
                 start_line};
  }

  // A string quoted with `quote` from pos_, with C escapes (\n \r \t \b \f, else the char).
  Result<Token> Quoted(char quote) {
    std::string out;
    int start_line = line_;
    ++pos_;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      char d = s_[pos_++];
      if (d == '\\' && pos_ < s_.size()) {
        char e = s_[pos_++];
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          default:
            out += e;
        }
        continue;
      }
      if (d == '\n') ++line_;
      out += d;
    }
    if (pos_ >= s_.size())
      return MakeError(ErrorCode::kInvalidArgument,
                       "line " + std::to_string(start_line) + ": unterminated quoted string");
    ++pos_;
    return Token{Tok::kString, out, start_line};
  }

  std::string_view s_;
  size_t pos_ = 0;
  int line_ = 1;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : lex_(text) {}

  Result<ConfigNode> Parse() {
    ConfigNode root;
    auto st = Children(root, /*top=*/true);
    if (!st) return tl::unexpected(st.error());
    return root;
  }

 private:
  Result<Token> Peek() {
    if (!peeked_) {
      auto t = lex_.Next();
      if (!t) return t;
      peek_ = *t;
      peeked_ = true;
    }
    return peek_;
  }
  Result<Token> Take() {
    auto t = Peek();
    peeked_ = false;
    return t;
  }
  Result<Token> TakeSkippingNewlines() {
    while (true) {
      auto t = Take();
      if (!t || t->kind != Tok::kNewline) return t;
    }
  }

  static tl::unexpected<Error> Err(int line, const std::string& what) {
    return MakeError(ErrorCode::kInvalidArgument, "line " + std::to_string(line) + ": " + what);
  }

  Status AddLeafValue(ConfigNode& parent, const std::string& name, const std::string* value,
                      const std::string& comment, int line) {
    auto [it, inserted] = parent.children.try_emplace(name);
    ConfigNode& n = it->second;
    if (!inserted && !n.leaf) return Err(line, "'" + name + "' is both a node and a leaf");
    n.leaf = true;
    if (value) n.values.push_back(*value);
    if (!comment.empty()) n.comment = comment;
    return {};
  }

  Status Children(ConfigNode& parent, bool top) {
    std::string comment;
    while (true) {
      auto t = TakeSkippingNewlines();
      if (!t) return tl::unexpected(t.error());
      if (t->kind == Tok::kEnd) {
        if (!top) return Err(t->line, "missing '}'");
        return {};
      }
      if (t->kind == Tok::kClose) {
        if (top) return Err(t->line, "unexpected '}'");
        return {};
      }
      if (t->kind == Tok::kComment) {
        comment = t->text;
        continue;
      }
      if (t->kind != Tok::kWord)
        return Err(t->line, "expected a node name, found '" + t->text + "'");
      const std::string name = t->text;
      const int line = t->line;
      auto n1 = Take();
      if (!n1) return tl::unexpected(n1.error());
      if (n1->kind == Tok::kOpen) {
        auto [it, inserted] = parent.children.try_emplace(name);
        if (!inserted && (it->second.leaf || it->second.tag))
          return Err(line, "node '" + name + "' is declared twice");
        if (!inserted) return Err(line, "has two children named '" + name + "'");
        it->second.comment = comment;
        comment.clear();
        auto st = Children(it->second, false);
        if (!st) return st;
        continue;
      }
      if (n1->kind == Tok::kWord || n1->kind == Tok::kString) {
        const std::string value = n1->text;
        auto n2 = Peek();
        if (!n2) return tl::unexpected(n2.error());
        if (n2->kind == Tok::kOpen) {
          Take();
          ConfigNode& tagnode = parent.children[name];
          if (tagnode.leaf) return Err(line, "'" + name + "' is both a leaf and a tag node");
          tagnode.tag = true;
          auto [eit, inserted] = tagnode.children.try_emplace(value);
          if (!inserted) return Err(line, "has two children named '" + name + " " + value + "'");
          eit->second.comment = comment;
          comment.clear();
          auto st = Children(eit->second, false);
          if (!st) return st;
          continue;
        }
        if (n2->kind != Tok::kNewline && n2->kind != Tok::kClose && n2->kind != Tok::kEnd &&
            n2->kind != Tok::kComment)
          return Err(line, "unexpected '" + n2->text + "' after value of '" + name + "'");
        auto st = AddLeafValue(parent, name, &value, comment, line);
        comment.clear();
        if (!st) return st;
        continue;
      }
      if (n1->kind == Tok::kNewline || n1->kind == Tok::kClose || n1->kind == Tok::kEnd) {
        auto st = AddLeafValue(parent, name, nullptr, comment, line);
        comment.clear();
        if (!st) return st;
        if (n1->kind == Tok::kClose) {
          if (top) return Err(n1->line, "unexpected '}'");
          return {};
        }
        if (n1->kind == Tok::kEnd) {
          if (!top) return Err(n1->line, "missing '}'");
          return {};
        }
        continue;
      }
      return Err(line, "unexpected '" + n1->text + "' after '" + name + "'");
    }
  }

  Lexer lex_;
  Token peek_{Tok::kEnd, "", 0};
  bool peeked_ = false;
};

std::string Quote(const std::string& v, char q) {
  std::string out(1, q);
  for (char c : v) {
    if (c == q || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += q;
  return out;
}

void RenderBoot(const ConfigNode& n, int depth, std::string& out) {
  const std::string indent(static_cast<size_t>(depth) * 4, ' ');
  for (const auto& [name, child] : n.children) {
    auto emit_comment = [&](const ConfigNode& c) {
      if (!c.comment.empty()) out += indent + "/* " + c.comment + " */\n";
    };
    if (child.leaf) {
      emit_comment(child);
      if (child.values.empty()) out += indent + name + "\n";
      for (const auto& v : child.values) out += indent + name + " " + Quote(v, '"') + "\n";
    } else if (child.tag) {
      for (const auto& [tv, entry] : child.children) {
        emit_comment(entry);
        out += indent + name + " " + tv + " {\n";
        RenderBoot(entry, depth + 1, out);
        out += indent + "}\n";
      }
    } else {
      emit_comment(child);
      out += indent + name + " {\n";
      RenderBoot(child, depth + 1, out);
      out += indent + "}\n";
    }
  }
}

void RenderSet(const ConfigNode& n, const std::string& prefix, std::string& out) {
  for (const auto& [name, child] : n.children) {
    const std::string path = prefix.empty() ? name : prefix + " " + name;
    if (child.leaf) {
      if (child.values.empty()) out += "set " + path + "\n";
      for (const auto& v : child.values) {
        std::string esc;
        for (char c : v) {
          if (c == '"' || c == '\\') esc += '\\';
          esc += c;
        }
        out += "set " + path + " '" + esc + "'\n";
      }
    } else if (child.tag) {
      for (const auto& [tv, entry] : child.children) {
        if (entry.children.empty()) out += "set " + path + " " + tv + "\n";
        RenderSet(entry, path + " " + tv, out);
      }
    } else if (child.children.empty()) {
      out += "set " + path + "\n";
    } else {
      RenderSet(child, path, out);
    }
  }
}

void WriteJson(const ConfigNode& n, rapidjson::Writer<rapidjson::StringBuffer>& w) {
  if (n.leaf) {
    if (n.values.empty()) {
      w.StartObject();
      w.EndObject();
    } else if (n.values.size() == 1) {
      w.String(n.values[0].c_str(), static_cast<rapidjson::SizeType>(n.values[0].size()));
    } else {
      w.StartArray();
      for (const auto& v : n.values)
        w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
      w.EndArray();
    }
    return;
  }
  w.StartObject();
  for (const auto& [name, child] : n.children) {
    w.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    WriteJson(child, w);
  }
  w.EndObject();
}

Status ReadJson(const rapidjson::Value& v, ConfigNode& n, int depth) {
  if (depth > 64) return MakeError(ErrorCode::kInvalidArgument, "JSON nested too deeply");
  if (v.IsString()) {
    n.leaf = true;
    n.values.emplace_back(v.GetString(), v.GetStringLength());
    return {};
  }
  if (v.IsArray()) {
    n.leaf = true;
    for (const auto& e : v.GetArray()) {
      if (!e.IsString())
        return MakeError(ErrorCode::kInvalidArgument, "array values must be strings");
      n.values.emplace_back(e.GetString(), e.GetStringLength());
    }
    return {};
  }
  if (!v.IsObject())
    return MakeError(ErrorCode::kInvalidArgument, "values must be strings, arrays or objects");
  if (v.MemberCount() == 0) {
    n.leaf = true;  // `{}`: a valueless leaf (or an empty node; VyOS renders both alike)
    return {};
  }
  for (const auto& m : v.GetObject()) {
    auto st = ReadJson(
        m.value, n.children[std::string(m.name.GetString(), m.name.GetStringLength())], depth + 1);
    if (!st) return st;
  }
  return {};
}

}  // namespace

Result<ConfigNode> ParseConfigBoot(std::string_view text) {
  // libvyosconfig splits the version footer off at the first line starting with "//".
  size_t cut = 0;
  while (cut < text.size()) {
    if (text.substr(cut, 2) == "//") {
      text = text.substr(0, cut);
      break;
    }
    size_t nl = text.find('\n', cut);
    if (nl == std::string_view::npos) break;
    cut = nl + 1;
  }
  return Parser(text).Parse();
}

std::string RenderConfigBoot(const ConfigNode& root, std::string_view footer) {
  std::string out;
  RenderBoot(root, 0, out);
  out += footer;
  return out;
}

std::string RenderSetCommands(const ConfigNode& root) {
  std::string out;
  RenderSet(root, "", out);
  return out;
}

std::vector<std::string> SplitWords(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    if (i >= line.size()) break;
    std::string word;
    if (line[i] == '\'' || line[i] == '"') {
      const char q = line[i++];
      while (i < line.size() && line[i] != q) {
        if (line[i] == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\'))
          ++i;
        word += line[i++];
      }
      ++i;
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
        word += line[i++];
    }
    out.push_back(std::move(word));
  }
  return out;
}

Result<std::vector<SetLine>> ParseSetCommands(std::string_view text) {
  std::vector<SetLine> out;
  int lineno = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    ++lineno;
    start = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    auto words = SplitWords(line);
    if (words.empty() || words[0] == "comment" || words[0][0] == '#') continue;
    if (words[0] != "set")
      return MakeError(ErrorCode::kInvalidArgument, "line " + std::to_string(lineno) +
                                                        ": expected a 'set' command, found '" +
                                                        words[0] + "'");
    SetLine s;
    s.path.assign(words.begin() + 1, words.end());
    // A quoted last word is always a value; show configuration commands quotes every value.
    auto last_quote = line.find_last_of("'\"");
    s.has_value = last_quote != std::string_view::npos &&
                  last_quote + 1 >= line.find_last_not_of(" \t\r") + 1;
    out.push_back(std::move(s));
  }
  return out;
}

std::string ToJson(const ConfigNode& node) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  WriteJson(node, w);
  return std::string(buf.GetString(), buf.GetSize());
}

Result<ConfigNode> FromJson(std::string_view json) {
  rapidjson::Document doc;
  if (std::string why; !core::ParseJson(doc, json, &why))
    return MakeError(ErrorCode::kInvalidArgument, why);
  ConfigNode n;
  auto st = ReadJson(doc, n, 0);
  if (!st) return tl::unexpected(st.error());
  return n;
}

}  // namespace nc::vyos
