#include "test/sim/vyos/sim_config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>

namespace nc::sim::vy {

// ---------------------------------------------------------------------------------------------
// The tree and its text forms.

bool NaturalLess::operator()(const std::string& a, const std::string& b) const {
  size_t i = 0, j = 0;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      size_t ie = i, je = j;
      while (ie < a.size() && digit(a[ie])) ++ie;
      while (je < b.size() && digit(b[je])) ++je;
      std::string_view x(a.data() + i, ie - i), y(b.data() + j, je - j);
      while (x.size() > 1 && x[0] == '0') x.remove_prefix(1);
      while (y.size() > 1 && y[0] == '0') y.remove_prefix(1);
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;
}

const Node* Node::At(const std::vector<std::string>& path) const {
  const Node* n = this;
  for (const auto& p : path) {
    auto it = n->kids.find(p);
    if (it == n->kids.end()) return nullptr;
    n = &it->second;
  }
  return n;
}

namespace {

// One line of config.boot split into words and braces; quotes keep spaces and braces.
Result<std::vector<std::string>> BootTokens(std::string_view line, int lineno, bool* quoted_last) {
  std::vector<std::string> out;
  size_t i = 0;
  *quoted_last = false;
  while (i < line.size()) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '{' || c == '}') {
      out.emplace_back(1, c);
      *quoted_last = false;
      ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      std::string v;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '\\' && c == '"' && i + 1 < line.size()) {
          v += line[i + 1];
          i += 2;
          continue;
        }
        if (line[i] == c) {
          closed = true;
          ++i;
          break;
        }
        v += line[i++];
      }
      if (!closed)
        return MakeError(ErrorCode::kInvalidArgument,
                         "line " + std::to_string(lineno) + ": unterminated quote");
      out.push_back(std::move(v));
      *quoted_last = true;
      continue;
    }
    std::string w;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
           line[i] != '{' && line[i] != '}')
      w += line[i++];
    out.push_back(std::move(w));
    *quoted_last = false;
  }
  return out;
}

void Indent(std::string& out, int depth) {
  out.append(static_cast<size_t>(depth) * 4, ' ');
}

std::string BootQuote(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void RenderBootNode(const Node& n, int depth, std::string& out) {
  for (const auto& [name, kid] : n.kids) {
    if (kid.kind == Node::Kind::kLeaf) {
      if (kid.values.empty()) {
        Indent(out, depth);
        out += name + "\n";
      }
      for (const auto& v : kid.values) {
        Indent(out, depth);
        out += name + " " + BootQuote(v) + "\n";
      }
    } else if (kid.kind == Node::Kind::kTag) {
      for (const auto& [value, entry] : kid.kids) {
        Indent(out, depth);
        out += name + " " + value + " {\n";
        RenderBootNode(entry, depth + 1, out);
        Indent(out, depth);
        out += "}\n";
      }
    } else {
      Indent(out, depth);
      out += name + " {\n";
      RenderBootNode(kid, depth + 1, out);
      Indent(out, depth);
      out += "}\n";
    }
  }
}

void RenderCommandsNode(const Node& n, const std::string& prefix, std::string& out) {
  for (const auto& [name, kid] : n.kids) {
    const std::string p = prefix + " " + name;
    if (kid.kind == Node::Kind::kLeaf) {
      if (kid.values.empty()) out += "set" + p + "\n";
      for (const auto& v : kid.values) out += "set" + p + " '" + v + "'\n";
    } else if (kid.kind == Node::Kind::kTag) {
      for (const auto& [value, entry] : kid.kids) {
        if (entry.kids.empty()) out += "set" + p + " " + value + "\n";
        RenderCommandsNode(entry, p + " " + value, out);
      }
    } else {
      if (kid.kids.empty()) out += "set" + p + "\n";
      RenderCommandsNode(kid, p, out);
    }
  }
}

void RenderJsonNode(const Node& n, std::string& out) {
  if (n.kind == Node::Kind::kLeaf) {
    if (n.values.empty())
      out += "{}";
    else if (n.values.size() == 1)
      out += JsonQuote(n.values[0]);
    else {
      out += "[";
      for (size_t i = 0; i < n.values.size(); ++i) out += (i ? ", " : "") + JsonQuote(n.values[i]);
      out += "]";
    }
    return;
  }
  out += "{";
  bool first = true;
  for (const auto& [name, kid] : n.kids) {
    if (!first) out += ", ";
    first = false;
    out += JsonQuote(name) + ": ";
    RenderJsonNode(kid, out);
  }
  out += "}";
}

}  // namespace

// Python's json.dumps (ensure_ascii): non-ASCII code points as \uXXXX, surrogate pairs above
// the BMP; bytes that are not UTF-8 as U+FFFD (Python would have refused them earlier).
std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  auto hex = [&](unsigned cp) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\u%04x", cp & 0xffffu);
    out += buf;
  };
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"')
        out += "\\\"";
      else if (c == '\\')
        out += "\\\\";
      else if (c == '\n')
        out += "\\n";
      else if (c == '\r')
        out += "\\r";
      else if (c == '\t')
        out += "\\t";
      else if (c < 0x20 || c == 0x7f)
        hex(c);
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    unsigned cp = len == 4 ? c & 0x07 : len == 3 ? c & 0x0f : c & 0x1f;
    bool ok = len > 0 && i + static_cast<size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (!ok) {
      hex(0xfffd);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      hex(0xd800 + (cp >> 10));
      hex(0xdc00 + (cp & 0x3ff));
    } else {
      hex(cp);
    }
    i += static_cast<size_t>(len);
  }
  return out + "\"";
}

Result<Node> ParseBoot(std::string_view text) {
  Node root;
  std::vector<Node*> stack{&root};
  bool in_comment = false;
  int lineno = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line(
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++lineno;
    // Block comments (VyOS attaches them to the next node; the emulator drops them).
    std::string clean;
    for (size_t i = 0; i < line.size();) {
      if (in_comment) {
        auto end = line.find("*/", i);
        if (end == std::string::npos) {
          i = line.size();
        } else {
          in_comment = false;
          i = end + 2;
        }
        continue;
      }
      if (line.compare(i, 2, "/*") == 0) {
        in_comment = true;
        i += 2;
        continue;
      }
      if (line[i] == '"') {  // keep quoted text whole
        auto end = i + 1;
        while (end < line.size() && line[end] != '"') end += line[end] == '\\' ? 2 : 1;
        clean += line.substr(i, end + 1 - i);
        i = end + 1;
        continue;
      }
      clean += line[i++];
    }
    auto first = clean.find_first_not_of(" \t\r");
    if (first == std::string::npos || clean.compare(first, 2, "//") == 0) continue;
    bool quoted_last = false;
    auto tok = BootTokens(clean, lineno, &quoted_last);
    if (!tok) return tl::unexpected(tok.error());
    auto& t = *tok;
    auto bad = [&] {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "line " + std::to_string(lineno) + ": cannot parse '" + clean.substr(first) + "'");
    };
    while (!t.empty()) {
      if (t[0] == "}") {
        if (stack.size() < 2)
          return MakeError(ErrorCode::kInvalidArgument,
                           "line " + std::to_string(lineno) + ": unbalanced '}'");
        stack.pop_back();
        t.erase(t.begin());
        continue;
      }
      Node* parent = stack.back();
      const bool opens2 = t.size() >= 2 && t[1] == "{";
      const bool opens3 = t.size() >= 3 && t[2] == "{" && t[1] != "{" && t[1] != "}";
      if (opens2) {
        Node& n = parent->kids[t[0]];
        if (n.kind == Node::Kind::kLeaf) return bad();
        stack.push_back(&n);
        t.erase(t.begin(), t.begin() + 2);
      } else if (opens3) {
        Node& tag = parent->kids[t[0]];
        if (tag.kind == Node::Kind::kLeaf) return bad();
        tag.kind = Node::Kind::kTag;
        stack.push_back(&tag.kids[t[1]]);
        t.erase(t.begin(), t.begin() + 3);
      } else if (t.size() == 1 || (t.size() == 2 && t[1] != "}")) {
        Node& leaf = parent->kids[t[0]];
        if (leaf.kind != Node::Kind::kLeaf && !leaf.kids.empty()) return bad();
        leaf.kind = Node::Kind::kLeaf;
        if (t.size() == 2) leaf.values.push_back(t[1]);
        t.clear();
      } else if (t.size() >= 2 && t[1] == "}") {
        Node& leaf = parent->kids[t[0]];
        leaf.kind = Node::Kind::kLeaf;
        t.erase(t.begin());
      } else {
        return bad();
      }
    }
  }
  if (stack.size() != 1)
    return MakeError(
        ErrorCode::kInvalidArgument,
        "unbalanced braces: " + std::to_string(stack.size() - 1) + " block(s) not closed");
  return root;
}

std::string RenderBoot(const Node& root, std::string_view release) {
  std::string out;
  RenderBootNode(root, 0, out);
  out +=
      "// Warning: Do not remove the following line.\n// vyos-config-version: "
      "\"nat@8:system@27\"\n// Release version: ";
  out += release;
  out += "\n";
  return out;
}

std::string RenderCurly(const Node& root) {
  std::string out;
  RenderBootNode(root, 0, out);
  return out;
}

std::string RenderCommands(const Node& root) {
  std::string out;
  RenderCommandsNode(root, "", out);
  return out;
}

std::string RenderJson(const Node& n) {
  std::string out;
  RenderJsonNode(n, out);
  return out;
}

std::vector<std::string> Words(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    if (i >= line.size()) break;
    // As VyOS's bash-based CLI reads a word: '...' literal, "..." with \" and \\, \x outside.
    std::string w;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
      if (line[i] == '\'') {
        ++i;
        while (i < line.size() && line[i] != '\'') w += line[i++];
        if (i < line.size()) ++i;
      } else if (line[i] == '"') {
        ++i;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\'))
            ++i;
          w += line[i++];
        }
        if (i < line.size()) ++i;
      } else if (line[i] == '\\' && i + 1 < line.size()) {
        w += line[i + 1];
        i += 2;
      } else {
        w += line[i++];
      }
    }
    out.push_back(std::move(w));
  }
  return out;
}

Services ReadServices(const std::string& path) {
  Services s;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ws(line);
    std::vector<std::string> w;
    for (std::string x; ws >> x;) w.push_back(x);
    if (w.empty()) continue;
    s.range.insert(w[0]);
    s.multi.insert(w[0]);
    s.named.insert(w[0]);
    bool comment = false;
    for (size_t i = 2; i < w.size(); ++i) {
      s.multi.insert(w[i]);  // port-multi takes every later word, comment words included
      comment = comment || w[i][0] == '#';
      if (!comment) s.named.insert(w[i]);
    }
  }
  return s;
}

std::optional<Version> ParseVersion(std::string_view s) {
  if (s == "1.3") return Version::k13;
  if (s == "1.4") return Version::k14;
  if (s == "1.5") return Version::k15;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Value checks, from ../shared/data/vyos-1x/schema (validators/ and the XML constraints).

namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// ipaddrcheck is_ipv4_single: ^((([1-9]\d{0,2}|0)\.){3}([1-9]\d{0,2}|0))$, then libcidr
// refuses octets above 255.
bool Dotted(std::string_view s, uint32_t octets[4]) {
  static const std::regex re(R"(^(([1-9][0-9]{0,2}|0)\.){3}([1-9][0-9]{0,2}|0)$)");
  if (!std::regex_match(s.begin(), s.end(), re)) return false;
  int k = 0;
  size_t start = 0;
  while (k < 4) {
    size_t dot = s.find('.', start);
    auto part =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    uint32_t v = 0;
    for (char c : part) v = v * 10 + static_cast<uint32_t>(c - '0');
    if (v > 255) return false;
    octets[k++] = v;
    start = dot + 1;
  }
  return true;
}

bool Ipv4Single(std::string_view s) {
  uint32_t o[4];
  return Dotted(s, o);
}

// --is-ipv4-net: ^...\/([1-9]\d*|0)$, prefix length <= 32, no host bits.
bool Ipv4Net(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  uint32_t o[4];
  if (!Dotted(s.substr(0, slash), o)) return false;
  auto len_s = s.substr(slash + 1);
  static const std::regex re(R"(^([1-9][0-9]*|0)$)");
  if (!std::regex_match(len_s.begin(), len_s.end(), re) || len_s.size() > 2) return false;
  int len = std::stoi(std::string(len_s));
  if (len > 32) return false;
  uint32_t addr = (o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3];
  uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  return (addr & ~mask) == 0;
}

// --is-ipv4-range: two single addresses, the first not greater than the last. ipaddrcheck
// compares the two in_addr.s_addr values, which are in network byte order: on the x86 builds
// VyOS ships that is the addresses with their bytes reversed (last octet most significant).
bool Ipv4Range(std::string_view s) {
  static const std::regex re(R"(^([0-9.]+-[0-9.]+)$)");
  if (!std::regex_match(s.begin(), s.end(), re)) return false;
  auto dash = s.find('-');
  uint32_t a[4], b[4];
  if (!Dotted(s.substr(0, dash), a) || !Dotted(s.substr(dash + 1), b)) return false;
  uint32_t x = a[0] | (a[1] << 8) | (a[2] << 16) | (a[3] << 24);
  uint32_t y = b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);
  return x <= y;
}

bool PortNumber(std::string_view s) {
  if (!AllDigits(s) || s.size() > 9) return false;
  long v = std::stol(std::string(s));
  return v >= 1 && v <= 65535;
}

bool PortRangeItem(std::string_view s) {  // ^[0-9]{1,5}-[0-9]{1,5}$, both 1-65535, ascending
  static const std::regex re(R"(^[0-9]{1,5}-[0-9]{1,5}$)");
  if (!std::regex_match(s.begin(), s.end(), re)) return false;
  auto dash = s.find('-');
  long a = std::stol(std::string(s.substr(0, dash))),
       b = std::stol(std::string(s.substr(dash + 1)));
  return a >= 1 && a <= 65535 && b >= 1 && b <= 65535 && a <= b;
}

}  // namespace

// Per check name: nullopt when valid, else the text VyOS prints.
std::optional<std::string> Schema::CheckValue(const std::string& check,
                                              const std::string& v) const {
  if (check == "text") return std::nullopt;
  if (check == "rule") {  // numeric --range 1-999999
    if (AllDigits(v) && v.size() <= 7 && std::stol(v) >= 1 && std::stol(v) <= 999999)
      return std::nullopt;
    return "NAT rule number must be between 1 and 999999";
  }
  if (check == "description") {  // <regex>.{0,255}</regex>, anchored; '.' is any byte but newline
    if (v.size() <= 255 && v.find('\n') == std::string::npos) return std::nullopt;
    return "Description too long (limit 255 characters)";
  }
  if (check == "nat-address" || check == "translation-address") {
    std::string_view s = v;
    const bool excl = check == "nat-address" && !s.empty() && s[0] == '!';
    if (excl) s.remove_prefix(1);
    if (Ipv4Single(s) || Ipv4Net(s) || Ipv4Range(s)) return std::nullopt;
    if (check == "nat-address" && s.find('-') != std::string_view::npos)
      return "Error: " + std::string(s) + " is not a valid IPv4 address range";
    if (s.find('/') != std::string_view::npos)
      return "Error: " + std::string(s) + " is not a valid IPv4 prefix";
    return "Error: " + std::string(s) + " is not a valid IPv4 address";
  }
  if (check == "port-multi") {  // validators/port-multi
    std::string item;
    std::stringstream ss(v);
    std::vector<std::string> items;
    while (std::getline(ss, item, ',')) items.push_back(item);
    if (!v.empty() && v.back() == ',') items.emplace_back();
    if (items.empty()) items.emplace_back();
    for (auto p : items) {
      if (!p.empty() && p[0] == '!') p = p.substr(1);
      static const std::regex range_re(R"(^[0-9]{1,5}-[0-9]{1,5}$)");
      if (std::regex_match(p, range_re)) {
        if (!PortRangeItem(p)) return "Error: " + p + " is not a valid port range";
      } else if (AllDigits(p)) {
        if (!PortNumber(p)) return "Error: " + p + " is not a valid port";
      } else if (!services_.multi.count(p)) {
        return "Error: " + p + " is not a valid service name";
      }
    }
    return std::nullopt;
  }
  if (check == "port-range") {  // validators/port-range
    static const std::regex range_re(R"(^[0-9]{1,5}-[0-9]{1,5}$)");
    if (std::regex_match(v, range_re)) {
      if (!PortRangeItem(v)) return "Error: " + v + " is not a valid port or port range";
    } else if (AllDigits(v)) {
      if (!PortNumber(v)) return "Error: " + v + " is not a valid port or port range";
    } else if (!services_.range.count(v)) {
      return "Error: " + v + " is not a valid service name";
    }
    return std::nullopt;
  }
  if (check == "interface-name") {  // the regex of firewall/match-interface.xml.i, or vrf-name
    static const std::regex iface(
        R"(^((\!?)(bond|br|dum|en|ersp|eth|gnv|ifb|ipoe|lan|l2tp|l2tpeth|macsec|peth|ppp|pppoe|pptp|sstp|tun|veth|vti|vtun|vxlan|wg|wlan|wwan)([0-9]?)(\*?)(.+)?|(\!?)lo)$)");
    const bool printable = std::none_of(v.begin(), v.end(), [](char c) { return c == '\n'; });
    if (printable && std::regex_match(v, iface)) return std::nullopt;
    // validators/vrf-name: 1-15 characters, not "lo", not starting with an interface prefix or
    // a digit. (Its pattern continues a raw string with a backslash-newline, so "vtun" is not
    // among the excluded prefixes.)
    static const std::regex vrf_excluded(
        R"(^(bond|br|dum|eth|lan|eno|ens|enp|enx|gnv|ipoe|l2tp|l2tpeth|ppp|pppoe|peth|tun|vti|vxlan|wg|wlan|wwan|[0-9]))");
    if (printable && !v.empty() && v.size() <= 15 && v != "lo" &&
        !std::regex_search(v, vrf_excluded))
      return std::nullopt;
    return "Invalid value";
  }
  if (check == "protocol") {  // validators/ip-protocol: 0-255, or re.match (a prefix match)
    if (AllDigits(v) && v.size() <= 3 && std::stoi(v) <= 255) return std::nullopt;
    static const std::regex re(
        R"(^!?\b(all|ip|hopopt|icmp|igmp|ggp|ipencap|st|tcp|egp|igp|pup|udp|tcp_udp|hmp|xns-idp|rdp|iso-tp4|dccp|xtp|ddp|idpr-cmtp|ipv6|ipv6-route|ipv6-frag|idrp|rsvp|gre|esp|ah|skip|ipv6-icmp|icmpv6|ipv6-nonxt|ipv6-opts|rspf|vmtp|eigrp|ospf|ax.25|ipip|etherip|encap|99|pim|ipcomp|vrrp|l2tp|isis|sctp|fc|mobility-header|udplite|mpls-in-ip|manet|hip|shim6|wesp|rohc)\b)");
    if (std::regex_search(v, re)) return std::nullopt;
    return "Error: " + v + " is not a valid IP protocol";
  }
  if (check == "packet-type") {
    if (v == "broadcast" || v == "host" || v == "multicast" || v == "other") return std::nullopt;
    return "Invalid value";
  }
  if (check == "address-mapping")
    return v == "persistent" || v == "random" ? std::nullopt
                                              : std::optional<std::string>("Invalid value");
  if (check == "port-mapping")
    return v == "random" || v == "none" ? std::nullopt
                                        : std::optional<std::string>("Invalid value");
  if (check == "confirm-action")
    return v == "reboot" || v == "reload" ? std::nullopt
                                          : std::optional<std::string>("Invalid value");
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The schema.

struct Schema::Def {
  enum class Kind { kNode, kTag, kLeaf, kMulti, kValueless };
  Kind kind = Kind::kNode;
  std::string check;  // a leaf's value check, a tag's value check
  std::map<std::string, std::shared_ptr<Def>> kids;
};

namespace {

using DefPtr = std::shared_ptr<Schema::Def>;
using K = Schema::Def::Kind;

DefPtr D(K kind, std::string check = "text", std::map<std::string, DefPtr> kids = {}) {
  auto d = std::make_shared<Schema::Def>();
  d->kind = kind;
  d->check = std::move(check);
  d->kids = std::move(kids);
  return d;
}
DefPtr Leaf(std::string check = "text") {
  return D(K::kLeaf, std::move(check));
}
DefPtr Valueless() {
  return D(K::kValueless, "");
}
DefPtr N(std::map<std::string, DefPtr> kids) {
  return D(K::kNode, "", std::move(kids));
}
DefPtr Tag(std::string check, std::map<std::string, DefPtr> kids) {
  return D(K::kTag, std::move(check), std::move(kids));
}

DefPtr Side(bool fqdn) {
  std::map<std::string, DefPtr> kids{{"address", Leaf("nat-address")},
                                     {"port", Leaf("port-multi")},
                                     {"group", N({{"address-group", Leaf()},
                                                  {"network-group", Leaf()},
                                                  {"port-group", Leaf()},
                                                  {"domain-group", Leaf()},
                                                  {"mac-group", Leaf()}})}};
  if (fqdn) kids["fqdn"] = Leaf();
  return N(std::move(kids));
}

DefPtr BuildRoot(Version v) {
  const bool leaf_iface = v == Version::k13;
  auto iface = leaf_iface ? Leaf() : N({{"name", Leaf("interface-name")}, {"group", Leaf()}});
  auto options =
      N({{"address-mapping", Leaf("address-mapping")}, {"port-mapping", Leaf("port-mapping")}});
  std::map<std::string, DefPtr> common{
      {"description", Leaf("description")},
      {"destination", Side(true)},
      {"source", Side(true)},
      {"protocol", Leaf("protocol")},
      {"disable", Valueless()},
      {"log", Valueless()},
      {"exclude", Valueless()},
      {"packet-type", Leaf("packet-type")},
      {"load-balance",
       N({{"hash", D(K::kMulti)}, {"backend", Tag("nat-address", {{"weight", Leaf()}})}})},
  };
  auto dnat = common;
  dnat["inbound-interface"] = iface;
  dnat["translation"] = N({{"address", Leaf("translation-address")},
                           {"port", Leaf("port-range")},
                           {"options", options},
                           {"redirect", N({{"port", Leaf("port-range")}})}});
  auto snat = common;
  snat["outbound-interface"] =
      leaf_iface ? Leaf() : N({{"name", Leaf("interface-name")}, {"group", Leaf()}});
  snat["translation"] =
      N({{"address", Leaf()}, {"port", Leaf("port-range")}, {"options", options}});
  std::map<std::string, DefPtr> api{{"keys", N({{"id", Tag("text", {{"key", Leaf()}})}})},
                                    {"strict", Valueless()}};
  if (v == Version::k15) api["rest"] = N({{"strict", Valueless()}, {"debug", Valueless()}});
  return N({
      {"nat", N({{"destination", N({{"rule", Tag("rule", dnat)}})},
                 {"source", N({{"rule", Tag("rule", snat)}})}})},
      {"firewall", N({{"group", N({{"interface-group",
                                    Tag("text", {{"interface", D(K::kMulti)},
                                                 {"description", Leaf("description")}})}})}})},
      {"interfaces", N({{"ethernet", Tag("text", {{"address", D(K::kMulti)},
                                                  {"description", Leaf("description")}})}})},
      {"service", N({{"https", N({{"api", N(api)}})}})},
      {"system", N({{"host-name", Leaf()},
                    {"config-management",
                     N({{"commit-revisions", Leaf()},
                        {"commit-confirm", N({{"action", Leaf("confirm-action")}})}})}})},
  });
}

std::string JoinWords(const std::vector<std::string>& p) {
  std::string s;
  for (const auto& x : p) s += (s.empty() ? "" : " ") + x;
  return s;
}

struct Walk {
  std::vector<std::string> node_path;  // up to the leaf or node
  std::vector<bool> tag_value;         // per element of node_path: a tag's value
  std::optional<std::string> value;    // a leaf value, when the path named one
  const Schema::Def* def = nullptr;
};

std::optional<Walk> Resolve(const Schema::Def* root, const std::vector<std::string>& path) {
  Walk w;
  const Schema::Def* d = root;
  for (size_t i = 0; i < path.size(); ++i) {
    if (d->kind == K::kLeaf || d->kind == K::kMulti) {
      if (i + 1 != path.size()) return std::nullopt;
      w.value = path[i];
      break;
    }
    if (d->kind == K::kValueless) return std::nullopt;
    auto it = d->kids.find(path[i]);
    if (it == d->kids.end()) return std::nullopt;
    w.node_path.push_back(path[i]);
    w.tag_value.push_back(false);
    d = it->second.get();
    if (d->kind == K::kTag && i + 1 < path.size()) {
      w.node_path.push_back(path[++i]);
      w.tag_value.push_back(true);
    }
  }
  w.def = d;
  return w;
}

tl::unexpected<Error> ValueFailed(const std::string& text) {
  return MakeError(ErrorCode::kRejected,
                   "  " + text + "\n\n  Value validation failed\n  Set failed\n");
}

}  // namespace

Schema::Schema(Version version, Services services)
    : version_(version), services_(std::move(services)) {
  static const DefPtr k13 = BuildRoot(Version::k13), k14 = BuildRoot(Version::k14),
                      k15 = BuildRoot(Version::k15);
  root_ = (version == Version::k13 ? k13 : version == Version::k14 ? k14 : k15).get();
}

bool Schema::Known(const std::vector<std::string>& path) const {
  return Resolve(root_, path).has_value();
}

Status Schema::Set(Node& root, std::vector<std::string> path,
                   const std::optional<std::string>& value) const {
  if (value) path.push_back(*value);
  auto w = Resolve(root_, path);
  if (!w)
    return MakeError(ErrorCode::kRejected, "\n  Configuration path: [" + JoinWords(path) +
                                               "] is not valid\n  Set failed\n");
  const bool leaf = w->def->kind == K::kLeaf || w->def->kind == K::kMulti;
  const bool bare_tag = w->def->kind == K::kTag && !w->tag_value.back();
  if ((leaf && !w->value) || bare_tag)
    return MakeError(ErrorCode::kRejected, "\n  Configuration path: [" + JoinWords(path) +
                                               "] requires a value\n  Set failed\n");
  // Tag values and the leaf value, each through its check.
  const Def* d = root_;
  for (size_t i = 0; i < w->node_path.size(); ++i) {
    if (w->tag_value[i]) {
      if (auto e = CheckValue(d->check, w->node_path[i])) return ValueFailed(*e);
      continue;
    }
    d = d->kids.at(w->node_path[i]).get();
  }
  if (w->value)
    if (auto e = CheckValue(w->def->check, *w->value)) return ValueFailed(*e);
  Node* n = &root;
  for (size_t i = 0; i < w->node_path.size(); ++i) {
    if (w->tag_value[i]) n->kind = Node::Kind::kTag;
    n = &n->kids[w->node_path[i]];
  }
  switch (w->def->kind) {
    case K::kLeaf:
      n->kind = Node::Kind::kLeaf;
      n->values = {*w->value};
      break;
    case K::kMulti:
      n->kind = Node::Kind::kLeaf;
      if (std::find(n->values.begin(), n->values.end(), *w->value) == n->values.end())
        n->values.push_back(*w->value);
      break;
    case K::kValueless:
      n->kind = Node::Kind::kLeaf;
      break;
    default:
      break;
  }
  return {};
}

namespace {

// Drops `path`'s emptied ancestors, as VyOS does after a delete.
void Prune(Node& root, const std::vector<std::string>& path) {
  for (size_t len = path.size(); len > 0; --len) {
    std::vector<std::string> parent_path(path.begin(), path.begin() + static_cast<long>(len) - 1);
    Node* parent = const_cast<Node*>(root.At(parent_path));
    if (!parent) continue;
    auto it = parent->kids.find(path[len - 1]);
    if (it == parent->kids.end()) continue;
    if (it->second.kind != Node::Kind::kLeaf && it->second.kids.empty())
      parent->kids.erase(it);
    else
      break;
  }
}

}  // namespace

Status Schema::Delete(Node& root, std::vector<std::string> path,
                      const std::optional<std::string>& value, bool strict) const {
  if (value) path.push_back(*value);
  auto w = Resolve(root_, path);
  if (!w)
    return MakeError(ErrorCode::kRejected, "\n  Configuration path: [" + JoinWords(path) +
                                               "] is not valid\n  Delete failed\n");
  Node* n = const_cast<Node*>(root.At(w->node_path));
  const std::vector<std::string> up(w->node_path.begin(), w->node_path.end() - 1);
  bool missing = n == nullptr;
  if (n && w->value) {  // one value of a multi-value leaf; the leaf goes with its last value
    auto it = std::find(n->values.begin(), n->values.end(), *w->value);
    missing = it == n->values.end();
    if (!missing) n->values.erase(it);
  }
  if (n && !missing && (!w->value || n->values.empty()))
    const_cast<Node*>(root.At(up))->kids.erase(w->node_path.back());
  if (missing) {
    if (strict)
      return MakeError(
          ErrorCode::kRejected,
          "\n  Nothing to delete (the specified node does not exist)\n  Delete failed\n");
    return {};
  }
  Prune(root, up);
  return {};
}

void Schema::Migrate(Node& root) const {
  for (const char* side : {"destination", "source"}) {
    Node* rules = const_cast<Node*>(root.At({"nat", side, "rule"}));
    if (!rules) continue;
    const std::string leaf = side[0] == 'd' ? "inbound-interface" : "outbound-interface";
    for (auto& [num, rule] : rules->kids) {
      auto it = rule.kids.find(leaf);
      if (it == rule.kids.end()) continue;
      Node& i = it->second;
      if (version_ == Version::k13) {
        if (i.kind != Node::Kind::kLeaf) {  // back to the leaf (a downgrade; 1.3 never had `name`)
          const Node* name = i.At({"name"});
          Node l;
          l.kind = Node::Kind::kLeaf;
          if (name && !name->values.empty()) l.values = name->values;
          i = l;
        }
        continue;
      }
      if (i.kind == Node::Kind::kLeaf) {  // nat 5-to-6: the leaf becomes `name`
        Node n;
        n.kids["name"] = i;
        i = n;
      } else if (auto old = i.kids.find("interface-name"); old != i.kids.end()) {
        i.kids["name"] = old->second;
        i.kids.erase("interface-name");
      }
    }
  }
}

Result<Node> Schema::LoadCommands(std::string_view text, std::vector<std::string>* foreign) const {
  Node root;
  size_t pos = 0;
  int lineno = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++lineno;
    auto w = Words(line);
    if (w.empty() || w[0] != "set") continue;
    std::vector<std::string> path(w.begin() + 1, w.end());
    // Older eras' interface forms, as this version's migration would rewrite them.
    if (path.size() >= 5 && path[0] == "nat" &&
        (path[4] == "inbound-interface" || path[4] == "outbound-interface")) {
      if (version_ == Version::k13 && path.size() == 7)
        path.erase(path.begin() + 5);
      else if (version_ != Version::k13 && path.size() == 6)
        path.insert(path.begin() + 5, "name");
      else if (version_ != Version::k13 && path.size() == 7 && path[5] == "interface-name")
        path[5] = "name";
    }
    if (!Known(path)) {
      if (foreign) foreign->emplace_back(line);
      continue;
    }
    if (auto st = Set(root, path, std::nullopt); !st)
      return MakeError(ErrorCode::kInvalidArgument,
                       "line " + std::to_string(lineno) + ": " + st.error().message);
  }
  return root;
}

std::optional<std::string> Schema::CommitCheck(const Node& root) const {
  for (const char* side : {"destination", "source"}) {
    const Node* rules = root.At({"nat", side, "rule"});
    if (!rules) continue;
    const bool dnat = side[0] == 'd';
    for (const auto& [num, r] : rules->kids) {
      const std::string err = std::string(dnat ? "Destination" : "Source") +
                              " NAT configuration error in rule " + num + ":";
      auto has = [&](std::vector<std::string> p) { return r.At(p) != nullptr; };
      const std::string iface_leaf = dnat ? "inbound-interface" : "outbound-interface";
      if (const Node* i = r.At({iface_leaf}); i && i->kind != Node::Kind::kLeaf) {
        if (i->kids.count("name") && i->kids.count("group"))
          return err + " cannot specify both interface group and interface name for " +
                 (dnat ? "destination" : "source") + " nat rule \"" + num + "\"";
        if (const Node* g = i->At({"group"}); g && !g->values.empty()) {
          std::string name = g->values[0];
          if (!name.empty() && name[0] == '!') name = name.substr(1);
          if (!root.At({"firewall", "group", "interface-group", name}))
            return "Invalid interface group \"" + name + "\" on " +
                   (dnat ? "destination" : "source") + " nat rule";
        }
      }
      const bool translated = has({"translation", "address"}) || has({"translation", "port"}) ||
                              (dnat && has({"translation", "redirect"}));
      if (!translated && !has({"exclude"}) && !has({"load-balance", "backend"}))
        return err + " translation requires address and/or port";
      const Node* proto = r.At({"protocol"});
      const std::string p = proto && !proto->values.empty() ? proto->values[0] : "all";
      const bool ports = has({"translation", "port"}) || has({"translation", "redirect", "port"}) ||
                         has({"destination", "port"}) || has({"source", "port"});
      if (ports && p != "tcp" && p != "udp" && p != "tcp_udp")
        return err + " ports can only be specified when protocol is either tcp, udp or tcp_udp!";
      // generate(): `nft --check` of the rendered ruleset; a port name nftables cannot resolve
      // (a comment word port-multi let through) fails there, naming no rule.
      for (const char* s : {"destination", "source"}) {
        const Node* port = r.At({s, "port"});
        if (!port || port->values.empty()) continue;
        std::stringstream ss(port->values[0]);
        for (std::string item; std::getline(ss, item, ',');) {
          if (!item.empty() && item[0] == '!') item = item.substr(1);
          if (!item.empty() && !std::isdigit(static_cast<unsigned char>(item[0])) &&
              !services_.named.count(item))
            return "Configuration file errors encountered!";
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace nc::sim::vy
