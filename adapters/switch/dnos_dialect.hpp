// DriveNets DNOS (research/switch.md 1.x): flat configuration lines from (cfg)# with `top` after
// every line that can leave the session inside an entry, `show config <section> | flatten |
// no-more` to read, `commit check`, `commit confirm <minutes> log ...`, `commit` to confirm,
// `clear system commit` to cancel, `rollback 0` to discard, `show system commit` for a pending
// confirm.
#pragma once

#include "adapters/switch/dialect.hpp"

namespace nc::switchcli {

class DnosDialect final : public Dialect {
 public:
  const char* Name() const override { return "dnos"; }
  ssh::TerminalProfile Profile() const override;
  bool HasCommitConfirm() const override { return true; }
  std::vector<std::string> ObserveCommands() const override;
  Result<core::SwitchState> ParseObserved(const std::vector<std::string>& outputs) const override;
  std::string StableText(const std::string& output) const override;
  std::string VersionCommand() const override { return "show system"; }
  std::string ParseVersion(const std::string& output) const override;
  std::string PendingCommitCommand() const override { return "show system commit | no-more"; }
  std::string ParsePendingCommit(const std::string& output) const override;
  std::vector<std::string> CancelPendingCommands() const override {
    return {"clear system commit"};
  }
  std::string EnterConfigCommand() const override { return "configure"; }
  std::string LeaveConfigCommand() const override { return "end"; }
  std::string DiscardCommand() const override { return "rollback 0"; }
  std::string CompareCommand() const override { return "show config compare | no-more"; }
  std::string CheckCommand() const override { return "commit check"; }
  std::string CommitCommand(int confirm_minutes, const std::string& log) const override;
  std::string ConfirmCommand() const override { return "commit"; }
  std::vector<std::string> Render(const core::Plan& plan) const override;
  bool InConfigMode(const std::string& prompt) const override;
  Verdict ClassifyLine(const ssh::Reply& reply) const override;
  Verdict ClassifyCheck(const ssh::Reply& reply) const override;
  Verdict ClassifyCommit(const ssh::Reply& reply, const std::string& user) const override;
  Verdict ClassifyConfirm(const ssh::Reply& reply) const override;
  bool CompareIsEmpty(const std::string& output) const override;
  std::string Decline(const std::string& question) const override;
};

}  // namespace nc::switchcli
