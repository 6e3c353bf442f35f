// A listening TCP socket with a thread per connection: the plumbing under the admin server and
// the emulators' HTTPS server. Listen binds and starts the accept thread; each connection runs
// `serve` on a thread of its own; beyond `max_connections` open ones, `reject` answers on the
// accept thread and the socket closes; Stop closes the listener, shuts every open connection down
// and waits for their threads. Included only by the translation units that already use Asio.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

#include "controller/core/result.hpp"

namespace nc::http {

class TcpListener {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  /// `max_connections` 0: no cap.
  TcpListener(std::function<void(Socket)> serve, std::function<void(Socket&)> reject = {}, int max_connections = 0);
  ~TcpListener();
  /// `host` is an IP literal; port 0 = any free port. Errors: kInvalidArgument (not an IP
  /// address), kUnavailable (cannot bind or listen), each naming host and port.
  Status Listen(const std::string& host, int port);
  void Stop();
  int port() const;
  bool running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Closes a connection whose request was not read to its end (413, 431, 503) so that the answer
/// already written reaches the client: stop sending, then read and drop what the client is still
/// sending (for at most 2 s and 64 MiB) before closing. A plain close with unread input makes
/// the kernel reset the connection, and the client may lose the answer.
void LingeringClose(TcpListener::Socket& sock);

/// ASCII lower case (header names, CLI words).
std::string AsciiLower(std::string s);

}  // namespace nc::http
