#include "controller/http/admin_server.hpp"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace nc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

}  // namespace

Response JsonError(int status, const std::string& message) {
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
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread accept_thread;
  std::mutex mu;
  std::condition_variable cv;
  std::set<int> open_fds;
  int active = 0;
  std::atomic<bool> running{false};
  int bound_port = 0;

  void Serve(tcp::socket sock) {
    const int fd = sock.native_handle();
    timeval tv{options.read_timeout_s, 0};  // a slow or idle client cannot hold a thread for long
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    beast::flat_buffer buf;
    boost::system::error_code ec;
    while (running) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(options.body_limit);
      parser.header_limit(16 * 1024);
      bhttp::read(sock, buf, parser, ec);
      Response res;
      bool keep = false;
      bool head = false;
      unsigned version = 11;
      if (ec == bhttp::error::body_limit) {
        res = JsonError(413, "request body larger than " + std::to_string(options.body_limit) + " bytes");
      } else if (ec == bhttp::error::header_limit) {
        res = JsonError(431, "request headers too large");
      } else if (ec) {
        break;
      } else {
        auto req = parser.release();
        version = req.version();
        keep = req.keep_alive();
        Request r;
        r.method = std::string(req.method_string());
        head = r.method == "HEAD";
        std::string target(req.target());
        const auto q = target.find('?');
        r.path = target.substr(0, q);
        if (q != std::string::npos) {
          std::stringstream qs(target.substr(q + 1));
          for (std::string kv; std::getline(qs, kv, '&');) {
            const auto eq = kv.find('=');
            r.query[UrlDecode(kv.substr(0, eq))] = eq == std::string::npos ? "" : UrlDecode(kv.substr(eq + 1));
          }
        }
        for (const auto& f : req) {
          std::string name(f.name_string());
          for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          r.headers[name] = std::string(f.value());
        }
        r.body = std::move(req.body());
        boost::system::error_code pec;
        if (auto ep = sock.remote_endpoint(pec); !pec) r.remote = ep.address().to_string();
        try {
          res = handler(r);
        } catch (const std::exception&) {
          res = JsonError(500, "internal error");  // never a stack trace or an exception text
        }
      }
      bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), version};
      out.set(bhttp::field::server, "netconverge");
      out.set(bhttp::field::content_type, res.content_type);
      out.set(bhttp::field::cache_control, "no-store");
      for (const auto& [name, value] : res.headers) out.set(name, value);
      out.keep_alive(keep);
      if (head) {
        out.content_length(res.body.size());  // the length a GET would have, and no body (RFC 9110 9.3.2)
      } else {
        out.body() = std::move(res.body);
        out.prepare_payload();
      }
      bhttp::write(sock, out, ec);
      if (ec || !keep) break;
    }
    sock.shutdown(tcp::socket::shutdown_both, ec);
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
      if (active >= options.max_connections) {
        // Full: answer at once and close, rather than queue a thread per connection without end.
        Response busy = JsonError(503, "too many connections (" + std::to_string(options.max_connections) + "); retry");
        bhttp::response<bhttp::string_body> out{bhttp::status::service_unavailable, 11};
        out.set(bhttp::field::server, "netconverge");
        out.set(bhttp::field::content_type, busy.content_type);
        out.set(bhttp::field::retry_after, "1");
        out.keep_alive(false);
        out.body() = std::move(busy.body);
        out.prepare_payload();
        boost::system::error_code wec;
        bhttp::write(sock, out, wec);
        sock.shutdown(tcp::socket::shutdown_both, wec);
        continue;
      }
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

AdminServer::AdminServer(AdminServerOptions options, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

AdminServer::~AdminServer() { Stop(); }

Status AdminServer::Start() {
  const auto& listen = impl_->options.listen;
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return MakeError(ErrorCode::kInvalidArgument, "--listen must be address:port, not '" + listen + "'");
  boost::system::error_code ec;
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return MakeError(ErrorCode::kInvalidArgument, "--listen: '" + host + "' is not an IP address");
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    return MakeError(ErrorCode::kInvalidArgument, "--listen: bad port in '" + listen + "'");
  }
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(128, ec);
  if (ec) return MakeError(ErrorCode::kUnavailable, "cannot listen on " + listen + ": " + ec.message());
  impl_->bound_port = impl_->acceptor.local_endpoint().port();
  impl_->running = true;
  impl_->accept_thread = std::thread([this] { impl_->AcceptLoop(); });
  return {};
}

void AdminServer::Stop() {
  if (!impl_->running.exchange(false)) return;
  boost::system::error_code ec;
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->acceptor.close(ec);
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  std::unique_lock lk(impl_->mu);
  for (int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);
  impl_->cv.wait(lk, [&] { return impl_->active == 0; });
}

int AdminServer::port() const { return impl_->bound_port; }

}  // namespace nc::http
