// vyos-sim: an emulator of the VyOS HTTP API (1.3, 1.4 and 1.5 profiles) in front of its own
// configuration tree, faithful to what research/vyos.md and research/vyos-conformance.md record -
// including the awkward parts: one shared config session behind a global lock, one commit per
// /configure, value checks at set time and NAT checks at commit (from VyOS's own schema, see
// sim_config.hpp), string-only values, the "empty" 400 on showConfig, the text/html content type,
// commit-confirm that reverts (reboot to the saved file, or reload) when not confirmed, builds that
// arm the confirm timer before they commit, the "temporarily locked" commit error, 1.5 without
// `service https api rest`, versions without /info or `confirm_time`. Adds a latency model, fault
// injection and request counters for tests and benchmarks. Links no netconverge code.
//
// VyosSim is transport-free: Handle() takes a decoded HTTP request. VyosSimServer (HTTPS) and
// the SSH CLI front it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test/sim/common/ssh_server.hpp"
#include "test/sim/vyos/sim_config.hpp"

namespace nc::sim {

/// Simulated cost of the device's work, in milliseconds before `scale` is applied.
struct LatencyModel {
  double request_ms = 0;          // every API request (nginx + FastAPI)
  double op_ms = 0;               // every set/delete (one my_set/my_delete subprocess each)
  double commit_ms = 0;           // every commit
  double commit_per_rule_ms = 0;  // every commit, per NAT rule in the resulting config
  double scale = 1.0;
};

/// Faults to inject. Counters are consumed as they fire.
struct Faults {
  int lock_busy = 0;     // next N commits fail with the commit-lock error
  int fail_commits = 0;  // next N commits fail (verification-style error)
  std::string fail_message = "Commit failed: injected fault";
  std::string after_commit;  // "504", "500" or "drop": after a successful commit
  int after_commit_count = 0;
  int slow_ms = 0;           // delay every response by this much ...
  int slow_count = 0;        // ... for the next N requests (-1 = all) ...
  std::string slow_path;     // ... to this path only ("" = any), e.g. "/configure"
  int corrupt_readback = 0;  // next N showConfig answers alter one rule's translation port ...
  int corrupt_skip = 0;      // ... after letting this many answers through unaltered
  int fail_saves = 0;        // next N saves fail (the running config stays unsaved)
  int fail_confirm = 0;      // next N confirm requests are dropped
  std::vector<std::string> reject_values;  // a set of any of these values fails, naming no rule
  int answer_count = 0;                    // next N destination-NAT showConfig answers are ...
  std::string answer_body;  // ... this body, verbatim (a broken or hostile device) ...
  int answer_skip = 0;      // ... after letting this many answers through
  bool operator==(const Faults&) const = default;
};

struct SimStats {
  int64_t requests = 0;
  int64_t info = 0;
  int64_t retrieve = 0;
  int64_t configure = 0;  // /configure requests, including confirm
  int64_t config_file = 0;
  int64_t commits = 0;          // successful commits
  int64_t commit_confirms = 0;  // commits with confirm_time
  int64_t confirms = 0;         // confirm operations that stopped a timer
  int64_t reverts = 0;          // commit-confirm timeouts that reverted the config
  int64_t saves = 0;
  int64_t ops = 0;     // set/delete operations received
  int64_t failed = 0;  // non-2xx answers
  int64_t bytes_in = 0;
};

struct SimRequest {
  std::string method;
  std::string target;  // path and query
  std::string content_type;
  std::string body;
};

struct SimReply {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  bool drop = false;  // close the connection without answering
  int delay_ms = 0;   // wait before answering (slow fault)
};

class VyosSim {
 public:
  struct Options {
    std::vector<std::string> keys{"netconverge-demo-key"};
    vy::Version profile = vy::Version::k15;  // the API surface and syntax of 1.3, 1.4 or 1.5
    std::string version = "1.5-rolling-202506010000";  // what /info, /show and the CLI report
    bool info_endpoint = true;  // false: a build before /info existed (404); 1.3/1.4 never have it
    bool rest = true;           // 1.5: `service https api rest` configured (else REST answers 404)
    bool arm_first = false;     // --confirm-order arm-first: the timer is armed before the commit
    bool confirm_time = true;   // 1.5: false = a build before commit-confirm in the API (mid 2025)
    std::string hostname = "vyos-sim";
    bool strict = false;                    // service https api rest strict
    std::string confirm_action = "reboot";  // or "reload"
    int64_t confirm_minute_ms =
        60'000;                    // length of a "minute" for confirm timers (tests shrink it)
    int64_t body_limit = 1 << 20;  // nginx client_max_body_size
    LatencyModel latency;
    std::string saved_path;  // where `save` writes config.boot (optional)
  };

  explicit VyosSim(Options options);
  ~VyosSim();
  VyosSim(const VyosSim&) = delete;
  VyosSim& operator=(const VyosSim&) = delete;

  /// Handles one HTTP request. Thread-safe; blocks for the simulated latency.
  SimReply Handle(const SimRequest& req);

  /// Loads a config.boot (or set commands when `set_commands`) as running and saved config,
  /// migrated to the profile's syntax as the router's boot would.
  Status LoadConfig(std::string_view text, bool set_commands);
  /// Applies set commands to the running config directly (as another admin's commit would),
  /// counting one commit. For tests that need out-of-band changes and unmanaged rules.
  Status ApplyOutOfBand(std::string_view set_commands);
  /// Simulates a reboot: running config := saved config, pending confirm dropped.
  void Reboot();

  /// The running config in the emulator's own rendering: "commands", "boot" or "json".
  std::string RenderRunning(std::string_view format = "commands") const;
  std::string RunningSetCommands() const { return RenderRunning("commands"); }
  SimStats Stats() const;
  void ResetStats();
  /// The API keys the device accepts from now on (an operator rotating `service https api keys`).
  void SetKeys(std::vector<std::string> keys);
  void SetFaults(const Faults& f);
  Faults CurrentFaults() const;
  void SetLatency(const LatencyModel& m);
  bool ConfirmPending() const;
  int64_t body_limit() const { return options_.body_limit; }

  /// A VyOS CLI session (`configure`, set/delete/commit/commit-confirm/confirm/compare/save,
  /// `show configuration commands`) over the same configuration, for an SSH server.
  std::unique_ptr<Terminal> NewTerminal(const std::string& user);
  /// The CLI's commit: the same checks, faults, latency and confirm timer as /configure.
  /// Returns the CLI's text, or the device's error text.
  Result<std::string> CliCommit(const vy::Node& working, int confirm_minutes,
                                const std::string& comment = "", const std::string& user = "vyos");
  /// The latency model over SSH: a request per command line, an operation per set/delete.
  void CliLatency(int ops) const;
  /// `show system commit`: the commit history, newest first.
  std::string CommitLog() const;
  /// The saved config.boot's tree (`compare saved`).
  vy::Node SavedTree() const;
  std::string CliConfirm();
  Result<std::string> CliSave();
  vy::Node RunningTree() const;
  /// A session's set/delete with the emulator's schema and set-time faults.
  Status SessionSet(vy::Node& working, const std::vector<std::string>& path,
                    const std::optional<std::string>& value);
  Status SessionDelete(vy::Node& working, const std::vector<std::string>& path,
                       const std::optional<std::string>& value, bool strict);
  const std::string& version() const { return options_.version; }
  vy::Version profile() const { return options_.profile; }
  bool KnownPath(const std::vector<std::string>& path) const { return schema_.Known(path); }
  const std::string& hostname() const { return options_.hostname; }

 private:
  struct Outcome {  // a commit's result before it becomes an HTTP answer or CLI text
    int status = 200;
    std::string error;
    std::optional<std::string> text;
    bool drop = false;
    std::string after;  // "504", "500": the answer after a successful commit
  };
  SimReply Info(const SimRequest& req);
  SimReply Show(const struct ParsedCommands& cmds);
  SimReply Retrieve(const std::string& key_in_form, const std::string& body, bool form,
                    const std::string& data);
  SimReply Dispatch(const std::string& endpoint, const SimRequest& req);
  SimReply Configure(const struct ParsedCommands& cmds);
  SimReply ConfigFile(const struct ParsedCommands& cmds);
  SimReply Control(const SimRequest& req);
  SimReply Confirm();
  Outcome Commit(vy::Node working, int confirm_minutes, const std::string& via = "http-api",
                 const std::string& comment = "", const std::string& user = "vyos");
  static SimReply ToReply(const Outcome& o);
  void Sleep(double ms) const;
  LatencyModel Latency() const;
  void TimerLoop();
  int NatRuleCount(const vy::Node& n) const;
  std::string Release() const;
  bool KeyValid(const std::string& key) const;

  Options options_;
  vy::Schema schema_;
  mutable std::mutex mu_;  // state below
  std::mutex api_lock_;    // the API's process-wide configuration lock
  vy::Node running_;
  std::vector<std::string>
      foreign_;        // loaded set lines outside the emulator's schema, kept verbatim
  std::string saved_;  // config.boot text on "disk"
  bool confirm_pending_ = false;
  std::chrono::steady_clock::time_point confirm_deadline_;
  vy::Node confirm_revert_to_;
  struct CommitEntry {
    std::string when, user, via, comment;
  };
  std::vector<CommitEntry> commit_log_;  // oldest first
  Faults faults_;
  SimStats stats_;
  bool stopping_ = false;
  std::condition_variable timer_cv_;
  std::thread timer_;
};

}  // namespace nc::sim
