#include "adapters/vyos/vyos_adapter.hpp"

#include <algorithm>
#include <thread>

#include "controller/core/encoding.hpp"

namespace nc::vyos {

namespace {

constexpr const char* kJson = "application/json";

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string OpsLine(size_t commands, int confirm_minutes) {
  std::string head =
      "POST /configure (" + std::to_string(commands) + " commands, one commit" +
      (confirm_minutes > 0 ? ", confirm_time=" + std::to_string(confirm_minutes) : "") + ")";
  return head;
}

constexpr const char* kInsecureTls =
    "spec.tls.insecureSkipVerify is true: the router's certificate is not checked, so anyone on "
    "the path can "
    "read the API key and change the NAT rules; give spec.tls.caFile instead";

}  // namespace

VyosAdapter::VyosAdapter(std::unique_ptr<transport::HttpTransport> client,
                         VyosAdapterOptions options)
    : client_(std::move(client)), options_(std::move(options)) {
  if (options_.fallback) {
    cli_ = std::make_unique<VyosCli>(*options_.fallback);
    cli_->OnRequest([this](auto took) { Timed("ssh-cli", took); });
  }
}

Result<transport::HttpResponse> VyosAdapter::Send(const std::string& method,
                                                  const std::string& target,
                                                  const std::string& content_type,
                                                  const std::string& body,
                                                  std::chrono::milliseconds timeout, bool* written,
                                                  bool reuse_connection) {
  const auto t0 = std::chrono::steady_clock::now();
  auto res = client_->Send(method, target, content_type, body, timeout, written, reuse_connection);
  Timed("https-api", std::chrono::steady_clock::now() - t0);
  return Redacted(std::move(res));
}

Result<transport::HttpResponse> VyosAdapter::Redacted(Result<transport::HttpResponse> res) const {
  if (res) {
    std::vector<std::string> secrets = {options_.api_key};
    if (options_.fallback)
      secrets.insert(secrets.end(),
                     {options_.fallback->connect.password, options_.fallback->connect.private_key});
    res->body = core::RedactSecrets(std::move(res->body), secrets);
  }
  return res;
}

Result<VyosAdapter::CallResult> VyosAdapter::Call(const std::string& endpoint,
                                                  const std::string& body,
                                                  std::chrono::milliseconds timeout,
                                                  bool* ambiguous) {
  bool written = false;
  return Answered(Send("POST", endpoint, kJson, body, timeout, &written), written, body.size(),
                  ambiguous);
}

Result<VyosAdapter::CallResult> VyosAdapter::Call(const std::string& endpoint,
                                                  const transport::BodySource& body,
                                                  std::chrono::milliseconds timeout,
                                                  bool* ambiguous) {
  bool written = false;
  const auto t0 = std::chrono::steady_clock::now();
  auto res = client_->SendStreamed("POST", endpoint, kJson, body, timeout, &written);
  Timed("https-api", std::chrono::steady_clock::now() - t0);
  return Answered(Redacted(std::move(res)), written, body.size, ambiguous);
}

Result<VyosAdapter::CallResult> VyosAdapter::Answered(Result<transport::HttpResponse> res,
                                                      bool written, size_t body_size,
                                                      bool* ambiguous) {
  if (ambiguous) *ambiguous = false;
  if (!res) {
    if (ambiguous) *ambiguous = written;
    return tl::unexpected(res.error());
  }
  if (res->status == 401)
    return MakeError(ErrorCode::kPermissionDenied,
                     "the device rejected the API key (401 Valid API key is required)");
  if (res->status == 413)
    return MakeError(ErrorCode::kInvalidArgument,
                     "request of " + std::to_string(body_size) +
                         " bytes is larger than the device accepts (413); lower "
                         "spec.vyos.maxRequestBytes or raise "
                         "`service https request-body-size-limit`");
  if (res->status == 503)
    return MakeError(ErrorCode::kUnavailable, "the HTTP API is not enabled on the device (503)");
  if (res->status >= 500) {
    if (ambiguous) *ambiguous = true;
    auto env = ParseEnvelope(res->body);
    return MakeError(ErrorCode::kUnavailable,
                     "device answered " + std::to_string(res->status) +
                         (env && !env->error.empty() ? ": " + Trim(env->error) : ""));
  }
  auto env = ParseEnvelope(res->body);
  if (!env)
    return MakeError(ErrorCode::kUnavailable, "device answered " + std::to_string(res->status) +
                                                  " without the API envelope");
  return CallResult{std::move(*env), res->status};
}

Result<DeviceInfo> VyosAdapter::Probe() {
  if (info_) return *info_;
  DeviceInfo info;
  // The version: /info (1.5), else the API's `show version`, else the SSH CLI's.
  auto res =
      Send("GET", "/info", "", "", options_.read_timeout, nullptr, /*reuse_connection=*/true);
  if (!res) return tl::unexpected(res.error());
  bool has_info = false;
  if (res->status == 200) {
    auto env = ParseEnvelope(res->body);
    if (!env || !env->success)
      return MakeError(ErrorCode::kUnavailable, "/info answered without the API envelope");
    auto tree = FromJson(env->data_json);
    if (tree) {
      if (const auto* v = tree->Find({"version"}); v && !v->values.empty())
        info.version = v->values[0];
      if (const auto* h = tree->Find({"hostname"}); h && !h->values.empty())
        info.hostname = h->values[0];
    }
    info.version_source = "/info";
    has_info = true;
  } else if (res->status != 404 && res->status != 405) {
    return MakeError(ErrorCode::kUnavailable, "/info answered " + std::to_string(res->status));
  } else {
    // Before /info existed (VyOS 1.3, 1.4, early 1.5): the operational `show version`.
    auto show = Send("POST", "/show", "application/json",
                     EncodeRetrieve(options_.api_key, "show", {"version"}), options_.read_timeout,
                     nullptr, true);
    if (!show) return tl::unexpected(show.error());
    if (IsRestOff(show->status, show->body))
      return MakeError(ErrorCode::kFailedPrecondition, RestOffMessage());
    if (show->status == 401)
      return MakeError(ErrorCode::kPermissionDenied,
                       "the device rejected the API key (401 Valid API key is required)");
    if (show->status == 200) {
      auto env = ParseEnvelope(show->body);
      if (env && env->success && env->data_text) info.version = VersionFromShow(*env->data_text);
      if (!info.version.empty()) info.version_source = "/show";
    }
    if (info.version.empty() && cli_) {
      if (auto v = cli_->ShowVersion(); v && !v->empty()) {
        info.version = *v;
        info.version_source = "ssh";
      }
    }
  }
  // Capabilities, from what the API offers rather than from dates in version strings: a build
  // with /info may take `confirm_time` (whether it did is read from each commit's answer); one
  // without has no commit-confirm in its API at all.
  info.commit_confirm = has_info;
  // The NAT syntax: 1.2/1.3 keep `inbound-interface` a leaf. Asked of the device itself: the
  // path `inbound-interface name eth0` is "not valid" there (a leaf takes one value, "name"
  // being one), merely empty from 1.4 on.
  auto syntax =
      Send("POST", "/retrieve", "application/json",
           EncodeRetrieve(options_.api_key, "showConfig",
                          {"nat", "destination", "rule", "1", "inbound-interface", "name", "eth0"}),
           options_.read_timeout, nullptr, true);
  if (syntax && syntax->status == 400) {
    auto env = ParseEnvelope(syntax->body);
    info.legacy_syntax = env && env->error.find("not valid") != std::string::npos;
  } else if (!syntax || syntax->status != 200) {
    info.legacy_syntax = UsesLeafInterface(info.version);
  }
  if (info.version.empty()) info.version = "unknown (no /info, no `show version`)";
  info_ = info;
  if (cli_) cli_->SetSyntax(info.legacy_syntax ? InterfaceSyntax::kLeaf : InterfaceSyntax::kName);
  return info;
}

std::vector<std::pair<std::string, std::string>> VyosAdapter::Conditions() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (options_.insecure_tls) out.emplace_back("InsecureTLS", kInsecureTls);
  if (!info_ || info_->commit_confirm || !options_.commit_confirm || cli_) return out;
  out.emplace_back("UnconfirmedCommits",
                   "the device's API has no commit-confirm (VyOS " + info_->version +
                       "): changes are committed, verified and saved without a confirmation timer; "
                       "declare SSH credentials "
                       "(username with password or privateKey) to use the CLI's commit-confirm");
  return out;
}

InterfaceSyntax VyosAdapter::Syntax() const {
  return info_ && info_->legacy_syntax ? InterfaceSyntax::kLeaf : InterfaceSyntax::kName;
}

std::vector<DiagnosticCheck> VyosAdapter::Diagnose() {
  std::vector<DiagnosticCheck> out;
  if (options_.insecure_tls) out.push_back({"TLS verification", "WARN", kInsecureTls});
  // /info answers without a key (TLS is verified already); the key is tried by a read.
  auto info = Probe();
  if (!info) {
    if (info.error().code == ErrorCode::kFailedPrecondition)
      return {{"REST API", "FAIL", info.error().message}};
    return {{"platform version", "FAIL", info.error().message}};
  }
  out.push_back({"platform version", "ok",
                 info->version + (info->hostname.empty() ? "" : " (" + info->hostname + ")") +
                     (info->version_source.empty() ? "" : ", from " + info->version_source) +
                     (info->legacy_syntax ? "; NAT in 1.3 syntax (inbound-interface leaf)" : "")});
  auto rules = ReadRules();  // the API itself: the SSH fallback is not what is being tested
  if (!rules)
    out.push_back(
        {rules.error().code == ErrorCode::kFailedPrecondition ? "REST API" : "authentication",
         "FAIL", rules.error().message});
  else
    out.push_back(
        {"authentication", "ok",
         "API key accepted: read nat destination (" + std::to_string(rules->size()) + " rule(s))"});
  if (info->commit_confirm)
    out.push_back({"confirmed commit", "ok", "commit with confirm_time, then confirm"});
  else if (cli_ && options_.commit_confirm)
    out.push_back({"confirmed commit", "ok",
                   "the API has no commit-confirm (no /info): writes go through the SSH CLI's "
                   "commit-confirm (" +
                       cli_->Where() + ")"});
  else
    out.push_back(
        {"confirmed commit", "WARN",
         "the API has no commit-confirm (no /info: VyOS before 1.5) and no SSH credentials "
         "are declared: changes are committed without a confirmation timer "
         "(UnconfirmedCommits); add username and password or privateKey to the "
         "credentials to use the CLI's commit-confirm"});
  return out;
}

Result<std::map<int, core::NatRule>> VyosAdapter::ReadRules(uint64_t known_fingerprint,
                                                            uint64_t* fingerprint,
                                                            bool* unchanged) {
  // The read of every poll: parsed once, straight into the model; skipped when the answer is
  // byte-identical to one the caller already holds.
  auto res = Send("POST", "/retrieve", kJson,
                  EncodeRetrieve(options_.api_key, "showConfig", {"nat", "destination"}),
                  options_.read_timeout, nullptr, /*reuse_connection=*/true);
  if (!res) {
    info_.reset();  // a new connection asks /info again (the router may have been upgraded)
    return tl::unexpected(res.error());
  }
  if (res->status == 401)
    return MakeError(ErrorCode::kPermissionDenied,
                     "the device rejected the API key (401 Valid API key is required)");
  if (IsRestOff(res->status, res->body))
    return MakeError(ErrorCode::kFailedPrecondition, RestOffMessage());
  if (res->status >= 500 || (res->status != 200 && res->status != 400))
    return MakeError(ErrorCode::kUnavailable, "showConfig answered " + std::to_string(res->status));
  const uint64_t fp = std::hash<std::string>{}(res->body) | 1;
  if (fingerprint) *fingerprint = fp;
  if (unchanged) *unchanged = known_fingerprint != 0 && fp == known_fingerprint;
  if (unchanged && *unchanged) return std::map<int, core::NatRule>{};
  return ParseDestinationAnswer(res->body);
}

Result<ObservedState> VyosAdapter::Observe(uint64_t known_fingerprint) {
  ObservedState out;
  out.transport = "https-api";
  auto rules = ReadRules(known_fingerprint, &out.fingerprint, &out.unchanged);
  if (!rules && cli_ &&
      (rules.error().code == ErrorCode::kUnavailable ||
       rules.error().code == ErrorCode::kDeadlineExceeded)) {
    // The API is down (unreachable, 5xx, no answer): read over SSH; the pass then writes over SSH.
    auto over_ssh = cli_->ReadRules(&out.fingerprint);
    if (!over_ssh)
      return MakeError(over_ssh.error().code, "HTTPS API: " + rules.error().message +
                                                  "; SSH fallback: " + over_ssh.error().message);
    out.transport = "ssh-cli";
    out.fallback_reason = rules.error().message;
    out.unchanged = false;
    out.nat_rules = std::move(*over_ssh);
    return out;
  }
  if (!rules) return tl::unexpected(rules.error());
  out.nat_rules = std::move(*rules);
  return out;
}

core::OpLog VyosAdapter::Render(const core::Plan& plan) const {
  core::OpLog out;
  const bool confirm = options_.commit_confirm && (!info_ || info_->commit_confirm || cli_);
  // Change by change: a 10,000-rule plan's 70,000 commands are never all held.
  for (const auto& range : BatchRanges(plan, options_.max_request_bytes, Syntax())) {
    for (size_t i = range.first; i < range.second; ++i)
      for (const auto& c : ChangeCommands(plan.changes[i], Syntax())) out.push_back(ToCliLine(c));
    out.push_back(confirm ? "commit-confirm " + std::to_string(options_.confirm_minutes) +
                                " (then verify, confirm)"
                          : "commit (the device has no commit-confirm)");
  }
  if (!out.empty() && options_.save_after_confirm) out.emplace_back("save");
  return out;
}

std::vector<std::string> VyosAdapter::Mismatches(const Expected& expected,
                                                 const std::map<int, core::NatRule>& actual,
                                                 const std::vector<int>& touched) const {
  std::vector<std::string> out;
  for (int n : touched) {
    auto e = expected.find(n);
    auto a = actual.find(n);
    if (e == expected.end() && a == actual.end()) continue;
    if (e == expected.end())
      out.push_back("rule " + std::to_string(n) + " should be gone but is present");
    else if (a == actual.end())
      out.push_back("rule " + std::to_string(n) + " is missing");
    else if (!(*e->second == a->second))
      out.push_back("rule " + std::to_string(n) + ": " +
                    core::DescribeDifference(*e->second, a->second));
  }
  return out;
}

namespace {

/// `rules` by number as an Expected (pointers into `rules`).
std::map<int, const core::NatRule*> ExpectedOf(const std::map<int, core::NatRule>& rules,
                                               const std::vector<int>& touched) {
  std::map<int, const core::NatRule*> out;
  for (int n : touched)
    if (auto it = rules.find(n); it != rules.end()) out.emplace(n, &it->second);
  return out;
}

/// The numbers of `touched` that `rules` holds.
template <typename Map>
std::vector<int> Present(const Map& rules, const std::vector<int>& touched) {
  std::vector<int> out;
  for (int n : touched)
    if (rules.count(n)) out.push_back(n);
  return out;
}

}  // namespace

Status VyosAdapter::SendConfirm(ApplyOutcome& out, const Expected& expected,
                                const std::vector<int>& touched) {
  // The confirm is idempotent ("No confirm pending" when there is none), so it can be re-sent;
  // a "No confirm pending" answer is checked against the device, in case the timer fired.
  Error last{ErrorCode::kUnavailable, "confirm not sent"};
  for (int attempt = 0; attempt < 3; ++attempt) {
    out.operations.emplace_back("POST /configure {\"op\": \"confirm\"}");
    auto r =
        Call("/configure", EncodeOp(options_.api_key, "confirm"), options_.read_timeout, nullptr);
    if (r && r->envelope.success) {
      if (r->envelope.data_text &&
          r->envelope.data_text->find("No confirm pending") != std::string::npos) {
        auto now = ReadRules();
        if (!now) return tl::unexpected(now.error());
        auto bad = Mismatches(expected, *now, touched);
        if (!bad.empty())
          return MakeError(ErrorCode::kUnavailable,
                           "the confirm timer reverted the change before it was confirmed");
      }
      out.confirmed = true;
      return {};
    }
    last = r ? Error{ErrorCode::kRejected, Trim(r->envelope.error)} : r.error();
    std::this_thread::sleep_for(options_.lock_backoff * (attempt + 1));
  }
  return tl::unexpected(last);
}

Result<bool> VyosAdapter::ConfirmPending() {
  auto r =
      Call("/configure", EncodeOp(options_.api_key, "confirm"), options_.read_timeout, nullptr);
  if (!r) return tl::unexpected(r.error());
  if (!r->envelope.success)
    return MakeError(ErrorCode::kRejected, "confirm: " + Trim(r->envelope.error));
  const bool was_pending =
      !(r->envelope.data_text &&
        r->envelope.data_text->find("No confirm pending") != std::string::npos);
  if (was_pending) save_pending_ = true;  // confirmed, not yet saved
  return was_pending;
}

void VyosAdapter::Disarm(ApplyOutcome& out) {
  out.operations.emplace_back(
      "POST /configure {\"op\": \"confirm\"} (stop a confirm timer the failed commit may have "
      "armed)");
  auto r =
      Call("/configure", EncodeOp(options_.api_key, "confirm"), options_.read_timeout, nullptr);
  if (r && r->envelope.success && r->envelope.data_text &&
      r->envelope.data_text->find("No confirm pending") == std::string::npos)
    out.operations.emplace_back(
        "  (the device had armed the timer before the commit failed; it is stopped)");
}

void VyosAdapter::RollBack(ApplyOutcome& out, const std::map<int, core::NatRule>& before,
                           const std::vector<int>& present, const std::vector<int>& touched,
                           bool confirm_armed) {
  std::vector<Command> cmds;
  for (int n : touched) {
    if (std::find(present.begin(), present.end(), n) != present.end())
      cmds.push_back(
          Command{"delete", {"nat", "destination", "rule", std::to_string(n)}, std::nullopt});
    if (auto b = before.find(n); b != before.end()) {
      auto sets = RuleSetCommands(n, b->second, Syntax());
      cmds.insert(cmds.end(), sets.begin(), sets.end());
    }
  }
  out.operations.push_back("POST /configure (rollback: " + std::to_string(cmds.size()) +
                           " commands, one commit)");
  for (const auto& c : cmds) out.operations.push_back("  " + ToCliLine(c));
  auto r = Call("/configure", EncodeConfigure(options_.api_key, cmds, 0), options_.write_timeout,
                nullptr);
  if (!r || !r->envelope.success) {
    out.rollback_detail =
        "inverse plan failed (" + (r ? Trim(r->envelope.error) : r.error().message) + ")" +
        (confirm_armed ? "; the device's commit-confirm timer will revert the change" : "");
    out.rolled_back = confirm_armed;
    return;
  }
  ++out.commits;
  out.rolled_back = true;
  out.rollback_detail = "restored the previous rules with the inverse plan";
  if (confirm_armed) {
    // The restored state is the old state: stop the timer so the device does not reboot.
    out.operations.emplace_back("POST /configure {\"op\": \"confirm\"}");
    (void)Call("/configure", EncodeOp(options_.api_key, "confirm"), options_.read_timeout, nullptr);
  }
}

ApplyOutcome VyosAdapter::Apply(const core::Plan& plan, const ObservedState& observed) {
  // A pass that could only read over SSH writes over SSH; one that read over the API writes over
  // the API (a write that failed ambiguously is never retried over the other transport: the next
  // pass re-reads first).
  if (observed.transport == "ssh-cli" && cli_) return cli_->Apply(plan, observed.nat_rules);
  ApplyOutcome out;
  out.transport = "https-api";
  if (plan.changes.empty()) {
    if (save_pending_) Save(out, "save failed: ");
    return out;
  }
  auto info = Probe();
  if (!info) {
    out.error = info.error();
    return out;
  }
  // No commit-confirm in the API: the SSH CLI's commit-confirm where credentials allow it.
  if (options_.commit_confirm && !info->commit_confirm && cli_)
    return cli_->Apply(plan, observed.nat_rules);
  const int confirm =
      options_.commit_confirm && info->commit_confirm ? options_.confirm_minutes : 0;
  if (options_.commit_confirm && !confirm) out.unconfirmed = true;

  for (const auto& range : BatchRanges(plan, options_.max_request_bytes, Syntax())) {
    // The device before this batch: as read before the first, as read back after the others.
    const auto& current = out.read_back ? *out.read_back : observed.nat_rules;
    if (!ApplyBatch(out, plan, range, confirm, current)) return out;
  }
  if (options_.save_after_confirm) Save(out, "changes are live but save failed: ");
  return out;
}

bool VyosAdapter::Save(ApplyOutcome& out, const std::string& failure) {
  out.operations.emplace_back("POST /config-file {\"op\": \"save\"}");
  auto s =
      Call("/config-file", EncodeOp(options_.api_key, "save"), options_.write_timeout, nullptr);
  if (!s || !s->envelope.success) {
    save_pending_ = true;
    out.error = s ? Error{ErrorCode::kRejected, failure + Trim(s->envelope.error)}
                  : Error{s.error().code, failure + s.error().message};
    return false;
  }
  out.saved = true;
  save_pending_ = false;
  return true;
}

bool VyosAdapter::ApplyBatch(ApplyOutcome& out, const core::Plan& plan,
                             std::pair<size_t, size_t> range, int confirm,
                             const std::map<int, core::NatRule>& current) {
  // The rules of this batch - plan.changes[range) - and what each is once it is committed.
  std::vector<int> touched;
  Expected expected;
  for (size_t i = range.first; i < range.second; ++i) {
    const auto& ch = plan.changes[i];
    if (touched.empty() || touched.back() != ch.number) touched.push_back(ch.number);
    if (ch.kind == core::ChangeKind::kDelete)
      expected.erase(ch.number);
    else
      expected[ch.number] = &*ch.after;
  }
  // The record first: a header line (its count filled in below), then each command's CLI line.
  const size_t head = out.operations.size();
  out.operations.emplace_back();
  size_t commands = 0;
  std::string line;
  // The body is streamed as it is encoded (7 MB of JSON for 10,000 rules is never held); the
  // pass that sizes it records each command's line.
  ConfigureStream body(options_.api_key, plan, range, Syntax(), confirm);
  const size_t body_size = body.Size([&](const Command& c) {
    line.assign("  ");
    AppendCliLine(line, c);
    out.operations.push_back(line);
    ++commands;
  });
  out.operations.Set(head, OpsLine(commands, confirm));
  bool ambiguous = false;
  auto r = SendWithRetries(out, plan, range, body_size, confirm, &ambiguous);
  if (confirm > 0 && r && !r->envelope.success &&
      r->envelope.error.find("Another confirm is pending") == std::string::npos)
    Disarm(out);  // the commit failed; a timer armed before it would reboot the router later
  bool committed = r && r->envelope.success;
  if (!r && ambiguous) {
    // The commit may have happened: look before doing anything else.
    if (!ResolveAmbiguous(out, r.error(), current, expected, touched)) return false;
    committed = true;
  }
  if (!committed) {
    CommitFailed(out, r);
    return false;
  }
  ++out.commits;
  int armed = confirm;
  if (confirm > 0 && r && r->envelope.success &&
      !(r->envelope.data_text &&
        r->envelope.data_text->find("commit-confirm") != std::string::npos)) {
    // The build ignored confirm_time (its API predates commit-confirm): a plain commit. No
    // confirm follows, and later commits are known to be unconfirmed.
    armed = 0;
    out.unconfirmed = true;
    if (info_) info_->commit_confirm = false;
    out.operations.emplace_back(
        "  (the device committed without arming a confirm timer: its API has no commit-confirm)");
  }
  return VerifyAndConfirm(out, current, expected, touched, armed);
}

Result<VyosAdapter::CallResult> VyosAdapter::SendWithRetries(ApplyOutcome& out,
                                                             const core::Plan& plan,
                                                             std::pair<size_t, size_t> range,
                                                             size_t body_size, int confirm,
                                                             bool* ambiguous) {
  for (int attempt = 0;; ++attempt) {
    ConfigureStream body(options_.api_key, plan, range, Syntax(), confirm);
    transport::BodySource source{body_size, [&](std::string& piece) { return body.Next(piece); }};
    auto r = Call("/configure", source, options_.write_timeout, ambiguous);
    if (!r || r->envelope.success || !IsLockedError(r->envelope.error) ||
        attempt >= options_.lock_retries)
      return r;
    // The API discarded the session: nothing was committed, re-sending is safe - once a
    // timer the attempt may have armed first is stopped (else: "Another confirm is pending").
    out.operations.emplace_back("  (commit lock busy; retrying)");
    if (confirm > 0) Disarm(out);
    std::this_thread::sleep_for(options_.lock_backoff * (1 << attempt));
  }
}

bool VyosAdapter::ResolveAmbiguous(ApplyOutcome& out, const Error& error,
                                   const std::map<int, core::NatRule>& current,
                                   const Expected& expected, const std::vector<int>& touched) {
  out.operations.emplace_back("  (no answer: re-reading the device)");
  auto now = ReadRules();
  if (!now) {
    out.error = Error{error.code, error.message + "; re-read failed too: " + now.error().message};
    out.ambiguous = true;
    return false;
  }
  if (Mismatches(expected, *now, touched).empty()) return true;
  if (Mismatches(ExpectedOf(current, touched), *now, touched).empty()) {
    out.error = Error{error.code, error.message + "; the device did not commit the change"};
    return false;
  }
  out.error =
      Error{error.code, error.message + "; the device holds neither the old nor the new rules"};
  out.ambiguous = true;
  return false;
}

void VyosAdapter::CommitFailed(ApplyOutcome& out, const Result<CallResult>& r) {
  if (!r) {
    out.error = r.error();
  } else if (IsLockedError(r->envelope.error)) {
    out.error = Error{ErrorCode::kConflict,
                      "commit lock still busy after retries: " + Trim(r->envelope.error)};
  } else if (r->envelope.error.find("Another confirm is pending") != std::string::npos) {
    out.error = Error{ErrorCode::kConflict, "another commit-confirm is pending on the device"};
  } else {
    out.device_text = Trim(r->envelope.error);
    out.named_rule = RuleNamedIn(out.device_text);
    out.refused_at_set = IsSetTimeError(out.device_text);
    out.error = Error{ErrorCode::kRejected, "device rejected the change: " + out.device_text};
  }
}

bool VyosAdapter::VerifyAndConfirm(ApplyOutcome& out, const std::map<int, core::NatRule>& current,
                                   const Expected& expected, const std::vector<int>& touched,
                                   int armed) {
  auto readback = ReadRules();
  out.operations.emplace_back("POST /retrieve showConfig [nat destination] (verify)");
  if (!readback) {
    // The change is live but unverified (a device that cannot be read, or answers something
    // that is not rules). Undo it now with the inverse of what was sent, from the state read
    // cleanly before: never leave the outcome to the confirm timer, never plan from an answer
    // that was not understood.
    RollBack(out, current, Present(expected, touched), touched, armed > 0);
    out.error =
        Error{readback.error().code, "read-back after commit failed: " + readback.error().message +
                                         "; " + out.rollback_detail};
    out.ambiguous = true;  // the next pass re-reads before anything is re-sent
    return false;
  }
  auto bad = Mismatches(expected, *readback, touched);
  if (!bad.empty()) {
    std::string why;
    for (const auto& b : bad) why += (why.empty() ? "" : "; ") + b;
    RollBack(out, current, Present(*readback, touched), touched, armed > 0);
    out.error = Error{ErrorCode::kRejected, "verification failed: " + why};
    return false;
  }
  if (armed > 0) {
    if (auto st = SendConfirm(out, expected, touched); !st) {
      out.error = Error{st.error().code,
                        "confirm failed: " + st.error().message +
                            "; the device reverts to the previous configuration at timeout"};
      out.ambiguous = true;
      return false;
    }
  }
  // `current` may be the previous read-back: not used past this point.
  out.read_back = std::move(*readback);
  return true;
}

}  // namespace nc::vyos
