// libFuzzer: a device's HTTP answer through the VyOS API envelope and showConfig readers, and
// the config-tree JSON reader: what a broken or hostile router can send the controller. The
// streaming showConfig reader (no DOM of the whole answer) must agree with the DOM reader on
// every input: the same rules, or both refusing it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/vyos/config_tree.hpp"
#include "adapters/vyos/vyos_codec.hpp"
#include "controller/core/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)nc::vyos::ParseDestinationAnswer(body);
  (void)nc::vyos::ParseEnvelope(body);
  (void)nc::vyos::DestinationRulesFromJson(body);
  (void)nc::vyos::FromJson(body);
  // Both readers end the text at a NUL and skip a byte-order mark; wrapped, the envelope would
  // end there, or hold the mark inside.
  std::string_view head = body.substr(0, body.find('\0'));
  for (unsigned char b : {0xEFu, 0xBBu, 0xBFu})
    if (!head.empty() && static_cast<unsigned char>(head[0]) == b) head.remove_prefix(1);
  // Compared only when the input is one JSON value: otherwise wrapping it changes what it says
  // (`{...}, "k": 1` would become members of the envelope).
  // A second mark would be skipped again by a DOM parse of the data alone, not inside the
  // envelope: not comparable either.
  if (!head.empty() && (static_cast<unsigned char>(head[0]) == 0xEFu ||
                        static_cast<unsigned char>(head[0]) == 0xBBu ||
                        static_cast<unsigned char>(head[0]) == 0xBFu))
    return 0;
  rapidjson::Document one;
  if (!nc::core::ParseJson(one, head)) return 0;
  const auto streamed = nc::vyos::ParseDestinationAnswer(
      std::string(R"({"success": true, "data": )") + std::string(head) + "}");
  const auto dom = nc::vyos::DestinationRulesFromJson(head);
  if (streamed.has_value() != dom.has_value() || (streamed && *streamed != *dom)) std::abort();
  return 0;
}
