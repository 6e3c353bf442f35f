#include "adapters/switch/vlan_importer.hpp"

#include <cctype>

#include "controller/core/values.hpp"

namespace nc::switchcli {

namespace {

std::string ObjectName(const std::string& device, const std::string& sub) {
  std::string n = device + "-";
  for (char c : sub)
    n += std::isalnum(static_cast<unsigned char>(c))
             ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
             : '-';
  return n;
}

}  // namespace

VlanImportResult ImportVlanInterfaces(const core::SwitchState& state, const VlanImportOptions& o) {
  VlanImportResult out;
  std::string body;
  for (const auto& [name, s] : state.interfaces) {
    const auto dot = name.rfind('.');
    const std::string parent = name.substr(0, dot);
    const std::string suffix = name.substr(dot + 1);
    auto skip = [&out,
                 &iface = name](const std::string& why) {  // (clang 14 cannot capture a binding)
      out.warnings.push_back(iface + ": " + why);
      ++out.skipped;
    };
    if (s.vlan < 1) {
      skip("no single vlan-id (QinQ or a VLAN list): not a VlanInterface");
      continue;
    }
    if (!core::CheckSwitchPortName(static_cast<int>(core::Platform::kDnos), parent)) {
      skip("parent '" + parent + "' is not a port name netconverge accepts");
      continue;
    }
    int64_t sub_number = 0;
    if (!core::ParseInt(suffix, 1, 65535, &sub_number)) {
      skip("sub-interface number '" + suffix + "' is out of range");
      continue;
    }
    std::string item =
        "---\napiVersion: netconverge.io/v1alpha1\nkind: VlanInterface\nmetadata:\n  name: " +
        ObjectName(o.device, name) + "\n  namespace: " + o.ns +
        "\nspec:\n  deviceRef: " + o.device + "\n  interface: " + parent +
        "\n  vlan: " + std::to_string(s.vlan) + "\n";
    if (sub_number != s.vlan) item += "  subinterface: " + suffix + "\n";
    item += std::string("  l2Service: ") + (s.l2_service ? "true" : "false") + "\n";
    if (!s.admin_enabled) item += "  adminState: disabled\n";
    if (!s.bridge_domain.empty()) {
      if (core::CheckBridgeDomainName(s.bridge_domain))
        item += "  bridgeDomain: " + s.bridge_domain + "\n";
      else
        out.warnings.push_back(name + ": bridge domain '" + s.bridge_domain +
                               "' has a name netconverge does not accept; left out");
    }
    const std::string text = core::StripOwnershipTag(s.description, o.tag);
    if (!text.empty()) {
      if (core::CheckSwitchDescription(text, 255 - o.tag.size() - 3))
        item += "  description: '" + text + "'\n";
      else
        out.warnings.push_back(
            name + ": description left out (characters a switch CLI cannot take safely)");
    }
    for (const auto& u : s.unmanaged)
      out.warnings.push_back(
          name + ": has '" + u +
          "', which adopting it removes (netconverge manages the whole sub-interface)");
    item += "  onConflict: Adopt\n";
    body += item;
    ++out.imported;
  }
  std::string head = "# VlanInterfaces imported by netconverge from " + o.source + "\n# " +
                     std::to_string(out.imported) +
                     " sub-interface(s); onConflict: Adopt takes them over as they are.\n";
  for (const auto& w : out.warnings) head += "# warning: " + w + "\n";
  out.yaml = head + body;
  return out;
}

}  // namespace nc::switchcli
