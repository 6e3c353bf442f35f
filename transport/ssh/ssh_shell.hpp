// An interactive CLI over SSH (libssh): a shell on a PTY, driven like netmiko/scrapli drive a
// network CLI. One command at a time: send the line, wait for its echo, then read until the
// prompt (or a question, or a pager that is answered), every read bounded by a deadline. Output
// comes back with ANSI sequences stripped and line ends normalised. Host keys are checked
// against a known_hosts file: `strict` accepts only a recorded key; `accept-new` records an
// unknown key once and still refuses a changed one.
//
// Threading: one Shell is used by one thread at a time (libssh sessions are not thread-safe).
#pragma once

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "controller/core/result.hpp"
#include "transport/cli_transport.hpp"

namespace nc::ssh {

enum class HostKeyPolicy { kStrict, kAcceptNew };

struct ConnectOptions {
  std::string host;
  int port = 22;
  std::string user;
  std::string password;     // secret: never logged or returned
  std::string private_key;  // key text (OpenSSH/PEM), secret
  std::string known_hosts;  // file; empty = ~/.ssh/known_hosts
  HostKeyPolicy policy = HostKeyPolicy::kStrict;
  int connect_timeout_ms = 10'000;
};

/// What differs between CLIs: data, not code (scrapli's platform definitions).
struct TerminalProfile {
  std::regex prompt;    // the whole last line when the CLI waits for a command
  std::regex question;  // the whole last line when it asks something ("(yes/no) [no]?")
  std::regex pager;     // the whole last line of a pager ("-- More -- (Press q to quit)")
  std::string pager_answer = " ";
  std::vector<std::string> on_open;  // sent once after login (paging off)
  int login_timeout_ms = 30'000;     // banner / "CLI Loading..." until the first prompt
};

using Reply = transport::CliReply;

/// Removes CSI / OSC escape sequences and normalises line ends (\r\n, \r\r\n, lone \r) to \n.
std::string NormalizeTerminalText(std::string_view raw);

class Shell final : public transport::CliSession {
 public:
  /// A CliOpener for `options`.
  static transport::CliOpener Opener(ConnectOptions options, TerminalProfile profile);
  /// Connects, checks the host key, authenticates (private key, else password), opens a shell
  /// on a 511x1000 PTY, waits for the first prompt and sends the profile's on_open lines.
  /// Errors: kUnavailable (connect), kPermissionDenied (host key, authentication),
  /// kDeadlineExceeded (no prompt).
  static Result<std::unique_ptr<Shell>> Open(const ConnectOptions& options,
                                             const TerminalProfile& profile);
  ~Shell() override;
  Shell(const Shell&) = delete;
  Shell& operator=(const Shell&) = delete;

  /// Sends `line` and reads until the prompt or a question. kDeadlineExceeded after
  /// `timeout_ms` without one (the shell is then unusable: close it), kUnavailable when the
  /// connection closed.
  Result<Reply> Run(const std::string& line, int timeout_ms) override;
  /// Whether the connection is still usable (no timeout or close happened).
  bool Alive() const override;
  /// "SHA256:..." of the server's host key.
  const std::string& HostKeyFingerprint() const { return fingerprint_; }
  /// Whether Open recorded the host key (accept-new on an unknown key).
  bool RecordedHostKey() const { return recorded_; }
  int64_t LinesSent() const { return lines_sent_; }
  const std::string& Host() const { return where_; }

 private:
  Shell() = default;
  Result<Reply> ReadReply(const std::string& echo, int timeout_ms, const std::string& what);
  // The steps of Open, in order.
  Status Connect(const ConnectOptions& o);
  Status CheckHostKey(const ConnectOptions& o);
  Status RecordHostKey(const ConnectOptions& o, const std::string& file);
  Status Authenticate(const ConnectOptions& o);
  Status StartShell();
  Status Write(const std::string& text);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  TerminalProfile profile_;
  std::string fingerprint_;
  std::string where_;
  bool recorded_ = false;
  bool broken_ = false;
  int64_t lines_sent_ = 0;
};

}  // namespace nc::ssh
