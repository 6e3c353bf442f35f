#include "test/sim/switch/switch_sim.hpp"

#include <algorithm>
#include <sstream>
#include <thread>

#include <time.h>

namespace nc::sim {

namespace {

using Config = std::set<std::string>;  // entry lines ("interfaces X") and leaf lines ("interfaces X
                                       // vlan-id 5")

const char* kBold = "\x1b[1m";
const char* kGreen = "\x1b[32m";
const char* kRed = "\x1b[31m";
const char* kReset = "\x1b[0m";

std::string Now() {
  char buf[64];
  time_t t = time(nullptr);
  tm tmv{};
  gmtime_r(&t, &tmv);
  strftime(buf, sizeof buf, "%d-%b-%Y %H:%M:%S UTC", &tmv);
  return buf;
}

bool StartsWith(const std::string& s, const std::string& p) {
  return s.compare(0, p.size(), p) == 0;
}

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    std::string w;
    if (line[i] == '"') {
      size_t j = line.find('"', i + 1);
      if (j == std::string::npos) j = line.size();
      w = line.substr(i, j + 1 - i);
      i = j + 1;
    } else {
      while (i < line.size() && line[i] != ' ') w += line[i++];
    }
    out.push_back(w);
  }
  return out;
}

std::string Join(const std::vector<std::string>& w, size_t from = 0,
                 size_t to = std::string::npos) {
  std::string s;
  for (size_t i = from; i < std::min(to, w.size()); ++i) s += (s.empty() ? "" : " ") + w[i];
  return s;
}

bool IsPortName(const std::string& n) {
  if (StartsWith(n, "bundle-")) return n.size() > 7;
  if (!StartsWith(n, "ge")) return false;
  auto dash = n.find('-');
  return dash != std::string::npos && n.find('/') != std::string::npos;
}

bool IsEntry(const std::string& line) {
  auto w = Words(line);
  return (w.size() == 2 && w[0] == "interfaces") ||
         (w.size() == 4 && w[0] == "network-services" && w[2] == "instance") ||
         (w.size() == 6 && w[0] == "network-services" && w[4] == "interface");
}

/// What a path resolves to.
struct Resolved {
  std::string error;                 // "ERROR: Unknown word: 'x'." or "Error: Invalid value ..."
  std::vector<std::string> context;  // where the session is afterwards (an entry or container)
  std::string entry;                 // the entry line ("interfaces X"), empty for a container
  std::string leaf;                  // leaf name, empty when the path ends on an entry/container
  std::string value;
};

/// Walks `words` (the session's context followed by what was typed; `typed_from` is where the
/// typed words start) through the grammar.
Resolved Resolve(const std::vector<std::string>& words, size_t typed_from, bool deleting) {
  Resolved r;
  auto unknown = [&](size_t i) {
    r.error = "ERROR: Unknown word: '" + words[i] + "'.";
    return r;
  };
  auto need_value = [&](size_t i, const std::set<std::string>& allowed,
                        const std::string& leaf) -> bool {
    if (i >= words.size()) {
      if (deleting) return true;
      r.error = "ERROR: Incomplete command: a value is required for " + leaf + ".";
      return false;
    }
    if (!allowed.empty() && !allowed.count(words[i])) {
      r.error = "Error: Invalid value for " + leaf + ", value must be one of " +
                Join({allowed.begin(), allowed.end()}) + ".";
      return false;
    }
    return true;
  };
  size_t i = 0;
  if (i >= words.size()) return r;
  if (words[0] == "interfaces") {
    if (words.size() == 1) {
      r.context = {"interfaces"};
      return r;
    }
    if (!IsPortName(words[1])) return unknown(std::max<size_t>(1, typed_from));
    r.entry = "interfaces " + words[1];
    r.context = {"interfaces", words[1]};
    if (words.size() == 2) return r;
    const std::string& leaf = words[2];
    i = 3;
    if (leaf == "vlan-id") {
      if (i < words.size()) {
        char* end = nullptr;
        long v = strtol(words[i].c_str(), &end, 10);
        if (*end != 0 || v < 1 || v > 4094) {
          r.error = "Error: Invalid value for vlan-id, value must be 1-4094.";
          return r;
        }
      } else if (!need_value(i, {}, leaf)) {
        return r;
      }
    } else if (leaf == "l2-service" || leaf == "admin-state") {
      if (!need_value(i, {"enabled", "disabled"}, leaf)) return r;
    } else if (leaf == "description" || leaf == "mtu" || leaf == "ipv4-address") {
      if (!need_value(i, {}, leaf)) return r;
    } else {
      return unknown(std::max<size_t>(2, typed_from));
    }
    r.leaf = leaf;
    r.value = Join(words, i);
    if (leaf == "vlan-id") r.value = i < words.size() ? words[i] : "";
    return r;
  }
  if (words[0] == "network-services") {
    r.context = {"network-services"};
    if (words.size() == 1) return r;
    if (words[1] != "bridge-domain") return unknown(std::max<size_t>(1, typed_from));
    r.context.push_back("bridge-domain");
    if (words.size() == 2) return r;
    if (words[2] != "instance") return unknown(std::max<size_t>(2, typed_from));
    if (words.size() == 3) {
      r.error = "ERROR: Incomplete command: an instance name is required.";
      return r;
    }
    r.entry = "network-services bridge-domain instance " + words[3];
    r.context = {"network-services", "bridge-domain", "instance", words[3]};
    if (words.size() == 4) return r;
    const std::string& leaf = words[4];
    if (leaf == "interface") {
      if (words.size() < 6) {
        r.error = "ERROR: Incomplete command: an interface name is required.";
        return r;
      }
      if (!IsPortName(words[5])) return unknown(std::max<size_t>(5, typed_from));
      r.entry += " interface " + words[5];
      r.context = Words(r.entry);
      if (words.size() > 6)
        return unknown(std::max<size_t>(6, typed_from));  // a member has no knobs here
      return r;
    }
    if (leaf == "description") {
      if (!need_value(5, {}, leaf)) return r;
    } else if (leaf == "admin-state") {
      if (!need_value(5, {"enabled", "disabled"}, leaf)) return r;
    } else {
      return unknown(std::max<size_t>(4, typed_from));
    }
    r.leaf = leaf;
    r.value = Join(words, 5);
    return r;
  }
  return unknown(typed_from < words.size() ? typed_from : 0);
}

bool IsSubInterface(const std::string& name) {
  return name.find('.') != std::string::npos;
}

/// `show config` without `| flatten`: two spaces per level, every container closed by '!'.
/// Entries take their key on the same line as the list word ("instance BD-1").
std::string Hierarchical(const std::vector<std::string>& flat) {
  std::string out;
  std::vector<std::string> open;  // the open levels, each "word" or "list key"
  auto levels_of = [](const std::string& line) {
    auto w = Words(line);
    if (!w.empty() && w.back() == "^") w.pop_back();
    std::vector<std::string> lv;
    size_t i = 0;
    auto take = [&](size_t n) {
      lv.push_back(Join(w, i, i + n));
      i += n;
    };
    if (w[0] == "interfaces") {
      take(1);
      if (i < w.size()) take(1);
    } else if (w[0] == "network-services") {
      take(1);
      if (i < w.size()) take(1);  // bridge-domain
      if (i < w.size()) take(2);  // instance NAME
      if (i < w.size() && w[i] == "interface") take(2);
    }
    std::string leaf = i < w.size() ? Join(w, i) : "";
    return std::pair{lv, leaf};
  };
  for (const auto& line : flat) {
    auto [lv, leaf] = levels_of(line);
    size_t common = 0;
    while (common < open.size() && common < lv.size() && open[common] == lv[common]) ++common;
    while (open.size() > common) {
      open.pop_back();
      out += std::string(2 * open.size(), ' ') + "!\n";
    }
    for (size_t k = common; k < lv.size(); ++k) {
      out += std::string(2 * open.size(), ' ') + lv[k] + "\n";
      open.push_back(lv[k]);
    }
    if (!leaf.empty()) out += std::string(2 * open.size(), ' ') + leaf + "\n";
  }
  while (!open.empty()) {
    open.pop_back();
    out += std::string(2 * open.size(), ' ') + "!\n";
  }
  return out;
}

/// Leaves left out of `show config` because they hold the default.
bool IsDefault(const std::string& entry, const std::string& leaf, const std::string& value) {
  auto w = Words(entry);
  if (w[0] != "interfaces") return false;
  if (IsSubInterface(w[1]))
    return (leaf == "admin-state" && value == "enabled") ||
           (leaf == "l2-service" && value == "disabled");
  return (leaf == "admin-state" && value == "disabled") ||
         (leaf == "l2-service" && value == "disabled");
}

void Set(Config& c, const Resolved& r) {
  if (r.entry.empty()) return;
  // Entries imply their parents (a member implies its instance).
  auto w = Words(r.entry);
  if (w.size() == 6) c.insert(Join(w, 0, 4));
  c.insert(r.entry);
  if (r.leaf.empty()) return;
  const std::string prefix = r.entry + " " + r.leaf + " ";
  for (auto it = c.lower_bound(prefix); it != c.end() && StartsWith(*it, prefix);) it = c.erase(it);
  if (!IsDefault(r.entry, r.leaf, r.value)) c.insert(prefix + r.value);
}

void Delete(Config& c, const Resolved& r) {
  if (r.entry.empty()) return;
  if (!r.leaf.empty()) {
    const std::string prefix = r.entry + " " + r.leaf + " ";
    for (auto it = c.lower_bound(prefix); it != c.end() && StartsWith(*it, prefix);)
      it = c.erase(it);
    return;
  }
  c.erase(r.entry);
  const std::string prefix = r.entry + " ";
  for (auto it = c.lower_bound(prefix); it != c.end() && StartsWith(*it, prefix);) it = c.erase(it);
}

std::vector<std::string> Flatten(const Config& c, const std::string& section) {
  std::vector<std::string> out;
  for (const auto& line : c) {
    if (!section.empty() && !StartsWith(line, section + " ")) continue;
    if (IsEntry(line)) {
      auto next = c.upper_bound(line);
      if (next == c.end() || !StartsWith(*next, line + " ")) out.push_back(line + " ^");
      continue;
    }
    out.push_back(line);
  }
  return out;
}

/// Commit-time validation. Empty = fine.
std::string Check(const Config& c) {
  std::ostringstream err;
  std::map<std::string, std::string> member_of;
  for (const auto& line : c) {
    auto w = Words(line);
    if (w.size() == 2 && w[0] == "interfaces" && IsSubInterface(w[1])) {
      const std::string parent = w[1].substr(0, w[1].find('.'));
      if (!c.count("interfaces " + parent))
        err << "  " << line << "\n    ERROR: parent interface " << parent << " does not exist\n";
      if (c.lower_bound(line + " vlan-id ") == c.end() ||
          !StartsWith(*c.lower_bound(line + " vlan-id "), line + " vlan-id "))
        err << "  " << line << "\n    ERROR: vlan-id is mandatory on a sub-interface\n";
      auto l2 = c.count(line + " l2-service enabled");
      auto ip = c.lower_bound(line + " ipv4-address ");
      if (l2 && ip != c.end() && StartsWith(*ip, line + " ipv4-address "))
        err << "  " << line
            << "\n    ERROR: l2-service is not allowed on an interface with an IPv4 address\n";
    }
    if (w.size() == 6 && w[0] == "network-services" && w[4] == "interface") {
      const std::string& ifname = w[5];
      if (!c.count("interfaces " + ifname))
        err << "  " << line << "\n    ERROR: interface " << ifname << " does not exist\n";
      else if (!c.count("interfaces " + ifname + " l2-service enabled"))
        err << "  " << line << "\n    ERROR: interface " << ifname
            << " is not an l2-service interface\n";
      if (auto [it, fresh] = member_of.emplace(ifname, w[3]); !fresh)
        err << "  " << line << "\n    ERROR: interface " << ifname
            << " is already attached to bridge-domain " << it->second << "\n";
    }
  }
  return err.str();
}

class DnosTerminal;

}  // namespace

struct SwitchSim::Impl {
  SwitchSimOptions options;
  std::mutex mu;
  Config running;
  int64_t version = 1;
  std::vector<std::pair<std::string, Config>> history;  // newest last: (description, config before)
  struct Pending {
    Config before;
    std::chrono::steady_clock::time_point deadline;
    std::string user;
    int minutes;
  };
  std::optional<Pending> pending;
  SwitchFaults faults;
  SwitchStats stats;
  std::vector<std::weak_ptr<std::pair<std::mutex, std::string>>> mailboxes;

  void Broadcast(const std::string& text,
                 const std::shared_ptr<std::pair<std::mutex, std::string>>& except) {
    for (auto& w : mailboxes) {
      auto box = w.lock();
      if (!box || box == except) continue;
      std::lock_guard lk(box->first);
      box->second += text;
    }
  }
  /// Reverts an expired confirm. Caller holds mu.
  void Tick() {
    if (pending && std::chrono::steady_clock::now() >= pending->deadline) {
      running = pending->before;
      ++version;
      ++stats.rollbacks;
      pending.reset();
      Broadcast("\nConfiguration commit rollback by system at " + Now() + "\n", nullptr);
    }
  }
  int64_t CommitDelayMs() const {
    int subifs = 0;
    for (const auto& l : running)
      if (StartsWith(l, "interfaces ") && IsEntry(l)) ++subifs;
    return options.per_commit_ms + static_cast<int64_t>(options.per_interface_commit_ms * subifs);
  }
};

namespace {

class DnosTerminal : public Terminal {
 public:
  DnosTerminal(std::shared_ptr<SwitchSim::Impl> sim, std::string user)
      : sim_(std::move(sim)),
        user_(std::move(user)),
        box_(std::make_shared<std::pair<std::mutex, std::string>>()) {
    std::lock_guard lk(sim_->mu);
    sim_->mailboxes.push_back(box_);
    ++sim_->stats.logins;
    length_ = sim_->options.terminal_length;
  }

  Output Start() override {
    if (sim_->options.banner_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(sim_->options.banner_ms));
    return {"DRIVENETS CLI Loading...\n\nWelcome to DNOS " + sim_->options.version + "\n" +
            Prompt()};
  }

  bool KeyMode() const override { return !paging_.empty() || question_ != Question::kNone; }

  Output OnKey(char c) override {
    if (question_ != Question::kNone) {  // questions take a line: collect it with echo
      if (c == '\r' || c == '\n') {
        std::string answer = std::move(answer_);
        answer_.clear();
        Output o = Answer(answer);
        o.text = "\n" + o.text;
        return o;
      }
      answer_ += c;
      return {std::string(1, c)};
    }
    if (c == 'q') {
      paging_.clear();
      return {"\n" + Prompt()};
    }
    return {Page(c == ' ' ? length_ : 1)};
  }

  std::string TakeAsync() override {
    std::lock_guard lk(box_->first);
    if (box_->second.empty()) return {};
    std::string s = std::move(box_->second);
    box_->second.clear();
    // Redraw what the user was looking at: the pending question, the pager, or the prompt.
    if (question_ != Question::kNone) return s + question_text_ + answer_;
    if (!paging_.empty()) return s + "\x1b[7m-- More -- (Press q to quit)\x1b[0m";
    return s + Prompt();
  }

  std::pair<std::string, int> Exec(const std::string& command) override {
    length_ = 0;  // no pager on an exec channel
    Output o = OnLine(command);
    std::string text = o.text;
    const std::string prompt = Prompt();
    if (text.size() >= prompt.size() &&
        text.compare(text.size() - prompt.size(), prompt.size(), prompt) == 0)
      text.resize(text.size() - prompt.size());
    return {text, text.find("ERROR") != std::string::npos ? 1 : 0};
  }

  Output OnLine(const std::string& raw) override {
    std::string line = raw;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
    while (!line.empty() && line.front() == ' ') line.erase(0, 1);
    std::unique_lock lk(sim_->mu);
    sim_->Tick();
    ++sim_->stats.commands;
    const SwitchFaults faults = sim_->faults;
    const int delay = sim_->options.per_command_ms;
    if (!faults.hang_on.empty() && line.find(faults.hang_on) != std::string::npos)
      return {"", false, true};
    if (drop_armed_) return {"", true, false};
    lk.unlock();
    if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    if (line.empty() || line[0] == '#') return {Prompt()};
    if (line == "\x03") return {"\n" + Prompt()};
    if (line.back() == '?') return {Help(line.substr(0, line.size() - 1)) + Prompt()};
    return config_mode_ ? ConfigMode(line) : Operational(line);
  }

 private:
  enum class Question { kNone, kExitUncommitted, kOutOfSync, kCommitYesNo };

  // `?`: the words that may come next.
  std::string Help(const std::string& before) const {
    const auto w = Words(before);
    std::vector<std::pair<std::string, std::string>> next;
    if (w.empty()) {
      if (config_mode_)
        next = {{"commit", "commit the candidate"},
                {"end", "leave configuration mode"},
                {"exit", "up one level"},
                {"interfaces", "interfaces"},
                {"network-services", "network services"},
                {"rollback", "discard or roll back"},
                {"show", "show commands"},
                {"top", "to the top level"}};
      else
        next = {{"clear", "clear commands"},
                {"configure", "enter configuration mode"},
                {"exit", "log out"},
                {"set", "session settings"},
                {"show", "show commands"}};
    } else if (w[0] == "show") {
      next = {{"config", "the configuration"},
              {"interfaces", "interface status"},
              {"system", "system information"}};
    } else if (w[0] == "commit") {
      next = {{"and-exit", "commit and leave configuration mode"},
              {"check", "validate only"},
              {"confirm", "commit with a rollback timer"}};
    }
    std::string out = "\n";
    for (const auto& [word, what] : next)
      out += "  " + word + std::string(word.size() < 20 ? 20 - word.size() : 1, ' ') + what + "\n";
    return out;
  }
  std::string Prompt() const {
    std::string host = std::string(kBold) + sim_->options.hostname + kReset;
    if (!config_mode_) return host + "# ";
    std::string tag = "cfg";
    if (!context_.empty()) {
      if (context_[0] == "interfaces")
        tag += context_.size() > 1 ? "-if-" + context_[1] : "-if";
      else if (context_.size() >= 6)
        tag = "cfg-bd-inst-" + context_[5];
      else if (context_.size() >= 4)
        tag += "-netsrv-bd-inst";
      else if (context_.size() >= 2)
        tag += "-netsrv-bd";
      else
        tag += "-netsrv";
    }
    return host + "(" + tag + ")# ";
  }

  /// Output through the pager unless paging is off or `| no-more` was given.
  std::string Paged(const std::string& text, bool no_more) {
    std::vector<std::string> lines;
    std::stringstream ss(text);
    for (std::string l; std::getline(ss, l);) lines.push_back(l);
    if (no_more || length_ == 0 || static_cast<int>(lines.size()) <= length_)
      return text + Prompt();
    paging_.assign(lines.begin(), lines.end());
    return Page(length_);
  }
  std::string Page(int n) {
    std::string out = "\r";  // the pager line is overwritten
    for (int i = 0; i < n && !paging_.empty(); ++i) {
      out += paging_.front() + "\n";
      paging_.erase(paging_.begin());
    }
    if (paging_.empty()) return out + Prompt();
    return out + "\x1b[7m-- More -- (Press q to quit)\x1b[0m";
  }

  std::string ShowConfig(const std::vector<std::string>& w, const std::vector<std::string>& pipes,
                         const Config& c) {
    std::string section;  // the whole path after `show config`
    for (size_t i = 2; i < w.size(); ++i) section += (section.empty() ? "" : " ") + w[i];
    bool flatten = false;
    bool no_more = false;
    for (const auto& p : pipes) {
      if (p == "flatten")
        flatten = true;
      else if (p == "no-more")
        no_more = true;
      else
        return "ERROR: Unknown word: '" + p + "'.\n" + Prompt();
    }
    std::string out = "# " + sim_->options.hostname + " config-start [" + Now() + "]\n";
    if (flatten) {
      for (const auto& l : Flatten(c, section)) out += l + "\n";
    } else {
      out += Hierarchical(Flatten(c, section));
    }
    out += "# " + sim_->options.hostname + " config-end\n";
    return Paged(out, no_more);
  }

  static std::pair<std::vector<std::string>, std::vector<std::string>> SplitPipes(
      const std::string& line) {
    std::vector<std::string> parts;
    std::string cur;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      if (c == '|' && !quoted) {
        parts.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    parts.push_back(cur);
    std::vector<std::string> pipes;
    for (size_t i = 1; i < parts.size(); ++i) {
      auto w = Words(parts[i]);
      pipes.push_back(Join(w));
    }
    return {Words(parts[0]), pipes};
  }

  Output Operational(const std::string& line) {
    auto [w, pipes] = SplitPipes(line);
    if (w.empty()) return {Prompt()};
    std::unique_lock lk(sim_->mu);
    if (w[0] == "configure") {
      config_mode_ = true;
      context_.clear();
      candidate_ = sim_->running;
      base_ = sim_->running;
      base_version_ = sim_->version;
      return {Prompt()};
    }
    if (w[0] == "set" && w.size() == 3 && w[1] == "cli-terminal-length") {
      length_ = std::atoi(w[2].c_str());
      return {Prompt()};
    }
    if (w[0] == "show" && w.size() >= 2 && w[1] == "config") {
      Config c = sim_->running;
      lk.unlock();
      return {ShowConfig(w, pipes, c)};
    }
    if (w[0] == "show" && w.size() == 2 && w[1] == "interfaces") {
      std::string out = "| Interface | Admin | VLAN | Description |\n";
      std::map<std::string, std::map<std::string, std::string>> ifs;
      for (const auto& l : sim_->running) {
        auto lw = Words(l);
        if (lw.size() < 2 || lw[0] != "interfaces") continue;
        auto& leaves = ifs[lw[1]];
        if (lw.size() >= 4) leaves[lw[2]] = lw[3];
      }
      for (const auto& [name, leaves] : ifs) {
        auto get = [&](const char* k, const char* d) {
          auto it = leaves.find(k);
          return it == leaves.end() ? std::string(d) : it->second;
        };
        out += "| " + name + " | " + get("admin-state", "enabled") + " | " + get("vlan-id", "-") +
               " | " + get("description", "") + " |\n";
      }
      return {Paged(out, std::find(pipes.begin(), pipes.end(), "no-more") != pipes.end())};
    }
    if (w[0] == "show" && ((w.size() == 2 && w[1] == "system") ||
                           (w.size() == 3 && w[1] == "system" && w[2] == "version"))) {
      return {"System Name: " + sim_->options.hostname + "\nSystem Type: SA-40C\nVersion: DNOS [" +
              sim_->options.version + "] build [1]\n" + Prompt()};
    }
    if (w[0] == "show" && w.size() == 3 && w[1] == "system" && w[2] == "commit") {
      std::string out;
      if (sim_->pending) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            sim_->pending->deadline - std::chrono::steady_clock::now());
        const int64_t minutes = std::max<int64_t>(
            1, (left.count() + sim_->options.minute_ms - 1) / sim_->options.minute_ms);
        out += "[" + Now() + "] " + sim_->pending->user +
               " via cli confirmed-commit, rollback in " + std::to_string(minutes) + " minutes\n";
      }
      if (sim_->history.empty()) {
        out += "no commits\n";
      } else {
        out +=
            "Commit history:\n| Rollback ID | Version | User | Commit time | Commit origin | "
            "Commit log message |\n";
        int id = 1;
        for (auto it = sim_->history.rbegin(); it != sim_->history.rend() && id < 50; ++it, ++id)
          out += "| " + std::to_string(id) + " | " + std::to_string(sim_->version - id) + " | " +
                 it->first + " |\n";
      }
      return {Paged(out, std::find(pipes.begin(), pipes.end(), "no-more") != pipes.end())};
    }
    if (w[0] == "clear" && w.size() == 3 && w[1] == "system" && w[2] == "commit") {
      if (!sim_->pending) return {"ERROR: No commit confirm scheduled\n" + Prompt()};
      sim_->running = sim_->pending->before;
      ++sim_->version;
      ++sim_->stats.rollbacks;
      sim_->pending.reset();
      return {"Configuration commit rollback by " + user_ + " at " + Now() + "\n" + Prompt()};
    }
    if (w[0] == "exit" || w[0] == "quit" || w[0] == "logout") return {"", true, false, 0};
    // The error names the word that is not understood, as DNOS's does.
    const std::string bad = w[0] == "show" && w.size() > 1 ? w[1] : w[0];
    return {"ERROR: Unknown word: '" + bad + "'.\n" + Prompt()};
  }

  Output ConfigMode(const std::string& line) {
    auto [w, pipes] = SplitPipes(line);
    if (w.empty()) return {Prompt()};
    const std::string& cmd = w[0];
    if (cmd == "top") {
      context_.clear();
      return {Prompt()};
    }
    if (cmd == "exit" || cmd == "!") {
      if (!context_.empty()) {
        PopContext();
        return {Prompt()};
      }
      return LeaveConfig();
    }
    if (cmd == "end") return LeaveConfig();
    if (cmd == "quit") return {"", true, false, 0};
    std::unique_lock lk(sim_->mu);
    if (cmd == "rollback") {
      const int id = w.size() > 1 ? std::atoi(w[1].c_str()) : 0;
      if (id == 0) {
        candidate_ = sim_->running;
      } else if (id <= static_cast<int>(sim_->history.size())) {
        candidate_ = sim_->history[sim_->history.size() - id].second;
      } else {
        return {"ERROR: rollback " + std::to_string(id) + " does not exist\n" + Prompt()};
      }
      base_ = sim_->running;
      base_version_ = sim_->version;
      return {"Configuration rollback complete\n" + Prompt()};
    }
    if (cmd == "show" && w.size() >= 2 && w[1] == "config") {
      if (w.size() >= 3 && w[2] == "compare") return {Compare(pipes)};
      Config c = candidate_;
      lk.unlock();
      return {ShowConfig(w, pipes, c)};
    }
    if (cmd == "show") {  // operational show commands work in every hierarchy
      lk.unlock();
      return Operational(line);
    }
    if (cmd == "commit" && w.size() == 2 && w[1] == "and-exit") {
      lk.unlock();
      Output o = Commit({"commit"});
      const std::string& t = o.text;
      if (t.rfind("Commit check failed", 0) == 0 || t.rfind("ERROR", 0) == 0 ||
          t.rfind("Warning", 0) == 0 || KeyMode())
        return o;
      const size_t plen =
          Prompt().size();  // the configuration prompt the commit's answer ends with
      config_mode_ = false;
      context_.clear();
      o.text = t.substr(0, t.size() - std::min(t.size(), plen)) + Prompt();
      return o;
    }
    if (cmd == "commit") {
      lk.unlock();
      return Commit(w);
    }
    // A configuration line, relative to the current hierarchy.
    ++sim_->stats.config_lines;
    const SwitchFaults& faults = sim_->faults;
    if (!faults.unknown_word_on.empty() && line.find(faults.unknown_word_on) != std::string::npos) {
      const auto bad = Words(line);
      return {"ERROR: Unknown word: '" + bad.back() + "'.\n" + Prompt()};
    }
    const bool deleting = cmd == "no";
    std::vector<std::string> full = context_;
    const size_t typed_from = full.size();
    full.insert(full.end(), w.begin() + (deleting ? 1 : 0), w.end());
    if (deleting && full.size() == typed_from) return {"ERROR: Incomplete command.\n" + Prompt()};
    Resolved r = Resolve(full, typed_from, deleting);
    if (!r.error.empty()) return {r.error + "\n" + Prompt()};
    if (deleting) {
      Delete(candidate_, r);
    } else {
      Set(candidate_, r);
      if (r.leaf.empty()) context_ = r.context;  // ended on an entry or container: step into it
    }
    return {Prompt()};
  }

  void PopContext() {
    // One level up: entries take two words (list + key), containers one.
    if (context_.size() >= 6)
      context_.resize(4);
    else if (context_.size() >= 4)
      context_.resize(2);
    else if (context_.size() == 2 && context_[0] == "interfaces")
      context_.resize(1);
    else
      context_.pop_back();
  }

  Output Ask(Question q, const std::string& text) {
    question_ = q;
    question_text_ = text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
    return {text};
  }

  Output LeaveConfig() {
    std::lock_guard lk(sim_->mu);
    if (candidate_ != base_) {
      return Ask(Question::kExitUncommitted,
                 "Warning: Configuration includes uncommitted changes, would you like to commit "
                 "them before exiting "
                 "(yes,no,cancel)[cancel]? ");
    }
    config_mode_ = false;
    context_.clear();
    return {Prompt()};
  }

  std::string Compare(const std::vector<std::string>& pipes) {
    auto before = Flatten(base_, "");
    auto after = Flatten(candidate_, "");
    std::vector<std::string> added;
    std::vector<std::string> deleted;
    std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                        std::back_inserter(added));
    std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                        std::back_inserter(deleted));
    std::string out = "# " + sim_->options.hostname + " config-start [" + Now() + "]\n";
    if (!added.empty()) {
      out += "Added:\n";
      for (const auto& l : added) out += std::string(kGreen) + "+ " + l + kReset + "\n";
    }
    if (!deleted.empty()) {
      out += "Deleted:\n";
      for (const auto& l : deleted) out += std::string(kRed) + "- " + l + kReset + "\n";
    }
    out += "# " + sim_->options.hostname + " config-end\n";
    return Paged(out, std::find(pipes.begin(), pipes.end(), "no-more") != pipes.end());
  }

  Output Commit(const std::vector<std::string>& w) {
    bool check = w.size() > 1 && w[1] == "check";
    bool confirm = w.size() > 1 && w[1] == "confirm";
    int minutes = 10;
    if (confirm && w.size() > 2 && w[2] != "log") {
      minutes = std::atoi(w[2].c_str());
      if (minutes < 1 || minutes > 65535)
        return {"Error: Invalid value for commit confirm, value must be 1-65535.\n" + Prompt()};
    }
    std::unique_lock lk(sim_->mu);
    auto& faults = sim_->faults;
    if (faults.concurrent_commit) {
      faults.concurrent_commit = false;
      lk.unlock();
      (void)CommitFromOtherUser();
      lk.lock();
    }
    if (check) ++sim_->stats.commit_checks;
    if (sim_->version != base_version_ && candidate_ != base_) {
      pending_commit_ = w;
      return Ask(Question::kOutOfSync,
                 "Warning: User netops2 committed at " + Now() +
                     ", your configuration is out of sync. What would you like to do " +
                     (check ? "(check-and-merge, merge-only, abort) [abort]? "
                            : "(commit, merge-only, abort) [abort]? "));
    }
    const int64_t delay = sim_->CommitDelayMs();
    if (delay > 0) {
      lk.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      lk.lock();
    }
    std::string problems = Check(candidate_);
    if (faults.fail_commit_check > 0) {
      --faults.fail_commit_check;
      problems +=
          "  system\n    ERROR: Unable to commit, resource check failed (TCAM exhausted).\n";
    }
    if (!problems.empty()) return {"Commit check failed on:\n" + problems + Prompt()};
    if (check) return {"Commit check passed successfully\n" + Prompt()};
    if (candidate_ == base_) {
      if (sim_->pending && !confirm) {
        sim_->pending.reset();
        ++sim_->stats.confirms;
        return {"Commit confirmed by " + user_ + " at " + Now() + "\n" + Prompt()};
      }
      return {"NOTICE: commit action is not applicable. no configuration changes were made\n" +
              Prompt()};
    }
    if (confirm && sim_->pending)
      return {"ERROR: Unable to commit, a commit confirm is already pending.\n" + Prompt()};
    if (faults.ask_on_commit) {
      faults.ask_on_commit = false;
      pending_commit_ = w;
      return Ask(Question::kCommitYesNo,
                 "Notice: this change affects forwarding on " +
                     std::to_string(Flatten(candidate_, "interfaces").size()) +
                     " interface line(s).\nEnter yes to continue with commit, no to abort commit "
                     "(yes/no) [no] ");
    }
    return {Apply(confirm, minutes)};
  }

  /// Caller holds the lock.
  std::string Apply(bool confirm, int minutes) {
    Config before = sim_->running;
    // Merge this session's changes onto the running configuration.
    Config merged = sim_->running;
    for (const auto& l : base_)
      if (!candidate_.count(l)) merged.erase(l);
    for (const auto& l : candidate_)
      if (!base_.count(l)) merged.insert(l);
    sim_->running = merged;
    ++sim_->version;
    ++sim_->stats.commits;
    sim_->history.emplace_back(user_ + " | " + Now() + " | cli", before);
    if (sim_->history.size() > 49) sim_->history.erase(sim_->history.begin());
    candidate_ = sim_->running;
    base_ = sim_->running;
    base_version_ = sim_->version;
    const std::string when = Now();
    sim_->Broadcast("\nCommit succeeded by " + user_ + " at " + when + "\n", box_);
    if (confirm) {
      sim_->pending =
          SwitchSim::Impl::Pending{before,
                                   std::chrono::steady_clock::now() +
                                       std::chrono::milliseconds(minutes * sim_->options.minute_ms),
                                   user_, minutes};
      if (sim_->faults.drop_before_confirm) {
        sim_->faults.drop_before_confirm = false;
        drop_armed_ = true;
      }
      return std::string(kGreen) + "Commit succeeded by " + user_ + " at " + when + kReset +
             "\nCommit confirm will automatically rollback in " + std::to_string(minutes) +
             " minutes unless confirmed\n" + Prompt();
    }
    if (sim_->pending) {
      sim_->pending.reset();
      ++sim_->stats.confirms;
    }
    return std::string(kGreen) + "Commit succeeded by " + user_ + " at " + when + kReset + "\n" +
           Prompt();
  }

  Status CommitFromOtherUser() {
    // An unrelated change by a colleague: a description on port ge100-0/0/0.
    std::lock_guard lk(sim_->mu);
    Config before = sim_->running;
    sim_->running.insert("interfaces ge100-0/0/0");
    sim_->running.insert("interfaces ge100-0/0/0 description \"uplink (netops2)\"");
    ++sim_->version;
    sim_->history.emplace_back("netops2 | " + Now() + " | cli", before);
    sim_->Broadcast("\nCommit succeeded by netops2 at " + Now() + "\n", nullptr);
    return {};
  }

  Output Answer(const std::string& raw) {
    std::string a = raw;
    while (!a.empty() && a.back() == ' ') a.pop_back();
    const Question q = question_;
    question_ = Question::kNone;
    switch (q) {
      case Question::kExitUncommitted:
        if (a == "no") {
          std::lock_guard lk(sim_->mu);
          candidate_ = sim_->running;
          base_ = sim_->running;
          config_mode_ = false;
          context_.clear();
          return {Prompt()};
        }
        if (a == "yes") {
          std::lock_guard lk(sim_->mu);
          std::string out = Apply(false, 0);
          config_mode_ = false;
          context_.clear();
          return {out.substr(0, out.rfind('\n') + 1) + Prompt()};
        }
        return {Prompt()};
      case Question::kOutOfSync:
        if (a == "merge-only") {
          std::lock_guard lk(sim_->mu);
          Config merged = sim_->running;
          for (const auto& l : base_)
            if (!candidate_.count(l)) merged.erase(l);
          for (const auto& l : candidate_)
            if (!base_.count(l)) merged.insert(l);
          candidate_ = merged;
          base_ = sim_->running;
          base_version_ = sim_->version;
          return {"Configuration merged\n" + Prompt()};
        }
        if (a == "commit" || a == "check-and-merge") {
          std::lock_guard lk(sim_->mu);
          base_version_ = sim_->version;
          return {Apply(false, 0)};
        }
        return {"Commit aborted\n" + Prompt()};
      case Question::kCommitYesNo:
        if (a == "yes") {
          std::lock_guard lk(sim_->mu);
          const bool confirm = pending_commit_.size() > 1 && pending_commit_[1] == "confirm";
          const int minutes =
              confirm && pending_commit_.size() > 2 ? std::atoi(pending_commit_[2].c_str()) : 10;
          return {Apply(confirm, minutes)};
        }
        return {"Commit aborted\n" + Prompt()};
      case Question::kNone:
        break;
    }
    return {Prompt()};
  }

  std::shared_ptr<SwitchSim::Impl> sim_;
  std::string user_;
  std::shared_ptr<std::pair<std::mutex, std::string>> box_;
  bool config_mode_ = false;
  std::vector<std::string> context_;
  Config candidate_;
  Config base_;
  int64_t base_version_ = 0;
  int length_ = 24;
  std::vector<std::string> paging_;
  Question question_ = Question::kNone;
  std::string question_text_;  // the question line, for redraws
  std::string answer_;
  std::vector<std::string> pending_commit_;
  bool drop_armed_ = false;
};

}  // namespace

SwitchSim::SwitchSim(SwitchSimOptions options) : impl_(std::make_shared<Impl>()) {
  if (options.ports.empty())
    for (int i = 0; i < 48; ++i) options.ports.push_back("ge100-0/0/" + std::to_string(i));
  impl_->options = std::move(options);
  for (const auto& p : impl_->options.ports) {
    impl_->running.insert("interfaces " + p);
    impl_->running.insert("interfaces " + p + " admin-state enabled");
  }
}

SwitchSim::~SwitchSim() = default;

std::unique_ptr<Terminal> SwitchSim::NewTerminal(const std::string& user) {
  return std::make_unique<DnosTerminal>(impl_, user);
}

void SwitchSim::SetFaults(const SwitchFaults& faults) {
  std::lock_guard lk(impl_->mu);
  impl_->faults = faults;
}

SwitchStats SwitchSim::Stats() {
  std::lock_guard lk(impl_->mu);
  return impl_->stats;
}

void SwitchSim::ResetStats() {
  std::lock_guard lk(impl_->mu);
  impl_->stats = {};
}

std::vector<std::string> SwitchSim::RunningFlat() {
  std::lock_guard lk(impl_->mu);
  impl_->Tick();
  return Flatten(impl_->running, "");
}

bool SwitchSim::PendingConfirm() {
  std::lock_guard lk(impl_->mu);
  impl_->Tick();
  return impl_->pending.has_value();
}

Status SwitchSim::CommitOutOfBand(const std::vector<std::string>& lines, const std::string& user) {
  std::lock_guard lk(impl_->mu);
  Config c = impl_->running;
  for (const auto& line : lines) {
    auto w = Words(line);
    const bool del = !w.empty() && w[0] == "no";
    if (del) w.erase(w.begin());
    Resolved r = Resolve(w, 0, del);
    if (!r.error.empty())
      return tl::unexpected(Error{ErrorCode::kInvalidArgument, line + ": " + r.error});
    if (del)
      Delete(c, r);
    else
      Set(c, r);
  }
  if (auto problems = Check(c); !problems.empty())
    return tl::unexpected(Error{ErrorCode::kRejected, "Commit check failed on:\n" + problems});
  impl_->history.emplace_back(user + " | " + Now() + " | cli", impl_->running);
  impl_->running = std::move(c);
  ++impl_->version;
  impl_->Broadcast("\nCommit succeeded by " + user + " at " + Now() + "\n", nullptr);
  return {};
}

}  // namespace nc::sim
