#include "test/sim/common/https_server.hpp"

#include <unistd.h>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace nc::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// The emulators' own listener: an accept thread and a thread per connection; Stop shuts every
// open connection down and waits for their threads.
class Listener {
 public:
  explicit Listener(std::function<void(tcp::socket)> serve) : serve_(std::move(serve)) {}
  ~Listener() { Stop(); }

  Status Listen(const std::string& host, int port) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) return MakeError(ErrorCode::kInvalidArgument, "'" + host + "' is not an IP address");
    tcp::endpoint ep(addr, static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(128, ec);
    if (ec)
      return MakeError(ErrorCode::kUnavailable, "cannot listen on " + host + ":" +
                                                    std::to_string(port) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    running_ = true;
    accept_ = std::thread([this] { AcceptLoop(); });
    return {};
  }

  void Stop() {
    if (!running_.exchange(false)) return;
    // Wake the accept thread (a shut-down listening socket fails accept()), wait for it, and
    // only then close the acceptor: closing it under a running accept() is a data race.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (accept_.joinable()) accept_.join();
    boost::system::error_code ec;
    acceptor_.close(ec);
    std::list<Conn> conns;
    {
      std::unique_lock lk(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
      cv_.wait(lk, [&] { return active_ == 0; });
      conns.swap(conns_);
    }
    // Joined, not detached: a connection thread still ending (OpenSSL frees its thread state
    // then) must be gone before the process may exit and run OpenSSL's own cleanup.
    for (auto& c : conns) c.thread.join();
  }

  int port() const { return port_; }
  bool running() const { return running_; }

 private:
  void AcceptLoop() {
    while (running_) {
      tcp::socket sock(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec) {
        if (!running_) break;
        continue;
      }
      std::lock_guard lk(mu_);
      // Connections that ended are joined here, so that a long-running emulator keeps no
      // handles of finished threads.
      for (auto it = conns_.begin(); it != conns_.end();) {
        if (!it->done->load()) {
          ++it;
          continue;
        }
        it->thread.join();
        it = conns_.erase(it);
      }
      ++active_;
      // A duplicate of the descriptor, owned here, for Stop to shut the connection down: its
      // number cannot be reused while it is in the set (the connection's own may be, once
      // serve_ closed it).
      const int watch = ::dup(sock.native_handle());
      if (watch >= 0) fds_.insert(watch);
      auto done = std::make_shared<std::atomic<bool>>(false);
      std::thread t([this, s = std::move(sock), watch, done]() mutable {
        serve_(std::move(s));
        {
          std::lock_guard lk2(mu_);
          if (watch >= 0) {
            fds_.erase(watch);
            ::close(watch);
          }
          --active_;
          cv_.notify_all();
        }
        done->store(true);
      });
      conns_.push_back(Conn{std::move(t), std::move(done)});
    }
  }

  std::function<void(tcp::socket)> serve_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  std::thread accept_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<int> fds_;
  struct Conn {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;  // set as the thread's last act
  };
  std::list<Conn> conns_;  // guarded by mu_
  int active_ = 0;
  std::atomic<bool> running_{false};
  int port_ = 0;
};

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

struct HttpsServer::Impl {
  HttpsServerOptions options;
  Handler handler;
  ssl::context ctx{ssl::context::tls_server};
  Listener listener{[this](tcp::socket s) { Serve(std::move(s)); }};

  Impl(HttpsServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}

  template <class Stream>
  bool Write(Stream& stream, unsigned version, bool keep_alive, HttpReply& reply,
             boost::system::error_code& ec) {
    if (reply.stream) {
      http::response<http::empty_body> res{static_cast<http::status>(reply.status), version};
      res.set(http::field::server, options.server_header);
      res.set(http::field::content_type, reply.content_type);
      for (const auto& [k, v] : reply.headers) res.set(k, v);
      res.chunked(true);
      res.keep_alive(false);
      http::response_serializer<http::empty_body> sr{res};
      http::write_header(stream, sr, ec);
      if (ec) return false;
      const int fd = stream.next_layer().native_handle();
      reply.stream([&](const std::string& data) {
        if (ec || !listener.running()) return false;
        if (data.empty()) {  // "is the client still there?" (a zero-length chunk would end the
                             // reply)
          char c;
          const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
          return !(n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK));
        }
        asio::write(stream, http::make_chunk(asio::buffer(data)), ec);
        return !ec;
      });
      if (!ec) asio::write(stream, http::make_chunk_last(), ec);
      return false;  // a streamed reply ends the connection
    }
    http::response<http::string_body> res{static_cast<http::status>(reply.status), version};
    res.set(http::field::server, options.server_header);
    res.set(http::field::content_type, reply.content_type);
    for (const auto& [k, v] : reply.headers) res.set(k, v);
    res.keep_alive(keep_alive);
    res.body() = std::move(reply.body);
    res.prepare_payload();
    http::write(stream, res, ec);
    return keep_alive && !ec;
  }

  void Serve(tcp::socket sock) {
    const int fd = sock.native_handle();
    timeval tv{options.idle_timeout_s, 0};  // idle keep-alive connections end
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssl::stream<tcp::socket> stream(std::move(sock), ctx);
    boost::system::error_code ec;
    stream.handshake(ssl::stream_base::server, ec);
    beast::flat_buffer buf;
    while (!ec && listener.running()) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(static_cast<uint64_t>(options.body_limit));
      parser.header_limit(64 * 1024);
      http::read(stream, buf, parser, ec);
      if (ec == http::error::body_limit) {
        HttpReply r = options.too_large;
        Write(stream, 11, false, r, ec);
        break;
      }
      if (ec) break;
      auto req = parser.release();
      HttpRequest hreq;
      hreq.method = std::string(req.method_string());
      hreq.target = std::string(req.target());
      for (const auto& f : req)
        hreq.headers[Lower(std::string(f.name_string()))] = std::string(f.value());
      hreq.body = std::move(req.body());
      HttpReply reply = handler(hreq);
      if (reply.delay_ms > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(reply.delay_ms));
      if (reply.drop) {
        // The connection dies without an answer, as when the box reboots or a proxy resets.
        ::shutdown(fd, SHUT_RDWR);
        break;
      }
      if (!Write(stream, req.version(), req.keep_alive(), reply, ec)) break;
    }
    stream.shutdown(ec);
  }
};

HttpsServer::HttpsServer(HttpsServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpsServer::~HttpsServer() {
  Stop();
}

Status HttpsServer::Start() {
  boost::system::error_code ec;
  impl_->ctx.use_certificate_chain(asio::buffer(impl_->options.cert_pem), ec);
  if (!ec) impl_->ctx.use_private_key(asio::buffer(impl_->options.key_pem), ssl::context::pem, ec);
  if (ec)
    return MakeError(ErrorCode::kInvalidArgument,
                     "loading the server certificate: " + ec.message());
  return impl_->listener.Listen(impl_->options.listen_host, impl_->options.port);
}

void HttpsServer::Stop() {
  impl_->listener.Stop();
}

int HttpsServer::port() const {
  return impl_->listener.port();
}
bool HttpsServer::running() const {
  return impl_->listener.running();
}

}  // namespace nc::sim
