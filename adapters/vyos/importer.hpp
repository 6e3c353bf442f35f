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
#include "controller/core/values.hpp"

namespace nc::vyos {

/// What a configuration file is, judged by its whole grammar (never by one line's first word).
enum class ConfigFormat {
  kVyosBoot,      // config.boot: any top-level node first, `/* */` and `//` comments, braces
  kVyosCommands,  // `show configuration commands`: every line a `set` line
  kDnosFlat,      // a DNOS switch's `show config | flatten`: flat lines, `#` comments, no braces
  kUnknown,
};
ConfigFormat DetectConfigFormat(std::string_view text);
const char* ToString(ConfigFormat f);

/// Destination rules from VyOS config text: config.boot (any era) or set commands, as `format`
/// says (kUnknown: detected). A file that is neither is an error.
Result<std::map<int, core::NatRule>> RulesFromConfigText(
    std::string_view text, ConfigFormat format = ConfigFormat::kUnknown);
/// Whether VyOS config text holds any `nat destination rule` (to tell "no rules" from "rules
/// the importer could not read").
bool MentionsDestinationRules(std::string_view text);

struct ImportOptions {
  std::string device = "edge1";
  std::string ns = "default";
  std::string tag = "netconverge";
  std::string source;           // for the header comment
  core::ServiceTable services;  // /etc/services, to read named ports
};

struct ImportResult {
  std::string yaml;
  std::vector<std::string> warnings;  // also written as comments into the YAML
  int imported = 0;                   // rules turned into ports
  int skipped = 0;
  int resources = 0;
};

ImportResult ImportPortForwards(const std::map<int, core::NatRule>& rules,
                                const ImportOptions& options);

}  // namespace nc::vyos
