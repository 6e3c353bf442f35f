#include "test/sim/common/https_server.hpp"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace nc::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct HttpsServer::Impl {
  HttpsServerOptions options;
  Handler handler;
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_server};
  tcp::acceptor acceptor{ioc};
  std::thread accept_thread;
  std::mutex mu;
  std::condition_variable cv;
  std::set<int> open_fds;
  int active = 0;
  std::atomic<bool> running{false};
  int bound_port = 0;

  Impl(HttpsServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}

  template <class Stream>
  bool Write(Stream& stream, unsigned version, bool keep_alive, HttpReply& reply, boost::system::error_code& ec) {
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
        if (ec || !running) return false;
        if (data.empty()) {  // "is the client still there?" (a zero-length chunk would end the reply)
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
    while (!ec && running) {
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
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        hreq.headers[name] = std::string(f.value());
      }
      hreq.body = std::move(req.body());
      HttpReply reply = handler(hreq);
      if (reply.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(reply.delay_ms));
      if (reply.drop) {
        // The connection dies without an answer, as when the box reboots or a proxy resets.
        ::shutdown(fd, SHUT_RDWR);
        break;
      }
      if (!Write(stream, req.version(), req.keep_alive(), reply, ec)) break;
    }
    stream.shutdown(ec);
  }

  void AcceptLoop() {
    while (running) {
      tcp::socket sock(ioc);
      boost::system::error_code ec;
      acceptor.accept(sock, ec);
      if (ec) {
        if (!running) break;
        continue;
      }
      std::lock_guard lk(mu);
      ++active;
      open_fds.insert(sock.native_handle());
      std::thread([this, s = std::move(sock)]() mutable {
        const int fd = s.native_handle();
        Serve(std::move(s));
        std::lock_guard lk2(mu);
        open_fds.erase(fd);
        --active;
        cv.notify_all();
      }).detach();
    }
  }
};

HttpsServer::HttpsServer(HttpsServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpsServer::~HttpsServer() { Stop(); }

Status HttpsServer::Start() {
  boost::system::error_code ec;
  impl_->ctx.use_certificate_chain(asio::buffer(impl_->options.cert_pem), ec);
  if (!ec) impl_->ctx.use_private_key(asio::buffer(impl_->options.key_pem), ssl::context::pem, ec);
  if (ec) return MakeError(ErrorCode::kInvalidArgument, "loading the server certificate: " + ec.message());
  auto addr = asio::ip::make_address(impl_->options.listen_host, ec);
  if (ec) return MakeError(ErrorCode::kInvalidArgument, "bad listen address " + impl_->options.listen_host);
  tcp::endpoint ep(addr, static_cast<unsigned short>(impl_->options.port));
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(128, ec);
  if (ec) return MakeError(ErrorCode::kUnavailable, "cannot listen on " + impl_->options.listen_host + ":" +
                                                        std::to_string(impl_->options.port) + ": " + ec.message());
  impl_->bound_port = impl_->acceptor.local_endpoint().port();
  impl_->running = true;
  impl_->accept_thread = std::thread([this] { impl_->AcceptLoop(); });
  return {};
}

void HttpsServer::Stop() {
  if (!impl_->running.exchange(false)) return;
  boost::system::error_code ec;
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->acceptor.close(ec);
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  std::unique_lock lk(impl_->mu);
  for (int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);
  impl_->cv.wait(lk, [&] { return impl_->active == 0; });
}

int HttpsServer::port() const { return impl_->bound_port; }
bool HttpsServer::running() const { return impl_->running; }

}  // namespace nc::sim
