// libFuzzer: a device's HTTP answer through the VyOS API envelope and showConfig readers, and
// the config-tree JSON reader: what a broken or hostile router can send the controller.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/vyos/config_tree.hpp"
#include "adapters/vyos/vyos_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)nc::vyos::ParseDestinationAnswer(body);
  (void)nc::vyos::ParseEnvelope(body);
  (void)nc::vyos::DestinationRulesFromJson(body);
  (void)nc::vyos::FromJson(body);
  return 0;
}
