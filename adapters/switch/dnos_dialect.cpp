#include "adapters/switch/dnos_dialect.hpp"

#include <algorithm>
#include <sstream>

namespace nc::switchcli {

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool Contains(const std::string& hay, const std::string& needle) {
  return Lower(hay).find(Lower(needle)) != std::string::npos;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

/// Words of a flat line; a double-quoted string is one word (quotes removed).
std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    if (line[i] == '"') {
      size_t j = line.find('"', i + 1);
      if (j == std::string::npos) j = line.size();
      out.push_back(line.substr(i + 1, j - i - 1));
      i = j + 1;
    } else {
      size_t j = line.find(' ', i);
      if (j == std::string::npos) j = line.size();
      out.push_back(line.substr(i, j - i));
      i = j;
    }
  }
  return out;
}

/// The device's error lines (ERROR: / Error: and what follows), or empty.
std::string ErrorText(const std::string& output) {
  std::string out;
  for (const auto& l : Lines(output)) {
    const auto t = Lower(l);
    if (t.find("error:") != std::string::npos || !out.empty()) out += (out.empty() ? "" : "\n") + l;
  }
  return out;
}

std::string Quote(const std::string& s) {
  return "\"" + s + "\"";
}

}  // namespace

ssh::TerminalProfile DnosDialect::Profile() const {
  ssh::TerminalProfile p;
  // Host name chars, an optional "(cfg...)" with anything but ')' inside (sub-interface names
  // carry '/' and '.'), then '#'. Matched against the whole last line only.
  p.prompt = std::regex(R"([A-Za-z0-9_.:+\[\]/-]+(\([^)]*\))?# ?)");
  p.question = std::regex(
      R"(.*\((yes/no|yes,no,cancel|yes/no/cancel|commit, merge-only, abort|check-and-merge, merge-only, abort)\) ?(\[[a-z]*\])? ?\?? ?)",
      std::regex::icase);
  p.pager = std::regex(R"(.*-- ?More ?--.*)", std::regex::icase);
  p.pager_answer = " ";
  p.on_open = {"set cli-terminal-length 0"};
  p.login_timeout_ms = 60'000;  // "DRIVENETS CLI Loading..." can take a while
  return p;
}

std::vector<std::string> DnosDialect::ObserveCommands() const {
  return {"show config interfaces | flatten | no-more",
          "show config network-services | flatten | no-more"};
}

std::string DnosDialect::StableText(const std::string& output) const {
  std::string out;
  for (const auto& l : Lines(output))
    if (!l.empty() && l[0] != '#') (out += l) += '\n';
  return out;
}

Result<core::SwitchState> DnosDialect::ParseObserved(
    const std::vector<std::string>& outputs) const {
  core::SwitchState st;
  for (const auto& output : outputs) {
    for (const auto& line : Lines(output)) {
      if (line.empty() || line[0] == '#') continue;
      auto w = Words(line);
      if (!w.empty() && w.back() == "^") w.pop_back();
      if (w.empty()) continue;
      auto bad = [&](const std::string& why) {
        return tl::unexpected(
            Error{ErrorCode::kInvalidArgument,
                  "cannot read the switch's configuration line '" + line + "': " + why});
      };
      if (w[0] == "interfaces") {
        if (w.size() < 2) return bad("no interface name");
        const std::string& name = w[1];
        const bool sub = name.find('.') != std::string::npos;
        if (!sub) {
          if (std::find(st.ports.begin(), st.ports.end(), name) == st.ports.end())
            st.ports.push_back(name);
          continue;
        }
        auto& s = st.interfaces[name];
        if (w.size() == 2) continue;
        const std::string& leaf = w[2];
        const std::string value = w.size() > 3 ? w[3] : "";
        if (leaf == "vlan-id" && w.size() == 4) {
          s.vlan = std::atoi(value.c_str());
          if (s.vlan < 1 || s.vlan > 4094) return bad("vlan-id out of range");
        } else if (leaf == "l2-service" && w.size() == 4) {
          s.l2_service = value == "enabled";
        } else if (leaf == "admin-state" && w.size() == 4) {
          s.admin_enabled = value != "disabled";
        } else if (leaf == "description" && w.size() == 4) {
          s.description = value;
        } else {
          std::string rest;
          for (size_t i = 2; i < w.size(); ++i) rest += (rest.empty() ? "" : " ") + w[i];
          s.unmanaged.push_back(rest);
        }
      } else if (w[0] == "network-services") {
        if (w.size() < 4 || w[1] != "bridge-domain" || w[2] != "instance")
          continue;  // other services
        auto& bd = st.bridge_domains[w[3]];
        if (w.size() >= 6 && w[4] == "interface")
          bd.members.push_back(w[5]);
        else if (w.size() == 6 && w[4] == "description")
          bd.description = w[5];
      }
    }
  }
  for (auto& [name, bd] : st.bridge_domains) {
    std::sort(bd.members.begin(), bd.members.end());
    bd.members.erase(std::unique(bd.members.begin(), bd.members.end()), bd.members.end());
    for (const auto& m : bd.members)
      if (auto it = st.interfaces.find(m); it != st.interfaces.end())
        it->second.bridge_domain = name;
  }
  for (auto& [name, s] : st.interfaces) std::sort(s.unmanaged.begin(), s.unmanaged.end());
  std::sort(st.ports.begin(), st.ports.end());
  return st;
}

std::string DnosDialect::ParseVersion(const std::string& output) const {
  for (const auto& l : Lines(output)) {
    if (l.rfind("Version:", 0) != 0) continue;
    auto a = l.find('[');
    auto b = l.find(']');
    if (a != std::string::npos && b != std::string::npos && b > a)
      return "DNOS " + l.substr(a + 1, b - a - 1);
    // "Version: x": what follows the label; a bare "Version:" (found by fuzzing) says nothing.
    const auto value = l.find_first_not_of(' ', 8);
    if (value == std::string::npos) break;
    return l.substr(value);
  }
  return "DNOS (unknown version)";
}

std::string DnosDialect::ParsePendingCommit(const std::string& output) const {
  for (const auto& l : Lines(output)) {
    if (!Contains(l, "confirmed-commit")) continue;
    auto close = l.find("] ");
    if (close == std::string::npos) return "?";
    auto w = Words(l.substr(close + 2));
    return w.empty() ? "?" : w[0];
  }
  return "";
}

std::string DnosDialect::CommitCommand(int confirm_minutes, const std::string& log) const {
  std::string cmd =
      confirm_minutes > 0 ? "commit confirm " + std::to_string(confirm_minutes) : "commit";
  if (!log.empty()) cmd += " log " + Quote(log);
  return cmd;
}

std::vector<std::string> DnosDialect::Render(const core::Plan& plan) const {
  std::vector<std::string> out;
  auto line = [&](std::string l, bool needs_top) {
    out.push_back(std::move(l));
    if (needs_top) out.emplace_back("top");
  };
  const std::string bd = "network-services bridge-domain instance ";
  for (const auto& ch : plan.bridge_domains)
    if (ch.kind == core::ChangeKind::kAdd)
      line(bd + ch.name + " description " + Quote(ch.description), true);
  // Detach first: members leaving a bridge domain, then sub-interfaces going away.
  for (const auto& ch : plan.interfaces) {
    if (!ch.before || ch.before->bridge_domain.empty()) continue;
    if (ch.kind == core::ChangeKind::kDelete || ch.after->bridge_domain != ch.before->bridge_domain)
      line("no " + bd + ch.before->bridge_domain + " interface " + ch.name, true);
  }
  for (const auto& ch : plan.interfaces)
    if (ch.kind == core::ChangeKind::kDelete) line("no interfaces " + ch.name, true);
  for (const auto& ch : plan.interfaces) {
    if (ch.kind == core::ChangeKind::kDelete) continue;
    const core::SubInterface& a = *ch.after;
    const core::SubInterface b = ch.before.value_or(core::SubInterface{});
    const bool fresh = !ch.before;
    const std::string p = "interfaces " + ch.name + " ";
    size_t group = out.size();
    // Foreign leaves go first (an IPv4 address forbids l2-service).
    for (const auto& u : b.unmanaged)
      if (std::find(a.unmanaged.begin(), a.unmanaged.end(), u) == a.unmanaged.end())
        line("no " + p + u.substr(0, u.find(' ')), false);
    if (fresh || a.vlan != b.vlan) line(p + "vlan-id " + std::to_string(a.vlan), false);
    if (a.l2_service != b.l2_service || (fresh && a.l2_service))
      line(p + "l2-service " + (a.l2_service ? "enabled" : "disabled"), false);
    if (a.admin_enabled != b.admin_enabled || (fresh && !a.admin_enabled))
      line(p + "admin-state " + (a.admin_enabled ? "enabled" : "disabled"), false);
    if (a.description != b.description) {
      if (a.description.empty())
        line("no " + p + "description", false);
      else
        line(p + "description " + Quote(a.description), false);
    }
    if (out.size() > group) out.emplace_back("top");
  }
  for (const auto& ch : plan.interfaces) {
    if (ch.kind == core::ChangeKind::kDelete || ch.after->bridge_domain.empty()) continue;
    if (ch.before && ch.before->bridge_domain == ch.after->bridge_domain) continue;
    line(bd + ch.after->bridge_domain + " interface " + ch.name, true);
  }
  for (const auto& ch : plan.bridge_domains)
    if (ch.kind == core::ChangeKind::kDelete) line("no " + bd + ch.name, true);
  return out;
}

bool DnosDialect::InConfigMode(const std::string& prompt) const {
  return prompt.find("(cfg") != std::string::npos;
}

Verdict DnosDialect::ClassifyLine(const ssh::Reply& r) const {
  if (!r.question.empty()) return {Verdict::kQuestion, r.question};
  if (auto e = ErrorText(r.output); !e.empty()) return {Verdict::kRejected, e};
  if (!InConfigMode(r.prompt))
    return {Verdict::kRejected, "the line left configuration mode (prompt '" + r.prompt + "')"};
  return {};
}

Verdict DnosDialect::ClassifyCheck(const ssh::Reply& r) const {
  if (!r.question.empty())
    return {Contains(r.question, "merge-only") ? Verdict::kOutOfSync : Verdict::kQuestion,
            r.output + "\n" + r.question};
  if (Contains(r.output, "commit check passed successfully")) return {};
  return {Verdict::kRejected, r.output.empty() ? "commit check gave no answer" : r.output};
}

Verdict DnosDialect::ClassifyCommit(const ssh::Reply& r, const std::string& user) const {
  if (!r.question.empty())
    return {Contains(r.question, "merge-only") ? Verdict::kOutOfSync : Verdict::kQuestion,
            r.output + "\n" + r.question};
  if (Contains(r.output, "commit action is not applicable")) return {Verdict::kNoop, ""};
  // Another user's commit broadcast says "Commit succeeded by <them>": only ours counts.
  if (Contains(r.output, "commit succeeded by " + user + " ")) return {};
  return {Verdict::kRejected, r.output.empty() ? "commit gave no answer" : r.output};
}

Verdict DnosDialect::ClassifyConfirm(const ssh::Reply& r) const {
  if (!r.question.empty()) return {Verdict::kQuestion, r.question};
  if (Contains(r.output, "commit confirmed") || Contains(r.output, "commit succeeded by"))
    return {};
  if (Contains(r.output, "not applicable"))
    return {Verdict::kRejected,
            "no confirmed commit was pending to confirm (did its timer expire?): " + r.output};
  return {Verdict::kRejected, r.output};
}

bool DnosDialect::CompareIsEmpty(const std::string& output) const {
  for (const auto& l : Lines(output))
    if (!l.empty() && (l[0] == '+' || l[0] == '-')) return false;
  return true;
}

std::string DnosDialect::Decline(const std::string& question) const {
  if (Contains(question, "merge-only")) return "abort";
  return "no";
}

}  // namespace nc::switchcli
