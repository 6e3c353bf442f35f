// Builds the adapter of a Device from its spec: transport options, TLS settings and the
// credentials file. Adapters are created per device and cached by the reconciler.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "adapters/device_adapter.hpp"
#include "controller/source/credentials.hpp"
#include "transport/http/https_client.hpp"
#include "transport/ssh/ssh_shell.hpp"

namespace nc::reconcilers {

/// SSH options of a device: address (default port `default_port`), user, password or private
/// key, known_hosts file and host-key policy.
ssh::ConnectOptions SshOptionsFor(const core::Device& device, const source::Credentials& creds,
                                  int default_port);

class DefaultAdapterFactory final : public AdapterFactory {
 public:
  /// Reads the credentials of `spec.credentialsRef.name` (a Secret); set by the Kubernetes source.
  using SecretResolver = std::function<Result<source::Credentials>(const core::Device& device)>;
  DefaultAdapterFactory() = default;
  explicit DefaultAdapterFactory(SecretResolver secrets) : secrets_(std::move(secrets)) {}
  Result<std::unique_ptr<DeviceAdapter>> Create(const core::Device& device) override;
  /// Files (credentials, CA): their inode, size and modification time. A Secret: a hash of its
  /// credentials, re-read at most every `secret_recheck`.
  std::string CredentialsVersion(const core::Device& device) override;
  std::chrono::milliseconds secret_recheck{60'000};
  /// The User-Agent of HTTPS requests to devices (an access log then tells which replica wrote).
  std::string user_agent = transport::kUserAgent;

 private:
  SecretResolver secrets_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, std::string>>
      secret_versions_;
};

}  // namespace nc::reconcilers
