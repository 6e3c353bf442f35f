// HTTPS front end of vyos-sim on the emulators' HTTPS server: nginx's request body limit (413,
// nginx's page), connections dropped and answers delayed when a fault says so.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "test/sim/common/sim_result.hpp"
#include "test/sim/vyos/vyos_sim.hpp"

namespace nc::sim {

class VyosSimServer {
 public:
  struct Options {
    std::string listen_host = "127.0.0.1";
    int port = 0;  // 0 = any free port
    std::string cert_pem;
    std::string key_pem;
    /// Every request appended here as nginx's log_format
    /// '$msec "$request" $status "$http_user_agent"' (empty: none).
    std::string access_log;
  };

  VyosSimServer(VyosSim& sim, Options options);
  ~VyosSimServer();

  /// Binds and starts accepting. Errors: kUnavailable when the address cannot be bound.
  Status Start();
  /// Stops accepting, closes every connection and joins their threads. Idempotent.
  void Stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nc::sim
