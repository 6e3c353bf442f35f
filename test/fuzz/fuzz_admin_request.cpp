// libFuzzer: raw bytes off an admin-API connection through Beast's request parser (with the
// server's limits), the request's decoding and authentication (API key, HS256 JWT).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "controller/http/admin_server.hpp"
#include "controller/http/auth.hpp"

namespace {

const nc::http::Authenticator& Auth() {
  static const nc::http::Authenticator auth = [] {
    const std::string dir = "/tmp/nc-fuzz-admin";
    std::system(("mkdir -p " + dir).c_str());
    std::ofstream(dir + "/keys.yaml")
        << "keys:\n  - {name: ops, role: admin, key: fuzz-admin-key-0123456789}\n"
           "  - {name: view, role: viewer, key: fuzz-viewer-key-0123456789}\n";
    std::ofstream(dir + "/jwt") << "fuzz-jwt-secret-fuzz-jwt-secret-0123456789\n";
    auto a = nc::http::Authenticator::Load({dir + "/keys.yaml", dir + "/jwt"});
    if (!a) std::abort();
    return *a;
  }();
  return auth;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view wire(reinterpret_cast<const char*>(data), size);
  auto request = nc::http::ParseRequest(wire, nc::http::AdminServerOptions{});
  if (!request) return 0;
  for (auto role : {nc::http::Role::kNone, nc::http::Role::kViewer, nc::http::Role::kAdmin})
    (void)Auth().Authorize(*request, role);
  return 0;
}
