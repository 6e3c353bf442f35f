#include "controller/cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <csignal>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/switch/dnos_dialect.hpp"
#include "adapters/switch/vlan_importer.hpp"
#include "adapters/vyos/importer.hpp"
#include "controller/core/values.hpp"
#include "controller/reconcilers/adapter_factory.hpp"
#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/runtime/clock.hpp"
#include "controller/runtime/controller.hpp"
#include "controller/runtime/work_queue.hpp"
#include "controller/source/directory_source.hpp"
#include "controller/http/admin_server.hpp"
#include "controller/metrics/metrics.hpp"
#include "controller/source/kube_source.hpp"
#include "controller/source/leader_election.hpp"
#include "controller/store/sqlite_store.hpp"

namespace nc::cli {

namespace {

using Json = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

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

std::shared_ptr<spdlog::logger> MakeLogger(const std::string& level) {
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

struct Common {
  std::string manifests = "manifests";
  std::string store = "netconverge.db";
  std::string device;
  std::string output = "text";
  std::string log_level = "info";
};

/// Opens the store, or says why not on stderr and returns null.
std::unique_ptr<store::SqliteStore> OpenStore(const std::string& path, bool auto_migrate,
                                              store::SqliteStore::OpenMode mode = store::SqliteStore::OpenMode::kRequireCurrent) {
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

void PrintReport(const reconcilers::DeviceResult& r) {
  const auto& rep = r.report;
  std::cout << r.device << ": " << (r.error ? "error: " + r.error->message : "ok") << " (" << rep.added.size()
            << " added, " << rep.updated.size() << " updated, " << rep.deleted.size() << " deleted, "
            << rep.no_change.size() << " unchanged; " << r.commits << " commit(s))\n";
  for (const auto& s : rep.added) std::cout << "  added     " << s << "\n";
  for (const auto& s : rep.updated) std::cout << "  updated   " << s << "\n";
  for (const auto& s : rep.deleted) std::cout << "  deleted   " << s << "\n";
  for (const auto& s : rep.failed) std::cout << "  not applied " << s << "\n";
  for (const auto& n : r.plan.notices) std::cout << "  " << n.reason << ": " << n.message << "\n";
}

int CmdValidate(const Common& c) {
  auto services = source::LoadServices();
  auto v = source::ValidateDirectory(c.manifests, services);
  if (c.output == "json") {
    rapidjson::StringBuffer buf;
    Json w(buf);
    w.StartObject();
    w.Key("valid");
    w.Bool(v.problems.empty());
    w.Key("problems");
    w.StartArray();
    for (const auto& p : v.problems) {
      w.StartObject();
      JStr(w, "file", p.pos.file);
      w.Key("line");
      w.Int(p.pos.line);
      w.Key("column");
      w.Int(p.pos.column);
      JStr(w, "kind", p.kind);
      JStr(w, "object", p.object);
      JStr(w, "field", p.field);
      JStr(w, "message", p.message);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    std::cout << buf.GetString() << "\n";
  } else {
    for (const auto& p : v.problems) std::cout << p.ToString() << "\n";
    if (v.problems.empty()) {
      std::cout << c.manifests << ": valid (" << v.desired.devices.size() << " device(s), " << v.desired.rules.size()
                << " port(s))\n";
    } else {
      std::cout << v.problems.size() << " problem(s)\n";
    }
  }
  return v.problems.empty() ? 0 : 1;
}

int CmdApplyOrPlan(const Common& c, bool plan, bool auto_migrate) {
  auto log = MakeLogger(plan ? "warn" : c.log_level);
  auto services = source::LoadServices();
  auto desired = LoadStrict(c.manifests, services);
  if (!desired) return 1;
  auto st = OpenStore(c.store, auto_migrate);
  if (!st) return 1;
  runtime::SystemClock clock;
  reconcilers::DefaultAdapterFactory factory;
  reconcilers::DeviceReconciler rec(*st, factory, clock, log, services);
  auto keys = SelectDevices(*desired, c.device);
  if (keys.empty()) {
    std::cerr << "netconverge: no device " << (c.device.empty() ? "declared" : "'" + c.device + "'") << " in " << c.manifests << "\n";
    return 1;
  }
  if (!plan) rec.Recover();
  bool failed = false;
  bool changes = false;
  rapidjson::StringBuffer buf;
  Json w(buf);
  w.StartObject();
  w.Key("devices");
  w.StartArray();
  for (const auto& key : keys) {
    auto r = rec.Reconcile(*desired, key, plan ? "cli-plan" : "cli-apply",
                           plan ? reconcilers::DeviceReconciler::Mode::kPlan : reconcilers::DeviceReconciler::Mode::kApply);
    failed = failed || r.error.has_value();
    changes = changes || r.plan.HasChanges();
    if (c.output == "json") {
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
      JList(w, "operations", r.operations);
      w.Key("report");
      w.StartObject();
      JList(w, "added", r.report.added);
      JList(w, "deleted", r.report.deleted);
      JList(w, "updated", r.report.updated);
      JList(w, "no_change", r.report.no_change);
      w.EndObject();
      w.EndObject();
      continue;
    }
    if (!plan) {
      PrintReport(r);
      continue;
    }
    if (r.error) {
      std::cout << key << ": error: " << r.error->message << "\n";
      continue;
    }
    std::cout << key << ": " << (!r.plan.HasChanges() ? "no changes" : std::to_string(r.plan.ChangeCount()) + " change(s)") << "\n";
    auto sign = [](core::ChangeKind k) { return k == core::ChangeKind::kAdd ? "+" : k == core::ChangeKind::kUpdate ? "~" : "-"; };
    for (const auto& ch : r.plan.changes)
      std::cout << "  " << sign(ch.kind) << " rule " << ch.number << " " << ch.display << ": " << ch.reason << "\n";
    for (const auto& ch : r.plan.bridge_domains)
      std::cout << "  " << sign(ch.kind) << " bridge domain " << ch.name << ": " << ch.reason << "\n";
    for (const auto& ch : r.plan.interfaces)
      std::cout << "  " << sign(ch.kind) << " interface " << ch.name << (ch.resource.empty() ? "" : " (" + ch.resource + ")") << ": "
                << ch.reason << "\n";
    for (const auto& n : r.plan.notices) std::cout << "  ! " << n.reason << ": " << n.message << "\n";
    if (!r.operations.empty()) {
      std::cout << "  operations (one transaction):\n";
      for (const auto& op : r.operations) std::cout << "    " << op << "\n";
    }
  }
  w.EndArray();
  w.EndObject();
  if (c.output == "json") std::cout << buf.GetString() << "\n";
  if (failed) return 1;
  return plan && changes ? 2 : 0;
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

int CmdStatus(const Common& c) {
  if (!StoreExists(c.store)) return 1;
  auto st = OpenStore(c.store, false, store::SqliteStore::OpenMode::kRequireCurrent);
  if (!st) return 1;
  auto devices = st->DeviceStatuses();
  auto ports = st->PortStatuses("");
  if (!devices || !ports) {
    std::cerr << "netconverge: cannot read status\n";
    return 1;
  }
  auto want = [&](const std::string& d) {
    return c.device.empty() || d == c.device || d.substr(d.find('/') + 1) == c.device;
  };
  if (c.output == "json") {
    rapidjson::StringBuffer buf;
    Json w(buf);
    w.StartObject();
    w.Key("devices");
    w.StartArray();
    for (const auto& d : *devices) {
      if (!want(d.device)) continue;
      w.StartObject();
      DeviceFields(w, d);
      JStr(w, "lastAppliedTime", d.last_applied_at);
      w.Key("managedObjects");
      w.Int(d.managed);
      w.Key("driftedObjects");
      w.Int(d.drifted);
      w.Key("ports");
      w.StartArray();
      for (const auto& p : *ports) {
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
    w.EndArray();
    w.EndObject();
    std::cout << buf.GetString() << "\n";
    return 0;
  }
  if (devices->empty()) {
    std::cout << "no devices recorded in " << c.store << " yet\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{
      {"DEVICE", "REACHABLE", "SYNCED", "MANAGED", "DRIFTED", "LAST APPLIED", "TRANSPORT", "MESSAGE"}};
  for (const auto& d : *devices)
    if (want(d.device))
      rows.push_back({d.device, d.reachable ? "True" : "False", d.synced ? "True" : "False", std::to_string(d.managed),
                      std::to_string(d.drifted), d.last_applied_at.empty() ? "-" : d.last_applied_at,
                      (d.transport.empty() ? "-" : d.transport) + (d.fallback_active ? " (fallback)" : ""), d.message});
  PrintTable(rows);
  std::cout << "\n";
  rows = {{"DEVICE", "RESOURCE", "PORT", "RULE/VLAN", "STATE", "DESCRIPTION", "LAST APPLIED", "MESSAGE"}};
  for (const auto& p : *ports)
    if (want(p.device))
      rows.push_back({p.device, p.resource, p.port, p.rule_number ? std::to_string(p.rule_number) : "-", p.state, p.display,
                      p.last_applied_at.empty() ? "-" : p.last_applied_at, p.message});
  PrintTable(rows);
  return 0;
}

int CmdEvents(const Common& c, const std::string& since, int limit) {
  if (!StoreExists(c.store)) return 1;
  auto st = OpenStore(c.store, false, store::SqliteStore::OpenMode::kRequireCurrent);
  if (!st) return 1;
  store::EventFilter f;
  f.limit = limit;
  if (!c.device.empty()) f.device = c.device.find('/') == std::string::npos ? "default/" + c.device : c.device;
  if (!since.empty()) {
    auto ms = core::ParseDurationMs(since);
    if (!ms) {
      std::cerr << "netconverge: --since: " << ms.error().message << "\n";
      return 1;
    }
    f.since = runtime::FormatUtc(std::chrono::system_clock::now() - std::chrono::milliseconds(*ms));
  }
  auto events = st->Events(f);
  if (!events) {
    std::cerr << "netconverge: " << events.error().message << "\n";
    return 1;
  }
  if (c.output == "json") {
    rapidjson::StringBuffer buf;
    Json w(buf);
    w.StartArray();
    for (const auto& e : *events) {
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
    w.EndArray();
    std::cout << buf.GetString() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"TIME", "DEVICE", "RESOURCE", "TYPE", "REASON", "MESSAGE"}};
  for (const auto& e : *events)
    rows.push_back({e.time, e.device, e.resource.empty() ? "-" : e.resource, e.type, e.reason, e.message});
  PrintTable(rows);
  return 0;
}

int CmdDb(const std::string& store_path, const std::string& action, int target) {
  auto st = OpenStore(store_path, false, store::SqliteStore::OpenMode::kNoMigrate);
  if (!st) return 1;
  auto& s = *st;
  if (action == "current") {
    std::cout << s.SchemaVersion() << "\n";
    return 0;
  }
  if (action == "history") {
    auto h = s.History();
    if (!h) return 1;
    std::vector<std::vector<std::string>> rows{{"VERSION", "APPLIED", "NAME"}};
    for (const auto& m : *h) rows.push_back({std::to_string(m.version), m.applied_at.empty() ? "pending" : m.applied_at, m.name});
    PrintTable(rows);
    return 0;
  }
  const int before = s.SchemaVersion();
  Status r = action == "upgrade" ? s.Upgrade(target < 0 ? store::LatestSchemaVersion() : target) : s.Downgrade(target);
  if (!r) {
    std::cerr << "netconverge: " << r.error().message << "\n";
    return 1;
  }
  std::cout << "schema version " << before << " -> " << s.SchemaVersion() << "\n";
  return 0;
}

int CmdRollback(const Common& c, int64_t snapshot, bool list) {
  auto services = source::LoadServices();
  auto desired = LoadStrict(c.manifests, services);
  if (!desired) return 1;
  auto keys = SelectDevices(*desired, c.device);
  if (keys.size() != 1) {
    std::cerr << "netconverge: no device '" << c.device << "' in " << c.manifests << "\n";
    return 1;
  }
  if (!StoreExists(c.store)) return 1;
  auto st = OpenStore(c.store, false);
  if (!st) return 1;
  if (list) {
    auto snaps = st->Snapshots(keys[0], 50);
    if (!snaps) return 1;
    std::vector<std::vector<std::string>> rows{{"SNAPSHOT", "TAKEN", "RUN"}};
    for (const auto& s : *snaps) rows.push_back({std::to_string(s.id), s.taken_at, std::to_string(s.run_id)});
    PrintTable(rows);
    return 0;
  }
  auto log = MakeLogger(c.log_level);
  runtime::SystemClock clock;
  reconcilers::DefaultAdapterFactory factory;
  reconcilers::DeviceReconciler rec(*st, factory, clock, log, services);
  auto r = rec.Rollback(*desired, keys[0], snapshot);
  PrintReport(r);
  if (!r.error && r.snapshot_id)
    std::cout << "  the state before the rollback is snapshot " << r.snapshot_id
              << "; a running daemon converges the device to the manifests again unless the device is paused\n";
  return r.error ? 1 : 0;
}

/// Whether config text is a switch's `show config ... | flatten` (not VyOS).
bool LooksLikeSwitchConfig(const std::string& text) {
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) {
    if (l.rfind("interfaces ", 0) == 0 || l.rfind("network-services ", 0) == 0) return true;
    if (l.rfind("set ", 0) == 0 || l.find(" {") != std::string::npos) return false;
  }
  return false;
}

int PrintVlanImport(const core::SwitchState& state, const switchcli::VlanImportOptions& o) {
  auto result = switchcli::ImportVlanInterfaces(state, o);
  std::cout << result.yaml;
  std::cerr << "netconverge import: " << result.imported << " sub-interface(s) as VlanInterfaces, " << result.skipped
            << " skipped\n";
  return 0;
}

int CmdImport(const Common& c, const std::string& from, const std::string& ns) {
  std::map<int, core::NatRule> rules;
  vyos::ImportOptions o;
  o.ns = ns;
  o.device = c.device.substr(c.device.find('/') + 1);
  if (!from.empty()) {
    std::ifstream in(from);
    if (!in) {
      std::cerr << "netconverge: cannot read " << from << "\n";
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    if (LooksLikeSwitchConfig(ss.str())) {
      auto state = switchcli::DnosDialect().ParseObserved({ss.str()});
      if (!state) {
        std::cerr << "netconverge: " << from << ": " << state.error().message << "\n";
        return 1;
      }
      return PrintVlanImport(*state, {o.device, ns, "netconverge", from});
    }
    auto parsed = vyos::RulesFromConfigText(ss.str());
    if (!parsed) {
      std::cerr << "netconverge: " << from << ": " << parsed.error().message << "\n";
      return 1;
    }
    rules = std::move(*parsed);
    o.source = from;
  } else {
    // Live: the device as declared in the manifests.
    auto services = source::LoadServices();
    auto desired = LoadStrict(c.manifests, services);
    if (!desired) return 1;
    auto keys = SelectDevices(*desired, c.device);
    if (keys.size() != 1) {
      std::cerr << "netconverge: no device '" << c.device << "' in " << c.manifests << "\n";
      return 1;
    }
    const auto& device = desired->devices.at(keys[0]);
    reconcilers::DefaultAdapterFactory factory;
    auto adapter = factory.Create(device);
    if (!adapter) {
      std::cerr << "netconverge: " << adapter.error().message << "\n";
      return 1;
    }
    auto observed = (*adapter)->Observe();
    if (!observed) {
      std::cerr << "netconverge: " << keys[0] << ": " << observed.error().message << "\n";
      return 1;
    }
    if (device.IsSwitch()) return PrintVlanImport(observed->switch_state, {device.name, device.ns, device.tag, "device " + keys[0]});
    rules = std::move(observed->nat_rules);
    o.tag = device.tag;
    o.ns = device.ns;
    o.device = device.name;
    o.source = "device " + keys[0];
  }
  auto result = vyos::ImportPortForwards(rules, o);
  std::cout << result.yaml;
  std::cerr << "netconverge import: " << result.imported << " rule(s) as " << result.resources << " PortForward(s), "
            << result.skipped << " skipped\n";
  return 0;
}

/// `run --kube`: the same loop, fed by the Kubernetes source, writing status back.
/// Why each queued device was enqueued (the first pass after it says so; later ones are polls).
class Triggers {
 public:
  void Set(const std::string& key, const std::string& trigger) {
    std::lock_guard lk(mu_);
    triggers_[key] = trigger;
  }
  std::string Take(const std::string& key) {
    std::lock_guard lk(mu_);
    auto it = triggers_.find(key);
    if (it == triggers_.end()) return "poll";
    std::string t = std::move(it->second);
    triggers_.erase(it);
    return t;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> triggers_;
};

/// The health endpoints of spec 6 (/healthz, /readyz, /v1/health); the rest of the API follows.
struct HealthState {
  store::SqliteStore* store = nullptr;
  std::function<bool()> ready;             // desired state loaded (and, in-cluster, listed)
  std::function<std::string()> leader;     // "leader", "standby" or "disabled"
  runtime::WorkQueue* queue = nullptr;
  runtime::Controller* controller = nullptr;
  metrics::Metrics* metrics = nullptr;
};

/// The metrics of a pass, from what the pass itself recorded (no store reads).
void ObservePass(metrics::Metrics& m, const std::string& key, const reconcilers::DeviceResult& r, double seconds) {
  metrics::PassFacts p;
  p.device = key;
  p.ok = !r.error;
  p.unchanged_poll = r.unchanged_poll;
  p.seconds = seconds;
  p.operations = r.wrote ? static_cast<int>(r.operations.size()) : 0;
  p.commits = r.commits;
  if (r.device_row) {
    p.reachable = r.device_row->reachable;
    p.fallback_active = r.device_row->fallback_active;
  }
  for (const auto& e : r.events) p.event_reasons.push_back(e.reason);
  m.ObservePass(p);
}

http::Response HealthRoutes(const HealthState& h, const http::Request& r) {
  if (r.method != "GET" && r.method != "HEAD") return http::JsonError(405, "method " + r.method + " is not allowed on " + r.path);
  if (r.path == "/metrics") {
    h.metrics->SetQueueDepth(h.queue->Len(), h.controller->busy());
    return {200, "text/plain; version=0.0.4; charset=utf-8", h.metrics->Text()};
  }
  if (r.path == "/healthz") return {200, "application/json", "{\"status\":\"ok\"}"};
  if (r.path == "/readyz") {
    const bool ready = h.ready();
    return {ready ? 200 : 503, "application/json", ready ? "{\"status\":\"ready\"}" : "{\"status\":\"not ready\",\"reason\":\"desired state not loaded yet\"}"};
  }
  if (r.path == "/v1/health") {
    rapidjson::StringBuffer buf;
    Json w(buf);
    w.StartObject();
    JStr(w, "status", "ok");
    w.Key("store");
    w.StartObject();
    w.Key("open");
    w.Bool(true);
    w.Key("schemaVersion");
    w.Int(h.store->SchemaVersion());
    w.EndObject();
    w.Key("devices");
    w.StartArray();
    if (auto rows = h.store->DeviceStatuses())
      for (const auto& d : *rows) {
        w.StartObject();
        DeviceFields(w, d);
        w.EndObject();
      }
    w.EndArray();
    w.Key("loop");
    w.StartObject();
    w.Key("queueDepth");
    w.Uint64(h.queue->Len());
    w.Key("workersBusy");
    w.Int(h.controller->busy());
    w.EndObject();
    JStr(w, "leader", h.leader());
    w.EndObject();
    return {200, "application/json", buf.GetString()};
  }
  return http::JsonError(404, "no route " + r.path);
}

/// Starts the admin server on `listen` ("off" = none). Errors are printed.
std::unique_ptr<http::AdminServer> StartAdmin(const std::string& listen, HealthState h, spdlog::logger& log) {
  if (listen == "off") return nullptr;
  auto server = std::make_unique<http::AdminServer>(http::AdminServerOptions{listen}, [h](const http::Request& r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto res = HealthRoutes(h, r);
    // Known routes by name, everything else as one label: a scan cannot grow the label set.
    static const std::set<std::string> kRoutes = {"/healthz", "/readyz", "/v1/health", "/metrics"};
    h.metrics->ObserveHttp(kRoutes.count(r.path) ? r.path : "other", res.status,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return res;
  });
  if (auto st = server->Start(); !st) {
    std::cerr << "netconverge: " << st.error().message << "\n";
    return nullptr;
  }
  log.info("admin HTTP API on http://{}:{} (/healthz, /readyz, /v1/health, /metrics)", listen.substr(0, listen.rfind(':')), server->port());
  return server;
}

struct LeaderFlags {
  bool enabled = false;
  std::string lease_duration = "15s";
  std::string renew_deadline = "10s";
  std::string retry_period = "2s";
};

int CmdRunKube(const Common& c, bool auto_migrate, int workers, const std::string& kubeconfig, const LeaderFlags& lf,
               const std::string& listen) {
  auto log = MakeLogger(c.log_level);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Result<kube::KubeConfig> config = MakeError(ErrorCode::kInternal, "");
  const char* env = std::getenv("KUBECONFIG");
  if (!kubeconfig.empty()) config = kube::LoadKubeconfig(kubeconfig);
  else if (std::getenv("KUBERNETES_SERVICE_HOST")) config = kube::InClusterConfig();
  else if (env && *env) config = kube::LoadKubeconfig(env);
  else config = kube::InClusterConfig();
  if (!config) {
    std::cerr << "netconverge: " << config.error().message << "\n";
    return 1;
  }
  auto st = OpenStore(c.store, auto_migrate);
  if (!st) return 1;
  auto services = source::LoadServices();
  runtime::SystemClock clock;
  runtime::WorkQueue queue(clock);
  Triggers triggers;
  auto enqueue = [&](const std::string& key, const std::string& trigger) {
    triggers.Set(key, trigger);
    queue.Add(key);
  };
  metrics::Metrics metrics;
  source::KubeSource source(*config, services, [&](const std::vector<std::string>& devices) {
    for (const auto& d : devices) enqueue(d, "kube-change");
  });
  reconcilers::DefaultAdapterFactory factory([&](const core::Device& d) { return source.SecretCredentials(d); });
  reconcilers::DeviceReconciler rec(*st, factory, clock, log, services);
  runtime::Controller controller(
      queue,
      [&](const std::string& key) {
        const std::string trigger = triggers.Take(key);
        auto desired = source.Desired();
        if (!desired->devices.count(key)) return runtime::ReconcileResult{};
        const auto t0 = std::chrono::steady_clock::now();
        auto r = rec.Reconcile(*desired, key, trigger, reconcilers::DeviceReconciler::Mode::kApply);
        ObservePass(metrics, key, r, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        if (r.device_row)
          if (auto ports = st->PortStatuses(key)) source.ReportPass(key, *r.device_row, *ports, !r.error);
        source.PostEvents(key, r.events);
        return runtime::ReconcileResult{r.error, r.requeue_after};
      },
      workers);
  for (const auto& key : rec.Recover()) enqueue(key, "recovery");
  kube::LeaderElectionConfig le;
  for (auto [text, out] : {std::pair{&lf.lease_duration, &le.lease_duration}, std::pair{&lf.renew_deadline, &le.renew_deadline},
                           std::pair{&lf.retry_period, &le.retry_period}}) {
    auto ms = core::ParseDurationMs(*text);
    if (!ms) {
      std::cerr << "netconverge: leader election: " << ms.error().message << "\n";
      return 1;
    }
    *out = std::chrono::milliseconds(*ms);
  }
  if (lf.enabled && !(le.lease_duration > le.renew_deadline && le.renew_deadline > le.retry_period)) {
    std::cerr << "netconverge: leader election needs lease duration > renew deadline > retry period\n";
    return 1;
  }
  kube::LeaderElector elector(*config, le);
  source.SetInstance(elector.identity());
  source.SetWriter(!lf.enabled);
  source.Start();
  // Nothing is reconciled before every kind was listed once: an empty cache is not "nothing declared".
  while (!source.Synced()) {
    timespec ts{0, 0};
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)) {
      source.Stop();
      return 0;
    }
    nanosleep(&(ts = {0, 100'000'000}), nullptr);
  }
  log->info("netconverge running: kube https://{}:{} namespace={} store={} workers={}{}", config->host, config->port, config->ns,
            c.store, workers, lf.enabled ? " leader-election=" + elector.identity() : "");
  std::atomic<bool> stop{false};
  std::atomic<bool> lost{false};
  std::atomic<bool> started{false};
  auto admin = StartAdmin(listen,
                          {st.get(), [&] { return source.Synced(); },
                           [&] { return !lf.enabled ? std::string("disabled") : started ? std::string("leader") : std::string("standby"); },
                           &queue, &controller, &metrics},
                          *log);
  if (!admin && listen != "off") {
    source.Stop();
    return 1;
  }
  std::thread election([&] {
    if (lf.enabled) {
      log->info("waiting to lead (lease netconverge-leader, identity {})", elector.identity());
      if (!elector.Acquire(stop)) return;
      log->info("leading as {}: writing to devices", elector.identity());
      source.SetWriter(true);
      elector.KeepRenewing([&] {
        log->error("leadership lost (the lease could not be renewed): stopping");
        lost = true;
        kill(getpid(), SIGTERM);
      });
    }
    controller.Start();
    started = true;
  });
  int sig = 0;
  sigwait(&set, &sig);
  log->info("signal {} received: finishing in-flight passes", sig);
  stop = true;
  election.join();
  source.Stop();
  if (started) controller.Stop();
  if (lf.enabled) elector.Release();
  if (admin) admin->Stop();
  log->info("stopped");
  return lost ? 1 : 0;
}

int CmdRun(const Common& c, bool auto_migrate, int workers, int watch_ms, const std::string& listen) {
  auto log = MakeLogger(c.log_level);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto st = OpenStore(c.store, auto_migrate);
  if (!st) return 1;
  auto services = source::LoadServices();
  metrics::Metrics metrics;
  source::DirectorySource source(c.manifests, services);
  runtime::SystemClock clock;
  reconcilers::DefaultAdapterFactory factory;
  reconcilers::DeviceReconciler rec(*st, factory, clock, log, services);
  runtime::WorkQueue queue(clock);
  Triggers triggers;
  auto enqueue = [&](const std::string& key, const std::string& trigger) {
    triggers.Set(key, trigger);
    queue.Add(key);
  };
  runtime::Controller controller(
      queue,
      [&](const std::string& key) {
        const std::string trigger = triggers.Take(key);
        auto desired = source.Desired();
        if (!desired->devices.count(key)) return runtime::ReconcileResult{};  // device removed
        const auto t0 = std::chrono::steady_clock::now();
        auto r = rec.Reconcile(*desired, key, trigger, reconcilers::DeviceReconciler::Mode::kApply);
        ObservePass(metrics, key, r, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        return runtime::ReconcileResult{r.error, r.requeue_after};
      },
      workers);

  std::vector<api::Problem> last_problems;
  auto reload = [&](bool first) {
    auto report = source.Reload();
    if (report.problems != last_problems) {
      for (const auto& p : report.problems) log->error("manifest: {}", p.ToString());
      for (const auto& f : report.kept_files) log->warn("manifest: {} is not used as it is now; its previous good content stays in force", f);
      auto d = source.Desired();
      if (!d->held_deletes_all.empty()) log->warn("deletions held on every device: {}", d->held_deletes_all);
      last_problems = report.problems;
    }
    for (const auto& key : report.changed_devices) enqueue(key, first ? "startup" : "manifest-change");
  };
  for (const auto& key : rec.Recover()) enqueue(key, "recovery");
  reload(true);
  log->info("netconverge running: manifests={} store={} workers={} devices={}", c.manifests, c.store, workers,
            source.Desired()->devices.size());
  auto admin =
      StartAdmin(listen, {st.get(), [] { return true; }, [] { return std::string("disabled"); }, &queue, &controller, &metrics}, *log);
  if (!admin && listen != "off") return 1;
  controller.Start();
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    while (!stop) {
      for (int i = 0; i < watch_ms / 50 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!stop) reload(false);
    }
  });
  int sig = 0;
  sigwait(&set, &sig);
  log->info("signal {} received: finishing in-flight passes", sig);
  stop = true;
  watcher.join();
  controller.Stop();
  if (admin) admin->Stop();
  log->info("stopped");
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"netconverge: keeps network devices in line with declared YAML (VyOS port forwards, switch VLANs)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "netconverge 0.1.0");
  Common c;
  bool auto_migrate = false;
  int workers = 8;
  int watch_ms = 1000;
  std::string since;
  int limit = 100;
  std::string db_action;
  int db_target = -1;

  auto add_manifests = [&](CLI::App* s) {
    s->add_option("--manifests,-m", c.manifests, "directory of manifests (*.yaml, *.yml, recursively)")->capture_default_str();
  };
  auto add_store = [&](CLI::App* s) {
    s->add_option("--store", c.store, "SQLite store file")->capture_default_str();
  };

  auto* run = app.add_subcommand("run", "the daemon: keep every declared device converged");
  add_manifests(run);
  add_store(run);
  run->add_flag("--auto-migrate", auto_migrate, "upgrade an older store schema at start");
  run->add_option("--max-concurrent-devices", workers, "devices reconciled in parallel")->capture_default_str()->check(CLI::Range(1, 256));
  run->add_option("--watch-interval-ms", watch_ms, "how often the manifests directory is re-read")->capture_default_str()->check(CLI::Range(100, 60000));
  run->add_option("--log-level", c.log_level, "trace, debug, info, warn, error")->capture_default_str();
  std::string listen = "127.0.0.1:8800";
  run->add_option("--listen", listen, "address:port of the admin HTTP API (health endpoints so far); 'off' for none")
      ->capture_default_str();
  bool use_kube = false;
  std::string kubeconfig;
  run->add_flag("--kube", use_kube, "read Devices, PortForwards and VlanInterfaces from the Kubernetes API (in-cluster, "
                                   "--kubeconfig or $KUBECONFIG) instead of --manifests, and write their status back");
  run->add_option("--kubeconfig", kubeconfig, "kubeconfig file for --kube (default: in-cluster, then $KUBECONFIG)");
  LeaderFlags leader;
  run->add_flag("--leader-elect", leader.enabled, "with --kube: only the holder of the Lease netconverge-leader writes to devices");
  run->add_option("--leader-elect-lease-duration", leader.lease_duration, "how long a lease lasts unrenewed")->capture_default_str();
  run->add_option("--leader-elect-renew-deadline", leader.renew_deadline, "how long a leader tries to renew before it stops")
      ->capture_default_str();
  run->add_option("--leader-elect-retry-period", leader.retry_period, "how often to try to acquire or renew")->capture_default_str();

  auto* apply = app.add_subcommand("apply", "one pass for every (or one) device, then exit: 0 converged, 1 failed");
  add_manifests(apply);
  add_store(apply);
  apply->add_option("--device", c.device, "only this device (name or namespace/name)");
  apply->add_option("-o,--output", c.output, "text or json")->check(CLI::IsMember({"text", "json"}));
  apply->add_flag("--auto-migrate", auto_migrate, "upgrade an older store schema first");
  apply->add_option("--log-level", c.log_level, "log level")->capture_default_str();

  auto* plan = app.add_subcommand("plan", "dry-run against the live devices: 0 no changes, 2 changes pending, 1 error");
  add_manifests(plan);
  add_store(plan);
  plan->add_option("--device", c.device, "only this device");
  plan->add_option("-o,--output", c.output, "text or json")->check(CLI::IsMember({"text", "json"}));

  auto* validate = app.add_subcommand("validate", "offline validation incl. cross-resource conflicts; 1 if any problem");
  add_manifests(validate);
  validate->add_option("-o,--output", c.output, "text or json")->check(CLI::IsMember({"text", "json"}));

  auto* status = app.add_subcommand("status", "device and port status from the store");
  add_store(status);
  status->add_option("--device", c.device, "only this device");
  status->add_option("-o,--output", c.output, "text or json")->check(CLI::IsMember({"text", "json"}));

  auto* events = app.add_subcommand("events", "history from the store, newest first");
  add_store(events);
  events->add_option("--device", c.device, "only this device");
  events->add_option("--since", since, "only events newer than this (e.g. 1h, 30m)");
  events->add_option("--limit", limit, "at most this many")->capture_default_str();
  events->add_option("-o,--output", c.output, "text or json")->check(CLI::IsMember({"text", "json"}));

  int64_t rollback_snapshot = 0;
  bool rollback_list = false;
  auto* rollback = app.add_subcommand("rollback", "restore a stored snapshot of a device (one verified, confirmed commit)");
  rollback->add_option("DEVICE", c.device, "device name")->required();
  rollback->add_option("--snapshot", rollback_snapshot, "snapshot id (see --list)");
  rollback->add_flag("--list", rollback_list, "list the device's snapshots");
  add_manifests(rollback);
  add_store(rollback);

  std::string import_from;
  std::string import_ns = "default";
  auto* import = app.add_subcommand("import", "turn a device's existing port forwards (VyOS) or sub-interfaces (switch) into PortForward / VlanInterface YAML that adopts them");
  import->add_option("--device", c.device, "device name (live: as declared in --manifests; from a file: the deviceRef to write)")
      ->required();
  import->add_option("--from", import_from, "a config.boot, `show configuration commands` or switch `show config | flatten` file instead of the live device");
  add_manifests(import);
  import->add_option("--namespace", import_ns, "namespace of the generated resources (from a file)")->capture_default_str();
  import->add_option("-o,--output", c.output, "yaml")->check(CLI::IsMember({"yaml"}));

  auto* db = app.add_subcommand("db", "schema migrations of the store");
  add_store(db);
  db->require_subcommand(1);
  auto* up = db->add_subcommand("upgrade", "apply migrations up to N (default: latest)");
  up->add_option("N", db_target, "target version");
  auto* down = db->add_subcommand("downgrade", "revert migrations down to N");
  down->add_option("N", db_target, "target version")->required();
  auto* current = db->add_subcommand("current", "print the schema version");
  auto* history = db->add_subcommand("history", "list migrations and when they were applied");
  for (auto* sub : {up, down, current, history}) add_store(sub);

  CLI11_PARSE(app, argc, argv);

  if (*run)
    return use_kube ? CmdRunKube(c, auto_migrate, workers, kubeconfig, leader, listen) : CmdRun(c, auto_migrate, workers, watch_ms, listen);
  if (*apply) return CmdApplyOrPlan(c, false, auto_migrate);
  if (*plan) return CmdApplyOrPlan(c, true, false);
  if (*validate) return CmdValidate(c);
  if (*status) return CmdStatus(c);
  if (*import) return CmdImport(c, import_from, import_ns);
  if (*rollback) {
    if (!rollback_list && rollback_snapshot <= 0) {
      std::cerr << "netconverge: rollback needs --snapshot ID (or --list)\n";
      return 1;
    }
    return CmdRollback(c, rollback_snapshot, rollback_list);
  }
  if (*events) return CmdEvents(c, since, limit);
  if (*db) {
    for (const char* a : {"upgrade", "downgrade", "current", "history"})
      if (db->got_subcommand(a)) db_action = a;
    return CmdDb(c.store, db_action, db_target);
  }
  return 1;
}

}  // namespace nc::cli
