// The admin HTTP server (Boost.Beast over plain TCP, spec 6): a thread per connection with
// keep-alive, a request body limit (413), a deadline on reading each request, a cap on open
// connections (503 beyond it), JSON errors, and routing (with authentication) left to a handler.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "controller/core/result.hpp"

namespace nc::http {

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote;  // the peer's address, for logs
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
};

/// {"error": {"code": N, "message": "..."}}
Response JsonError(int status, const std::string& message);

struct AdminServerOptions {
  std::string listen = "127.0.0.1:8800";
  size_t body_limit = 1 << 20;  // 413 above
  int read_timeout_s = 10;
  int max_connections = 256;  // beyond: 503 at once, Retry-After 1
};

class AdminServer {
 public:
  using Handler = std::function<Response(const Request&)>;
  AdminServer(AdminServerOptions options, Handler handler);
  ~AdminServer();
  /// Errors: kInvalidArgument (bad address), kUnavailable (cannot bind).
  Status Start();
  void Stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nc::http
