#include "adapters/vyos/vyos_cli.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "adapters/vyos/importer.hpp"
#include "adapters/vyos/vyos_codec.hpp"

namespace nc::vyos {

namespace {

/// The device's complaint in a reply, or empty.
std::string Complaint(const std::string& output) {
  std::string lower = output;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* marker :
       {"failed", "invalid", "is not valid", "error", "cannot", "another confirm is pending"})
    if (lower.find(marker) != std::string::npos) {
      std::string t = output;
      while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
      while (!t.empty() && (t.front() == '\n' || t.front() == ' ')) t.erase(0, 1);
      if (t.size() > 8 && t.compare(t.size() - 6, 6, "[edit]") == 0) t.resize(t.size() - 6);
      while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
      return t;
    }
  return "";
}

}  // namespace

ssh::TerminalProfile VyosTerminalProfile() {
  ssh::TerminalProfile p;
  p.prompt = std::regex(R"([A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+(:~\$|:[^ ]*\$|#) ?)");
  p.question = std::regex(R"(.*(\[confirm\](\[y\])?|\[[yY]/[nN]\]|\(yes/no\)) ?:? ?)");
  p.pager = std::regex(R"(.*--More--.*|:)");
  p.pager_answer = " ";
  p.on_open = {"set terminal length 0"};
  p.login_timeout_ms = 30'000;
  return p;
}

VyosCli::VyosCli(VyosCliOptions options, transport::CliOpener opener)
    : options_(std::move(options)),
      profile_(VyosTerminalProfile()),
      opener_(opener ? std::move(opener) : ssh::Shell::Opener(options_.connect, profile_)) {}

std::string VyosCli::Where() const {
  return options_.connect.host + ":" + std::to_string(options_.connect.port);
}

Result<ssh::Reply> VyosCli::Run(const std::string& line, int timeout_ms, core::OpLog* ops) {
  if (!shell_ || !shell_->Alive()) {
    shell_.reset();
    config_mode_ = false;
    auto sh = opener_();
    if (!sh) return tl::unexpected(sh.error());
    shell_ = std::move(*sh);
  }
  if (ops) ops->push_back("ssh: " + line);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = shell_->Run(line, timeout_ms);
  if (on_request_) on_request_(std::chrono::steady_clock::now() - t0);
  if (!r || !shell_->Alive()) {
    shell_.reset();
    config_mode_ = false;
  } else if (!r->prompt.empty()) {
    auto end = r->prompt.find_last_not_of(' ');
    config_mode_ = end != std::string::npos && r->prompt[end] == '#';
  }
  return r;
}

void VyosCli::Discard(core::OpLog& ops) {
  if (!shell_) return;  // the session (and its working configuration) died with the connection
  auto r = Run("exit discard", options_.command_timeout_ms, &ops);
  if (!r || r->prompt.find('#') != std::string::npos) shell_.reset();
}

Result<std::map<int, core::NatRule>> VyosCli::ReadRules(uint64_t* fingerprint) {
  if (shell_ && !shell_->Alive()) config_mode_ = false;
  auto r = Run(config_mode_ ? "run show configuration commands" : "show configuration commands",
               options_.command_timeout_ms);
  if (!r) return tl::unexpected(r.error());
  // A router always has `set` lines (host name, the API service): none means the command was
  // not understood where it was sent, and "0 rules" would be a lie.
  if (r->output.find("set ") == std::string::npos)
    return MakeError(ErrorCode::kUnavailable,
                     "`show configuration commands` printed no configuration over SSH" +
                         (r->output.empty() ? std::string() : ": " + r->output.substr(0, 200)));
  if (fingerprint) *fingerprint = std::hash<std::string>{}(r->output) | 1;
  std::string nat;
  size_t start = 0;
  while (start < r->output.size()) {
    size_t nl = r->output.find('\n', start);
    if (nl == std::string::npos) nl = r->output.size();
    std::string line = r->output.substr(start, nl - start);
    if (line.rfind("set nat destination ", 0) == 0) (nat += line) += '\n';
    start = nl + 1;
  }
  if (nat.empty()) return std::map<int, core::NatRule>{};
  return RulesFromConfigText(nat);
}

Result<std::string> VyosCli::ShowVersion() {
  auto r = Run(config_mode_ ? "run show version" : "show version", options_.command_timeout_ms);
  if (!r) return tl::unexpected(r.error());
  return VersionFromShow(r->output);
}

namespace {

/// The changed rules whose read-back differs from what the plan leads to ("" when none).
std::string ReadBackMismatch(const std::map<int, core::NatRule>& expected,
                             const std::map<int, core::NatRule>& back, const core::Plan& plan) {
  std::string mismatch;
  for (const auto& ch : plan.changes) {
    auto want = expected.find(ch.number);
    auto have = back.find(ch.number);
    const bool w = want != expected.end();
    const bool h = have != back.end();
    if (w != h || (w && want->second != have->second))
      mismatch += (mismatch.empty() ? "" : "; ") + std::string("rule ") +
                  std::to_string(ch.number) +
                  (w && h ? ": " + core::DescribeDifference(want->second, have->second)
                   : w    ? " missing"
                          : " still present");
  }
  return mismatch;
}

}  // namespace

Status VyosCli::KnowSyntax() {
  if (syntax_known_) return {};
  // The API could not tell (it is down): the CLI's own `show version` decides the NAT syntax.
  auto v = ShowVersion();
  if (!v) return tl::unexpected(v.error());
  syntax_ = UsesLeafInterface(*v) ? InterfaceSyntax::kLeaf : InterfaceSyntax::kName;
  syntax_known_ = !v->empty();
  return {};
}

ApplyOutcome VyosCli::Apply(const core::Plan& plan, const std::map<int, core::NatRule>& observed) {
  ApplyOutcome out;
  out.transport = "ssh-cli";
  auto& ops = out.operations;
  const int t = options_.command_timeout_ms;
  auto fail = [&](ErrorCode code, std::string message) {
    out.error = Error{code, "over SSH: " + std::move(message)};
    return out;
  };
  if (!plan.HasChanges()) return out;
  if (auto known = KnowSyntax(); !known) return fail(known.error().code, known.error().message);
  auto enter = Run("configure", t, &ops);
  if (!enter) return fail(enter.error().code, enter.error().message);
  for (const auto& batch : BatchCommands(plan, int64_t{1} << 40, syntax_)) {
    for (const auto& c : batch) {
      const std::string line = ToCliLine(c);
      auto r = Run(line, t, &ops);
      if (!r) return fail(r.error().code, r.error().message + "; nothing was committed");
      if (auto why = Complaint(r->output); !why.empty()) {
        Discard(ops);
        out.device_text = why;
        out.named_rule = RuleNamedIn(line);  // the line it refused is one rule's
        out.refused_at_set = true;
        return fail(ErrorCode::kRejected,
                    "the router refused '" + line + "': " + why + "; the session was discarded");
      }
    }
  }
  const bool confirm = options_.commit_confirm;
  auto commit =
      Run(confirm ? "commit-confirm " + std::to_string(options_.confirm_minutes) : "commit",
          options_.commit_timeout_ms, &ops);
  if (commit && !commit->question.empty())
    commit = Run("y", options_.commit_timeout_ms, &ops);  // "Proceed ?": asked for
  if (!commit) {
    out.ambiguous = true;
    return fail(commit.error().code,
                commit.error().message +
                    " (during the commit; the router's confirm timer reverts an "
                    "unconfirmed change, and the next pass re-reads)");
  }
  if (auto why = Complaint(commit->output); !why.empty()) {
    Discard(ops);
    out.device_text = why;
    out.named_rule = RuleNamedIn(why);
    return fail(ErrorCode::kRejected, "commit failed; nothing was committed: " + why);
  }
  out.commits = 1;
  uint64_t fp = 0;
  auto back = ReadRules(&fp);
  if (!back) {
    out.ambiguous = true;
    return fail(back.error().code, back.error().message + " (reading back after the commit)");
  }
  const std::string mismatch = ReadBackMismatch(core::ExpectedAfter(observed, plan), *back, plan);
  out.read_back = *back;
  if (!mismatch.empty()) {
    Discard(ops);
    return fail(
        ErrorCode::kRejected,
        "verification failed after the commit: " + mismatch +
            (confirm ? "; not confirmed, the router reverts it when the confirm timer expires"
                     : ""));
  }
  if (confirm) {
    auto r = Run("confirm", t, &ops);
    if (!r) {
      out.ambiguous = true;
      return fail(r.error().code, r.error().message + " (sending the confirm)");
    }
    out.confirmed = true;
  }
  if (options_.save_after_confirm) {
    auto r = Run("save", options_.commit_timeout_ms, &ops);
    if (r && Complaint(r->output).empty()) out.saved = true;
  }
  auto leave = Run("exit", t, &ops);
  if (!leave || leave->prompt.find('#') != std::string::npos) Discard(ops);
  return out;
}

}  // namespace nc::vyos
