// The admin HTTP server (Boost.Beast over plain TCP, spec 6). One io_context thread runs every
// connection as a C++20 coroutine: reading and writing never hold a thread, so a slow or stalled
// client costs a socket, not a worker. Every phase has a deadline of its own (the whole header,
// the whole body, the whole answer, the idle time between keep-alive requests); connections are
// capped in all and per client address (503 beyond either); a request body limit (413), a header
// limit (431) and a target limit (414). Handlers run on a small thread pool, except the probe
// paths (`inline_paths`), which are answered on the I/O thread so that a pool busy with slow
// syncs never fails the kubelet's probe. Routing and authentication are left to the handler.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
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
  size_t body_limit = 1 << 20;      // 413 above
  size_t header_limit = 16 << 10;   // 431 above
  size_t target_limit = 8 << 10;    // 414 above
  int header_timeout_ms = 10'000;   // the whole request header, and the idle time before it
  int body_timeout_ms = 30'000;     // the whole body, once the header is in
  int write_timeout_ms = 30'000;    // the whole answer
  int max_connections = 256;        // beyond: 503 at once, Retry-After 1
  int max_connections_per_ip = 64;  // beyond, for that address: 503 at once
  int handler_threads = 4;
  /// Answered on the I/O thread: the handler must not block for these (liveness, readiness).
  std::set<std::string> inline_paths = {"/healthz", "/readyz"};
};

/// One complete request from raw bytes, read with the server's parser and limits (what the
/// server does incrementally on a connection). The error is the answer the server would send
/// (400, 413, 414, 431); an incomplete request is a 400. For tests and fuzzing.
tl::expected<Request, Response> ParseRequest(std::string_view wire,
                                             const AdminServerOptions& options);

class AdminServer {
 public:
  using Handler = std::function<Response(const Request&)>;
  AdminServer(AdminServerOptions options, Handler handler);
  ~AdminServer();
  /// Errors: kInvalidArgument (bad address), kUnavailable (cannot bind).
  Status Start();
  /// Closes the listener and every connection, waits for handlers in flight. Idempotent.
  void Stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nc::http
