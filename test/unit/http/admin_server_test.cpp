// The admin server's limits over real loopback sockets: the connection cap, the body limit and
// keep-alive, with a handler that echoes.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "controller/http/admin_server.hpp"

using namespace nc::http;

namespace {

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string Exchange(int fd, const std::string& request) {
  if (!request.empty()) REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  // Read until the headers and the Content-Length's body are in.
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    const auto end = out.find("\r\n\r\n");
    const auto cl = out.find("Content-Length: ");
    if (end != std::string::npos && cl != std::string::npos && out.size() >= end + 4 + std::stoul(out.substr(cl + 16))) break;
  }
  return out;
}

}  // namespace

TEST_SUITE("unit/http-server") {
  TEST_CASE("beyond max_connections a connection gets 503 at once - a freed slot serves again") {
    AdminServerOptions o{"127.0.0.1:0"};
    o.max_connections = 2;
    AdminServer server(o, [](const Request& r) { return Response{200, "text/plain", "hello " + r.path, {}}; });
    REQUIRE(server.Start());
    const int a = Connect(server.port());
    const int b = Connect(server.port());
    CHECK(Exchange(a, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n").find("hello /a") != std::string::npos);  // kept alive
    CHECK(Exchange(b, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n").find("hello /b") != std::string::npos);
    const int c = Connect(server.port());
    const std::string refused = Exchange(c, "");
    CHECK(refused.rfind("HTTP/1.1 503", 0) == 0);
    CHECK(refused.find("Retry-After: 1") != std::string::npos);
    CHECK(refused.find("too many connections (2)") != std::string::npos);
    ::close(c);
    ::close(a);
    std::string again;
    for (int i = 0; i < 50 && again.find("hello /d") == std::string::npos; ++i) {
      usleep(20'000);
      const int d = Connect(server.port());
      again = Exchange(d, "GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      ::close(d);
    }
    CHECK(again.find("hello /d") != std::string::npos);
    ::close(b);
    server.Stop();
  }

  TEST_CASE("HEAD answers a GET's headers without the body, and the connection stays usable") {
    AdminServer server(AdminServerOptions{"127.0.0.1:0"}, [](const Request& r) { return Response{200, "text/plain", "body of " + r.path, {}}; });
    REQUIRE(server.Start());
    const int fd = Connect(server.port());
    const std::string req = "HEAD /x HTTP/1.1\r\nHost: x\r\n\r\nGET /y HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size()));
    std::string out;
    char buf[4096];
    while (out.find("body of /y") == std::string::npos) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    CHECK(out.find("Content-Length: 10\r\n") != std::string::npos);  // "body of /x", had it been a GET
    CHECK(out.find("body of /x") == std::string::npos);
    CHECK(out.find("body of /y") != std::string::npos);
    ::close(fd);
    server.Stop();
  }

  TEST_CASE("a body over the limit gets 413 with a JSON error - the handler never sees it") {
    AdminServerOptions o{"127.0.0.1:0"};
    o.body_limit = 1000;
    int calls = 0;
    AdminServer server(o, [&](const Request&) {
      ++calls;
      return Response{200, "text/plain", "ok", {}};
    });
    REQUIRE(server.Start());
    const int fd = Connect(server.port());
    const std::string res = Exchange(fd, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'x'));
    CHECK(res.rfind("HTTP/1.1 413", 0) == 0);
    CHECK(res.find("{\"error\":{\"code\":413") != std::string::npos);
    CHECK(calls == 0);
    ::close(fd);
    server.Stop();
  }

  TEST_CASE("a client still sending a large body can finish sending and then reads the 413 (lingering close)") {
    // curl, for one, gives up with "Send failure: Connection reset by peer" when the server
    // closes under it, before it reads the answer that is already there.
    AdminServerOptions o{"127.0.0.1:0"};
    o.body_limit = 1000;
    AdminServer server(o, [](const Request&) { return Response{200, "text/plain", "ok", {}}; });
    REQUIRE(server.Start());
    int sent_whole = 0, answered = 0;
    for (int round = 0; round < 10; ++round) {
      const int fd = Connect(server.port());
      const std::string head = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n";
      bool whole = true;
      std::thread sender([fd, head, &whole] {
        std::string chunk(65536, 'x');
        whole = ::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size());
        for (int i = 0; i < 128 && whole; ++i) whole = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) == 65536;
      });
      sender.join();
      const std::string res = Exchange(fd, "");
      ::close(fd);
      sent_whole += whole ? 1 : 0;
      answered += res.rfind("HTTP/1.1 413", 0) == 0 ? 1 : 0;
    }
    CHECK(sent_whole == 10);
    CHECK(answered == 10);
    server.Stop();
  }
}
