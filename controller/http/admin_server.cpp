#include "controller/http/admin_server.hpp"

#include "controller/http/tcp_listener.hpp"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <sstream>

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
  TcpListener listener{[this](tcp::socket s) { Serve(std::move(s)); }, [this](tcp::socket& s) { Reject(s); },
                       options.max_connections};

  Impl(AdminServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}

  /// Full: answer at once and close, rather than queue a thread per connection without end.
  void Reject(tcp::socket& sock) {
    Response busy = JsonError(503, "too many connections (" + std::to_string(options.max_connections) + "); retry");
    bhttp::response<bhttp::string_body> out{bhttp::status::service_unavailable, 11};
    out.set(bhttp::field::server, "netconverge");
    out.set(bhttp::field::content_type, busy.content_type);
    out.set(bhttp::field::retry_after, "1");
    out.keep_alive(false);
    out.body() = std::move(busy.body);
    out.prepare_payload();
    boost::system::error_code ec;
    bhttp::write(sock, out, ec);  // no lingering here: the accept thread must not wait on one client
  }

  void Serve(tcp::socket sock) {
    const int fd = sock.native_handle();
    timeval tv{options.read_timeout_s, 0};  // a slow or idle client cannot hold a thread for long
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    beast::flat_buffer buf;
    boost::system::error_code ec;
    while (listener.running()) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(options.body_limit);
      parser.header_limit(16 * 1024);
      bhttp::read(sock, buf, parser, ec);
      Response res;
      bool keep = false;
      bool head = false;
      const bool unread = ec == bhttp::error::body_limit || ec == bhttp::error::header_limit;
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
          r.headers[AsciiLower(std::string(f.name_string()))] = std::string(f.value());
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
      if (unread) {
        LingeringClose(sock);  // the rest of the request is still coming: let the answer arrive
        return;
      }
      if (ec || !keep) break;
    }
    sock.shutdown(tcp::socket::shutdown_both, ec);
  }
};

AdminServer::AdminServer(AdminServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

AdminServer::~AdminServer() { Stop(); }

Status AdminServer::Start() {
  const auto& listen = impl_->options.listen;
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return MakeError(ErrorCode::kInvalidArgument, "--listen must be address:port, not '" + listen + "'");
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    return MakeError(ErrorCode::kInvalidArgument, "--listen: bad port in '" + listen + "'");
  }
  auto st = impl_->listener.Listen(host, port);
  if (!st) return MakeError(st.error().code, "--listen: " + st.error().message);
  return {};
}

void AdminServer::Stop() { impl_->listener.Stop(); }

int AdminServer::port() const { return impl_->listener.port(); }

}  // namespace nc::http
