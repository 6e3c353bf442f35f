#include "adapters/vyos/schema.hpp"

#include <algorithm>

#include "adapters/vyos/config_tree.hpp"

#include <array>

namespace nc::vyos {

namespace {

SchemaNode Leaf(std::string v) {
  return SchemaNode{NodeKind::kLeaf, std::move(v), {}};
}
SchemaNode Multi(std::string v) {
  return SchemaNode{NodeKind::kMultiLeaf, std::move(v), {}};
}
SchemaNode Valueless() {
  return SchemaNode{NodeKind::kValueless, "", {}};
}
SchemaNode Node(std::map<std::string, SchemaNode> c) {
  return SchemaNode{NodeKind::kNode, "", std::move(c)};
}
SchemaNode Tag(std::string v, std::map<std::string, SchemaNode> c) {
  return SchemaNode{NodeKind::kTag, std::move(v), std::move(c)};
}

SchemaNode NatSide(bool with_fqdn) {
  std::map<std::string, SchemaNode> c{{"address", Leaf("ipv4-match")},
                                      {"port", Leaf("port-multi")},
                                      {"group", Node({{"address-group", Leaf("text")},
                                                      {"network-group", Leaf("text")},
                                                      {"port-group", Leaf("text")},
                                                      {"domain-group", Leaf("text")},
                                                      {"mac-group", Leaf("text")}})}};
  if (with_fqdn) c["fqdn"] = Leaf("text");
  return Node(std::move(c));
}

SchemaNode BuildSchema() {
  SchemaNode dnat_rule = Tag(
      "nat-rule",
      {
          {"description", Leaf("description")},
          {"destination", NatSide(true)},
          {"source", NatSide(false)},
          {"inbound-interface", Node({{"name", Leaf("interface")}, {"group", Leaf("text")}})},
          {"protocol", Leaf("protocol")},
          {"translation", Node({{"address", Leaf("ipv4-translation")},
                                {"port", Leaf("port-range")},
                                {"redirect", Node({{"port", Leaf("port-range")}})},
                                {"options", Node({{"address-mapping", Leaf("address-mapping")},
                                                  {"port-mapping", Leaf("port-mapping")}})}})},
          {"disable", Valueless()},
          {"log", Valueless()},
          {"exclude", Valueless()},
          {"packet-type", Leaf("packet-type")},
          {"load-balance",
           Node({{"hash", Multi("text")}, {"backend", Tag("ipv4", {{"weight", Leaf("text")}})}})},
      });
  SchemaNode snat_rule =
      Tag("nat-rule",
          {
              {"description", Leaf("description")},
              {"destination", NatSide(false)},
              {"source", NatSide(false)},
              {"outbound-interface", Node({{"name", Leaf("interface")}, {"group", Leaf("text")}})},
              {"protocol", Leaf("protocol")},
              {"translation", Node({{"address", Leaf("text")},
                                    {"port", Leaf("port-range")},
                                    {"options", Node({{"address-mapping", Leaf("address-mapping")},
                                                      {"port-mapping", Leaf("port-mapping")}})}})},
              {"disable", Valueless()},
              {"log", Valueless()},
              {"exclude", Valueless()},
          });
  return Node({
      {"nat", Node({{"destination", Node({{"rule", dnat_rule}})},
                    {"source", Node({{"rule", snat_rule}})}})},
      {"system",
       Node({{"host-name", Leaf("text")},
             {"config-management", Node({{"commit-revisions", Leaf("text")},
                                         {"commit-confirm", Node({{"action", Leaf("text")}})}})}})},
      {"interfaces", Node({{"ethernet", Tag("text", {{"address", Multi("text")},
                                                     {"description", Leaf("description")}})}})},
      {"service",
       Node({{"https",
              Node({{"api", Node({{"keys", Node({{"id", Tag("text", {{"key", Leaf("text")}})}})},
                                  {"rest", Node({{"strict", Valueless()}})},
                                  {"strict", Valueless()}})}})}})},
  });
}

bool IsProtocol(const std::string& v) {
  static constexpr std::array<const char*, 20> kNames = {
      "all",  "tcp_udp", "tcp",  "udp", "icmp", "gre",  "esp",  "ah",        "sctp",   "ipip",
      "ipv6", "ospf",    "vrrp", "pim", "igmp", "l2tp", "rsvp", "ipv6-icmp", "icmpv6", "dccp"};
  std::string s = v;
  if (!s.empty() && s[0] == '!') s = s.substr(1);
  for (const char* n : kNames)
    if (s == n) return true;
  int64_t num = 0;
  return core::ParseInt(s, 0, 255, &num);
}

tl::unexpected<Error> ValueError(const std::string& validator_output,
                                 const std::string& constraint) {
  std::string msg;
  if (!validator_output.empty()) msg += validator_output + "\n";
  msg += constraint + "\n\n  Value validation failed\n  Set failed\n";
  return MakeError(ErrorCode::kRejected, msg);
}

Status ValidateValue(const std::string& validator, const std::string& v,
                     const core::ServiceTable& services) {
  if (validator == "text" || validator.empty()) return {};
  if (validator == "description") {
    if (v.size() > 255 || v.find('\n') != std::string::npos)
      return ValueError("", "Description too long (limit 255 characters)");
    return {};
  }
  if (validator == "nat-rule") {
    int64_t n = 0;
    if (!core::ParseInt(v, 1, 999999, &n))
      return ValueError("", "NAT rule number must be between 1 and 999999");
    return {};
  }
  if (validator == "port-multi") {
    auto r = core::ParsePortMulti(v, services);
    if (!r) return ValueError("Error: " + v + " is not a valid port", "Invalid port or port range");
    return {};
  }
  if (validator == "port-range") {
    if (v.find(',') != std::string::npos || !core::ParsePortRange(v, services))
      return ValueError("Error: " + v + " is not a valid port or port range",
                        "Invalid port or port range");
    return {};
  }
  if (validator == "ipv4-match") {
    if (!core::CheckAddressMatch(v, true))
      return ValueError("Error: " + v + " is not a valid IPv4 address", "Invalid address");
    return {};
  }
  if (validator == "ipv4-translation") {
    if (!core::CheckAddressMatch(v, false))
      return ValueError("Error: " + v + " is not a valid IPv4 address", "Invalid address");
    return {};
  }
  if (validator == "interface") {
    if (!core::CheckInterfaceName(v)) return ValueError("", "Invalid interface name");
    return {};
  }
  if (validator == "protocol") {
    if (!IsProtocol(v))
      return ValueError("Error: " + v + " is not a valid IP protocol", "Invalid protocol");
    return {};
  }
  if (validator == "ipv4") {
    if (!core::IsIpv4Address(v))
      return ValueError("Error: " + v + " is not a valid IPv4 address", "Invalid address");
    return {};
  }
  if (validator == "packet-type") {
    if (v != "broadcast" && v != "host" && v != "multicast" && v != "other")
      return ValueError("", "Invalid packet type");
    return {};
  }
  if (validator == "address-mapping") {
    if (v != "persistent" && v != "random") return ValueError("", "Invalid address mapping");
    return {};
  }
  if (validator == "port-mapping") {
    if (v != "random" && v != "none") return ValueError("", "Invalid port mapping");
    return {};
  }
  return {};
}

tl::unexpected<Error> PathError(const std::vector<std::string>& path) {
  return MakeError(ErrorCode::kRejected,
                   "Configuration path: [" + JoinPath(path) + "] is not valid\n\n  Set failed\n");
}

}  // namespace

Status ApplySet(ConfigNode& root, const std::vector<std::string>& path,
                const std::optional<std::string>& value, const core::ServiceTable& services) {
  auto r = ResolveSetPath(path, value, services);
  if (!r) return tl::unexpected(r.error());
  ConfigNode* n = &root;
  for (size_t i = 0; i < r->node_path.size(); ++i) {
    if (r->is_tag_value[i]) n->tag = true;
    n = &n->children[r->node_path[i]];
  }
  switch (r->node->kind) {
    case NodeKind::kLeaf:
      n->leaf = true;
      n->values = {*r->value};
      break;
    case NodeKind::kMultiLeaf:
      n->leaf = true;
      if (std::find(n->values.begin(), n->values.end(), *r->value) == n->values.end())
        n->values.push_back(*r->value);
      break;
    case NodeKind::kValueless:
      n->leaf = true;
      break;
    default:
      break;
  }
  return {};
}

std::string JoinPath(const std::vector<std::string>& path) {
  std::string s;
  for (const auto& p : path) {
    if (!s.empty()) s += ' ';
    s += p;
  }
  return s;
}

const SchemaNode& Schema() {
  static const SchemaNode* const kSchema = new SchemaNode(BuildSchema());
  return *kSchema;
}

Result<ResolvedPath> ResolvePath(const std::vector<std::string>& path) {
  ResolvedPath out;
  const SchemaNode* n = &Schema();
  size_t i = 0;
  while (i < path.size()) {
    if (n->kind == NodeKind::kLeaf || n->kind == NodeKind::kMultiLeaf) {
      if (i + 1 != path.size()) return PathError(path);
      out.value = path[i];
      ++i;
      break;
    }
    if (n->kind == NodeKind::kValueless) return PathError(path);
    auto it = n->children.find(path[i]);
    if (it == n->children.end()) return PathError(path);
    out.node_path.push_back(path[i]);
    out.is_tag_value.push_back(false);
    n = &it->second;
    ++i;
    if (n->kind == NodeKind::kTag && i < path.size()) {
      out.node_path.push_back(path[i]);
      out.is_tag_value.push_back(true);
      ++i;
    }
  }
  out.node = n;
  return out;
}

Result<ResolvedPath> ResolveSetPath(const std::vector<std::string>& path,
                                    const std::optional<std::string>& value,
                                    const core::ServiceTable& services) {
  std::vector<std::string> full = path;
  if (value && !value->empty()) full.push_back(*value);
  auto r = ResolvePath(full);
  if (!r) return r;
  const SchemaNode* n = r->node;
  if ((n->kind == NodeKind::kLeaf || n->kind == NodeKind::kMultiLeaf) && !r->value)
    return MakeError(ErrorCode::kRejected, "Configuration path: [" + JoinPath(full) +
                                               "] requires a value\n\n  Set failed\n");
  if (n->kind == NodeKind::kTag && r->is_tag_value.back() == false)
    return MakeError(ErrorCode::kRejected, "Configuration path: [" + JoinPath(full) +
                                               "] requires a value\n\n  Set failed\n");
  // Validate tag values and the leaf value.
  const SchemaNode* walk = &Schema();
  for (size_t i = 0; i < r->node_path.size(); ++i) {
    if (r->is_tag_value[i]) {
      auto st = ValidateValue(walk->validator, r->node_path[i], services);
      if (!st) return tl::unexpected(st.error());
      continue;
    }
    walk = &walk->children.at(r->node_path[i]);
  }
  if (r->value) {
    auto st = ValidateValue(n->validator, *r->value, services);
    if (!st) return tl::unexpected(st.error());
  }
  return r;
}

}  // namespace nc::vyos
