// Targeted discovery for switches: the sub-interfaces a switch already runs (with their VLAN,
// L2 service, admin state and bridge-domain membership) as VlanInterface YAML with
// `onConflict: Adopt`, so that applying it takes them over without a change of service. Pure.
#pragma once

#include <string>
#include <vector>

#include "controller/core/model.hpp"

namespace nc::switchcli {

struct VlanImportOptions {
  std::string device = "sw1";
  std::string ns = "default";
  std::string tag = "netconverge";
  std::string source;  // for the header comment
};

struct VlanImportResult {
  std::string yaml;
  std::vector<std::string> warnings;  // also written as comments into the YAML
  int imported = 0;
  int skipped = 0;
};

VlanImportResult ImportVlanInterfaces(const core::SwitchState& state,
                                      const VlanImportOptions& options);

}  // namespace nc::switchcli
