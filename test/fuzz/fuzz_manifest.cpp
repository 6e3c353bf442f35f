// libFuzzer: a manifest file's bytes through the decoder and the validator, as `validate` and
// the daemon's reload read them. Any crash, leak or undefined behaviour is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "controller/api/v1alpha1/yaml_codec.hpp"
#include "controller/core/validate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = nc::api::DecodeManifests(text, "fuzz.yaml");
  static const nc::core::ServiceTable services =
      nc::core::ParseServices("http 80/tcp www\nhttps 443/tcp\nssh 22/tcp\ndomain 53/udp\n");
  (void)nc::core::Validate(decoded.manifests,
                           services);  // the result is not the point: crashes are
  return 0;
}
