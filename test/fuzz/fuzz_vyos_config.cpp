// libFuzzer: a router's configuration text (config.boot or `set` lines) through format
// detection, the parsers and the import of its destination-NAT rules (`netconverge import`).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/vyos/config_tree.hpp"
#include "adapters/vyos/importer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto tree = nc::vyos::ParseConfigBoot(text)) (void)nc::vyos::RenderSetCommands(*tree);
  (void)nc::vyos::ParseSetCommands(text);
  const auto format = nc::vyos::DetectConfigFormat(text);
  if (auto rules = nc::vyos::RulesFromConfigText(text, format)) {
    nc::vyos::ImportOptions options;
    options.device = "edge1";
    (void)nc::vyos::ImportPortForwards(*rules, options);
  }
  return 0;
}
