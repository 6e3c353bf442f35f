// The one interface between the control loop and a device, shaped like Crossplane's
// ExternalClient: Observe reads the subtree the controller manages; Apply performs a whole plan
// as one safe transaction (commit with confirmation where the device has it, verify by reading
// back, confirm, save). The reconciler holds no device-specific logic.
//
// Threading: implementations block the calling worker thread, every network operation bounded
// by a deadline. One adapter is used by one worker at a time (the work queue never hands a
// device to two workers).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controller/core/model.hpp"
#include "controller/core/oplog.hpp"
#include "controller/core/plan.hpp"
#include "controller/core/result.hpp"

namespace nc {

struct ObservedState {
  std::map<int, core::NatRule> nat_rules;  // `nat destination rule N`, every rule on the device
  core::SwitchState switch_state;          // a switch: sub-interfaces and bridge domains
  std::string transport;                   // what answered: "https-api" or "ssh-cli"
  std::string fallback_reason;  // set when the fallback transport answered: why the primary did not
  uint64_t fingerprint = 0;     // of the device's raw answer (like an ETag)
  bool unchanged = false;       // the answer matched `known_fingerprint`: rules not parsed
};

struct DeviceInfo {
  std::string version;
  std::string hostname;
  std::string
      version_source;  // where the version came from: "/info", "/show", "ssh" or "" (unknown)
  bool commit_confirm =
      false;  // the device can commit with a confirmation timer (over its primary transport)
  bool legacy_syntax = false;  // VyOS 1.2/1.3: `inbound-interface X` is a leaf (no `name` node)
};

/// One finding of `netconverge test-device`: `state` is ok, FAIL, skip or info.
struct DiagnosticCheck {
  std::string name;
  std::string state;
  std::string detail;
};

/// What an Apply did. `error` unset = every change committed, verified, confirmed and saved.
struct ApplyOutcome {
  std::optional<Error> error;
  bool ambiguous = false;    // the device may or may not have the change: re-read first
  bool rolled_back = false;  // a committed change was undone (inverse plan or timer)
  std::string rollback_detail;
  int commits = 0;
  bool confirmed = false;
  bool unconfirmed = false;  // committed without a confirmation timer (the device has none)
  bool saved = false;
  std::string transport;   // "https-api" or "ssh-cli"
  core::OpLog operations;  // exactly what was sent, secrets redacted, in order
  // When the device refused the change itself (error kRejected, nothing committed), in its own
  // terms: its text, the rule it named (if any), and whether it refused a value as it was set
  // (deterministic) rather than at commit (which a second try may pass).
  std::string device_text;
  std::optional<int> named_rule;
  bool refused_at_set = false;
  std::optional<std::map<int, core::NatRule>> read_back;  // the device after the change
  /// The rule numbers of read_back, once the pass no longer needs its rules (they are dropped
  /// before the records are written: 3 MB for 10,000 rules at the pass's peak).
  std::optional<std::vector<int>> numbers_after;
  std::optional<core::SwitchState> switch_read_back;  // a switch after the change
};

/// One request to a device: its transport ("https-api", "ssh-cli") and how long it took.
struct RequestTiming {
  const char* transport = "";
  double seconds = 0;
};

class DeviceAdapter {
 public:
  virtual ~DeviceAdapter() = default;

  /// The requests made since the last call (netconverge_device_request_duration_seconds).
  std::vector<RequestTiming> TakeRequestTimings() { return std::exchange(timings_, {}); }

  /// Reads the device's managed subtree once. Idempotent, read-only. Errors: kUnavailable
  /// (unreachable, 5xx), kDeadlineExceeded, kPermissionDenied (credentials, certificate).
  /// With a non-zero `known_fingerprint` equal to the fingerprint of the device's answer, the
  /// answer is not parsed and `unchanged` is set (the caller still has those rules).
  virtual Result<ObservedState> Observe(uint64_t known_fingerprint = 0) = 0;

  /// Applies `plan` (computed against `observed`) as one transaction. Never leaves a rule
  /// half-configured: the device rejects a failing request whole, an unverified commit is
  /// rolled back. Not idempotent by itself; after an ambiguous outcome, re-observe and re-plan.
  virtual ApplyOutcome Apply(const core::Plan& plan, const ObservedState& observed) = 0;

  /// Platform, version and capabilities (unauthenticated where the device allows). Cached
  /// after the first success.
  virtual Result<DeviceInfo> Probe() = 0;

  /// For `netconverge test-device`, once the endpoint accepts TCP: platform version,
  /// authentication, a read of the managed configuration and confirmed-commit support, in the
  /// device's own terms, over the primary transport only. Read-only.
  virtual std::vector<DiagnosticCheck> Diagnose() = 0;
  /// Recovery of an apply a stopped process left open (its intent record says the change was
  /// netconverge's): confirms a commit-confirm the device still holds pending, so that the
  /// device does not revert by its timer while the recovery pass reads it. True when one was
  /// pending (then the change is also saved by the next pass). Idempotent; devices without
  /// commit-confirm answer false.
  virtual Result<bool> ConfirmPending() { return false; }
  /// Whether the adapter owes the device work even without changes (a save that failed).
  virtual bool PendingWork() const { return false; }
  /// Standing conditions of the device as the adapter knows it (reason, message), recorded
  /// by the reconciler when they appear: e.g. UnconfirmedCommits.
  virtual std::vector<std::pair<std::string, std::string>> Conditions() const { return {}; }

  /// The exact operations Apply would send for `plan` (for `netconverge plan`).
  virtual core::OpLog Render(const core::Plan& plan) const = 0;

 protected:
  void Timed(const char* transport, std::chrono::steady_clock::duration took) {
    timings_.push_back({transport, std::chrono::duration<double>(took).count()});
  }

 private:
  std::vector<RequestTiming> timings_;
};

/// Creates the adapter for a device (credentials resolved by the caller's source).
class AdapterFactory {
 public:
  virtual ~AdapterFactory() = default;
  virtual Result<std::unique_ptr<DeviceAdapter>> Create(const core::Device& device) = 0;
  /// A token that changes when the device's credentials or trust material change (a rotated
  /// Secret or credentials file, a new CA file): the reconciler creates a new adapter then.
  /// Cheap (a stat, or a Secret read at most once a minute). "" when the factory cannot tell.
  virtual std::string CredentialsVersion(const core::Device&) { return ""; }
};

}  // namespace nc
