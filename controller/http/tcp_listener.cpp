#include "controller/http/tcp_listener.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace nc::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct TcpListener::Impl {
  std::function<void(Socket)> serve;
  std::function<void(Socket&)> reject;
  int max_connections = 0;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread accept_thread;
  std::mutex mu;
  std::condition_variable cv;
  std::set<int> open_fds;
  int active = 0;
  std::atomic<bool> running{false};
  int bound_port = 0;

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
      if (max_connections > 0 && active >= max_connections) {
        if (reject) reject(sock);
        sock.shutdown(tcp::socket::shutdown_both, ec);
        continue;
      }
      ++active;
      open_fds.insert(sock.native_handle());
      std::thread([this, s = std::move(sock)]() mutable {
        const int fd = s.native_handle();
        serve(std::move(s));
        std::lock_guard lk2(mu);
        open_fds.erase(fd);
        --active;
        cv.notify_all();
      }).detach();
    }
  }
};

TcpListener::TcpListener(std::function<void(Socket)> serve, std::function<void(Socket&)> reject, int max_connections)
    : impl_(std::make_unique<Impl>()) {
  impl_->serve = std::move(serve);
  impl_->reject = std::move(reject);
  impl_->max_connections = max_connections;
}

TcpListener::~TcpListener() { Stop(); }

Status TcpListener::Listen(const std::string& host, int port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return MakeError(ErrorCode::kInvalidArgument, "'" + host + "' is not an IP address");
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(128, ec);
  if (ec) return MakeError(ErrorCode::kUnavailable, "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  impl_->bound_port = impl_->acceptor.local_endpoint().port();
  impl_->running = true;
  impl_->accept_thread = std::thread([this] { impl_->AcceptLoop(); });
  return {};
}

void TcpListener::Stop() {
  if (!impl_->running.exchange(false)) return;
  boost::system::error_code ec;
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->acceptor.close(ec);
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  std::unique_lock lk(impl_->mu);
  for (int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);
  impl_->cv.wait(lk, [&] { return impl_->active == 0; });
}

int TcpListener::port() const { return impl_->bound_port; }
bool TcpListener::running() const { return impl_->running; }

void LingeringClose(TcpListener::Socket& sock) {
  boost::system::error_code ec;
  sock.shutdown(tcp::socket::shutdown_send, ec);
  const int fd = sock.native_handle();
  timeval tv{0, 200'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  char buf[16384];
  size_t drained = 0;
  while (drained < (64u << 20) && std::chrono::steady_clock::now() < give_up) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;                                                // the client finished
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
    if (n > 0) drained += static_cast<size_t>(n);
  }
  sock.close(ec);
}

std::string AsciiLower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace nc::http
