#include "controller/source/directory_source.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "controller/api/v1alpha1/yaml_codec.hpp"

namespace nc::source {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxManifestBytes = 16u << 20;

/// Every file's objects in one set, in file order. Those of the files in `take` are moved out
/// (the files are left empty), the others copied.
api::Manifests Merge(const std::map<std::string, api::Manifests*>& files,
                     const std::set<std::string>& take) {
  api::Manifests all;
  size_t devices = 0, forwards = 0, vlans = 0;
  for (const auto& [file, m] : files) {
    devices += m->devices.size();
    forwards += m->port_forwards.size();
    vlans += m->vlan_interfaces.size();
  }
  all.devices.reserve(devices);
  all.port_forwards.reserve(forwards);
  all.vlan_interfaces.reserve(vlans);
  auto append = [](bool by_move, auto& to, auto& from) {
    if (by_move) {
      to.insert(to.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
      std::decay_t<decltype(from)>().swap(from);
    } else {
      to.insert(to.end(), from.begin(), from.end());
    }
  };
  for (const auto& [file, m] : files) {
    const bool move = take.count(file) > 0;
    append(move, all.devices, m->devices);
    append(move, all.port_forwards, m->port_forwards);
    append(move, all.vlan_interfaces, m->vlan_interfaces);
  }
  return all;
}

api::Manifests Merge(const std::map<std::string, api::Manifests>& files) {
  std::map<std::string, api::Manifests*> refs;
  for (const auto& [file, m] : files) refs[file] = const_cast<api::Manifests*>(&m);  // not taken
  return Merge(refs, {});
}

std::string HashOf(const std::string& s) {
  return std::to_string(std::hash<std::string>{}(s)) + ":" + std::to_string(s.size());
}

}  // namespace

core::ServiceTable LoadServices(const std::string& path) {
  // The file VyOS's own validators read; without it no service name is accepted (numbers are).
  std::ifstream f(path);
  if (!f) return {};
  std::stringstream ss;
  ss << f.rdbuf();
  return core::ParseServices(ss.str());
}

std::vector<std::string> ManifestFiles(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it =
           fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const auto ext = it->path().extension().string();
    const auto name = it->path().filename().string();
    if ((ext == ".yaml" || ext == ".yml") && name[0] != '.') files.push_back(it->path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::map<std::string, FileStamp> Stamps(const std::vector<std::string>& files) {
  std::map<std::string, FileStamp> out;
  for (const auto& file : files) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out[file] = FileStamp{int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
                          int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec,
                          static_cast<uintmax_t>(st.st_size), static_cast<uintmax_t>(st.st_ino)};
  }
  return out;
}

std::map<std::string, FileStamp> Stamps(const std::string& dir) {
  return Stamps(ManifestFiles(dir));
}

DirectoryTexts ReadTexts(const std::string& dir) {
  return ReadTexts(dir, ManifestFiles(dir));
}

DirectoryTexts ReadTexts(const std::string& dir, const std::vector<std::string>& files) {
  DirectoryTexts out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    out.problems.push_back({api::SourcePos{dir, 0, 0}, "", "", "", "is not a readable directory"});
    out.broken_files.push_back(dir);
    return out;
  }
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (!in && !in.eof()) {
      out.problems.push_back({api::SourcePos{file, 0, 0}, "", "", "", "cannot be read"});
      out.broken_files.push_back(file);
      continue;
    }
    out.hashes[file] = HashOf(text);
    if (text.size() > kMaxManifestBytes) {
      out.problems.push_back({api::SourcePos{file, 0, 0}, "", "", "", "is larger than 16 MiB"});
      out.broken_files.push_back(file);
      continue;
    }
    out.texts[file] = std::move(text);
  }
  return out;
}

DirectoryContents Decode(DirectoryTexts texts) {
  DirectoryContents out;
  out.hashes = std::move(texts.hashes);
  out.problems = std::move(texts.problems);
  out.broken_files = std::move(texts.broken_files);
  for (const auto& [file, text] : texts.texts) {
    auto decoded = api::DecodeManifests(text, file);
    if (!decoded.problems.empty()) {
      out.problems.insert(out.problems.end(), decoded.problems.begin(), decoded.problems.end());
      out.broken_files.push_back(file);
    }
    // Kept even with problems, so `validate` can report its field problems as well.
    out.files[file] = std::move(decoded.manifests);
  }
  std::sort(out.broken_files.begin(), out.broken_files.end());
  return out;
}

DirectoryContents ReadDirectory(const std::string& dir) {
  return Decode(ReadTexts(dir));
}

core::ValidationResult ValidateDirectory(const std::string& dir,
                                         const core::ServiceTable& services) {
  auto contents = ReadDirectory(dir);
  auto result = core::Validate(Merge(contents.files), services);
  result.problems.insert(result.problems.begin(), contents.problems.begin(),
                         contents.problems.end());
  std::stable_sort(result.problems.begin(), result.problems.end(),
                   [](const api::Problem& a, const api::Problem& b) {
                     return std::tie(a.pos.file, a.pos.line, a.pos.column) <
                            std::tie(b.pos.file, b.pos.line, b.pos.column);
                   });
  return result;
}

DirectorySource::DirectorySource(std::string dir, core::ServiceTable services,
                                 std::chrono::milliseconds settle)
    : dir_(std::move(dir)), services_(std::move(services)), settle_(settle) {}

std::shared_ptr<const core::DesiredState> DirectorySource::Desired() const {
  std::lock_guard lk(mu_);
  return desired_;
}

namespace {

/// Devices whose desired state differs between `before` and `after`: their spec, any of their
/// rules or sub-interfaces, or (all of them) the reason deletions are held everywhere.
std::vector<std::string> ChangedDevices(const core::DesiredState& before,
                                        const core::DesiredState& after) {
  std::set<std::string> keys;
  for (const auto& [k, d] : after.devices) keys.insert(k);
  for (const auto& [k, d] : before.devices) keys.insert(k);
  std::vector<std::string> changed;
  for (const auto& k : keys) {
    auto a = before.devices.find(k);
    auto b = after.devices.find(k);
    const bool same = a != before.devices.end() && b != after.devices.end() &&
                      a->second == b->second &&
                      std::ranges::equal(before.RulesFor(k), after.RulesFor(k)) &&
                      std::ranges::equal(before.VlansFor(k), after.VlansFor(k));
    if (!same || after.held_deletes_all != before.held_deletes_all) changed.push_back(k);
  }
  return changed;
}

}  // namespace

std::string DirectorySource::Settling(const std::map<std::string, std::string>& hashes) const {
  if (settle_.count() <= 0) return "";
  // The newest modification among the changed files and the directories of removed ones.
  const auto now = fs::file_time_type::clock::now();
  std::error_code ec;
  auto fresh = [&](const fs::path& p) {
    const auto t = fs::last_write_time(p, ec);
    return !ec && now - t < settle_;
  };
  std::string settling;
  for (const auto& [file, hash] : hashes) {
    auto old = hashes_.find(file);
    if ((old == hashes_.end() || old->second != hash) && fresh(file)) settling = file;
  }
  for (const auto& [file, hash] : hashes_)
    if (!hashes.count(file) && fresh(fs::path(file).parent_path())) settling = file;
  return settling;
}

bool DirectorySource::Untouched(const std::map<std::string, FileStamp>& stamps) const {
  // File times are coarse (a kernel tick): a file rewritten with the same size within the
  // last moments may keep its stamp, so recently modified files are always read.
  int64_t newest = 0;
  for (const auto& [file, st] : stamps) newest = std::max(newest, st.mtime_ns);
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const bool recent = now_ns - newest < int64_t{2'000'000'000};
  return loaded_ && !recent && !stamps.empty() && stamps == stamps_;
}

core::ValidationResult DirectorySource::ValidateWithFallbacks(
    DirectoryContents& contents, const std::map<std::string, std::string>& texts,
    std::set<std::string>& failed, std::vector<api::Problem>& problems) {
  // Start from the new content of every readable file; files that fail fall back to their
  // last good content (or to nothing, holding deletions).
  core::ValidationResult result;
  std::map<std::string, api::Manifests> earlier;  // failed files' last good content, decoded
  std::map<std::string, api::Manifests> again;    // new content decoded again (round > 0)
  for (int round = 0; round < 64; ++round) {
    std::map<std::string, api::Manifests*> candidate;  // Merge moves them into the one set
    for (auto& [file, m] : contents.files) {
      if (failed.count(file)) continue;
      if (round == 0) {
        candidate[file] = &m;
        continue;
      }
      auto t = texts.find(file);
      if (t == texts.end()) continue;
      again[file] = api::DecodeManifests(t->second, file).manifests;
      candidate[file] = &again[file];
    }
    for (const auto& file : failed) {
      auto g = good_.find(file);
      if (g == good_.end()) continue;
      auto [it, fresh] = earlier.try_emplace(file);
      if (fresh) it->second = api::DecodeManifests(g->second, file).manifests;
      // Copied: a later round may need this file's last good content again.
      candidate[file] = &it->second;
    }
    std::set<std::string> take;  // the new content; the last good content is copied
    for (const auto& [file, m] : candidate)
      if (!earlier.count(file)) take.insert(file);
    result = core::Validate(Merge(candidate, take), services_);
    std::set<std::string> bad;
    for (const auto& p : result.problems)
      if (!failed.count(p.pos.file)) bad.insert(p.pos.file);
    if (bad.empty()) break;
    // Report these problems once, then retry without the offending files' new content.
    for (const auto& p : result.problems)
      if (bad.count(p.pos.file)) problems.push_back(p);
    failed.insert(bad.begin(), bad.end());
  }
  for (const auto& p : result.problems)
    if (std::find(problems.begin(), problems.end(), p) == problems.end()) problems.push_back(p);
  return result;
}

DirectorySource::ReloadReport DirectorySource::Reload() {
  ReloadReport report;
  const auto files = ManifestFiles(dir_);  // one walk, for the stamps and the read
  auto stamps = Stamps(files);
  {
    std::lock_guard lk(mu_);
    if (Untouched(stamps)) {
      report.problems = problems_;
      return report;  // no file was touched: nothing read
    }
  }
  auto texts = ReadTexts(dir_, files);
  report.read_files = true;
  std::lock_guard lk(mu_);
  if (loaded_ && texts.hashes == hashes_) {
    stamps_ = std::move(stamps);
    report.problems = problems_;
    return report;  // nothing changed: nothing decoded
  }
  report.settling = Settling(texts.hashes);
  if (!report.settling.empty()) {
    report.problems = problems_;
    return report;  // taken at a later reload, once it is left alone
  }
  std::map<std::string, std::string> new_texts = texts.texts;
  auto contents = Decode(std::move(texts));

  std::set<std::string> failed(contents.broken_files.begin(), contents.broken_files.end());
  std::vector<api::Problem> problems = contents.problems;
  core::ValidationResult result = ValidateWithFallbacks(contents, new_texts, failed, problems);

  core::DesiredState next = std::move(result.desired);
  std::string held;
  for (const auto& file : failed) {
    if (good_.count(file)) {
      report.kept_files.push_back(file);
    } else {
      held += (held.empty() ? "" : ", ") + file;
    }
  }
  if (!held.empty())
    next.held_deletes_all =
        "manifest file(s) " + held + " cannot be used and have no earlier good content";
  for (auto& [file, text] : new_texts)
    if (!failed.count(file)) good_[file] = std::move(text);
  for (auto it = good_.begin(); it != good_.end();) {
    // A file that was deleted is an intended deletion of its resources.
    if (!contents.hashes.count(it->first) && !failed.count(it->first))
      it = good_.erase(it);
    else
      ++it;
  }

  for (auto& p : core::KeepShard(next, shard_)) problems.push_back(std::move(p));
  report.changed_devices = ChangedDevices(*desired_, next);
  report.changed = !(next == *desired_) || !loaded_;
  report.problems = problems;
  problems_ = std::move(problems);
  if (report.changed) {
    next.generation = ++generation_;
    desired_ = std::make_shared<const core::DesiredState>(std::move(next));
  }
  hashes_ = contents.hashes;
  stamps_ = std::move(stamps);  // a settling change is not recorded: it is read again
  loaded_ = true;
  return report;
}

}  // namespace nc::source
