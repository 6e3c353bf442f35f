#include "controller/cli/common.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <iostream>
#include <set>

#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/source/directory_source.hpp"

namespace nc::cli {

namespace {

/// One JSON object per line: time, level, logger, msg, and every `key=value` pair of the message
/// as a field of its own (the reconciler's lines carry device=, resource=, run_id=, outcome=...).
class JsonLineFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string text(msg.payload.data(), msg.payload.size());
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    const auto secs = std::chrono::time_point_cast<std::chrono::milliseconds>(msg.time);
    const std::time_t t = std::chrono::system_clock::to_time_t(msg.time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[80];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(secs.time_since_epoch().count() % 1000));
    w.Key("time");
    w.String(ts);
    w.Key("level");
    const auto level = spdlog::level::to_string_view(msg.level);
    w.String(level.data(), static_cast<rapidjson::SizeType>(level.size()));
    w.Key("msg");
    w.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
    std::set<std::string> seen = {"time", "level", "msg"};
    for (size_t i = 0; i < text.size();) {
      // key=value at a word start: key [a-z_]+, value "quoted" or up to the next space.
      if (i > 0 && text[i - 1] != ' ') {
        ++i;
        continue;
      }
      size_t k = i;
      while (k < text.size() &&
             (std::islower(static_cast<unsigned char>(text[k])) || text[k] == '_'))
        ++k;
      if (k == i || k >= text.size() || text[k] != '=') {
        ++i;
        continue;
      }
      const std::string key = text.substr(i, k - i);
      size_t v = k + 1;
      std::string value;
      if (v < text.size() && text[v] == '"') {
        const size_t end = text.find('"', v + 1);
        value = text.substr(v + 1, end == std::string::npos ? std::string::npos : end - v - 1);
        i = end == std::string::npos ? text.size() : end + 1;
      } else {
        const size_t end = text.find(' ', v);
        value = text.substr(v, end == std::string::npos ? std::string::npos : end - v);
        i = end == std::string::npos ? text.size() : end;
      }
      if (!seen.insert(key).second) continue;
      w.Key(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
      const bool number = !value.empty() && value.size() < 18 &&
                          std::all_of(value.begin(), value.end(), [](char ch) {
                            return std::isdigit(static_cast<unsigned char>(ch));
                          });
      if (number)
        w.Int64(std::stoll(value));
      else
        w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
    }
    w.EndObject();
    dest.append(buf.GetString(), buf.GetString() + buf.GetSize());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLineFormatter>();
  }
};

}  // namespace

std::shared_ptr<spdlog::logger> MakeLogger(const std::string& level, const std::string& format) {
  auto log = spdlog::stderr_color_mt("netconverge");
  if (format == "json")
    log->set_formatter(std::make_unique<JsonLineFormatter>());
  else
    log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  log->set_level(spdlog::level::from_str(level));
  return log;
}

std::string Pad(const std::string& s, size_t n) {
  return s.size() >= n ? s + " " : s + std::string(n - s.size(), ' ');
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size() + 2);
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) line += i + 1 == r.size() ? r[i] : Pad(r[i], width[i]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  }
}

/// Opens the store, or says why not on stderr and returns null.
std::unique_ptr<store::SqliteStore> OpenStore(const std::string& path, bool auto_migrate,
                                              store::SqliteStore::OpenMode mode) {
  if (auto_migrate) mode = store::SqliteStore::OpenMode::kAutoMigrate;
  auto st = store::SqliteStore::Open(path, mode);
  if (!st) {
    std::cerr << "netconverge: " << st.error().message << "\n";
    return nullptr;
  }
  return std::move(*st);
}

// Read commands never create a store.
bool StoreExists(const std::string& path) {
  if (::access(path.c_str(), F_OK) == 0) return true;
  std::cerr << "netconverge: no store at " << path
            << " (run `netconverge run` or `apply` first, or pass --store)\n";
  return false;
}

// Loads and validates everything; prints problems. Returns nullopt when there are any.
std::optional<core::DesiredState> LoadStrict(const std::string& dir,
                                             const core::ServiceTable& services) {
  auto v = source::ValidateDirectory(dir, services);
  if (!v.problems.empty()) {
    for (const auto& p : v.problems) std::cerr << p.ToString() << "\n";
    std::cerr << v.problems.size() << " problem(s) in " << dir
              << "; nothing was sent to any device\n";
    return std::nullopt;
  }
  return v.desired;
}

std::vector<std::string> SelectDevices(const core::DesiredState& d, const std::string& want) {
  std::vector<std::string> out;
  for (const auto& [key, dev] : d.devices)
    if (want.empty() || want == key || want == dev.name) out.push_back(key);
  return out;
}

}  // namespace nc::cli
