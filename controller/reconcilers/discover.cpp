// Targeted discovery (issue 16): what a device has for one rule or one sub-interface, who owns it
// (the store's records first, then the ownership tag), whether it is as declared, and the object
// as adoptable YAML (the importers' output for that one object).
#include "adapters/switch/vlan_importer.hpp"
#include "adapters/vyos/importer.hpp"
#include "controller/reconcilers/device_reconciler.hpp"

namespace nc::reconcilers {

namespace {

using Result_ = DeviceReconciler::DiscoverResult;

void DiscoverRule(const core::Device& device, const std::string& key,
                  const core::DesiredState& desired, const std::map<int, core::NatRule>& rules,
                  const std::map<core::PortKey, int>& allocations,
                  const core::ServiceTable& services, int number, Result_& out) {
  auto on = rules.find(number);
  out.present = on != rules.end();
  for (const auto& [port, n] : allocations)
    if (n == number) {
      out.owner = "netconverge";
      out.resource = port.resource;
      out.port = port.port;
    }
  if (out.owner != "netconverge" && out.present)
    out.owner =
        core::HasOwnershipTag(on->second.description, device.tag) ? "netconverge" : "foreign";
  if (!out.resource.empty())
    for (const auto& pr : desired.RulesFor(key))
      if (pr.resource() == out.resource && pr.port == out.port) {
        out.difference = out.present ? core::DescribeDifference(pr.rule, on->second)
                                     : "declared, but missing on the device";
        out.matches = out.difference.empty();
      }
  if (out.present) {
    vyos::ImportOptions o;
    o.device = device.name;
    o.ns = device.ns;
    o.tag = device.tag;
    o.source = "device " + key;
    o.services = services;
    out.yaml = vyos::ImportPortForwards({*on}, o).yaml;
  }
}

void DiscoverInterface(const core::Device& device, const std::string& key,
                       const core::DesiredState& desired, const core::SwitchState& state,
                       const std::map<std::string, core::AppliedInterface>& applied,
                       const std::string& name, Result_& out) {
  auto on = state.interfaces.find(name);
  out.present = on != state.interfaces.end();
  if (auto a = applied.find(name); a != applied.end()) {
    out.owner = "netconverge";
    out.resource = a->second.resource;
  } else if (out.present) {
    out.owner =
        core::HasOwnershipTag(on->second.description, device.tag) ? "netconverge" : "foreign";
  }
  for (const auto& v : desired.VlansFor(key))
    if (v.name == name && (out.resource.empty() || v.resource == out.resource)) {
      if (out.owner != "netconverge") break;  // declared, but the device's is not ours (yet)
      out.resource = v.resource;
      out.difference = out.present ? core::DescribeDifference(v.iface, on->second)
                                   : "declared, but missing on the device";
      out.matches = out.difference.empty();
    }
  if (out.present) {
    core::SwitchState one;
    one.interfaces.insert(*on);
    if (auto bd = state.bridge_domains.find(on->second.bridge_domain);
        bd != state.bridge_domains.end())
      one.bridge_domains.insert(*bd);
    out.yaml =
        switchcli::ImportVlanInterfaces(one, {device.name, device.ns, device.tag, "device " + key})
            .yaml;
  }
}

}  // namespace

DeviceReconciler::DiscoverResult DeviceReconciler::Discover(const core::DesiredState& desired,
                                                            const std::string& key,
                                                            const DiscoverQuery& q) {
  DiscoverResult out;
  out.at = clock_.UtcIso();
  auto dit = desired.devices.find(key);
  if (dit == desired.devices.end()) {
    out.error = Error{ErrorCode::kNotFound, "device " + key + " is not declared"};
    return out;
  }
  const core::Device& device = dit->second;
  auto adapter = AdapterFor(device);
  if (!adapter) {
    out.error = adapter.error();
    return out;
  }
  auto read = (*adapter)->Observe();
  if (!read) {
    out.error = read.error();
    return out;
  }
  if (device.IsSwitch()) {
    auto applied = store_.AppliedInterfaces(key);
    if (!applied) {
      out.error = applied.error();
      return out;
    }
    DiscoverInterface(device, key, desired, read->switch_state, *applied, q.interface, out);
  } else {
    auto allocations = store_.Allocations(key);
    if (!allocations) {
      out.error = allocations.error();
      return out;
    }
    DiscoverRule(device, key, desired, read->nat_rules, *allocations, services_, q.rule, out);
  }
  return out;
}

}  // namespace nc::reconcilers
