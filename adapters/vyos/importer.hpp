// `netconverge import`: existing destination-NAT rules (read live, or from a config.boot or a
// `show configuration commands` file of VyOS 1.2 to 1.5) turned into PortForward YAML that
// adopts them: one PortForward per VM (translation address, inbound interface, destination
// address), each port pinning its rule's existing number with onConflict: Adopt. Rules the
// model cannot express are left out with a reason. Pure.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "controller/core/model.hpp"
#include "controller/core/result.hpp"

namespace nc::vyos {

/// Destination rules from config text: config.boot (any era) or set commands (detected).
Result<std::map<int, core::NatRule>> RulesFromConfigText(std::string_view text);

struct ImportOptions {
  std::string device = "edge1";
  std::string ns = "default";
  std::string tag = "netconverge";
  std::string source;  // for the header comment
};

struct ImportResult {
  std::string yaml;
  std::vector<std::string> warnings;  // also written as comments into the YAML
  int imported = 0;                   // rules turned into ports
  int skipped = 0;
  int resources = 0;
};

ImportResult ImportPortForwards(const std::map<int, core::NatRule>& rules, const ImportOptions& options);

}  // namespace nc::vyos
