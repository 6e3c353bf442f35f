// A small SSH server on libssh for the device emulators: password or public-key login, a PTY
// and a shell whose other end is a Terminal object (no real pty: the server is the terminal,
// so it echoes typed characters and writes \r\n, as research/switch.md 5.3 says). One thread per
// connection. An exec request (`ssh host 'show version'`) runs one command through the
// terminal's Exec; every session ends with an exit status, as OpenSSH expects.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test/sim/common/sim_result.hpp"

namespace nc::sim {

/// One interactive CLI session. Called from its connection's thread only.
class Terminal {
 public:
  struct Output {
    std::string text;    // "\n" line ends; the server writes "\r\n"
    bool close = false;  // drop the connection after writing
    bool hang = false;   // stop answering (the client's deadline must fire)
    int exit_status =
        -1;  // with close: a logout that ends with this status (-1: the line just drops)
  };
  virtual ~Terminal() = default;
  /// Banner and first prompt.
  virtual Output Start() = 0;
  /// One line the user typed (already echoed).
  virtual Output OnLine(const std::string& line) = 0;
  /// Whether single keys are wanted (a pager is showing): then OnKey gets each byte, unechoed.
  virtual bool KeyMode() const { return false; }
  virtual Output OnKey(char) { return {}; }
  /// Text that arrived for this session from elsewhere (another user's commit broadcast).
  virtual std::string TakeAsync() { return {}; }
  /// One command on an exec channel (no prompt, no echo): its output and exit status.
  virtual std::pair<std::string, int> Exec(const std::string& command) {
    return {"exec of '" + command + "' is not supported\n", 1};
  }
};

struct SshServerOptions {
  std::string host_key_file;  // private host key (GenerateKeyFile)
  int port = 0;               // 0: any free port on 127.0.0.1
  std::string user = "admin";
  std::string password;        // empty: password login refused
  std::string authorized_key;  // public key in base64 (ssh-ed25519 body); empty: none
};

/// Writes a new ed25519 private key to `path` (mode 0600); returns its public key base64.
Result<std::string> GenerateKeyFile(const std::string& path);
/// A new ed25519 key pair: {private key text (OpenSSH format), public key base64}.
Result<std::pair<std::string, std::string>> GenerateKeyPair();

class SshServer {
 public:
  using TerminalFactory = std::function<std::unique_ptr<Terminal>(const std::string& user)>;
  SshServer(SshServerOptions options, TerminalFactory factory);
  ~SshServer();
  /// Binds 127.0.0.1 and starts accepting. Errors: the bind failed.
  Status Start();
  void Stop();
  int port() const { return port_; }
  int connections() const { return connections_.load(); }
  /// Drops every open connection now (a reboot, a network cut).
  void DropAll();

 private:
  void AcceptLoop();
  void Serve(void* session);

  SshServerOptions options_;
  TerminalFactory factory_;
  void* bind_ = nullptr;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> drop_epoch_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> sessions_;
};

}  // namespace nc::sim
