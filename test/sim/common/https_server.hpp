// The emulators' HTTPS front end (Boost.Beast over OpenSSL): a thread per connection, keep-alive,
// a request body limit, and replies that are either whole or streamed in chunks (a Kubernetes
// watch). The only translation unit of the emulators that instantiates Beast.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "test/sim/common/sim_result.hpp"

namespace nc::sim {

struct HttpRequest {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool drop = false;  // close the connection without answering
  int delay_ms = 0;   // wait before answering
  /// Set for a streamed reply: called once with a writer of chunks (false once the client is
  /// gone; an empty string writes nothing and only checks that); the reply ends when it returns.
  std::function<void(const std::function<bool(const std::string&)>& write)> stream;
};

struct HttpsServerOptions {
  std::string listen_host = "127.0.0.1";
  int port = 0;  // 0 = any free port
  std::string cert_pem;
  std::string key_pem;
  int64_t body_limit = 1 << 20;
  HttpReply too_large;  // the answer above the body limit
  std::string server_header = "netconverge-sim";
  int idle_timeout_s = 30;
};

class HttpsServer {
 public:
  using Handler = std::function<HttpReply(const HttpRequest&)>;
  HttpsServer(HttpsServerOptions options, Handler handler);
  ~HttpsServer();
  /// Binds and starts accepting. Errors: kUnavailable when the address cannot be bound.
  Status Start();
  /// Stops accepting, closes every connection and joins their threads. Idempotent.
  void Stop();
  int port() const;
  bool running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nc::sim
