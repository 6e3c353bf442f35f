#include "controller/http/request.hpp"

#include <cctype>

namespace nc::http {

namespace asio = boost::asio;

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Request ToRequest(bhttp::request<bhttp::string_body>& req, const std::string& remote) {
  Request r;
  r.method = std::string(req.method_string());
  const auto bt = req.target();
  const std::string_view target(bt.data(), bt.size());
  const auto q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    std::string_view qs = target.substr(q + 1);
    while (!qs.empty()) {
      const auto amp = qs.find('&');
      const std::string_view kv = qs.substr(0, amp);
      const auto eq = kv.find('=');
      r.query[UrlDecode(kv.substr(0, eq))] =
          eq == std::string_view::npos ? "" : UrlDecode(kv.substr(eq + 1));
      qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
    }
  }
  for (const auto& f : req)
    r.headers[AsciiLower(std::string_view(f.name_string().data(), f.name_string().size()))] =
        std::string(f.value());
  r.body = std::move(req.body());
  r.remote = remote;
  return r;
}

void ConfigureParser(bhttp::request_parser<bhttp::string_body>& parser,
                     const AdminServerOptions& options) {
  parser.body_limit(options.body_limit);
  parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
}

/// The answer to a read that failed or a header beyond the limits; nullopt when the connection
/// should just close (closed, reset, past a deadline).
std::optional<Response> EarlyAnswer(const boost::system::error_code& ec,
                                    const AdminServerOptions& options) {
  if (ec == bhttp::error::body_limit)
    return JsonError(413,
                     "request body larger than " + std::to_string(options.body_limit) + " bytes");
  if (ec == bhttp::error::header_limit) return JsonError(431, "request headers too large");
  if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
    return JsonError(400, "malformed HTTP request");
  return std::nullopt;
}

std::optional<Response> TargetTooLong(const bhttp::request_parser<bhttp::string_body>& parser,
                                      const AdminServerOptions& options) {
  if (parser.get().target().size() <= options.target_limit) return std::nullopt;
  return JsonError(414,
                   "request target longer than " + std::to_string(options.target_limit) + " bytes");
}

tl::expected<Request, Response> ParseRequest(std::string_view wire,
                                             const AdminServerOptions& options) {
  bhttp::request_parser<bhttp::string_body> parser;
  ConfigureParser(parser, options);
  parser.eager(true);
  boost::system::error_code ec;
  size_t used = 0;
  while (!ec && !parser.is_done() && used < wire.size()) {
    const size_t n = parser.put(asio::buffer(wire.data() + used, wire.size() - used), ec);
    if (ec == bhttp::error::need_more) ec = {};
    if (n == 0 && !ec) break;
    used += n;
    if (!ec && parser.is_header_done())
      if (auto too_long = TargetTooLong(parser, options))
        return tl::unexpected(std::move(*too_long));
  }
  if (ec) {
    auto early = EarlyAnswer(ec, options);
    return tl::unexpected(early ? std::move(*early) : JsonError(400, "malformed HTTP request"));
  }
  if (!parser.is_done()) return tl::unexpected(JsonError(400, "incomplete HTTP request"));
  auto req = parser.release();
  return ToRequest(req, "");
}

}  // namespace nc::http
