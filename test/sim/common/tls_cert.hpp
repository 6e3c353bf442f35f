// Generates a throw-away certificate authority and a server certificate signed by it (EC P-256,
// SANs for localhost, 127.0.0.1 and ::1 plus any extra names), so that emulators serve real TLS
// and clients verify it for real against the CA file.
#pragma once

#include <string>
#include <vector>

#include "test/sim/common/sim_result.hpp"

namespace nc::sim {

struct GeneratedCert {
  std::string ca_pem;    // the CA certificate: what clients trust (tls.caFile)
  std::string cert_pem;  // server certificate
  std::string key_pem;   // server private key
};

Result<GeneratedCert> GenerateServerCert(const std::string& common_name,
                                         const std::vector<std::string>& extra_dns_names = {});

}  // namespace nc::sim
