// A CLI session for in-process tests of the adapters that talk to a command line (the switch
// adapter, VyOS's CLI fallback): every line sent is recorded, and a test-supplied responder
// answers it as the device would (output, prompt or question), or fails it like a broken
// connection. Sessions come from Opener(); an opener can be made to fail.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "transport/cli_transport.hpp"

namespace nc::fakes {

class FakeCli {
 public:
  using Responder = std::function<Result<transport::CliReply>(const std::string& line)>;

  explicit FakeCli(Responder respond) : respond_(std::move(respond)) {}

  transport::CliOpener Opener() {
    return [this]() -> Result<std::unique_ptr<transport::CliSession>> {
      ++opened;
      if (refuse_open) return MakeError(ErrorCode::kUnavailable, "fake: connection refused");
      return std::unique_ptr<transport::CliSession>(std::make_unique<Session>(*this));
    };
  }

  std::vector<std::string> lines;  // every line sent, in order, over every session
  int opened = 0;                  // sessions opened
  bool refuse_open = false;

  /// Whether `line` was sent.
  bool Sent(const std::string& line) const {
    for (const auto& l : lines)
      if (l == line) return true;
    return false;
  }
  /// Index of the first line starting with `prefix` (-1 when none).
  int IndexOf(const std::string& prefix) const {
    for (size_t i = 0; i < lines.size(); ++i)
      if (lines[i].rfind(prefix, 0) == 0) return static_cast<int>(i);
    return -1;
  }

 private:
  class Session final : public transport::CliSession {
   public:
    explicit Session(FakeCli& cli) : cli_(cli) {}
    Result<transport::CliReply> Run(const std::string& line, int) override {
      if (!alive_) return MakeError(ErrorCode::kUnavailable, "fake: session closed");
      cli_.lines.push_back(line);
      auto r = cli_.respond_(line);
      if (!r) alive_ = false;  // a failed line breaks the session, as a lost connection does
      return r;
    }
    bool Alive() const override { return alive_; }

   private:
    FakeCli& cli_;
    bool alive_ = true;
  };

  Responder respond_;
};

}  // namespace nc::fakes
