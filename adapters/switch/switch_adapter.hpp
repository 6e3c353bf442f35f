// DeviceAdapter for switches driven over an interactive SSH CLI, any dialect. One SSH session
// is kept per device between passes (reopened when it broke). Apply is one transaction:
//   pending-confirm probe -> enter configuration -> staged lines (each checked) -> compare ->
//   commit check -> commit confirm N -> leave configuration -> read back and verify -> confirm.
// Any failure before the commit discards the candidate (rollback 0, leave configuration); a
// failure after it cancels the pending confirm (clear system commit), or, when the connection
// is gone, reconnects to cancel it, and otherwise leaves the device's timer to revert it.
// Questions are declined (abort / no); the device's own text is reported.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "adapters/device_adapter.hpp"
#include "adapters/switch/dialect.hpp"
#include "transport/ssh/ssh_shell.hpp"

namespace nc::switchcli {

struct SwitchAdapterOptions {
  ssh::ConnectOptions connect;
  bool commit_confirm = true;
  int confirm_minutes = 2;
  int command_timeout_ms = 30'000;
  int commit_timeout_ms = 120'000;  // commits can take long (netmiko uses 120 s)
};

class SwitchAdapter final : public DeviceAdapter {
 public:
  /// Sessions come from `opener`; without one, over SSH with options.connect.
  SwitchAdapter(std::unique_ptr<Dialect> dialect, SwitchAdapterOptions options,
                transport::CliOpener opener = nullptr);

  Result<ObservedState> Observe(uint64_t known_fingerprint = 0) override;
  ApplyOutcome Apply(const core::Plan& plan, const ObservedState& observed) override;
  Result<DeviceInfo> Probe() override;
  std::vector<DiagnosticCheck> Diagnose() override;
  core::OpLog Render(const core::Plan& plan) const override;

 private:
  Result<transport::CliSession*> Connect();
  /// Runs one command, recording it in `ops` (when given); a broken shell is dropped.
  Result<ssh::Reply> Run(const std::string& line, int timeout_ms, core::OpLog* ops = nullptr);
  Result<core::SwitchState> Read(uint64_t known_fingerprint, uint64_t* fingerprint,
                                 bool* unchanged);
  /// Back to a clean operational prompt: decline a question, discard the candidate, leave.
  void Discard(core::OpLog& ops);
  /// Cancels our pending confirmed commit now (reconnecting if needed). Returns whether it did.
  bool CancelPending(core::OpLog& ops, std::string& detail);

  // The steps of Apply, in order. Each returns whether the next one runs; a step that stops
  // with a failure sets out.error (one that stops because nothing is left to do does not).
  bool ResolvePending(ApplyOutcome& out);
  bool Stage(ApplyOutcome& out, const core::Plan& plan);
  bool Check(ApplyOutcome& out);
  bool Commit(ApplyOutcome& out, const core::Plan& plan, bool confirm);
  bool Verify(ApplyOutcome& out, const core::Plan& plan, const ObservedState& observed,
              bool confirm);
  void Confirm(ApplyOutcome& out);
  /// Fails the apply with `why`, first cancelling our confirmed commit when one was sent.
  bool Revert(ApplyOutcome& out, bool confirm, ErrorCode code, std::string why);

  std::unique_ptr<Dialect> dialect_;
  SwitchAdapterOptions options_;
  ssh::TerminalProfile profile_;
  transport::CliOpener opener_;
  std::unique_ptr<transport::CliSession> shell_;
  std::optional<DeviceInfo> info_;
};

}  // namespace nc::switchcli
