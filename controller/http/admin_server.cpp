#include "controller/http/admin_server.hpp"

#include "controller/core/encoding.hpp"
#include "controller/http/request.hpp"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <future>
#include <optional>
#include <thread>
#include <unordered_map>

namespace nc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

namespace {

bhttp::response<bhttp::string_body> ToWire(Response res, unsigned version, bool keep, bool head) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), version};
  out.set(bhttp::field::server, "netconverge");
  out.set(bhttp::field::content_type, res.content_type);
  out.set(bhttp::field::cache_control, "no-store");
  for (const auto& [name, value] : res.headers) out.set(name, value);
  out.keep_alive(keep);
  if (head) {
    out.content_length(
        res.body.size());  // the length a GET would have, and no body (RFC 9110 9.3.2)
  } else {
    out.body() = std::move(res.body);
    out.prepare_payload();
  }
  return out;
}

asio::awaitable<Response> RunHandler(const AdminServer::Handler* handler, Request r) {
  try {
    co_return (*handler)(r);
  } catch (const std::exception&) {
    co_return JsonError(500, "internal error");  // never a stack trace or an exception text
  }
}

}  // namespace

Response JsonError(int status, const std::string& raw) {
  const std::string message = core::PrintableText(raw);  // it may echo what a client sent
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  w.Int(status);
  w.Key("message");
  w.String(message.c_str(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  w.EndObject();
  return Response{status, "application/json", buf.GetString(), {}};
}

struct AdminServer::Impl {
  AdminServerOptions options;
  Handler handler;
  std::atomic<bool> running{false};
  int bound_port = 0;
  // Touched only on the I/O thread.
  int open = 0;
  std::unordered_map<std::string, int> open_per_ip;
  std::set<beast::tcp_stream*> streams;
  std::thread io_thread;
  asio::thread_pool pool;
  asio::io_context ioc;  // last: destroyed first, with any coroutine frame still pending on it
  tcp::acceptor acceptor{ioc};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

  Impl(AdminServerOptions o, Handler h)
      : options(std::move(o)),
        handler(std::move(h)),
        pool(static_cast<size_t>(std::max(1, options.handler_threads))) {}

  /// The slot a connection holds, given back when its coroutine ends however it ends.
  struct Slot {
    Impl* impl;
    std::string ip;
    beast::tcp_stream* stream;
    Slot(Impl* i, std::string a, beast::tcp_stream* s) : impl(i), ip(std::move(a)), stream(s) {
      ++impl->open;
      ++impl->open_per_ip[ip];
      impl->streams.insert(stream);
    }
    ~Slot() {
      --impl->open;
      if (--impl->open_per_ip[ip] <= 0) impl->open_per_ip.erase(ip);
      impl->streams.erase(stream);
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
  };

  /// Stops sending, then reads and drops what the client is still sending (at most 2 s and
  /// 64 MiB) before closing: a plain close with unread input makes the kernel reset the
  /// connection, and the client may lose the answer already written (413, 431, 414).
  static asio::awaitable<void> LingeringClose(beast::tcp_stream& stream) {
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(std::chrono::seconds(2));
    std::vector<char> sink(16384);
    size_t drained = 0;
    while (!ec && drained < (64u << 20)) {
      drained += co_await stream.async_read_some(asio::buffer(sink),
                                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    stream.close();
  }

  static asio::awaitable<void> Reject(tcp::socket sock, std::string message) {
    beast::tcp_stream stream(std::move(sock));
    auto out = ToWire(JsonError(503, message), 11, false, false);
    out.set(bhttp::field::retry_after, "1");
    stream.expires_after(std::chrono::seconds(2));
    boost::system::error_code ec;
    co_await bhttp::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
  }

  asio::awaitable<void> Session(tcp::socket sock, std::string ip) {
    beast::tcp_stream stream(std::move(sock));
    Slot slot(this, ip, &stream);
    beast::flat_buffer buf;
    boost::system::error_code ec;
    while (running) {
      bhttp::request_parser<bhttp::string_body> parser;
      ConfigureParser(parser, options);
      // One deadline for the idle wait and the whole header, one for the whole body: a client
      // that drips a byte at a time cannot stretch either.
      stream.expires_after(milliseconds(options.header_timeout_ms));
      co_await bhttp::async_read_header(stream, buf, parser,
                                        asio::redirect_error(asio::use_awaitable, ec));
      std::optional<Response> early = ec ? std::nullopt : TargetTooLong(parser, options);
      if (!ec && !early && !parser.is_done()) {
        stream.expires_after(milliseconds(options.body_timeout_ms));
        co_await bhttp::async_read(stream, buf, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec) {
        early = EarlyAnswer(ec, options);
        if (!early) break;  // closed, reset or past a deadline: nothing to answer
      }
      if (early) {
        auto out = ToWire(std::move(*early), 11, false, false);
        stream.expires_after(milliseconds(options.write_timeout_ms));
        co_await bhttp::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
        co_await LingeringClose(stream);
        co_return;
      }
      auto req = parser.release();
      const unsigned version = req.version();
      const bool keep = req.keep_alive();
      Request r = ToRequest(req, ip);
      const bool head = r.method == "HEAD";
      Response res;
      // NOLINTNEXTLINE(bugprone-branch-clone): clang-tidy 14 compares the coroutine expansions
      if (options.inline_paths.count(r.path)) {
        res = co_await RunHandler(&handler, std::move(r));
      } else {
        res = co_await asio::co_spawn(pool.get_executor(), RunHandler(&handler, std::move(r)),
                                      asio::use_awaitable);
      }
      auto out = ToWire(std::move(res), version, keep, head);
      stream.expires_after(milliseconds(options.write_timeout_ms));
      co_await bhttp::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !keep) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
  }

  asio::awaitable<void> Accept() {
    while (running) {
      boost::system::error_code ec;
      tcp::socket sock =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (!running) co_return;
        // Out of descriptors, most likely: wait a moment rather than spin on the error.
        asio::steady_timer pause(ioc, milliseconds(50));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      boost::system::error_code pec;
      const auto ep = sock.remote_endpoint(pec);
      std::string ip = pec ? std::string("?") : ep.address().to_string();
      if (options.max_connections > 0 && open >= options.max_connections) {
        asio::co_spawn(
            ioc,
            Reject(std::move(sock),
                   "too many connections (" + std::to_string(options.max_connections) + "); retry"),
            asio::detached);
        continue;
      }
      const auto it = open_per_ip.find(ip);
      if (options.max_connections_per_ip > 0 && it != open_per_ip.end() &&
          it->second >= options.max_connections_per_ip) {
        asio::co_spawn(ioc,
                       Reject(std::move(sock), "too many connections from " + ip + " (" +
                                                   std::to_string(options.max_connections_per_ip) +
                                                   "); retry"),
                       asio::detached);
        continue;
      }
      asio::co_spawn(ioc, Session(std::move(sock), std::move(ip)), asio::detached);
    }
  }

  void CloseAll() {
    boost::system::error_code ec;
    acceptor.close(ec);
    for (auto* s : streams) {
      s->socket().shutdown(tcp::socket::shutdown_both, ec);
      s->socket().close(ec);
    }
  }
};

AdminServer::AdminServer(AdminServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

AdminServer::~AdminServer() {
  Stop();
}

Status AdminServer::Start() {
  const auto& listen = impl_->options.listen;
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return MakeError(ErrorCode::kInvalidArgument,
                     "--listen must be address:port, not '" + listen + "'");
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    return MakeError(ErrorCode::kInvalidArgument, "--listen: bad port in '" + listen + "'");
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec)
    return MakeError(ErrorCode::kInvalidArgument, "--listen: '" + host + "' is not an IP address");
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  auto& acc = impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return MakeError(ErrorCode::kUnavailable, "--listen: cannot listen on " + host + ":" +
                                                  std::to_string(port) + ": " + ec.message());
  impl_->bound_port = acc.local_endpoint().port();
  impl_->running = true;
  impl_->work.emplace(impl_->ioc.get_executor());
  asio::co_spawn(impl_->ioc, impl_->Accept(), asio::detached);
  impl_->io_thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
  return {};
}

void AdminServer::Stop() {
  if (!impl_->running.exchange(false)) return;
  // Close on the I/O thread, which alone touches the acceptor and the streams.
  std::promise<void> closed;
  asio::post(impl_->ioc, [this, &closed] {
    impl_->CloseAll();
    closed.set_value();
  });
  closed.get_future().wait();
  // Sessions waiting for a handler resume when it returns, fail to write and end; then run()
  // has nothing left and returns.
  impl_->work.reset();
  if (impl_->io_thread.joinable()) impl_->io_thread.join();
  impl_->pool.join();
}

int AdminServer::port() const {
  return impl_->bound_port;
}

}  // namespace nc::http
