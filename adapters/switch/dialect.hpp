// A switch CLI dialect: everything that differs between switch operating systems, behind one
// interface (research/switch.md 2.6: model the transaction explicitly, keep per-dialect data out
// of the transaction code). SwitchAdapter drives any dialect through the same sequence: observe,
// enter configuration, stage lines, check, commit with confirmation, verify, confirm, and on any
// failure discard. A new dialect (docs/dialects.md sketches Junos) is one new implementation of
// this interface plus its port-name grammar in core/values; nothing else changes.
// Pure: no I/O (the adapter owns the SSH shell).
#pragma once

#include <string>
#include <vector>

#include "controller/core/model.hpp"
#include "controller/core/plan.hpp"
#include "controller/core/result.hpp"
#include "transport/ssh/ssh_shell.hpp"

namespace nc::switchcli {

/// How the device answered a step.
struct Verdict {
  enum Kind {
    kOk,         // done
    kNoop,       // nothing to do (an empty commit)
    kRejected,   // the device refused; `text` is its own message
    kOutOfSync,  // another user committed since the candidate was made
    kQuestion,   // an unexpected question was asked; `text` is the question
  } kind = kOk;
  std::string text;
};

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual const char* Name() const = 0;
  /// Prompts, questions, pager and the session preparation (paging off).
  virtual ssh::TerminalProfile Profile() const = 0;
  /// Whether a confirmed commit exists (the adapter falls back to a plain commit otherwise).
  virtual bool HasCommitConfirm() const = 0;

  // Reading (operational mode).
  virtual std::vector<std::string> ObserveCommands() const = 0;
  /// Parses the answers to ObserveCommands, in order. kInvalidArgument names the bad line.
  virtual Result<core::SwitchState> ParseObserved(
      const std::vector<std::string>& outputs) const = 0;
  /// The parts of an answer that identify its content (no timestamps), for fingerprints.
  virtual std::string StableText(const std::string& output) const = 0;
  virtual std::string VersionCommand() const = 0;
  virtual std::string ParseVersion(const std::string& output) const = 0;
  virtual std::string PendingCommitCommand() const = 0;
  /// The user holding a pending confirmed commit, or empty when none is pending.
  virtual std::string ParsePendingCommit(const std::string& output) const = 0;
  /// Cancels a pending confirmed commit now, from operational mode (DNOS: one operational
  /// command; Junos would enter configuration, `rollback 1`, `commit`, leave).
  virtual std::vector<std::string> CancelPendingCommands() const = 0;

  // Writing.
  virtual std::string EnterConfigCommand() const = 0;
  virtual std::string LeaveConfigCommand() const = 0;
  virtual std::string DiscardCommand() const = 0;
  virtual std::string CompareCommand() const = 0;
  virtual std::string CheckCommand() const = 0;
  /// `confirm_minutes` 0 = a plain commit. `log` is a plain comment (no quotes).
  virtual std::string CommitCommand(int confirm_minutes, const std::string& log) const = 0;
  /// Confirms a pending confirmed commit (in configuration mode).
  virtual std::string ConfirmCommand() const = 0;
  /// The configuration lines for `plan`, in a safe order (detach before delete, create a
  /// bridge domain before its first member). Every value is validated before it gets here.
  virtual std::vector<std::string> Render(const core::Plan& plan) const = 0;

  // Classifying answers.
  virtual bool InConfigMode(const std::string& prompt) const = 0;
  virtual Verdict ClassifyLine(const ssh::Reply& reply) const = 0;
  virtual Verdict ClassifyCheck(const ssh::Reply& reply) const = 0;
  virtual Verdict ClassifyCommit(const ssh::Reply& reply, const std::string& user) const = 0;
  virtual Verdict ClassifyConfirm(const ssh::Reply& reply) const = 0;
  /// Whether a `CompareCommand` answer shows no difference.
  virtual bool CompareIsEmpty(const std::string& output) const = 0;
  /// The answer that declines `question` (abort, no, cancel): netconverge never says yes to a
  /// question it did not expect.
  virtual std::string Decline(const std::string& question) const = 0;
};

}  // namespace nc::switchcli
