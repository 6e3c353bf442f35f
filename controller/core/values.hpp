// Syntax of the values that reach a VyOS device: ports and port lists, service names, IPv4
// addresses/prefixes/ranges, interface names, descriptions, durations. Every function is pure
// and returns an explanation instead of throwing; the validator and the VyOS emulator share them.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controller/core/result.hpp"

namespace nc::core {

/// Service names as VyOS reads them from /etc/services (Debian's netbase on VyOS 1.4/1.5), with
/// their port per protocol. netconverge has no service table of its own: the shell loads the
/// system file (source::LoadServices), as VyOS's validators do.
struct ServiceTable {
  std::map<std::string, int> tcp;  // every name and alias, tcp ports
  std::map<std::string, int> udp;  // every name and alias, udp ports
  std::set<std::string> primary;   // first-column names only (what `port-range` accepts)
  bool Knows(const std::string& name) const { return tcp.count(name) || udp.count(name); }
  /// Port of a service for any protocol (tcp preferred), or 0.
  int PortOf(const std::string& name) const;
  bool empty() const { return tcp.empty() && udp.empty(); }
};

/// Parses /etc/services text ("name port/proto aliases... # comment").
ServiceTable ParseServices(std::string_view text);

/// Inclusive port interval.
struct PortInterval {
  int lo = 0;
  int hi = 0;
  bool Overlaps(const PortInterval& o) const { return lo <= o.hi && o.lo <= hi; }
  bool operator==(const PortInterval&) const = default;
};

/// A VyOS `port-multi` value (validators/port-multi): a comma list whose items are each a port
/// 1-65535, an ascending lo-hi range, or a service name (first column or alias of /etc/services),
/// each optionally negated with '!'. Returns the ports the value matches as intervals: its
/// positive items, or, when every item is negated, the complement of the negated ones.
Result<std::vector<PortInterval>> ParsePortMulti(std::string_view text,
                                                 const ServiceTable& services);
/// A VyOS `port-range` value (validators/port-range; the translation port): one port, one
/// ascending range, or one first-column service name. No list, no '!', no alias.
Result<PortInterval> ParsePortRange(std::string_view text, const ServiceTable& services);

/// IPv4 dotted quad.
bool IsIpv4Address(std::string_view text);
/// As ipaddrcheck judges VyOS's address values: an address (--is-ipv4-single), a network prefix
/// with no host bits and no leading zeros in its length (--is-ipv4-net), or a range of two
/// addresses whose first is not above its last as ipaddrcheck compares them (--is-ipv4-range;
/// see values.cpp); `allow_negation` permits a leading '!' (nat-address.xml.i's -exclude
/// validators). Returns an explanation when invalid.
Status CheckAddressMatch(std::string_view text, bool allow_negation);
/// The addresses a CheckAddressMatch value covers, as one interval of host-order integers
/// (a negated value, which matches nearly everything, as 0.0.0.0-255.255.255.255).
std::pair<uint32_t, uint32_t> AddressSpan(std::string_view text);
/// VyOS `inbound-interface name` (firewall/match-interface.xml.i): the interface regex (a known
/// prefix such as eth, bond, br, pppoe, wg and anything after it, optionally '!'; or lo), or a
/// VRF name as validators/vrf-name allows it (1-15 characters, not lo, not starting with an
/// interface prefix or a digit). Control characters are refused.
Status CheckInterfaceName(std::string_view text);
/// A VyOS description (generic-description.xml.i, `.{0,255}`): at most `max_len` bytes of valid
/// UTF-8 without control characters (VyOS itself refuses only the newline; netconverge refuses
/// every control character, which no terminal should receive). Quotes, backslashes and
/// non-ASCII text are allowed: both transports quote them.
Status CheckDescription(std::string_view text, size_t max_len);
/// A switch's parent-port name in the syntax of `platform`'s CLI (DNOS: geX-f/n/p[/b] with X one
/// of 10/25/40/50/100/400 and each number 0-255, or bundle-N). The one per-dialect fact that
/// validation needs; a new dialect adds its grammar here.
Status CheckSwitchPortName(int platform, std::string_view text);
/// A bridge-domain instance name: 1-64 of [A-Za-z0-9_.-], starting with a letter or digit.
Status CheckBridgeDomainName(std::string_view text);
/// A switch description: printable ASCII without quote, backslash, '#', '!', '|' or ';' (they
/// end strings, start remarks or pipes in switch CLIs), at most `max_len` characters.
Status CheckSwitchDescription(std::string_view text, size_t max_len);
/// Kubernetes object name (DNS-1123 subdomain, at most 253 characters).
Status CheckObjectName(std::string_view text);
/// Names used inside descriptions (VM names, port names): [A-Za-z0-9][A-Za-z0-9._-]*, <= 63.
Status CheckSimpleName(std::string_view text);
/// Go-style duration ("30s", "2m", "1m30s", "500ms", "1h") to milliseconds.
Result<int64_t> ParseDurationMs(std::string_view text);
/// Rule range "lo-hi" within VyOS's 1-999999.
Result<std::pair<int, int>> ParseRuleRange(std::string_view text);
/// Decimal integer in [lo, hi] with no sign or junk.
bool ParseInt(std::string_view text, int64_t lo, int64_t hi, int64_t* out);
/// "a, b,,c" split on `sep`, spaces dropped, empty items skipped: {a, b, c}.
std::vector<std::string> SplitList(std::string_view text, char sep = ',');
/// FNV-1a 64: a fixed hash (unlike std::hash), for what is stored or shared between processes.
uint64_t Fnv1a64(std::string_view text);

}  // namespace nc::core
