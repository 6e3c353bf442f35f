#include "transport/http/https_client.hpp"

#include <atomic>
#include <mutex>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/version.hpp>

#include <openssl/err.h>
#include <openssl/x509v3.h>

// GCC 12 warns that an Asio awaitable frame is freed by a mismatched operator delete when one
// coroutine awaits another of this file (GCC bug 109224: the frame's promise-type new/delete
// pair is not matched through the coroutine lowering). The pair is Asio's own and matched.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace nc::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

using TlsStream = ssl::stream<beast::tcp_stream>;

struct HttpsClient::Impl {
  const HttpsClient::Headers* extra_headers = nullptr;  // Post's, for the one request it sends
  ~Impl() {
    if (session) SSL_SESSION_free(session);
  }
  /// Keeps the newest session the server offered (a TLS 1.3 ticket), for the next connection.
  void Offered(SSL_SESSION* s) {
    // A copy: OpenSSL marks the connection's own session not resumable when the connection
    // ends without a close_notify (a device that drops idle connections does exactly that).
    SSL_SESSION* copy = SSL_SESSION_dup(s);
    SSL_SESSION_free(s);  // the callback's reference
    if (!copy) return;
    std::lock_guard lk(session_mu);
    if (session) SSL_SESSION_free(session);
    session = copy;
  }
  /// A reference to the session to resume, or null.
  SSL_SESSION* Resumable() {
    std::lock_guard lk(session_mu);
    if (session && SSL_SESSION_is_resumable(session) == 1) {
      SSL_SESSION_up_ref(session);
      return session;
    }
    return nullptr;
  }

  HttpsClientOptions options;
  ssl::context ctx{ssl::context::tls_client};
  std::mutex session_mu;
  SSL_SESSION* session = nullptr;  // guarded by session_mu
  std::atomic<int64_t> handshakes{0};
  std::atomic<int64_t> resumed{0};
  asio::io_context ioc;             // runs only inside Send, on the caller's thread
  std::unique_ptr<TlsStream> kept;  // an idle keep-alive connection for reads, or null
  TlsStream* streaming = nullptr;   // the connection of a running Stream(), touched on the ioc only
};

namespace {

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

Error Classify(const boost::system::error_code& ec, const char* stage, bool verify_failed,
               long verify_result) {
  if (ec == beast::error::timeout || ec == asio::error::timed_out)
    return Error{ErrorCode::kDeadlineExceeded, std::string(stage) + ": deadline exceeded"};
  if (verify_failed)
    return Error{ErrorCode::kPermissionDenied,
                 std::string("TLS certificate verification failed: ") +
                     X509_verify_cert_error_string(verify_result)};
  if (ec.category() == asio::error::get_ssl_category())
    return Error{ErrorCode::kUnavailable, std::string(stage) + ": TLS error: " + ec.message()};
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == ssl::error::stream_truncated)
    return Error{ErrorCode::kUnavailable, std::string(stage) + ": connection closed by the device"};
  return Error{ErrorCode::kUnavailable, std::string(stage) + ": " + ec.message()};
}

asio::awaitable<Result<std::unique_ptr<TlsStream>>> Connect(
    HttpsClient::Impl& impl, std::chrono::steady_clock::time_point deadline) {
  auto ex = co_await asio::this_coro::executor;
  const auto& o = impl.options;
  boost::system::error_code ec;
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(o.host, std::to_string(o.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec)
    co_return tl::unexpected(
        Error{ErrorCode::kUnavailable, "resolving " + o.host + ": " + ec.message()});

  auto stream = std::make_unique<TlsStream>(ex, impl.ctx);
  auto& lowest = beast::get_lowest_layer(*stream);
  lowest.expires_after(o.connect_timeout);
  co_await lowest.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return tl::unexpected(Classify(ec, "connect", false, 0));

  const std::string verify_name = o.server_name.empty() ? o.host : o.server_name;
  if (!IsIpLiteral(verify_name))
    SSL_set_tlsext_host_name(stream->native_handle(), verify_name.c_str());
  if (o.insecure_skip_verify) {
    stream->set_verify_mode(ssl::verify_none);
  } else {
    stream->set_verify_mode(ssl::verify_peer);
    X509_VERIFY_PARAM* param = SSL_get0_param(stream->native_handle());
    if (IsIpLiteral(verify_name))
      X509_VERIFY_PARAM_set1_ip_asc(param, verify_name.c_str());
    else
      X509_VERIFY_PARAM_set1_host(param, verify_name.c_str(), 0);
  }
  // Resumption: a session this client verified earlier (same device, same name) skips the
  // certificate exchange; a connection the device closed costs a short handshake.
  if (SSL_SESSION* resume = impl.Resumable()) {
    SSL_set_session(stream->native_handle(), resume);
    SSL_SESSION_free(resume);  // SSL_set_session took its own reference
  }
  lowest.expires_at(deadline);
  co_await stream->async_handshake(ssl::stream_base::client,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    long vr = SSL_get_verify_result(stream->native_handle());
    co_return tl::unexpected(Classify(ec, "TLS handshake", vr != X509_V_OK, vr));
  }
  ++impl.handshakes;
  if (SSL_session_reused(stream->native_handle())) ++impl.resumed;
  co_return stream;
}

/// Writes the request: from `body`, or (`streamed`) its header with the source's size as the
/// Content-Length and then each piece as it is produced.
asio::awaitable<boost::system::error_code> WriteRequest(
    TlsStream& stream, http::request<http::span_body<const char>>& req, const std::string& body,
    const BodySource* streamed) {
  boost::system::error_code ec;
  if (!streamed) {
    req.body() = http::span_body<const char>::value_type(body.data(), body.size());
    req.prepare_payload();
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
  }
  req.content_length(streamed->size);
  http::request_serializer<http::span_body<const char>> sr{req};
  co_await http::async_write_header(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
  size_t sent = 0;
  std::string piece;
  while (!ec && streamed->next(piece)) {
    // A source that overruns its size would corrupt the exchange: stop before its last byte.
    if (sent + piece.size() > streamed->size) co_return make_error_code(beast::errc::message_size);
    co_await asio::async_write(stream, asio::buffer(piece),
                               asio::redirect_error(asio::use_awaitable, ec));
    sent += piece.size();
  }
  if (!ec && sent != streamed->size) co_return make_error_code(beast::errc::message_size);
  co_return ec;
}

asio::awaitable<Result<HttpResponse>> Exchange(HttpsClient::Impl& impl, const std::string& method,
                                               const std::string& target,
                                               const std::string& content_type,
                                               const std::string& body,
                                               std::chrono::milliseconds timeout, bool* written,
                                               bool reuse, const BodySource* streamed) {
  const auto& o = impl.options;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<TlsStream> stream;
    const bool reused = reuse && impl.kept && attempt == 0;
    if (reused) {
      stream = std::move(impl.kept);
    } else {
      auto fresh = co_await Connect(impl, deadline);
      if (!fresh) co_return tl::unexpected(fresh.error());
      stream = std::move(*fresh);
    }
    auto& lowest = beast::get_lowest_layer(*stream);
    lowest.expires_at(deadline);
    boost::system::error_code ec;
    // The body is sent from the caller's string (alive until Send returns), not copied: a
    // 10,000-rule commit is several MB.
    http::request<http::span_body<const char>> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, o.host + ":" + std::to_string(o.port));
    req.set(http::field::user_agent, o.user_agent);
    if (o.authorization) req.set(http::field::authorization, o.authorization());
    if (!o.accept.empty()) req.set(http::field::accept, o.accept);
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    if (impl.extra_headers)
      for (const auto& [name, value] : *impl.extra_headers) req.set(name, value);
    req.keep_alive(reuse);
    ec = co_await WriteRequest(*stream, req, body, streamed);
    if (ec == beast::errc::message_size)
      co_return tl::unexpected(Error{ErrorCode::kInternal,
                                     "request body source gave other than its announced " +
                                         std::to_string(streamed ? streamed->size : 0) + " bytes"});
    if (ec) {
      if (reused) continue;  // the kept connection had been closed: a read is safe to repeat
      co_return tl::unexpected(Classify(ec, "sending the request", false, 0));
    }
    if (written) *written = true;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(o.max_response_bytes);
    co_await http::async_read(*stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (reused && !parser.got_some()) continue;
      co_return tl::unexpected(Classify(ec, "reading the response", false, 0));
    }
    auto res = parser.release();
    if (reuse && res.keep_alive()) {
      impl.kept = std::move(stream);
    } else {
      beast::error_code ignored;
      lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    co_return HttpResponse{static_cast<int>(res.result_int()),
                           std::string(res[http::field::content_type]), std::move(res.body())};
  }
  co_return tl::unexpected(
      Error{ErrorCode::kUnavailable, "the kept connection and a fresh one both failed"});
}

asio::awaitable<Result<int>> StreamGet(HttpsClient::Impl& impl, const std::string& target,
                                       std::chrono::milliseconds timeout,
                                       const std::function<bool(std::string_view)>& on_data) {
  const auto& o = impl.options;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto fresh = co_await Connect(impl, deadline);
  if (!fresh) co_return tl::unexpected(fresh.error());
  std::unique_ptr<TlsStream> stream = std::move(*fresh);
  impl.streaming = stream.get();
  auto& lowest = beast::get_lowest_layer(*stream);
  lowest.expires_at(deadline);
  boost::system::error_code ec;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, o.host + ":" + std::to_string(o.port));
  req.set(http::field::user_agent, o.user_agent);
  req.set(http::field::accept, "application/json");
  if (o.authorization) req.set(http::field::authorization, o.authorization());
  co_await http::async_write(*stream, req, asio::redirect_error(asio::use_awaitable, ec));
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  if (!ec)
    co_await http::async_read_header(*stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    impl.streaming = nullptr;
    co_return tl::unexpected(Classify(ec, "starting the stream", false, 0));
  }
  const int status = static_cast<int>(parser.get().result_int());
  char buf[16384];
  while (!parser.is_done()) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof buf;
    // read_some: hand over what arrived (a watch event) instead of waiting for a full buffer.
    co_await http::async_read_some(*stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    const size_t n = sizeof buf - parser.get().body().size;
    if (n > 0 && !on_data(std::string_view(buf, n))) break;
    if (ec) break;
  }
  impl.streaming = nullptr;
  beast::error_code ignored;
  lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
  lowest.close();
  // The end of a stream (timeout, server closed, cancelled) is its normal end.
  co_return status;
}

}  // namespace

Result<int> HttpsClient::Stream(const std::string& target, std::chrono::milliseconds timeout,
                                const std::function<bool(std::string_view)>& on_data) {
  Result<int> result = MakeError(ErrorCode::kInternal, "stream did not run");
  auto run = [&]() -> asio::awaitable<void> {
    result = co_await StreamGet(*impl_, target, timeout, on_data);
  };
  impl_->ioc.restart();
  asio::co_spawn(impl_->ioc, run, asio::detached);
  impl_->ioc.run();
  return result;
}

void HttpsClient::Cancel() {
  asio::post(impl_->ioc, [impl = impl_.get()] {
    if (impl->streaming) beast::get_lowest_layer(*impl->streaming).cancel();
  });
}

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsClient::~HttpsClient() = default;

const HttpsClientOptions& HttpsClient::options() const {
  return impl_->options;
}

HttpsClient::Handshakes HttpsClient::handshakes() const {
  return {impl_->handshakes.load(), impl_->resumed.load()};
}

Result<std::unique_ptr<HttpsClient>> HttpsClient::Create(HttpsClientOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  boost::system::error_code ec;
  impl->ctx.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                        ssl::context::no_tlsv1_1);
  // The client's Impl, found from the SSL_CTX in OpenSSL's callback (ex_data of our own index:
  // Asio keeps its verify callback in the context's app data).
  static const int kImplIndex = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  SSL_CTX* native = impl->ctx.native_handle();
  SSL_CTX_set_ex_data(native, kImplIndex, impl.get());
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(native, [](SSL* ssl, SSL_SESSION* s) -> int {
    static_cast<Impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), kImplIndex))->Offered(s);
    return 1;  // the reference is kept
  });
  if (!impl->options.ca_pem.empty()) {
    impl->ctx.add_certificate_authority(asio::buffer(impl->options.ca_pem), ec);
    if (ec)
      return MakeError(ErrorCode::kInvalidArgument,
                       "cannot load the CA certificate data: " + ec.message());
  } else if (!impl->options.ca_file.empty()) {
    impl->ctx.load_verify_file(impl->options.ca_file, ec);
    if (ec)
      return MakeError(ErrorCode::kInvalidArgument,
                       "cannot load CA file " + impl->options.ca_file + ": " + ec.message());
  } else {
    impl->ctx.set_default_verify_paths(ec);
  }
  return std::unique_ptr<HttpsClient>(new HttpsClient(std::move(impl)));
}

namespace {

/// Runs one Exchange on the client's io_context, on the caller's thread: a body from `body`,
/// or streamed from `streamed`.
Result<HttpResponse> RunExchange(HttpsClient::Impl& impl, const std::string& method,
                                 const std::string& target, const std::string& content_type,
                                 const std::string& body, std::chrono::milliseconds timeout,
                                 bool* written, bool reuse, const BodySource* streamed) {
  if (written) *written = false;
  Result<HttpResponse> result = MakeError(ErrorCode::kInternal, "request did not run");
  auto run = [&]() -> asio::awaitable<void> {
    result = co_await Exchange(impl, method, target, content_type, body, timeout, written, reuse,
                               streamed);
  };
  impl.ioc.restart();
  asio::co_spawn(impl.ioc, run, asio::detached);
  impl.ioc.run();
  if (!result) impl.kept.reset();
  return result;
}

}  // namespace

Result<HttpResponse> HttpsClient::Send(const std::string& method, const std::string& target,
                                       const std::string& content_type, const std::string& body,
                                       std::chrono::milliseconds timeout, bool* written,
                                       bool reuse_connection) {
  return RunExchange(*impl_, method, target, content_type, body, timeout, written, reuse_connection,
                     nullptr);
}

Result<HttpResponse> HttpsClient::SendStreamed(const std::string& method, const std::string& target,
                                               const std::string& content_type,
                                               const BodySource& body,
                                               std::chrono::milliseconds timeout, bool* written) {
  static const std::string kNoBody;  // the pieces come from `body`
  return RunExchange(*impl_, method, target, content_type, kNoBody, timeout, written, false, &body);
}

Result<HttpResponse> HttpsClient::Post(const std::string& target, const std::string& content_type,
                                       const std::string& body, const Headers& headers,
                                       std::chrono::milliseconds timeout) {
  impl_->extra_headers = &headers;
  auto result = Send("POST", target, content_type, body, timeout);
  impl_->extra_headers = nullptr;
  return result;
}

Result<std::pair<std::string, int>> SplitHostPort(const std::string& address, int default_port) {
  std::string host = address;
  std::string port;
  if (!address.empty() && address.front() == '[') {
    auto close = address.find(']');
    if (close == std::string::npos)
      return MakeError(ErrorCode::kInvalidArgument, "bad address " + address);
    host = address.substr(1, close - 1);
    if (close + 1 < address.size()) port = address.substr(close + 2);
  } else if (auto colon = address.rfind(':');
             colon != std::string::npos && address.find(':') == colon) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  int p = default_port;
  if (!port.empty()) {
    try {
      p = std::stoi(port);
    } catch (...) {
      return MakeError(ErrorCode::kInvalidArgument, "bad port in " + address);
    }
  }
  return std::make_pair(host, p);
}

}  // namespace nc::transport
