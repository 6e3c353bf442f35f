// DeviceAdapter for VyOS over its HTTPS API. Observe = one showConfig of `nat destination`.
// Apply = the whole plan as one /configure list (one commit) with `confirm_time` when /info says
// the device supports it, a read-back that must match the plan, the confirm, then a save. Lock
// errors are retried; after an ambiguous failure (timeout, 5xx, dropped connection) the device is
// re-read before anything else is sent; an unverified commit is rolled back.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "adapters/device_adapter.hpp"
#include "adapters/vyos/vyos_cli.hpp"
#include "adapters/vyos/vyos_codec.hpp"
#include "transport/http/https_client.hpp"

namespace nc::vyos {

struct VyosAdapterOptions {
  std::string api_key;
  bool commit_confirm = true;
  int confirm_minutes = 2;
  bool save_after_confirm = true;
  int64_t max_request_bytes = 1 << 20;
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds write_timeout{600'000};  // nginx's proxy_read_timeout on VyOS
  int lock_retries = 5;
  std::chrono::milliseconds lock_backoff{200};
  /// The SSH CLI used when the API is unreachable or answers 5xx (spec.transport.fallback).
  std::optional<VyosCliOptions> fallback;
  /// spec.tls.insecureSkipVerify: the certificate is not checked; a standing InsecureTLS warning.
  bool insecure_tls = false;
};

class VyosAdapter final : public DeviceAdapter {
 public:
  VyosAdapter(std::unique_ptr<transport::HttpTransport> client, VyosAdapterOptions options);

  Result<ObservedState> Observe(uint64_t known_fingerprint = 0) override;
  ApplyOutcome Apply(const core::Plan& plan, const ObservedState& observed) override;
  Result<DeviceInfo> Probe() override;
  std::vector<DiagnosticCheck> Diagnose() override;
  core::OpLog Render(const core::Plan& plan) const override;
  bool PendingWork() const override { return save_pending_; }
  Result<bool> ConfirmPending() override;
  std::vector<std::pair<std::string, std::string>> Conditions() const override;

 private:
  struct CallResult {
    Envelope envelope;
    int status = 0;
  };
  /// client_->Send with every secret this adapter holds redacted from the answer's body, before
  /// anything parses, logs or stores it: a device that echoes the request in its error must not
  /// carry the key into events, runs or /v1/health.
  Result<transport::HttpResponse> Send(const std::string& method, const std::string& target,
                                       const std::string& content_type, const std::string& body,
                                       std::chrono::milliseconds timeout, bool* written = nullptr,
                                       bool reuse_connection = false);
  /// The answer with every secret this adapter holds redacted from its body.
  Result<transport::HttpResponse> Redacted(Result<transport::HttpResponse> res) const;
  /// One API call. `ambiguous` is set when a write may have been applied without an answer.
  Result<CallResult> Call(const std::string& endpoint, const std::string& body,
                          std::chrono::milliseconds timeout, bool* ambiguous);
  /// The same with a body streamed as it is produced (a commit).
  Result<CallResult> Call(const std::string& endpoint, const transport::BodySource& body,
                          std::chrono::milliseconds timeout, bool* ambiguous);
  /// An answer (or the transport's error) as a CallResult.
  Result<CallResult> Answered(Result<transport::HttpResponse> res, bool written, size_t body_size,
                              bool* ambiguous);
  Result<std::map<int, core::NatRule>> ReadRules(uint64_t known_fingerprint = 0,
                                                 uint64_t* fingerprint = nullptr,
                                                 bool* unchanged = nullptr);
  /// The rules a batch is to leave on the device, by number: only the numbers it touches, each
  /// pointing into the plan (a deleted rule has no entry).
  using Expected = std::map<int, const core::NatRule*>;
  std::vector<std::string> Mismatches(const Expected& expected,
                                      const std::map<int, core::NatRule>& actual,
                                      const std::vector<int>& touched) const;
  Status SendConfirm(ApplyOutcome& out, const Expected& expected, const std::vector<int>& touched);
  /// Restores `before` for the `touched` numbers; `present` are those of them on the device now.
  void RollBack(ApplyOutcome& out, const std::map<int, core::NatRule>& before,
                const std::vector<int>& present, const std::vector<int>& touched,
                bool confirm_armed);

  /// Stops a confirm timer a failed commit sent with `confirm_time` may have armed (builds that
  /// arm before they commit); never called when the device said another confirm is pending.
  void Disarm(ApplyOutcome& out);
  InterfaceSyntax Syntax() const;

  /// A save (`failure` prefixes the error); a failed one stays pending for the next pass.
  bool Save(ApplyOutcome& out, const std::string& failure);
  /// One batch of a plan (one commit): sent with lock retries, resolved by a re-read when the
  /// answer was lost, verified by a read-back, confirmed. False when the apply stops here
  /// (out.error says why); out.read_back becomes the read-back. `current`: the device before
  /// the batch.
  bool ApplyBatch(ApplyOutcome& out, const core::Plan& plan, std::pair<size_t, size_t> range,
                  int confirm, const std::map<int, core::NatRule>& current);
  /// The batch's /configure (its body of `body_size` bytes streamed, encoded again for each
  /// attempt), re-sent while the commit lock is busy.
  Result<CallResult> SendWithRetries(ApplyOutcome& out, const core::Plan& plan,
                                     std::pair<size_t, size_t> range, size_t body_size, int confirm,
                                     bool* ambiguous);
  /// After a write with no answer: true when a re-read shows the batch committed.
  bool ResolveAmbiguous(ApplyOutcome& out, const Error& error,
                        const std::map<int, core::NatRule>& current, const Expected& expected,
                        const std::vector<int>& touched);
  void CommitFailed(ApplyOutcome& out, const Result<CallResult>& r);
  bool VerifyAndConfirm(ApplyOutcome& out, const std::map<int, core::NatRule>& current,
                        const Expected& expected, const std::vector<int>& touched, int armed);

  std::unique_ptr<transport::HttpTransport> client_;
  std::unique_ptr<VyosCli> cli_;
  VyosAdapterOptions options_;
  std::optional<DeviceInfo> info_;  // per connection: asked again after the device was unreachable
  bool save_pending_ = false;
};

}  // namespace nc::vyos
