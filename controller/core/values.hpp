// Syntax of the values that reach a VyOS device: ports and port lists, service names, IPv4
// addresses/prefixes/ranges, interface names, descriptions, durations. Every function is pure
// and returns an explanation instead of throwing; the validator and the VyOS emulator share them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "controller/core/result.hpp"

namespace nc::core {

/// Known service names (as in /etc/services) with their port per protocol. The shell loads the
/// system file; `BuiltinServices()` is the fallback when it is missing.
struct ServiceTable {
  std::map<std::string, int> tcp;
  std::map<std::string, int> udp;
  bool Knows(const std::string& name) const { return tcp.count(name) || udp.count(name); }
  /// Port of a service for any protocol (tcp preferred), or 0.
  int PortOf(const std::string& name) const;
};

/// A small table of common services, used when /etc/services cannot be read.
ServiceTable BuiltinServices();
/// Parses /etc/services text ("name port/proto aliases... # comment").
ServiceTable ParseServices(std::string_view text);

/// Inclusive port interval.
struct PortInterval {
  int lo = 0;
  int hi = 0;
  bool Overlaps(const PortInterval& o) const { return lo <= o.hi && o.lo <= hi; }
  bool operator==(const PortInterval&) const = default;
};

/// A VyOS `port-multi` value: comma list of numbers, lo-hi ranges and service names, optionally
/// negated as a whole with a leading '!'. Returns the intervals (service names resolved).
Result<std::vector<PortInterval>> ParsePortMulti(std::string_view text, const ServiceTable& services);
/// A VyOS `port-range` value (translation port): one number, one lo-hi range, or a service name;
/// lists are refused with an explanation.
Result<PortInterval> ParsePortRange(std::string_view text, const ServiceTable& services);

/// IPv4 dotted quad.
bool IsIpv4Address(std::string_view text);
/// IPv4 address, a.b.c.d/len prefix, or a.b.c.d-e.f.g.h range; `allow_negation` permits a
/// leading '!'. Returns an explanation when invalid.
Status CheckAddressMatch(std::string_view text, bool allow_negation);
/// VyOS `inbound-interface name` syntax: a known interface prefix (eth, bond, br, pppoe, wg,
/// ...) followed by a suffix of [0-9a-z._*-], or `lo`, optionally negated with '!'.
Status CheckInterfaceName(std::string_view text);
/// Descriptions netconverge writes: at most `max_len` printable ASCII characters, no quote,
/// backslash or control character (they break VyOS's CLI, config file and set commands).
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

}  // namespace nc::core
