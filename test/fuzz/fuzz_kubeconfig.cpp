// libFuzzer: a kubeconfig file's bytes through its reader (contexts, clusters, users, inline
// certificate data in base64).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "controller/source/kube_client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/nc-fuzz-kubeconfig-" + std::to_string(::getpid());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  (void)nc::kube::LoadKubeconfig(path);
  return 0;
}
