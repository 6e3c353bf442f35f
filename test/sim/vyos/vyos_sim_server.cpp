#include "test/sim/vyos/vyos_sim_server.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>

#include "test/sim/common/https_server.hpp"

namespace nc::sim {

namespace {

/// One access-log line, as nginx's '$msec "$request" $status "$http_user_agent"'.
void LogAccess(const std::string& path, const HttpRequest& req, int status) {
  static std::mutex mu;
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  char msec[32];
  std::snprintf(msec, sizeof msec, "%.3f", now);
  std::lock_guard lk(mu);
  std::ofstream(path, std::ios::app)
      << msec << " \"" << req.method << ' ' << req.target << " HTTP/1.1\" " << status << " \""
      << req.Header("user-agent") << "\"\n";
}

}  // namespace

struct VyosSimServer::Impl {
  HttpsServer server;
  Impl(VyosSim& sim, const Options& o)
      : server(ServerOptions(sim, o), [&sim, log = o.access_log](const HttpRequest& req) {
          SimReply r =
              sim.Handle(SimRequest{req.method, req.target, req.Header("content-type"), req.body});
          if (!log.empty()) LogAccess(log, req, r.status);
          HttpReply out;
          out.status = r.status;
          out.content_type = r.content_type;
          out.body = std::move(r.body);
          out.drop = r.drop;
          out.delay_ms = r.delay_ms;
          return out;
        }) {}

  static HttpsServerOptions ServerOptions(VyosSim& sim, const Options& o) {
    HttpsServerOptions s;
    s.listen_host = o.listen_host;
    s.port = o.port;
    s.cert_pem = o.cert_pem;
    s.key_pem = o.key_pem;
    s.body_limit = sim.body_limit();
    s.server_header = "nginx";
    s.too_large.status = 413;
    s.too_large.content_type = "text/html";
    s.too_large.body =
        "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
        "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n";
    return s;
  }
};

VyosSimServer::VyosSimServer(VyosSim& sim, Options options)
    : impl_(std::make_unique<Impl>(sim, options)) {}
VyosSimServer::~VyosSimServer() {
  Stop();
}
Status VyosSimServer::Start() {
  return impl_->server.Start();
}
void VyosSimServer::Stop() {
  impl_->server.Stop();
}
int VyosSimServer::port() const {
  return impl_->server.port();
}

}  // namespace nc::sim
