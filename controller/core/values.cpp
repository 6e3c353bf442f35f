#include "controller/core/values.hpp"

#include "controller/core/encoding.hpp"

#include <algorithm>
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

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A decimal number of any length with leading zeros (Python's int() on an isnumeric() string).
int64_t Decimal(std::string_view s) {
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
  if (s.size() > 9) return -1;
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// ^[0-9]{1,5}-[0-9]{1,5}$ (port-multi and port-range alike).
bool IsRangeSyntax(std::string_view s) {
  auto dash = s.find('-');
  if (dash == std::string_view::npos) return false;
  auto lo = s.substr(0, dash), hi = s.substr(dash + 1);
  return AllDigits(lo) && AllDigits(hi) && lo.size() <= 5 && hi.size() <= 5;
}

// One port-multi or port-range item (without '!'): a port, a range or a name from `names`.
Result<PortInterval> ParsePortItem(std::string_view item, const ServiceTable& services,
                                   bool primary_only, const char* what) {
  const std::string shown(item);
  if (IsRangeSyntax(item)) {
    auto dash = item.find('-');
    int64_t a = Decimal(item.substr(0, dash)), b = Decimal(item.substr(dash + 1));
    if (a < 1 || a > 65535 || b < 1 || b > 65535)
      return MakeError(ErrorCode::kInvalidArgument,
                       "'" + shown + "' is not a valid port range (ports are 1-65535)");
    if (a > b)
      return MakeError(ErrorCode::kInvalidArgument,
                       "port range '" + shown + "' has its start above its end");
    return PortInterval{static_cast<int>(a), static_cast<int>(b)};
  }
  if (AllDigits(item)) {
    int64_t a = Decimal(item);
    if (a < 1 || a > 65535)
      return MakeError(ErrorCode::kInvalidArgument,
                       "'" + shown + "' is not a valid port (1-65535)");
    return PortInterval{static_cast<int>(a), static_cast<int>(a)};
  }
  if (item.empty()) return MakeError(ErrorCode::kInvalidArgument, std::string("empty ") + what);
  if (primary_only ? !services.primary.count(shown) : !services.Knows(shown)) {
    if (primary_only && services.Knows(shown))
      return MakeError(
          ErrorCode::kInvalidArgument,
          "'" + shown +
              "' is an alias in /etc/services; VyOS's translation port takes only a service's "
              "first name or a number (validators/port-range)");
    return MakeError(
        ErrorCode::kInvalidArgument,
        "'" + shown + "' is neither a port number nor a service name in /etc/services" +
            (services.empty() ? " (/etc/services could not be read: install netbase)" : ""));
  }
  int p = services.PortOf(shown);
  return PortInterval{p, p};
}

}  // namespace

int ServiceTable::PortOf(const std::string& name) const {
  if (auto it = tcp.find(name); it != tcp.end()) return it->second;
  if (auto it = udp.find(name); it != udp.end()) return it->second;
  return 0;
}

ServiceTable ParseServices(std::string_view text) {
  ServiceTable t;
  for (auto line : Split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
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
    if (proto != "tcp" && proto != "udp") continue;
    auto& table = proto == "tcp" ? t.tcp : t.udp;
    t.primary.insert(words[0]);
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
  std::vector<PortInterval> positive;
  std::vector<PortInterval> negated;
  for (auto item : Split(text, ',')) {
    const bool neg = !item.empty() && item[0] == '!';
    if (neg) item.remove_prefix(1);
    auto r = ParsePortItem(item, services, false, "port in the list");
    if (!r) return tl::unexpected(r.error());
    (neg ? negated : positive).push_back(*r);
  }
  if (!positive.empty()) return positive;
  // Only exclusions: everything else matches.
  std::sort(negated.begin(), negated.end(),
            [](const PortInterval& a, const PortInterval& b) { return a.lo < b.lo; });
  std::vector<PortInterval> out;
  int next = 1;
  for (const auto& n : negated) {
    if (n.lo > next) out.push_back({next, n.lo - 1});
    next = std::max(next, n.hi + 1);
  }
  if (next <= 65535) out.push_back({next, 65535});
  if (out.empty())
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) + "' excludes every port");
  return out;
}

Result<PortInterval> ParsePortRange(std::string_view text, const ServiceTable& services) {
  if (text.empty()) return MakeError(ErrorCode::kInvalidArgument, "port is empty");
  if (text.find(',') != std::string_view::npos)
    return MakeError(
        ErrorCode::kInvalidArgument,
        "'" + std::string(text) +
            "' is a list; a translation port must be one port, one range or one service name "
            "(VyOS accepts no list there)");
  if (text[0] == '!')
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(text) + "': a translation port cannot be negated");
  return ParsePortItem(text, services, true, "port");
}

bool IsIpv4Address(std::string_view text) {
  // ipaddrcheck's ^((([1-9]\d{0,2}|0)\.){3}([1-9]\d{0,2}|0))$ and octets up to 255.
  auto parts = Split(text, '.');
  if (parts.size() != 4) return false;
  for (auto p : parts) {
    int64_t v = 0;
    if (p.size() > 1 && p[0] == '0') return false;
    if (!ParseInt(p, 0, 255, &v)) return false;
  }
  return true;
}

namespace {

uint32_t Ipv4Value(std::string_view text) {  // host order; text is a valid address
  uint32_t v = 0;
  for (auto p : Split(text, '.')) v = (v << 8) | static_cast<uint32_t>(std::stoi(std::string(p)));
  return v;
}

// The order ipaddrcheck's is_ipv4_range compares a range's two ends in: in_addr.s_addr, which
// holds the address in network byte order, read as a number on little-endian x86 (the platform
// VyOS is built for): the last octet is the most significant.
uint32_t IpaddrcheckOrder(uint32_t host_order) {
  return ((host_order & 0xff) << 24) | ((host_order & 0xff00) << 8) | ((host_order >> 8) & 0xff00) |
         (host_order >> 24);
}

}  // namespace

Status CheckAddressMatch(std::string_view text, bool allow_negation) {
  std::string shown(text);
  if (!text.empty() && text[0] == '!') {
    if (!allow_negation)
      return MakeError(ErrorCode::kInvalidArgument, "'" + shown + "' may not be negated");
    text.remove_prefix(1);
  }
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto len_s = text.substr(slash + 1);
    int64_t len = 0;
    if (!IsIpv4Address(text.substr(0, slash)) || !ParseInt(len_s, 0, 32, &len) ||
        (len_s.size() > 1 && len_s[0] == '0'))
      return MakeError(ErrorCode::kInvalidArgument, "'" + shown + "' is not a valid IPv4 prefix");
    const uint32_t addr = Ipv4Value(text.substr(0, slash));
    const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    if ((addr & ~mask) != 0) {
      const uint32_t net = addr & mask;
      return MakeError(
          ErrorCode::kInvalidArgument,
          "'" + shown + "' has host bits set; VyOS takes a prefix only as its network address (" +
              std::to_string(net >> 24) + "." + std::to_string((net >> 16) & 0xff) + "." +
              std::to_string((net >> 8) & 0xff) + "." + std::to_string(net & 0xff) + "/" +
              std::to_string(len) + ") or a single address");
    }
    return {};
  }
  if (auto dash = text.find('-'); dash != std::string_view::npos) {
    auto a = text.substr(0, dash), b = text.substr(dash + 1);
    if (!IsIpv4Address(a) || !IsIpv4Address(b))
      return MakeError(ErrorCode::kInvalidArgument, "'" + shown + "' is not a valid IPv4 range");
    if (Ipv4Value(a) > Ipv4Value(b))
      return MakeError(ErrorCode::kInvalidArgument,
                       "range '" + shown + "' has its first address above its last");
    if (IpaddrcheckOrder(Ipv4Value(a)) > IpaddrcheckOrder(Ipv4Value(b)))
      return MakeError(
          ErrorCode::kInvalidArgument,
          "range '" + shown +
              "' is refused by VyOS: its range check (ipaddrcheck) compares the two addresses last "
              "octet first, so a range that crosses a /24 boundary with a smaller last octet "
              "fails; "
              "split it or use a prefix");
    return {};
  }
  if (IsIpv4Address(text)) return {};
  return MakeError(ErrorCode::kInvalidArgument,
                   "'" + shown + "' is not an IPv4 address, prefix or range");
}

std::pair<uint32_t, uint32_t> AddressSpan(std::string_view text) {
  if (text.empty() || text[0] == '!' || !CheckAddressMatch(text, false)) return {0, ~uint32_t{0}};
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    const int len = std::stoi(std::string(text.substr(slash + 1)));
    const uint32_t addr = Ipv4Value(text.substr(0, slash));
    const uint32_t host = len == 0 ? ~uint32_t{0} : ~(~uint32_t{0} << (32 - len));
    return {addr, addr | host};
  }
  if (auto dash = text.find('-'); dash != std::string_view::npos)
    return {Ipv4Value(text.substr(0, dash)), Ipv4Value(text.substr(dash + 1))};
  return {Ipv4Value(text), Ipv4Value(text)};
}

Status CheckInterfaceName(std::string_view text) {
  static constexpr std::array<const char*, 26> kPrefixes = {
      "bond", "br",   "dum",     "en",     "ersp",  "eth", "gnv",   "ifb",  "ipoe",
      "lan",  "l2tp", "l2tpeth", "macsec", "peth",  "ppp", "pppoe", "pptp", "sstp",
      "tun",  "veth", "vti",     "vtun",   "vxlan", "wg",  "wlan",  "wwan"};
  // validators/vrf-name's excluded starts (its pattern loses "vtun" to a line continuation).
  static constexpr std::array<const char*, 21> kVrfExcluded = {
      "bond", "br",  "dum",  "eth", "lan", "eno",   "ens", "enp",  "enx",  "gnv",    "ipoe",
      "l2tp", "ppp", "peth", "tun", "vti", "vxlan", "wg",  "wlan", "wwan", "l2tpeth"};
  const std::string shown(text);
  auto fail = [&] {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "'" + shown +
            "' is neither a VyOS interface name (eth0, bond1.20, pppoe0, wg*, !eth1, lo) nor a "
            "VRF name (1-15 characters, not starting with an interface prefix or a digit)");
  };
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return fail();
  // The interface regex: (\!?)(prefixes)([0-9]?)(\*?)(.+)?|(\!?)lo
  std::string_view t = text;
  if (!t.empty() && t[0] == '!') t.remove_prefix(1);
  if (t == "lo") return {};
  for (const char* p : kPrefixes)
    if (t.substr(0, std::string_view(p).size()) == p) return {};
  // Or a VRF name: the whole value, '!' included, is checked.
  if (text.empty() || text.size() > 15 || text == "lo" ||
      std::isdigit(static_cast<unsigned char>(text[0])))
    return fail();
  for (const char* p : kVrfExcluded)
    if (text.substr(0, std::string_view(p).size()) == p) return fail();
  return {};
}

Status CheckDescription(std::string_view text, size_t max_len) {
  if (text.size() > max_len)
    return MakeError(ErrorCode::kInvalidArgument, "is " + std::to_string(text.size()) +
                                                      " bytes; at most " + std::to_string(max_len) +
                                                      " are allowed");
  for (size_t i = 0; i < text.size();) {
    auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x20 || u == 0x7f)
      return MakeError(ErrorCode::kInvalidArgument,
                       u == '\n' ? "contains a newline, which VyOS refuses in a description"
                                 : "contains a control character (tab, escape, ...); descriptions "
                                   "are one line of text");
    if (u < 0x80) {
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(text, i);
    if (len == 0) return MakeError(ErrorCode::kInvalidArgument, "is not valid UTF-8 text");
    i += len;
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
    return MakeError(
        ErrorCode::kInvalidArgument,
        "'" + std::string(text) +
            "' is not a DNOS port name (geX-f/n/p with X one of 10, 25, 40, 50, 100, 400 and "
            "f, n, p 0-255, an optional /b breakout, or bundle-N)");
  };
  if (text.rfind("bundle-", 0) == 0) return number(text.substr(7), 1, 65535) ? Status{} : fail();
  if (text.rfind("ge", 0) != 0) return fail();
  auto dash = text.find('-');
  if (dash == std::string_view::npos) return fail();
  const auto speed = text.substr(2, dash - 2);
  if (speed != "10" && speed != "25" && speed != "40" && speed != "50" && speed != "100" &&
      speed != "400")
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
  bool ok =
      !text.empty() && text.size() <= 64 && std::isalnum(static_cast<unsigned char>(text.front()));
  for (char c : text)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (ok) return {};
  return MakeError(ErrorCode::kInvalidArgument,
                   "'" + std::string(text) +
                       "' is not a bridge-domain name (1-64 of A-Z a-z 0-9 _ . -, starting "
                       "with a letter or digit)");
}

Status CheckSwitchDescription(std::string_view text, size_t max_len) {
  if (text.size() > max_len)
    return MakeError(ErrorCode::kInvalidArgument, "is " + std::to_string(text.size()) +
                                                      " characters; at most " +
                                                      std::to_string(max_len) + " are allowed");
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f)
      return MakeError(
          ErrorCode::kInvalidArgument,
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
    if (unit == "ms")
      mult = 1;
    else if (unit == "s")
      mult = 1000;
    else if (unit == "m")
      mult = 60'000;
    else if (unit == "h")
      mult = 3'600'000;
    else
      break;
    total += n * mult;
    any = true;
    if (i == text.size()) return total;
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
    return MakeError(
        ErrorCode::kInvalidArgument,
        "'" + std::string(text) + "' is not a rule range 'lo-hi' within VyOS's 1-999999");
  return std::make_pair(static_cast<int>(lo), static_cast<int>(hi));
}

std::vector<std::string> SplitList(std::string_view text, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else if (text[i] != ' ') {
      cur += text[i];
    }
  }
  return out;
}

uint64_t Fnv1a64(std::string_view text) {
  uint64_t h = 14695981039346656037ULL;  // offset basis
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;  // FNV prime
  }
  return h;
}

}  // namespace nc::core
