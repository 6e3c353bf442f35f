// The one HTTPS client of netconverge, used by the VyOS adapter and the Kubernetes client alike:
// blocking, certificate and host-name verification against a CA file, CA data or the system
// store, a deadline on connect and on the whole exchange, a response size limit, optional
// keep-alive for idempotent reads, and streamed GETs (watches). It implements HttpTransport, the
// seam callers take (test/fakes can stand in for it). The only translation unit of the product
// outside the admin server that instantiates Beast. Depends on core only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controller/core/result.hpp"

namespace nc::transport {

/// The product in every request's User-Agent (a process may add who it is after it).
inline constexpr const char* kUserAgent = "netconverge/0.1";

struct HttpsClientOptions {
  std::string host;  // name or address to connect to
  int port = 443;
  std::string ca_file;  // empty: system trust store (or ca_pem)
  std::string ca_pem;   // CA certificates in memory (a kubeconfig's certificate-authority-data)
  /// Value of the Authorization header of every request (called per request, so that a
  /// rotated token file is picked up), or empty.
  std::function<std::string()> authorization;
  std::string accept;  // Accept header, or empty
  std::string user_agent = kUserAgent;
  std::string server_name;  // name to verify (default: host)
  bool insecure_skip_verify = false;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{60000};
  size_t max_response_bytes = 256u << 20;
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

/// A request body produced piece by piece (a 10,000-rule commit is 7 MB of JSON), never held
/// whole. `size` is its exact length in bytes (the Content-Length); `next` replaces its argument
/// with the next piece and returns false once every piece was given.
struct BodySource {
  size_t size = 0;
  std::function<bool(std::string&)> next;
};

/// An HTTP exchange as callers see it; HttpsClient is the product's, fakes are the tests'.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  /// Sends one request and reads the whole response. Errors: kUnavailable (resolve, connect,
  /// connection closed before an answer), kPermissionDenied (certificate verification),
  /// kDeadlineExceeded. `written` tells whether the request reached the peer (for writes,
  /// an error after that is ambiguous).
  /// `reuse_connection` (idempotent reads only): keep the connection open for the next such
  /// request, and retry once on a fresh one when a kept connection turns out closed. Writes
  /// always use a connection of their own, so that a failure is never mistaken for a stale one.
  virtual Result<HttpResponse> Send(const std::string& method, const std::string& target,
                                    const std::string& content_type, const std::string& body,
                                    std::chrono::milliseconds timeout, bool* written = nullptr,
                                    bool reuse_connection = false) = 0;
  /// Send (a write, on a connection of its own) with a body from `body`, written as it is
  /// produced. A source that gives other than `body.size` bytes fails the request (kInternal)
  /// before its last byte is sent. This default gathers the pieces and calls Send (fakes);
  /// HttpsClient streams them.
  virtual Result<HttpResponse> SendStreamed(const std::string& method, const std::string& target,
                                            const std::string& content_type, const BodySource& body,
                                            std::chrono::milliseconds timeout,
                                            bool* written = nullptr) {
    std::string whole;
    whole.reserve(body.size);
    for (std::string piece; body.next(piece);) whole += piece;
    if (written) *written = false;
    if (whole.size() != body.size)
      return MakeError(ErrorCode::kInternal, "request body of " + std::to_string(whole.size()) +
                                                 " bytes, announced as " +
                                                 std::to_string(body.size));
    return Send(method, target, content_type, whole, timeout, written, false);
  }
  /// GET `target` and hand the body to `on_data` piece by piece as it arrives (a Kubernetes
  /// watch), until the server ends it, `on_data` returns false, `timeout` passes or Cancel() is
  /// called. Returns the HTTP status; for a status other than 200 the body still goes to on_data.
  virtual Result<int> Stream(const std::string& target, std::chrono::milliseconds timeout,
                             const std::function<bool(std::string_view)>& on_data) = 0;
  /// Ends a Stream() running on another thread. Thread-safe.
  virtual void Cancel() = 0;
};

class HttpsClient final : public HttpTransport {
 public:
  /// Errors: kInvalidArgument when the CA file cannot be loaded.
  static Result<std::unique_ptr<HttpsClient>> Create(HttpsClientOptions options);
  ~HttpsClient() override;

  Result<HttpResponse> Send(const std::string& method, const std::string& target,
                            const std::string& content_type, const std::string& body,
                            std::chrono::milliseconds timeout, bool* written = nullptr,
                            bool reuse_connection = false) override;
  Result<HttpResponse> SendStreamed(const std::string& method, const std::string& target,
                                    const std::string& content_type, const BodySource& body,
                                    std::chrono::milliseconds timeout,
                                    bool* written = nullptr) override;
  Result<int> Stream(const std::string& target, std::chrono::milliseconds timeout,
                     const std::function<bool(std::string_view)>& on_data) override;
  void Cancel() override;

  using Headers = std::vector<std::pair<std::string, std::string>>;
  /// A write with headers of the caller's (a webhook's signature) on a connection of its own.
  Result<HttpResponse> Post(const std::string& target, const std::string& content_type,
                            const std::string& body, const Headers& headers,
                            std::chrono::milliseconds timeout);

  const HttpsClientOptions& options() const;
  /// TLS handshakes made, and how many of them resumed an earlier session (no certificate
  /// exchange): a connection the device closed between polls is reopened cheaply.
  struct Handshakes {
    int64_t full_or_resumed = 0;
    int64_t resumed = 0;
  };
  Handshakes handshakes() const;

  struct Impl;  // defined in the .cpp (keeps Beast out of this header)

 private:
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Splits "host", "host:port", "[v6]:port" (default port `default_port`).
Result<std::pair<std::string, int>> SplitHostPort(const std::string& address, int default_port);

}  // namespace nc::transport
