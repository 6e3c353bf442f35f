// The CLI seam: a line-oriented session with a device's command line. One line in, its reply
// out; prompts, questions, pagers, echo and terminal escapes are handled below this interface
// (transport/ssh implements it over libssh). The switch adapter and VyOS's CLI fallback talk to
// a CliSession, so test/fakes can stand in for the device in-process.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "controller/core/result.hpp"

namespace nc::transport {

struct CliReply {
  std::string output;    // between the echo and the prompt (or question), normalised
  std::string prompt;    // the prompt line that ended it (empty when a question did)
  std::string question;  // the question line, when the CLI asks one
};

class CliSession {
 public:
  virtual ~CliSession() = default;
  /// Sends `line` and reads until the prompt or a question. kDeadlineExceeded after
  /// `timeout_ms` without one (the session is then unusable), kUnavailable when the connection
  /// closed.
  virtual Result<CliReply> Run(const std::string& line, int timeout_ms) = 0;
  /// Whether the session is still usable (no timeout or close happened).
  virtual bool Alive() const = 0;
};

/// Opens a new session to one device (connect, authenticate, first prompt, paging off).
using CliOpener = std::function<Result<std::unique_ptr<CliSession>>()>;

}  // namespace nc::transport
