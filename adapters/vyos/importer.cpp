#include "adapters/vyos/importer.hpp"

#include <set>

#include "adapters/vyos/config_tree.hpp"
#include "adapters/vyos/schema.hpp"
#include "adapters/vyos/vyos_codec.hpp"
#include "controller/core/values.hpp"

namespace nc::vyos {

namespace {

std::string Dns(std::string s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (c == '!') out += "not-";
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string Q(const std::string& v) { return "\"" + v + "\""; }  // values are checked to hold no quote

struct Group {
  std::string address;
  std::string interface;
  std::string destination;
  std::vector<std::pair<int, const core::NatRule*>> rules;
};

}  // namespace

Result<std::map<int, core::NatRule>> RulesFromConfigText(std::string_view text) {
  bool set_commands = false;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    set_commands = line.substr(first, 4) == "set ";
    break;
  }
  ConfigNode tree;
  if (set_commands) {
    auto lines = ParseSetCommands(text);
    if (!lines) return tl::unexpected(lines.error());
    const auto services = core::BuiltinServices();
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

ImportResult ImportPortForwards(const std::map<int, core::NatRule>& rules, const ImportOptions& o) {
  ImportResult out;
  const auto services = core::BuiltinServices();
  const size_t desc_max = 255 - o.tag.size() - 3;
  std::map<std::tuple<std::string, std::string, std::string>, Group> groups;
  std::map<int, std::vector<std::string>> notes;
  for (const auto& [n, r] : rules) {
    std::string why;
    if (r.translation_address.empty()) why = "no translation address (a VM port forward needs one)";
    else if (!core::IsIpv4Address(r.translation_address)) why = "translation address '" + r.translation_address + "' is not one IPv4 address";
    else if (r.inbound_interface.empty()) why = "no inbound interface";
    else if (r.protocol != "tcp" && r.protocol != "udp" && r.protocol != "tcp_udp")
      why = "protocol '" + (r.protocol.empty() ? std::string("all") : r.protocol) + "' (only tcp, udp, tcp_udp forward ports)";
    else if (r.destination_port.empty()) why = "no destination port";
    else if (!core::ParsePortMulti(r.destination_port, services)) why = "destination port '" + r.destination_port + "' is not understood";
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
    if (per_address[g.address] > 1) name += "-" + Dns(g.interface) + (g.destination.empty() ? "" : "-" + Dns(g.destination));
    while (!names.insert(name).second) name += "-x";
    body += "---\n";
    for (const auto& [n, r] : g.rules)
      for (const auto& note : notes[n]) body += "# WARNING: " + note + "\n";
    body += "apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata:\n  name: " + name + "\n  namespace: " + o.ns +
            "\nspec:\n  deviceRef: " + o.device + "\n  vm: " + name + "\n  internalAddress: " + g.address +
            "\n  inboundInterface: " + Q(g.interface) + "\n";
    if (!g.destination.empty()) body += "  destinationAddress: " + Q(g.destination) + "\n";
    body += "  onConflict: Adopt\n  ports:\n";
    for (const auto& [n, r] : g.rules) {
      body += "    - name: rule-" + std::to_string(n) + "\n      ruleNumber: " + std::to_string(n) +
              "\n      protocol: " + r->protocol + "\n      externalPort: " + Q(r->destination_port) + "\n";
      if (!r->translation_port.empty()) body += "      internalPort: " + Q(r->translation_port) + "\n";
      if (!r->source_address.empty()) body += "      sourceAddress: " + Q(r->source_address) + "\n";
      std::string desc = core::StripOwnershipTag(r->description, o.tag);
      if (!desc.empty()) {
        if (core::CheckDescription(desc, desc_max)) body += "      description: " + Q(desc) + "\n";
        else out.warnings.push_back("rule " + std::to_string(n) + ": description not kept (quotes, control characters or too long)");
      }
      if (r->disabled) body += "      enabled: false\n";
      if (r->log) body += "      log: true\n";
      ++out.imported;
    }
    ++out.resources;
  }
  out.yaml = "# netconverge import" + (o.source.empty() ? std::string() : " from " + o.source) + ": " +
             std::to_string(out.imported) + " rule(s) as " + std::to_string(out.resources) + " PortForward(s), " +
             std::to_string(out.skipped) + " skipped.\n# Each port pins its existing rule number and adopts it "
             "(onConflict: Adopt); rename VMs and ports as you like.\n";
  for (const auto& w : out.warnings) out.yaml += "# " + w + "\n";
  out.yaml += body;
  return out;
}

}  // namespace nc::vyos
