// The working state of one pass of DeviceReconciler (private to controller/reconcilers): what
// the steps hand each other, from the desired device to the outcome of its apply.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <time.h>

#include "controller/reconcilers/device_reconciler.hpp"

namespace nc::reconcilers {

/// Device text in logs, events, runs and /v1/health: at most this much, one line.
inline constexpr size_t kMaxMessageBytes = 4096;

/// A number in [0, 1) for jitter (xorshift per thread).
inline double Unit() {
  static thread_local uint64_t s =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) | 1;
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return static_cast<double>(s % 100000) / 100000.0;
}

inline int64_t ThreadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

/// The group a change belongs to for isolation: its resource, or the rule for a foreign one.
inline std::string GroupOf(const core::RuleChange& ch) {
  return ch.resource.empty() ? "rule " + std::to_string(ch.number) : ch.resource;
}

/// What the device said when it refused (its own text when the adapter has it).
inline std::string RefusalText(const ApplyOutcome& o) {
  return !o.device_text.empty() ? o.device_text : o.error->message;
}

/// A refusal the device gave for the plan itself (nothing committed, nothing uncertain).
inline bool IsPlainRejection(const ApplyOutcome& o) {
  return o.error && o.error->code == ErrorCode::kRejected && !o.ambiguous && o.commits == 0 &&
         !o.rolled_back;
}

/// Fingerprints of each resource's desired rules (rules are sorted by device, resource, port).
inline std::map<std::string, uint64_t> ResourceSpecs(const core::Device& device,
                                                     std::span<const core::PortRule> rules) {
  std::map<std::string, uint64_t> out;
  size_t start = 0;
  for (size_t i = 1; i <= rules.size(); ++i) {
    if (i < rules.size() && rules[i].resource() == rules[start].resource()) continue;
    if (start < rules.size())
      out[rules[start].resource()] = core::Fingerprint(device, rules.subspan(start, i - start));
    start = i;
  }
  return out;
}

struct DeviceReconciler::Pass {
  Pass(const core::DesiredState& d, std::string k, std::string t, std::string a, Mode m,
       std::chrono::steady_clock::time_point now, std::string iso, core::Device dev)
      : desired(d),
        key(std::move(k)),
        trigger(std::move(t)),
        actor(std::move(a)),
        mode(m),
        t0(now),
        started(std::move(iso)),
        device(std::move(dev)),
        platform(&PlatformFor(device)) {
    r.device = key;
  }

  const core::DesiredState& desired;
  const std::string key;
  const std::string trigger;
  const std::string actor;  // who asked (the run's record)
  const Mode mode;
  const std::chrono::steady_clock::time_point t0;
  const std::string started;
  core::Device device;  // with the operator's override applied
  const Platform* platform;

  DeviceResult r;
  std::vector<store::Event> events;
  std::optional<store::DeviceOverride> op_override;
  std::vector<std::string> override_notes;
  DeviceAdapter* adapter = nullptr;
  DeviceCache* cache = nullptr;
  Records records;               // read for the plan (LoadRecords), released with the pass
  bool records_changed = false;  // this pass wrote allocations or last-applied records
  ObservedState observed_state;  // this pass's read of the device (released with the pass)
  const ObservedState* observed = nullptr;
  std::span<const core::PortRule> rules;
  std::span<const core::VlanRule> vlans;
  uint64_t desired_fp = 0;
  size_t allocations_after = 0;
  std::map<std::string, uint64_t> specs;             // fingerprint of each resource's rules
  std::map<std::string, std::string> held_rejected;  // resource -> the device's refusal
  ApplyOutcome outcome;
  std::string
      deletions_held;  // the mass-deletion guard's reason when it held this pass's deletions
  bool record = true;  // false: the store refused the run; nothing more is recorded

  void Event(const std::string& type, const std::string& reason, const std::string& resource,
             const std::string& message) {
    events.push_back(store::Event{0, started, key, resource, type, reason, message, 0});
  }
  bool Applying() const { return mode == Mode::kApply; }
  PlanRequest Request(const core::ServiceTable& services, std::string held) const {
    return PlanRequest{device,           rules,           vlans,
                       *observed,        records,         services,
                       desired.orphaned, std::move(held), desired.weak_from_this().lock()};
  }
};

}  // namespace nc::reconcilers
