#include "adapters/switch/switch_adapter.hpp"

#include <functional>
#include <set>

namespace nc::switchcli {

namespace {

std::string Describe(const std::optional<core::SubInterface>& s) {
  if (!s) return "(absent)";
  return "vlan-id " + std::to_string(s->vlan) + ", l2-service " +
         (s->l2_service ? "enabled" : "disabled") + ", admin-state " +
         (s->admin_enabled ? "enabled" : "disabled") + ", bridge-domain '" + s->bridge_domain + "'";
}

}  // namespace

SwitchAdapter::SwitchAdapter(std::unique_ptr<Dialect> dialect, SwitchAdapterOptions options,
                             transport::CliOpener opener)
    : dialect_(std::move(dialect)),
      options_(std::move(options)),
      profile_(dialect_->Profile()),
      opener_(opener ? std::move(opener) : ssh::Shell::Opener(options_.connect, profile_)) {}

Result<transport::CliSession*> SwitchAdapter::Connect() {
  if (shell_ && shell_->Alive()) return shell_.get();
  shell_.reset();
  auto sh = opener_();
  if (!sh) return tl::unexpected(sh.error());
  shell_ = std::move(*sh);
  return shell_.get();
}

Result<ssh::Reply> SwitchAdapter::Run(const std::string& line, int timeout_ms, core::OpLog* ops) {
  auto sh = Connect();
  if (!sh) return tl::unexpected(sh.error());
  if (ops) ops->push_back(line);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = (*sh)->Run(line, timeout_ms);
  Timed("ssh-cli", std::chrono::steady_clock::now() - t0);
  if (!r || !(*sh)->Alive()) shell_.reset();  // a broken session is never reused
  return r;
}

Result<core::SwitchState> SwitchAdapter::Read(uint64_t known, uint64_t* fingerprint,
                                              bool* unchanged) {
  std::vector<std::string> outputs;
  std::string stable;
  for (const auto& cmd : dialect_->ObserveCommands()) {
    auto r = Run(cmd, options_.command_timeout_ms);
    if (!r) return tl::unexpected(r.error());
    if (!r->question.empty())
      return tl::unexpected(
          Error{ErrorCode::kRejected, "the switch asked '" + r->question + "' on '" + cmd + "'"});
    stable += dialect_->StableText(r->output);
    outputs.push_back(std::move(r->output));
  }
  const uint64_t fp = std::hash<std::string>{}(stable) | 1;
  if (fingerprint) *fingerprint = fp;
  if (known != 0 && known == fp && unchanged) {
    *unchanged = true;
    return core::SwitchState{};
  }
  return dialect_->ParseObserved(outputs);
}

Result<ObservedState> SwitchAdapter::Observe(uint64_t known_fingerprint) {
  ObservedState o;
  o.transport = "ssh-cli";
  auto st = Read(known_fingerprint, &o.fingerprint, &o.unchanged);
  if (!st) return tl::unexpected(st.error());
  o.switch_state = std::move(*st);
  return o;
}

Result<DeviceInfo> SwitchAdapter::Probe() {
  if (info_) return *info_;
  auto r = Run(dialect_->VersionCommand(), options_.command_timeout_ms);
  if (!r) return tl::unexpected(r.error());
  DeviceInfo info;
  info.version = dialect_->ParseVersion(r->output);
  info.commit_confirm = dialect_->HasCommitConfirm();
  info_ = info;
  return info;
}

std::vector<DiagnosticCheck> SwitchAdapter::Diagnose() {
  // The version needs the SSH login: a failed probe is a failed authentication.
  auto info = Probe();
  if (!info) return {{"authentication", "FAIL", info.error().message}};
  std::vector<DiagnosticCheck> out;
  out.push_back(
      {"platform version", "ok", info->version.empty() ? std::string("unknown") : info->version});
  out.push_back({"authentication", "ok", "SSH login as the configured user, host key verified"});
  auto observed = Observe();
  if (!observed)
    out.push_back({"read configuration", "FAIL", observed.error().message});
  else
    out.push_back(
        {"read configuration", "ok",
         std::to_string(observed->switch_state.interfaces.size()) + " sub-interface(s), " +
             std::to_string(observed->switch_state.bridge_domains.size()) + " bridge domain(s)"});
  if (info->commit_confirm)
    out.push_back(
        {"confirmed commit", "ok",
         dialect_->CommitCommand(options_.confirm_minutes, "netconverge") + ", then the confirm"});
  else
    out.push_back({"confirmed commit", "info",
                   "not supported: changes use a plain commit, verified and rolled back from the "
                   "snapshot when verification fails"});
  return out;
}

core::OpLog SwitchAdapter::Render(const core::Plan& plan) const {
  core::OpLog out;
  if (!plan.HasChanges()) return out;
  const bool confirm = options_.commit_confirm && dialect_->HasCommitConfirm();
  out.push_back(dialect_->EnterConfigCommand());
  for (const auto& l : dialect_->Render(plan)) out.push_back(l);
  out.push_back(dialect_->CheckCommand());
  out.push_back(
      dialect_->CommitCommand(confirm ? options_.confirm_minutes : 0,
                              "netconverge: " + std::to_string(plan.ChangeCount()) + " change(s)"));
  out.push_back(dialect_->LeaveConfigCommand());
  if (confirm) {
    out.emplace_back("# read back and verify, then confirm:");
    out.push_back(dialect_->EnterConfigCommand());
    out.push_back(dialect_->ConfirmCommand());
    out.push_back(dialect_->LeaveConfigCommand());
  }
  return out;
}

void SwitchAdapter::Discard(core::OpLog& ops) {
  if (!shell_ || !shell_->Alive()) {
    shell_.reset();  // the device drops an uncommitted candidate with its session
    return;
  }
  for (const auto& cmd : {dialect_->DiscardCommand(), dialect_->LeaveConfigCommand()}) {
    auto r = Run(cmd, options_.command_timeout_ms, &ops);
    if (r && !r->question.empty())
      r = Run(dialect_->Decline(r->question), options_.command_timeout_ms, &ops);
    if (!r) return;
  }
  if (shell_ && shell_->Alive()) {
    // Make sure we are back at a clean operational prompt; otherwise never reuse the session.
    auto r = Run("", options_.command_timeout_ms);
    if (!r || dialect_->InConfigMode(r->prompt)) shell_.reset();
  }
}

bool SwitchAdapter::CancelPending(core::OpLog& ops, std::string& detail) {
  if (shell_ && shell_->Alive()) {
    auto r = Run("", options_.command_timeout_ms);
    if (r && dialect_->InConfigMode(r->prompt)) Discard(ops);
  }
  auto pending = Run(dialect_->PendingCommitCommand(), options_.command_timeout_ms);
  if (!pending) {
    detail = "could not reach the switch to cancel the confirmed commit (" +
             pending.error().message + "); its timer reverts the change within " +
             std::to_string(options_.confirm_minutes) + " minute(s)";
    return false;
  }
  const std::string holder = dialect_->ParsePendingCommit(pending->output);
  if (holder.empty()) {
    detail = "no confirmed commit is pending on the switch (already reverted)";
    return true;
  }
  if (holder != options_.connect.user) {
    detail = "the pending confirmed commit belongs to " + holder + "; not cancelled";
    return false;
  }
  std::string said;
  for (const auto& cmd : dialect_->CancelPendingCommands()) {
    auto r = Run(cmd, options_.commit_timeout_ms, &ops);
    if (!r) {
      detail = "cancelling the confirmed commit failed (" + r.error().message +
               "); its timer reverts the change";
      return false;
    }
    said += r->output;
  }
  detail = "confirmed commit cancelled: " + said;
  return true;
}

namespace {

bool Fail(ApplyOutcome& out, ErrorCode code, std::string message) {
  out.error = Error{code, std::move(message)};
  return false;
}

/// What the read-back of the interfaces and bridge domains a plan touched differs in from what
/// the plan expected ("" when it matches).
std::string Mismatch(const core::Plan& plan, const core::SwitchState& expected,
                     const core::SwitchState& back) {
  std::string mismatch;
  std::set<std::string> touched;
  for (const auto& ch : plan.interfaces) touched.insert(ch.name);
  auto find = [](const core::SwitchState& s,
                 const std::string& name) -> std::optional<core::SubInterface> {
    auto it = s.interfaces.find(name);
    if (it == s.interfaces.end()) return std::nullopt;
    return it->second;
  };
  for (const auto& name : touched) {
    const auto want = find(expected, name);
    const auto have = find(back, name);
    if (want != have)
      mismatch += (mismatch.empty() ? "" : "; ") + name + ": expected " + Describe(want) +
                  ", found " + Describe(have);
  }
  for (const auto& ch : plan.bridge_domains)
    if ((ch.kind == core::ChangeKind::kDelete) == (back.bridge_domains.count(ch.name) > 0))
      mismatch += (mismatch.empty() ? "" : "; ") + std::string("bridge-domain ") + ch.name +
                  (ch.kind == core::ChangeKind::kDelete ? " still exists" : " is missing");
  return mismatch;
}

}  // namespace

ApplyOutcome SwitchAdapter::Apply(const core::Plan& plan, const ObservedState& observed) {
  ApplyOutcome out;
  out.transport = "ssh-cli";
  if (!ResolvePending(out) || !plan.HasChanges()) return out;
  const bool confirm = options_.commit_confirm && dialect_->HasCommitConfirm();
  if (Stage(out, plan) && Check(out) && Commit(out, plan, confirm) &&
      Verify(out, plan, observed, confirm) && confirm)
    Confirm(out);
  return out;
}

bool SwitchAdapter::ResolvePending(ApplyOutcome& out) {
  // A confirmed commit left pending by an earlier netconverge (it died before confirming) is
  // unverified: revert it now. One by another user blocks writing until it is resolved.
  auto pending = Run(dialect_->PendingCommitCommand(), options_.command_timeout_ms);
  if (!pending) return Fail(out, pending.error().code, pending.error().message);
  const std::string holder = dialect_->ParsePendingCommit(pending->output);
  if (holder.empty()) return true;
  if (holder != options_.connect.user)
    return Fail(
        out, ErrorCode::kConflict,
        "a confirmed commit by " + holder +
            " is pending on the switch; netconverge writes after it is confirmed or rolled back");
  std::string detail;
  if (!CancelPending(out.operations, detail)) return Fail(out, ErrorCode::kConflict, detail);
  out.rollback_detail = "an unconfirmed commit of an earlier run was reverted first: " + detail;
  return true;
}

bool SwitchAdapter::Stage(ApplyOutcome& out, const core::Plan& plan) {
  auto& ops = out.operations;
  const int t = options_.command_timeout_ms;
  auto staged = Run(dialect_->EnterConfigCommand(), t, &ops);
  if (!staged) return Fail(out, staged.error().code, staged.error().message);
  if (!dialect_->InConfigMode(staged->prompt)) {
    Discard(ops);
    return Fail(out, ErrorCode::kRejected,
                "the switch did not enter configuration mode: " + staged->output);
  }
  for (const auto& line : dialect_->Render(plan)) {
    auto r = Run(line, t, &ops);
    if (!r)
      return Fail(out, r.error().code,
                  r.error().message +
                      "; nothing was committed (the switch drops the uncommitted candidate "
                      "with the session)");
    const Verdict v = dialect_->ClassifyLine(*r);
    if (v.kind != Verdict::kOk) {
      if (v.kind == Verdict::kQuestion) (void)Run(dialect_->Decline(v.text), t, &ops);
      Discard(ops);
      return Fail(out, ErrorCode::kRejected,
                  "the switch refused '" + line + "': " + v.text + "; the candidate was discarded");
    }
  }
  return true;
}

bool SwitchAdapter::Check(ApplyOutcome& out) {
  auto& ops = out.operations;
  auto compare = Run(dialect_->CompareCommand(), options_.command_timeout_ms);
  if (!compare)
    return Fail(out, compare.error().code, compare.error().message + "; nothing was committed");
  if (dialect_->CompareIsEmpty(compare->output)) {
    Discard(ops);  // the device already holds it
    return false;
  }
  auto check = Run(dialect_->CheckCommand(), options_.commit_timeout_ms, &ops);
  if (!check)
    return Fail(out, check.error().code, check.error().message + "; nothing was committed");
  const Verdict v = dialect_->ClassifyCheck(*check);
  if (v.kind == Verdict::kOk) return true;
  if (v.kind == Verdict::kOutOfSync || v.kind == Verdict::kQuestion)
    (void)Run(dialect_->Decline(v.text), options_.command_timeout_ms, &ops);
  Discard(ops);
  if (v.kind == Verdict::kOutOfSync)
    return Fail(out, ErrorCode::kConflict,
                "another user committed on the switch while netconverge staged its change; "
                "nothing was committed, the next pass re-reads the switch: " +
                    v.text);
  return Fail(out, ErrorCode::kRejected, "commit check failed; nothing was committed: " + v.text);
}

bool SwitchAdapter::Commit(ApplyOutcome& out, const core::Plan& plan, bool confirm) {
  auto& ops = out.operations;
  auto commit = Run(
      dialect_->CommitCommand(confirm ? options_.confirm_minutes : 0,
                              "netconverge: " + std::to_string(plan.ChangeCount()) + " change(s)"),
      options_.commit_timeout_ms, &ops);
  if (!commit) {
    out.ambiguous = true;
    return Revert(out, confirm, commit.error().code,
                  commit.error().message + " (during the commit)");
  }
  switch (const Verdict v = dialect_->ClassifyCommit(*commit, options_.connect.user); v.kind) {
    case Verdict::kOk:
      out.commits = 1;
      return true;
    case Verdict::kNoop:
      Discard(ops);
      return false;
    case Verdict::kOutOfSync:
    case Verdict::kQuestion: {
      (void)Run(dialect_->Decline(v.text), options_.command_timeout_ms, &ops);
      Discard(ops);
      const bool sync = v.kind == Verdict::kOutOfSync;
      return Fail(out, sync ? ErrorCode::kConflict : ErrorCode::kRejected,
                  std::string(sync ? "another user committed on the switch first; "
                                   : "the switch asked a question at commit and netconverge "
                                     "declined: ") +
                      v.text + "; nothing was committed");
    }
    case Verdict::kRejected:
      Discard(ops);
      return Fail(out, ErrorCode::kRejected, "commit failed; nothing was committed: " + v.text);
  }
  return Fail(out, ErrorCode::kInternal, "unknown commit verdict");
}

bool SwitchAdapter::Revert(ApplyOutcome& out, bool confirm, ErrorCode code, std::string why) {
  if (confirm) {
    std::string detail;
    out.rolled_back = CancelPending(out.operations, detail);
    out.rollback_detail = detail;
  }
  return Fail(out, code, std::move(why));
}

bool SwitchAdapter::Verify(ApplyOutcome& out, const core::Plan& plan, const ObservedState& observed,
                           bool confirm) {
  // Leave configuration mode and read the running configuration back.
  auto left = Run(dialect_->LeaveConfigCommand(), options_.command_timeout_ms, &out.operations);
  if (!left || !left->question.empty() || dialect_->InConfigMode(left->prompt)) {
    out.ambiguous = !left;
    return Revert(
        out, confirm, left ? ErrorCode::kRejected : left.error().code,
        (left ? "the switch stayed in configuration mode after the commit" : left.error().message) +
            std::string(" (after the commit, before the confirm)"));
  }
  auto back = Read(0, nullptr, nullptr);
  if (!back) {
    out.ambiguous = true;
    return Revert(out, confirm, back.error().code,
                  back.error().message + " (reading back after the commit)");
  }
  const std::string mismatch =
      Mismatch(plan, core::ExpectedAfter(observed.switch_state, plan), *back);
  out.switch_read_back = *back;
  if (!mismatch.empty())
    return Revert(out, confirm, ErrorCode::kRejected,
                  "verification failed after the commit: " + mismatch);
  return true;
}

void SwitchAdapter::Confirm(ApplyOutcome& out) {
  auto& ops = out.operations;
  const int t = options_.command_timeout_ms;
  auto enter = Run(dialect_->EnterConfigCommand(), t, &ops);
  auto r = enter ? Run(dialect_->ConfirmCommand(), options_.commit_timeout_ms, &ops) : enter;
  if (!r) {
    out.ambiguous = true;
    Fail(out, r.error().code,
         r.error().message +
             " (sending the confirm; unless it arrived, the switch reverts the change when its "
             "timer expires, and the next pass re-reads)");
    return;
  }
  if (const Verdict v = dialect_->ClassifyConfirm(*r); v.kind != Verdict::kOk) {
    Discard(ops);
    Fail(out, ErrorCode::kRejected, "the confirm was refused: " + v.text);
    return;
  }
  out.confirmed = true;
  auto end = Run(dialect_->LeaveConfigCommand(), t, &ops);
  if (!end || !end->question.empty()) Discard(ops);
}

}  // namespace nc::switchcli
