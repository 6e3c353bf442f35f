#include "adapters/vyos/importer.hpp"

#include <algorithm>
#include <set>

#include "adapters/vyos/config_tree.hpp"
#include "adapters/vyos/schema.hpp"
#include "adapters/vyos/vyos_codec.hpp"
#include "controller/core/values.hpp"

namespace nc::vyos {

namespace {

std::string Dns(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (c == '!')
      out += "not-";
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

// A YAML double-quoted scalar (descriptions may hold quotes, backslashes and any UTF-8 text).
std::string Q(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

struct Group {
  std::string address;
  std::string interface;
  std::string destination;
  std::vector<std::pair<int, const core::NatRule*>> rules;
};

}  // namespace

const char* ToString(ConfigFormat f) {
  switch (f) {
    case ConfigFormat::kVyosBoot:
      return "VyOS config.boot";
    case ConfigFormat::kVyosCommands:
      return "VyOS set commands";
    case ConfigFormat::kDnosFlat:
      return "DNOS show config | flatten";
    default:
      return "unknown";
  }
}

ConfigFormat DetectConfigFormat(std::string_view text) {
  // Effective lines: VyOS `//` footers and `/* */` comments and DNOS `#` remarks left out.
  std::vector<std::string_view> lines;
  bool in_comment = false;
  bool braces = false;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    line = line.substr(first);
    if (in_comment) {
      if (auto end = line.find("*/"); end != std::string_view::npos) in_comment = false;
      continue;
    }
    if (line.substr(0, 2) == "/*") {
      in_comment = line.find("*/") == std::string_view::npos;
      continue;
    }
    if (line.substr(0, 2) == "//" || line[0] == '#') continue;
    braces = braces || line.find('{') != std::string_view::npos;
    lines.push_back(line);
  }
  if (lines.empty()) return ConfigFormat::kUnknown;
  const bool all_set = std::all_of(lines.begin(), lines.end(),
                                   [](std::string_view l) { return l.substr(0, 4) == "set "; });
  if (all_set) return ConfigFormat::kVyosCommands;
  if (braces && ParseConfigBoot(text)) return ConfigFormat::kVyosBoot;
  // DNOS flatten: brace-free lines of at least two words under the switch's top-level nodes.
  static const std::set<std::string_view> kDnosTop = {
      "interfaces", "network-services", "system",
      "protocols",  "routing-policy",   "access-lists",
      "qos",        "services",         "forwarding-options",
      "multicast",  "routing-options"};
  const bool flat = !braces && std::all_of(lines.begin(), lines.end(), [](std::string_view l) {
    auto sp = l.find(' ');
    return sp != std::string_view::npos && kDnosTop.count(l.substr(0, sp));
  });
  if (flat) return ConfigFormat::kDnosFlat;
  return ConfigFormat::kUnknown;
}

bool MentionsDestinationRules(std::string_view text) {
  // "nat destination rule" in set lines; a `destination {` block holding `rule` in config.boot.
  if (text.find("nat destination rule") != std::string_view::npos) return true;
  auto nat = text.find("\nnat {");
  if (text.substr(0, 6) == "nat {\n") nat = 0;
  if (nat == std::string_view::npos) return false;
  auto dest = text.find("destination {", nat);
  return dest != std::string_view::npos && text.find("rule ", dest) != std::string_view::npos;
}

Result<std::map<int, core::NatRule>> RulesFromConfigText(std::string_view text,
                                                         ConfigFormat format) {
  if (format == ConfigFormat::kUnknown) format = DetectConfigFormat(text);
  if (format != ConfigFormat::kVyosBoot && format != ConfigFormat::kVyosCommands) {
    if (format == ConfigFormat::kVyosBoot || format == ConfigFormat::kUnknown) {
      auto parsed = ParseConfigBoot(text);
      return MakeError(
          ErrorCode::kInvalidArgument,
          "neither a VyOS config.boot nor `show configuration commands` output" +
              (parsed ? std::string() : " (as config.boot: " + parsed.error().message + ")"));
    }
    return MakeError(ErrorCode::kInvalidArgument, std::string("this is a ") + ToString(format) +
                                                      " file, not a VyOS configuration");
  }
  const bool set_commands = format == ConfigFormat::kVyosCommands;
  ConfigNode tree;
  if (set_commands) {
    auto lines = ParseSetCommands(text);
    if (!lines) return tl::unexpected(lines.error());
    const core::ServiceTable services;  // values are read, not judged: names need no table here
    for (const auto& l : *lines) {
      if (l.path.size() < 2 || l.path[0] != "nat" || l.path[1] != "destination") continue;
      // Lines the schema knows go through ApplySet; an era it does not know (the 1.3 leaf
      // `inbound-interface eth0`) or a value it refuses is kept as a leaf: the importer reports
      // what is there, it does not re-validate it.
      auto r = ResolvePath(l.path);
      std::vector<std::string> path = l.path;
      std::optional<std::string> value;
      if (r && r->value) {
        value = path.back();
        path.pop_back();
      }
      if (!r || !ApplySet(tree, path, value, services)) {
        if (!r && path.size() >= 2) {
          value = path.back();
          path.pop_back();
        }
        ConfigNode* n = &tree;
        for (size_t i = 0; i < path.size(); ++i) {
          if (i == 3) n->tag = true;
          n = &n->children[path[i]];
        }
        n->leaf = true;
        if (value) n->values.push_back(*value);
      }
    }
  } else {
    auto parsed = ParseConfigBoot(text);
    if (!parsed) return tl::unexpected(parsed.error());
    tree = std::move(*parsed);
  }
  const ConfigNode* dest = tree.Find({"nat", "destination"});
  if (!dest) return std::map<int, core::NatRule>{};
  return DestinationRules(*dest);
}

namespace {

/// Why a destination rule cannot be imported as a VM port forward ("" when it can).
std::string NotAPortForward(const core::NatRule& r, const core::ServiceTable& services) {
  if (r.translation_address.empty()) return "no translation address (a VM port forward needs one)";
  if (r.inbound_interface.empty()) return "no inbound interface";
  if (r.protocol != "tcp" && r.protocol != "udp" && r.protocol != "tcp_udp")
    return "protocol '" + (r.protocol.empty() ? std::string("all") : r.protocol) +
           "' (only tcp, udp, tcp_udp forward ports)";
  if (r.destination_port.empty()) return "no destination port";
  if (!core::ParsePortMulti(r.destination_port, services))
    return "destination port '" + r.destination_port + "' is not understood";
  return "";
}

}  // namespace

ImportResult ImportPortForwards(const std::map<int, core::NatRule>& rules, const ImportOptions& o) {
  ImportResult out;
  const auto& services = o.services;
  const size_t desc_max = 255 - o.tag.size() - 3;
  std::map<std::tuple<std::string, std::string, std::string>, Group> groups;
  std::map<int, std::vector<std::string>> notes;
  for (const auto& [n, r] : rules) {
    const std::string why = NotAPortForward(r, services);
    if (!why.empty()) {
      out.warnings.push_back("rule " + std::to_string(n) + " skipped: " + why);
      ++out.skipped;
      continue;
    }
    for (const auto& u : r.unmanaged)
      notes[n].push_back("rule " + std::to_string(n) + " also has '" + u +
                         "', which netconverge does not manage: adopting it removes that");
    auto& g = groups[{r.translation_address, r.inbound_interface, r.destination_address}];
    g.address = r.translation_address;
    g.interface = r.inbound_interface;
    g.destination = r.destination_address;
    g.rules.emplace_back(n, &r);
  }
  std::map<std::string, int> per_address;
  for (const auto& [k, g] : groups) ++per_address[g.address];

  std::string body;
  std::set<std::string> names;
  for (const auto& [k, g] : groups) {
    std::string name = "vm-" + Dns(g.address);
    if (per_address[g.address] > 1)
      name += "-" + Dns(g.interface) + (g.destination.empty() ? "" : "-" + Dns(g.destination));
    while (!names.insert(name).second) name += "-x";
    body += "---\n";
    for (const auto& [n, r] : g.rules)
      for (const auto& note : notes[n]) body += "# WARNING: " + note + "\n";
    body += "apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata:\n  name: " + name +
            "\n  namespace: " + o.ns + "\nspec:\n  deviceRef: " + o.device + "\n  vm: " + name +
            "\n  internalAddress: " + Q(g.address) + "\n  inboundInterface: " + Q(g.interface) +
            "\n";
    if (!g.destination.empty()) body += "  destinationAddress: " + Q(g.destination) + "\n";
    body += "  onConflict: Adopt\n  ports:\n";
    for (const auto& [n, r] : g.rules) {
      body += "    - name: rule-" + std::to_string(n) + "\n      ruleNumber: " + std::to_string(n) +
              "\n      protocol: " + r->protocol +
              "\n      externalPort: " + Q(r->destination_port) + "\n";
      if (!r->translation_port.empty())
        body += "      internalPort: " + Q(r->translation_port) + "\n";
      if (!r->source_address.empty()) body += "      sourceAddress: " + Q(r->source_address) + "\n";
      std::string desc = core::StripOwnershipTag(r->description, o.tag);
      if (!desc.empty()) {
        if (core::CheckDescription(desc, desc_max))
          body += "      description: " + Q(desc) + "\n";
        else
          out.warnings.push_back("rule " + std::to_string(n) +
                                 ": description not kept (quotes, control characters or too long)");
      }
      if (r->disabled) body += "      enabled: false\n";
      if (r->log) body += "      log: true\n";
      ++out.imported;
    }
    ++out.resources;
  }
  out.yaml = "# netconverge import" + (o.source.empty() ? std::string() : " from " + o.source) +
             ": " + std::to_string(out.imported) + " rule(s) as " + std::to_string(out.resources) +
             " PortForward(s), " + std::to_string(out.skipped) +
             " skipped.\n# Each port pins its existing rule number and adopts it "
             "(onConflict: Adopt); rename VMs and ports as you like.\n";
  for (const auto& w : out.warnings) out.yaml += "# " + w + "\n";
  out.yaml += body;
  return out;
}

}  // namespace nc::vyos
