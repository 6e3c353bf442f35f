// Reading one HTTP request with the admin server's limits: the parser's set-up, the answer to a
// read that failed (400, 413, 431) or a target that is too long (414), and the decoded Request.
// Shared by the server's connection loop and ParseRequest; kept apart from the coroutines so
// that fuzzing instruments it (clang 14 cannot instrument coroutines for coverage). Included by
// the translation units that already use Beast.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <optional>
#include <string>

#include "controller/http/admin_server.hpp"

namespace nc::http {

namespace bhttp = boost::beast::http;

void ConfigureParser(bhttp::request_parser<bhttp::string_body>& parser,
                     const AdminServerOptions& options);
/// The answer to a read that failed; nullopt when the connection should just close (closed,
/// reset, past a deadline).
std::optional<Response> EarlyAnswer(const boost::system::error_code& ec,
                                    const AdminServerOptions& options);
/// 414 when the parsed header's target is longer than the limit.
std::optional<Response> TargetTooLong(const bhttp::request_parser<bhttp::string_body>& parser,
                                      const AdminServerOptions& options);
/// The request as handlers see it: path, decoded query, lower-case header names, body.
Request ToRequest(bhttp::request<bhttp::string_body>& req, const std::string& remote);

}  // namespace nc::http
