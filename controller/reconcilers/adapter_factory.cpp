#include "controller/reconcilers/adapter_factory.hpp"

#include "adapters/vyos/https_client.hpp"
#include "adapters/vyos/vyos_adapter.hpp"
#include "controller/source/credentials.hpp"

namespace nc::reconcilers {

Result<std::unique_ptr<DeviceAdapter>> DefaultAdapterFactory::Create(const core::Device& device) {
  if (device.platform != core::Platform::kVyos)
    return MakeError(ErrorCode::kFailedPrecondition, "platform dnos is not supported yet by this build");
  if (device.credentials_file.empty())
    return MakeError(ErrorCode::kInvalidArgument,
                     "spec.credentialsRef.name (a Secret) needs the Kubernetes source; standalone use needs "
                     "spec.credentialsRef.file");
  auto creds = source::LoadCredentialsFile(device.credentials_file);
  if (!creds) return tl::unexpected(creds.error());
  if (creds->api_key.empty())
    return MakeError(ErrorCode::kInvalidArgument, "credentials file " + device.credentials_file + " has no apiKey");
  auto hp = vyos::SplitHostPort(device.address, 443);
  if (!hp) return tl::unexpected(hp.error());
  vyos::HttpsClientOptions http;
  http.host = hp->first;
  http.port = hp->second;
  http.ca_file = device.tls_ca_file;
  http.server_name = device.tls_server_name;
  http.insecure_skip_verify = device.tls_insecure_skip_verify;
  auto client = vyos::HttpsClient::Create(http);
  if (!client) return tl::unexpected(client.error());
  vyos::VyosAdapterOptions o;
  o.api_key = creds->api_key;
  o.commit_confirm = device.commit_confirm;
  o.confirm_minutes = device.commit_confirm_minutes;
  o.save_after_confirm = device.save_after_confirm;
  o.max_request_bytes = device.max_request_bytes;
  if (device.request_timeout_ms > 0) {
    o.read_timeout = o.write_timeout = std::chrono::milliseconds(device.request_timeout_ms);
  }
  return std::unique_ptr<DeviceAdapter>(std::make_unique<vyos::VyosAdapter>(std::move(*client), o));
}

}  // namespace nc::reconcilers
