// switch-sim: a DriveNets DNOS-style CLI (research/switch.md 1.x) over the configuration this
// project manages: interfaces (ports, sub-interfaces with vlan-id / l2-service / admin-state /
// description) and network-services bridge-domain instances with their member interfaces.
// Per session: operational and configuration modes with hierarchy-relative commands (a one-line
// path that ends on an entry leaves you inside it, so the next top-level word is an
// "ERROR: Unknown word"), a private candidate, `top`/`exit`/`end`, `show config ... | flatten |
// no-more`, a pager and ANSI colour until paging is switched off, `commit check`, `commit`,
// `commit confirm N` with a timer that reverts, `clear system commit`, `rollback 0`,
// `show system commit`, the "not applicable" notice for an empty commit, asynchronous
// "Commit succeeded by" broadcasts to other sessions, the out-of-sync warning after another
// user's commit, and (yes/no) questions. Latency and faults are set by the owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "test/sim/common/ssh_server.hpp"

namespace nc::sim {

struct SwitchSimOptions {
  std::string hostname = "dnRouter";
  std::string version = "19.1.0";
  std::vector<std::string> ports;      // physical ports present (default ge100-0/0/0..47)
  int per_command_ms = 0;              // latency of every command
  int per_commit_ms = 0;               // latency of every commit (and commit check)
  double per_interface_commit_ms = 0;  // plus this per interface in the configuration
  int banner_ms = 0;                   // "DRIVENETS CLI Loading..." before the first prompt
  int64_t minute_ms = 60'000;          // length of a commit-confirm "minute"
  int terminal_length = 24;            // pager height until `set cli-terminal-length 0`
};

struct SwitchFaults {
  std::string hang_on;          // a line containing this gets no answer, ever
  std::string unknown_word_on;  // a configuration line containing this: ERROR: Unknown word
  int fail_commit_check = 0;    // the next N commit checks (and commits) fail
  bool drop_before_confirm =
      false;  // the connection drops on the next command after a commit confirm
  bool concurrent_commit =
      false;                   // another user commits just before the next commit check / commit
  bool ask_on_commit = false;  // the next commit asks "(yes/no) [no]"
};

struct SwitchStats {
  int logins = 0;
  int commands = 0;
  int config_lines = 0;  // configuration commands (changes to a candidate)
  int commit_checks = 0;
  int commits = 0;  // commits that changed the running configuration
  int confirms = 0;
  int rollbacks = 0;  // confirm timers expired or cleared
};

class SwitchSim {
 public:
  explicit SwitchSim(SwitchSimOptions options = {});
  ~SwitchSim();

  /// A CLI session for the SSH server.
  std::unique_ptr<Terminal> NewTerminal(const std::string& user);

  void SetFaults(const SwitchFaults& faults);
  SwitchStats Stats();
  void ResetStats();
  /// The running configuration as `show config | flatten` lines (no header).
  std::vector<std::string> RunningFlat();
  /// Another user's commit of flat configuration lines ("no ..." deletes); broadcast to sessions.
  Status CommitOutOfBand(const std::vector<std::string>& lines,
                         const std::string& user = "netops2");
  bool PendingConfirm();

  // Used by sessions.
  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace nc::sim
