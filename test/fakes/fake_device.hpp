// FakeDevice: a device behind the DeviceAdapter contract (adapters/device_adapter.hpp), in
// memory, for in-process tests of the reconciler. It keeps NAT rules (a router) and a switch
// state, applies a plan the way the contract says a successful transaction ends (the state the
// plan leads to, read back), and fails on demand the ways the contract names: unreachable,
// refused as a whole (the device's text, the rule it named), a busy commit lock, an answer lost
// after the commit (ambiguous), a read-back that differs (rolled back). It does not emulate a
// real device's protocol - the emulators in test/sim do that.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/device_adapter.hpp"

namespace nc::fakes {

/// The device itself, shared by the test and every adapter the factory hands out.
struct FakeDeviceState {
  std::map<int, core::NatRule> rules;
  core::SwitchState switch_state;
  std::string transport = "https-api";

  // Faults (each applies to the next calls until cleared; the `_once` ones to one call).
  std::optional<Error> observe_error;
  /// Asked with each plan: text when the device refuses the plan as a whole (nothing committed).
  std::function<std::optional<std::string>(const core::Plan&)> refuse;
  std::optional<Error> apply_error;   // e.g. kConflict: the commit lock stayed busy
  bool lose_answer_once = false;      // commits, then the answer is lost (ambiguous)
  bool verify_mismatch_once = false;  // commits, the read-back differs, rolled back
  bool commit_pending = false;        // a commit-confirm a stopped process left pending
  std::vector<std::pair<std::string, std::string>> conditions;

  // What happened.
  int observes = 0;
  int parsed_observes = 0;  // observes that returned rules (not `unchanged`)
  int applies = 0;
  int confirms = 0;
  std::vector<core::Plan> plans;  // every plan Apply got

  uint64_t Fingerprint() const {
    std::string text = transport;
    for (const auto& [n, r] : rules)
      text += std::to_string(n) + '|' + r.description + '|' + r.inbound_interface + '|' +
              r.protocol + '|' + r.destination_port + '|' + r.translation_address + '|' +
              r.translation_port + '|' + (r.disabled ? "d" : "") + '\n';
    for (const auto& [name, s] : switch_state.interfaces)
      text += name + '|' + std::to_string(s.vlan) + '|' + s.description + '|' + s.bridge_domain +
              '|' + (s.admin_enabled ? "up" : "down") + '\n';
    for (const auto& [name, bd] : switch_state.bridge_domains)
      text += "bd " + name + '|' + bd.description + '\n';
    return std::hash<std::string>{}(text) | 1;
  }
};

class FakeDevice final : public DeviceAdapter {
 public:
  explicit FakeDevice(std::shared_ptr<FakeDeviceState> state) : s_(std::move(state)) {}

  Result<ObservedState> Observe(uint64_t known_fingerprint) override {
    ++s_->observes;
    if (s_->observe_error) return tl::unexpected(*s_->observe_error);
    ObservedState o;
    o.transport = s_->transport;
    o.fingerprint = s_->Fingerprint();
    if (known_fingerprint != 0 && known_fingerprint == o.fingerprint) {
      o.unchanged = true;
      return o;
    }
    ++s_->parsed_observes;
    o.nat_rules = s_->rules;
    o.switch_state = s_->switch_state;
    return o;
  }

  ApplyOutcome Apply(const core::Plan& plan, const ObservedState&) override {
    ++s_->applies;
    s_->plans.push_back(plan);
    ApplyOutcome out;
    out.transport = s_->transport;
    out.operations = Render(plan);
    if (s_->apply_error) {
      out.error = s_->apply_error;
      return out;
    }
    if (s_->refuse)
      if (auto text = s_->refuse(plan)) {
        out.error = Error{ErrorCode::kRejected, "device rejected the change: " + *text};
        out.device_text = *text;
        out.refused_at_set = true;
        if (auto at = text->find("rule "); at != std::string::npos)
          out.named_rule = std::atoi(text->c_str() + at + 5);
        return out;
      }
    if (s_->verify_mismatch_once) {
      s_->verify_mismatch_once = false;
      out.commits = 2;  // the change, then its inverse
      out.rolled_back = true;
      out.rollback_detail = "the read-back differed from the plan; the change was reverted";
      out.error = Error{ErrorCode::kInternal, "verification failed: rule read back differs"};
      return out;
    }
    s_->rules = core::ExpectedAfter(s_->rules, plan);
    s_->switch_state = core::ExpectedAfter(s_->switch_state, plan);
    if (s_->lose_answer_once) {
      s_->lose_answer_once = false;
      out.ambiguous = true;
      out.error = Error{ErrorCode::kDeadlineExceeded, "no answer within the write timeout"};
      return out;
    }
    out.commits = 1;
    out.confirmed = out.saved = true;
    out.read_back = s_->rules;
    out.switch_read_back = s_->switch_state;
    return out;
  }

  Result<DeviceInfo> Probe() override {
    return DeviceInfo{"fake 1.0", "fake", "/info", true, false};
  }
  std::vector<DiagnosticCheck> Diagnose() override { return {}; }
  Result<bool> ConfirmPending() override {
    ++s_->confirms;
    if (s_->observe_error) return tl::unexpected(*s_->observe_error);
    const bool was = s_->commit_pending;
    s_->commit_pending = false;
    return was;
  }
  std::vector<std::pair<std::string, std::string>> Conditions() const override {
    return s_->conditions;
  }
  core::OpLog Render(const core::Plan& plan) const override {
    core::OpLog ops;
    for (const auto& ch : plan.changes)
      ops.push_back(std::string(ch.kind == core::ChangeKind::kDelete ? "delete" : "set") +
                    " nat destination rule " + std::to_string(ch.number));
    for (const auto& ch : plan.interfaces)
      ops.push_back(std::string(ch.kind == core::ChangeKind::kDelete ? "no " : "") + "interfaces " +
                    ch.name);
    for (const auto& ch : plan.bridge_domains)
      ops.push_back(std::string(ch.kind == core::ChangeKind::kDelete ? "no " : "") +
                    "bridge-domain " + ch.name);
    return ops;
  }

 private:
  std::shared_ptr<FakeDeviceState> s_;
};

/// Hands out FakeDevices for devices by key ("default/edge1"); one state per device.
class FakeFactory final : public AdapterFactory {
 public:
  std::map<std::string, std::shared_ptr<FakeDeviceState>> devices;
  std::optional<Error> create_error;  // e.g. the credentials file cannot be read
  std::string credentials_version;    // changes = rotated credentials
  int created = 0;

  std::shared_ptr<FakeDeviceState> Device(const std::string& key) {
    auto& d = devices[key];
    if (!d) d = std::make_shared<FakeDeviceState>();
    return d;
  }
  Result<std::unique_ptr<DeviceAdapter>> Create(const core::Device& device) override {
    if (create_error) return tl::unexpected(*create_error);
    ++created;
    return std::unique_ptr<DeviceAdapter>(std::make_unique<FakeDevice>(Device(device.Key())));
  }
  std::string CredentialsVersion(const core::Device&) override { return credentials_version; }
};

}  // namespace nc::fakes
