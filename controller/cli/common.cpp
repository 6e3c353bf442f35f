#include "controller/cli/common.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <iostream>

#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/source/directory_source.hpp"

namespace nc::cli {

void JStr(Json& w, const char* k, const std::string& v) {
  w.Key(k);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}

void JList(Json& w, const char* k, const std::vector<std::string>& v) {
  w.Key(k);
  w.StartArray();
  for (const auto& s : v) w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
}

std::shared_ptr<spdlog::logger> MakeLogger(const std::string& level, const std::string& format) {
  (void)format;
  auto log = spdlog::stderr_color_mt("netconverge");
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  log->set_level(spdlog::level::from_str(level));
  return log;
}

std::string Pad(const std::string& s, size_t n) { return s.size() >= n ? s + " " : s + std::string(n - s.size(), ' '); }

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
std::unique_ptr<store::SqliteStore> OpenStore(const std::string& path, bool auto_migrate, store::SqliteStore::OpenMode mode) {
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
  std::cerr << "netconverge: no store at " << path << " (run `netconverge run` or `apply` first, or pass --store)\n";
  return false;
}

// Loads and validates everything; prints problems. Returns nullopt when there are any.
std::optional<core::DesiredState> LoadStrict(const std::string& dir, const core::ServiceTable& services) {
  auto v = source::ValidateDirectory(dir, services);
  if (!v.problems.empty()) {
    for (const auto& p : v.problems) std::cerr << p.ToString() << "\n";
    std::cerr << v.problems.size() << " problem(s) in " << dir << "; nothing was sent to any device\n";
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

/// The fields of a device's status shared by `status -o json` and `/v1/health`.
void DeviceFields(Json& w, const store::DeviceStatusRow& d) {
  JStr(w, "device", d.device);
  w.Key("reachable");
  w.Bool(d.reachable);
  w.Key("synced");
  w.Bool(d.synced);
  JStr(w, "message", d.message);
  JStr(w, "transportInUse", d.transport);
  w.Key("fallbackActive");
  w.Bool(d.fallback_active);
  w.Key("fallbackPasses");
  w.Int64(d.fallbacks);
  JStr(w, "lastObservedTime", d.last_observed_at);
}

void WriteDeviceResult(Json& w, const std::string& key, const reconcilers::DeviceResult& r) {
  w.StartObject();
  JStr(w, "device", key);
  JStr(w, "status", r.error ? "error" : "success");
  JStr(w, "message", r.error ? r.error->message : "");
  w.Key("changes");
  w.StartArray();
  for (const auto& ch : r.plan.changes) {
    w.StartObject();
    JStr(w, "action", core::ToString(ch.kind));
    w.Key("rule");
    w.Int(ch.number);
    JStr(w, "resource", ch.resource);
    JStr(w, "port", ch.port);
    JStr(w, "description", ch.display);
    JStr(w, "reason", ch.reason);
    w.EndObject();
  }
  for (const auto& ch : r.plan.bridge_domains) {
    w.StartObject();
    JStr(w, "action", core::ToString(ch.kind));
    JStr(w, "bridgeDomain", ch.name);
    JStr(w, "reason", ch.reason);
    w.EndObject();
  }
  for (const auto& ch : r.plan.interfaces) {
    w.StartObject();
    JStr(w, "action", core::ToString(ch.kind));
    JStr(w, "interface", ch.name);
    JStr(w, "resource", ch.resource);
    JStr(w, "reason", ch.reason);
    w.EndObject();
  }
  w.EndArray();
  w.Key("notices");
  w.StartArray();
  for (const auto& n : r.plan.notices) {
    w.StartObject();
    JStr(w, "reason", n.reason);
    JStr(w, "resource", n.resource);
    JStr(w, "message", n.message);
    w.EndObject();
  }
  w.EndArray();
  JList(w, "operations", r.operations);
  w.Key("report");
  w.StartObject();
  JList(w, "added", r.report.added);
  JList(w, "deleted", r.report.deleted);
  JList(w, "updated", r.report.updated);
  JList(w, "no_change", r.report.no_change);
  w.EndObject();
  w.EndObject();
}

void WriteDeviceStatus(Json& w, const store::DeviceStatusRow& d, const std::vector<store::PortStatusRow>& ports) {
  w.StartObject();
  DeviceFields(w, d);
  JStr(w, "lastAppliedTime", d.last_applied_at);
  w.Key("managedObjects");
  w.Int(d.managed);
  w.Key("driftedObjects");
  w.Int(d.drifted);
  w.Key("ports");
  w.StartArray();
  for (const auto& p : ports) {
    if (p.device != d.device) continue;
    w.StartObject();
    JStr(w, "resource", p.resource);
    JStr(w, "port", p.port);
    JStr(w, "description", p.display);
    w.Key("ruleNumber");
    w.Int(p.rule_number);
    JStr(w, "state", p.state);
    JStr(w, "message", p.message);
    JStr(w, "lastAppliedTime", p.last_applied_at);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void WriteEvent(Json& w, const store::Event& e) {
  w.StartObject();
  JStr(w, "time", e.time);
  JStr(w, "device", e.device);
  JStr(w, "resource", e.resource);
  JStr(w, "type", e.type);
  JStr(w, "reason", e.reason);
  JStr(w, "message", e.message);
  w.Key("runId");
  w.Int64(e.run_id);
  w.EndObject();
}

}  // namespace nc::cli
