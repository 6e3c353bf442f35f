#include "controller/core/values.hpp"

#include <array>
#include <cctype>

namespace nc::core {

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

bool IsServiceNameSyntax(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != '+')
      return false;
  }
  return true;
}

Result<PortInterval> ParsePortItem(std::string_view item, const ServiceTable& services) {
  if (item.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty port in list");
  int64_t a = 0;
  int64_t b = 0;
  auto dash = item.find('-');
  if (std::isdigit(static_cast<unsigned char>(item[0]))) {
    if (dash == std::string_view::npos) {
      if (!ParseInt(item, 1, 65535, &a))
        return MakeError(ErrorCode::kInvalidArgument,
                         "'" + std::string(item) + "' is not a valid port (1-65535)");
      return PortInterval{static_cast<int>(a), static_cast<int>(a)};
    }
    auto lo = item.substr(0, dash);
    auto hi = item.substr(dash + 1);
    if (!ParseInt(lo, 1, 65535, &a) || !ParseInt(hi, 1, 65535, &b))
      return MakeError(ErrorCode::kInvalidArgument,
                       "'" + std::string(item) + "' is not a valid port range (1-65535)");
    if (a > b)
      return MakeError(ErrorCode::kInvalidArgument,
                       "port range '" + std::string(item) + "' has its start above its end");
    return PortInterval{static_cast<int>(a), static_cast<int>(b)};
  }
  std::string name(item);
  if (!IsServiceNameSyntax(item) || !services.Knows(name))
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + name + "' is neither a port number nor a known service name");
  int p = services.PortOf(name);
  return PortInterval{p, p};
}

}  // namespace

int ServiceTable::PortOf(const std::string& name) const {
  if (auto it = tcp.find(name); it != tcp.end()) return it->second;
  if (auto it = udp.find(name); it != udp.end()) return it->second;
  return 0;
}

ServiceTable BuiltinServices() {
  static constexpr std::array<std::pair<const char*, int>, 24> kBoth = {{
      {"ftp", 21},     {"ssh", 22},      {"telnet", 23},   {"smtp", 25},    {"domain", 53},
      {"http", 80},    {"pop3", 110},    {"ntp", 123},     {"imap2", 143},  {"snmp", 161},
      {"ldap", 389},   {"https", 443},   {"submission", 587}, {"ldaps", 636}, {"imaps", 993},
      {"pop3s", 995},  {"openvpn", 1194}, {"mysql", 3306}, {"rdp", 3389},   {"postgresql", 5432},
      {"sip", 5060},   {"http-alt", 8080}, {"tftp", 69},   {"syslog", 514},
  }};
  ServiceTable t;
  for (const auto& [name, port] : kBoth) {
    t.tcp[name] = port;
    t.udp[name] = port;
  }
  return t;
}

ServiceTable ParseServices(std::string_view text) {
  ServiceTable t;
  for (auto line : Split(text, '\n')) {
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<std::string> words;
    std::string cur;
    for (char c : line) {
      if (c == ' ' || c == '\t' || c == '\r') {
        if (!cur.empty()) words.push_back(std::move(cur)), cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) words.push_back(cur);
    if (words.size() < 2) continue;
    auto slash = words[1].find('/');
    if (slash == std::string::npos) continue;
    int64_t port = 0;
    if (!ParseInt(std::string_view(words[1]).substr(0, slash), 1, 65535, &port)) continue;
    std::string proto = words[1].substr(slash + 1);
    auto& table = proto == "tcp" ? t.tcp : t.udp;
    if (proto != "tcp" && proto != "udp") continue;
    for (size_t i = 0; i < words.size(); ++i) {
      if (i == 1) continue;
      table.emplace(words[i], static_cast<int>(port));
    }
  }
  return t;
}

bool ParseInt(std::string_view text, int64_t lo, int64_t hi, int64_t* out) {
  if (text.empty() || text.size() > 12) return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

Result<std::vector<PortInterval>> ParsePortMulti(std::string_view text,
                                                 const ServiceTable& services) {
  if (text.empty()) return MakeError(ErrorCode::kInvalidArgument, "port is empty");
  if (text[0] == '!') text.remove_prefix(1);
  std::vector<PortInterval> out;
  for (auto item : Split(text, ',')) {
    auto r = ParsePortItem(item, services);
    if (!r) return tl::unexpected(r.error());
    out.push_back(*r);
  }
  return out;
}

Result<PortInterval> ParsePortRange(std::string_view text, const ServiceTable& services) {
  if (text.empty()) return MakeError(ErrorCode::kInvalidArgument, "port is empty");
  if (text.find(',') != std::string_view::npos)
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) +
                         "' is a list; a translation port must be one port or one range "
                         "(VyOS accepts no list there)");
  return ParsePortItem(text, services);
}

bool IsIpv4Address(std::string_view text) {
  auto parts = Split(text, '.');
  if (parts.size() != 4) return false;
  for (auto p : parts) {
    int64_t v = 0;
    if (p.size() > 1 && p[0] == '0') return false;
    if (!ParseInt(p, 0, 255, &v)) return false;
  }
  return true;
}

Status CheckAddressMatch(std::string_view text, bool allow_negation) {
  std::string shown(text);
  if (!text.empty() && text[0] == '!') {
    if (!allow_negation)
      return MakeError(ErrorCode::kInvalidArgument, "'" + shown + "' may not be negated");
    text.remove_prefix(1);
  }
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    int64_t len = 0;
    if (IsIpv4Address(text.substr(0, slash)) && ParseInt(text.substr(slash + 1), 0, 32, &len))
      return {};
    return MakeError(ErrorCode::kInvalidArgument, "'" + shown + "' is not a valid IPv4 prefix");
  }
  if (auto dash = text.find('-'); dash != std::string_view::npos) {
    if (IsIpv4Address(text.substr(0, dash)) && IsIpv4Address(text.substr(dash + 1))) return {};
    return MakeError(ErrorCode::kInvalidArgument, "'" + shown + "' is not a valid IPv4 range");
  }
  if (IsIpv4Address(text)) return {};
  return MakeError(ErrorCode::kInvalidArgument,
                   "'" + shown + "' is not an IPv4 address, prefix or range");
}

Status CheckInterfaceName(std::string_view text) {
  static constexpr std::array<const char*, 26> kPrefixes = {
      "bond", "br",    "dum",  "en",   "ersp",    "eth",  "gnv", "ifb",  "ipoe",
      "lan",  "l2tp",  "l2tpeth", "macsec", "peth", "ppp", "pppoe", "pptp", "sstp",
      "tun",  "veth",  "vti",  "vtun", "vxlan",   "wg",   "wlan", "wwan"};
  std::string shown(text);
  if (!text.empty() && text[0] == '!') text.remove_prefix(1);
  if (text == "lo") return {};
  if (text.size() <= 15) {
    for (const char* p : kPrefixes) {
      std::string_view prefix(p);
      if (text.substr(0, prefix.size()) != prefix) continue;
      auto rest = text.substr(prefix.size());
      if (rest.empty()) continue;
      bool ok = true;
      for (char c : rest) {
        if (!std::isdigit(static_cast<unsigned char>(c)) &&
            !std::islower(static_cast<unsigned char>(c)) && c != '.' && c != '*' && c != '-' &&
            c != '_')
          ok = false;
      }
      if (ok) return {};
    }
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "'" + shown + "' is not a VyOS interface name (e.g. eth0, bond1.20, pppoe0)");
}

Status CheckDescription(std::string_view text, size_t max_len) {
  if (text.size() > max_len)
    return MakeError(ErrorCode::kInvalidArgument,
                     "is " + std::to_string(text.size()) + " characters; at most " +
                         std::to_string(max_len) + " are allowed");
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f)
      return MakeError(ErrorCode::kInvalidArgument,
                       "contains a control or non-ASCII character; only printable ASCII is "
                       "allowed");
    if (c == '\'' || c == '"' || c == '\\')
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string("contains the character ") + c +
                           ", which breaks VyOS's CLI and config file (no quotes or backslashes)");
  }
  return {};
}

Status CheckSwitchPortName(int platform, std::string_view text) {
  (void)platform;  // kDnos is the only switch dialect so far
  auto number = [](std::string_view t, int64_t lo, int64_t hi) {
    int64_t v;
    return ParseInt(t, lo, hi, &v);
  };
  auto fail = [&] {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) +
                         "' is not a DNOS port name (geX-f/n/p with X one of 10, 25, 40, 50, 100, 400 and "
                         "f, n, p 0-255, an optional /b breakout, or bundle-N)");
  };
  if (text.rfind("bundle-", 0) == 0) return number(text.substr(7), 1, 65535) ? Status{} : fail();
  if (text.rfind("ge", 0) != 0) return fail();
  auto dash = text.find('-');
  if (dash == std::string_view::npos) return fail();
  const auto speed = text.substr(2, dash - 2);
  if (speed != "10" && speed != "25" && speed != "40" && speed != "50" && speed != "100" && speed != "400")
    return fail();
  std::string_view rest = text.substr(dash + 1);
  int parts = 0;
  while (true) {
    auto slash = rest.find('/');
    if (!number(rest.substr(0, slash), 0, 255)) return fail();
    ++parts;
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return parts == 3 || parts == 4 ? Status{} : fail();
}

Status CheckBridgeDomainName(std::string_view text) {
  bool ok = !text.empty() && text.size() <= 64 && std::isalnum(static_cast<unsigned char>(text.front()));
  for (char c : text) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (ok) return {};
  return MakeError(ErrorCode::kInvalidArgument,
                   "'" + std::string(text) + "' is not a bridge-domain name (1-64 of A-Z a-z 0-9 _ . -, starting "
                   "with a letter or digit)");
}

Status CheckSwitchDescription(std::string_view text, size_t max_len) {
  if (text.size() > max_len)
    return MakeError(ErrorCode::kInvalidArgument, "is " + std::to_string(text.size()) + " characters; at most " +
                                                      std::to_string(max_len) + " are allowed");
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f)
      return MakeError(ErrorCode::kInvalidArgument,
                       "contains a control or non-ASCII character; only printable ASCII is allowed");
    if (c == '"' || c == '\\' || c == '#' || c == '!' || c == '|' || c == ';' || c == '\'')
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string("contains the character ") + c +
                           ", which a switch CLI reads as the end of a string, a remark or a pipe");
  }
  return {};
}

Status CheckObjectName(std::string_view text) {
  if (text.empty()) return MakeError(ErrorCode::kInvalidArgument, "name is required");
  if (text.size() > 253) return MakeError(ErrorCode::kInvalidArgument, "name is too long");
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool ok = alnum(text.front()) && alnum(text.back());
  for (char c : text) ok = ok && (alnum(c) || c == '-' || c == '.');
  if (!ok)
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) +
                         "' is not a valid name (lower-case letters, digits, '-' and '.', "
                         "starting and ending with a letter or digit)");
  return {};
}

Status CheckSimpleName(std::string_view text) {
  if (text.empty()) return MakeError(ErrorCode::kInvalidArgument, "is required");
  bool ok = text.size() <= 63 && std::isalnum(static_cast<unsigned char>(text[0]));
  for (char c : text)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (!ok)
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) +
                         "' must be 1-63 characters of letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit");
  return {};
}

Result<int64_t> ParseDurationMs(std::string_view text) {
  if (text.empty()) return MakeError(ErrorCode::kInvalidArgument, "duration is empty");
  int64_t total = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    int64_t n = 0;
    if (!ParseInt(text.substr(start, i - start), 0, 1'000'000'000, &n)) break;
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    auto unit = text.substr(ustart, i - ustart);
    int64_t mult = 0;
    if (unit == "ms") mult = 1;
    else if (unit == "s") mult = 1000;
    else if (unit == "m") mult = 60'000;
    else if (unit == "h") mult = 3'600'000;
    else break;
    total += n * mult;
    any = true;
    if (i == text.size())
      return total;
  }
  (void)any;
  return MakeError(ErrorCode::kInvalidArgument,
                   "'" + std::string(text) + "' is not a duration (e.g. 30s, 2m, 1m30s, 500ms)");
}

Result<std::pair<int, int>> ParseRuleRange(std::string_view text) {
  auto dash = text.find('-');
  int64_t lo = 0;
  int64_t hi = 0;
  if (dash == std::string_view::npos || !ParseInt(text.substr(0, dash), 1, 999999, &lo) ||
      !ParseInt(text.substr(dash + 1), 1, 999999, &hi) || lo > hi)
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) +
                         "' is not a rule range 'lo-hi' within VyOS's 1-999999");
  return std::make_pair(static_cast<int>(lo), static_cast<int>(hi));
}

}  // namespace nc::core
