// VyOS over its SSH CLI (spec 4.6): the fallback transport when the HTTPS API fails. The same
// plan as the API path, sent as one configuration session: `configure`, the set/delete lines,
// `commit-confirm N` (answering its "Proceed ?") or `commit`, a read-back of `show configuration
// commands` compared with the plan, `confirm`, `save`, `exit`. Any refused line or failed commit
// discards the session (`exit discard`); the device's own text is reported.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "adapters/device_adapter.hpp"
#include "adapters/vyos/vyos_codec.hpp"
#include "transport/ssh/ssh_shell.hpp"

namespace nc::vyos {

struct VyosCliOptions {
  ssh::ConnectOptions connect;
  bool commit_confirm = true;
  int confirm_minutes = 2;
  bool save_after_confirm = true;
  int command_timeout_ms = 30'000;
  int commit_timeout_ms = 600'000;
};

/// Prompts and questions of the VyOS shell.
ssh::TerminalProfile VyosTerminalProfile();

class VyosCli {
 public:
  /// Sessions come from `opener`; without one, over SSH with options.connect.
  explicit VyosCli(VyosCliOptions options, transport::CliOpener opener = nullptr);
  /// Every destination rule of the running configuration: `show configuration commands` in
  /// operational mode, `run show configuration commands` in configuration mode (where `show`
  /// alone reads the candidate as a configuration path). A read without a single `set` line is
  /// an error, never "no rules".
  Result<std::map<int, core::NatRule>> ReadRules(uint64_t* fingerprint);
  ApplyOutcome Apply(const core::Plan& plan, const std::map<int, core::NatRule>& observed);
  /// The version `show version` reports ("1.3.8"), in operational mode.
  Result<std::string> ShowVersion();
  /// How this router writes `inbound-interface` (found by the API adapter's probe).
  void SetSyntax(InterfaceSyntax syntax) {
    syntax_ = syntax;
    syntax_known_ = true;
  }
  std::string Where() const;
  /// Called with the length of each command run (the adapter's request latency by transport).
  void OnRequest(std::function<void(std::chrono::steady_clock::duration)> f) {
    on_request_ = std::move(f);
  }

 private:
  /// The NAT syntax (1.2/1.3 leaf or 1.4+ `name`), from `show version` when not yet known.
  Status KnowSyntax();
  Result<ssh::Reply> Run(const std::string& line, int timeout_ms, core::OpLog* ops = nullptr);
  void Discard(core::OpLog& ops);

  VyosCliOptions options_;
  ssh::TerminalProfile profile_;
  transport::CliOpener opener_;
  std::unique_ptr<transport::CliSession> shell_;
  std::function<void(std::chrono::steady_clock::duration)> on_request_;
  bool config_mode_ = false;  // the last prompt was configuration mode's `user@host#`
  InterfaceSyntax syntax_ = InterfaceSyntax::kName;
  bool syntax_known_ =
      false;  // else found from `show version` before the first write (1.2/1.3: the leaf)
};

}  // namespace nc::vyos
