#include "controller/reconcilers/adapter_factory.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "adapters/switch/dnos_dialect.hpp"
#include "adapters/switch/switch_adapter.hpp"
#include "adapters/vyos/vyos_adapter.hpp"
#include "controller/source/credentials.hpp"
#include "transport/http/https_client.hpp"

namespace nc::reconcilers {

ssh::ConnectOptions SshOptionsFor(const core::Device& device, const source::Credentials& creds,
                                  int default_port) {
  ssh::ConnectOptions c;
  if (auto hp = transport::SplitHostPort(device.address, default_port)) {
    c.host = hp->first;
    c.port = hp->second;
  }
  c.user = creds.username;
  c.password = creds.password;
  c.private_key = creds.private_key;
  c.known_hosts = device.ssh_known_hosts;
  c.policy = device.ssh_accept_new ? ssh::HostKeyPolicy::kAcceptNew : ssh::HostKeyPolicy::kStrict;
  return c;
}

namespace {

Result<std::unique_ptr<DeviceAdapter>> CreateSwitch(const core::Device& device,
                                                    const source::Credentials& creds) {
  if (creds.username.empty() || (creds.password.empty() && creds.private_key.empty()))
    return MakeError(ErrorCode::kInvalidArgument,
                     "credentials file " + device.credentials_file +
                         " needs username and a password or privateKey for SSH");
  if (auto hp = transport::SplitHostPort(device.address, 22); !hp)
    return tl::unexpected(hp.error());
  switchcli::SwitchAdapterOptions o;
  o.connect = SshOptionsFor(device, creds, 22);
  o.commit_confirm = device.commit_confirm;
  o.confirm_minutes = device.commit_confirm_minutes;
  o.command_timeout_ms = static_cast<int>(device.ssh_command_timeout_ms);
  o.commit_timeout_ms = std::max(o.command_timeout_ms * 4, 120'000);
  std::unique_ptr<switchcli::Dialect> dialect;
  switch (device.platform) {
    case core::Platform::kDnos:
      dialect = std::make_unique<switchcli::DnosDialect>();
      break;
    case core::Platform::kVyos:
      return MakeError(ErrorCode::kInternal, "vyos is not a switch platform");
  }
  return std::unique_ptr<DeviceAdapter>(
      std::make_unique<switchcli::SwitchAdapter>(std::move(dialect), std::move(o)));
}

}  // namespace

Result<std::unique_ptr<DeviceAdapter>> DefaultAdapterFactory::Create(const core::Device& device) {
  Result<source::Credentials> creds = MakeError(ErrorCode::kInvalidArgument, "no credentials");
  if (!device.credentials_file.empty()) {
    creds = source::LoadCredentialsFile(device.credentials_file);
  } else if (!device.credentials_secret.empty() && secrets_) {
    creds = secrets_(device);
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "spec.credentialsRef.name (a Secret) needs the Kubernetes source (run "
                     "--kube); standalone use needs "
                     "spec.credentialsRef.file");
  }
  if (!creds) return tl::unexpected(creds.error());
  if (device.IsSwitch()) return CreateSwitch(device, *creds);
  if (creds->api_key.empty())
    return MakeError(ErrorCode::kInvalidArgument,
                     "credentials " +
                         (device.credentials_file.empty() ? "Secret " + device.credentials_secret
                                                          : "file " + device.credentials_file) +
                         " have no apiKey");
  auto hp = transport::SplitHostPort(device.address, 443);
  if (!hp) return tl::unexpected(hp.error());
  transport::HttpsClientOptions http;
  http.host = hp->first;
  http.port = hp->second;
  http.ca_file = device.tls_ca_file;
  http.server_name = device.tls_server_name;
  http.insecure_skip_verify = device.tls_insecure_skip_verify;
  http.user_agent = user_agent;
  auto client = transport::HttpsClient::Create(http);
  if (!client) return tl::unexpected(client.error());
  vyos::VyosAdapterOptions o;
  o.api_key = creds->api_key;
  o.insecure_tls = device.tls_insecure_skip_verify;
  o.commit_confirm = device.commit_confirm;
  o.confirm_minutes = device.commit_confirm_minutes;
  o.save_after_confirm = device.save_after_confirm;
  o.max_request_bytes = device.max_request_bytes;
  if (device.request_timeout_ms > 0) {
    o.read_timeout = o.write_timeout = std::chrono::milliseconds(device.request_timeout_ms);
  }
  if (device.transport_fallback == "ssh-cli" && !creds->username.empty() &&
      (!creds->password.empty() || !creds->private_key.empty())) {
    vyos::VyosCliOptions cli;
    cli.connect = SshOptionsFor(device, *creds, 22);
    // The API's address names the HTTPS port; the CLI listens on spec.ssh.port (default 22).
    cli.connect.port = device.ssh_port;
    cli.commit_confirm = device.commit_confirm;
    cli.confirm_minutes = device.commit_confirm_minutes;
    cli.save_after_confirm = device.save_after_confirm;
    cli.command_timeout_ms = static_cast<int>(device.ssh_command_timeout_ms);
    o.fallback = cli;
  }
  return std::unique_ptr<DeviceAdapter>(std::make_unique<vyos::VyosAdapter>(std::move(*client), o));
}

std::string DefaultAdapterFactory::CredentialsVersion(const core::Device& device) {
  std::string version;
  for (const auto& file : {device.credentials_file, device.tls_ca_file}) {
    struct stat st {};
    if (file.empty()) continue;
    if (::stat(file.c_str(), &st) != 0) {
      version += file + ":missing;";
      continue;
    }
    version += std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
               std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ";";
  }
  if (device.credentials_file.empty() && !device.credentials_secret.empty() && secrets_) {
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lk(mu_);
      auto it = secret_versions_.find(device.Key());
      if (it != secret_versions_.end() && now - it->second.first < secret_recheck)
        return version + it->second.second;
    }
    // Read outside the lock (an HTTP call); what is kept is a hash, never the secret.
    auto creds = secrets_(device);
    std::lock_guard lk(mu_);
    auto& known = secret_versions_[device.Key()];
    // A Secret that cannot be read just now (the API server busy) keeps the adapter made from
    // the last one read; the next re-check tries again.
    if (creds)
      known.second =
          std::to_string(std::hash<std::string>{}(creds->api_key + '\0' + creds->username + '\0' +
                                                  creds->password + '\0' + creds->private_key));
    known.first = now;
    version += known.second;
  }
  return version;
}

}  // namespace nc::reconcilers
