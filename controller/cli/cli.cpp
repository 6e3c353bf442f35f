#include "controller/cli/cli.hpp"

#include "controller/cli/common.hpp"
#include "controller/cli/config.hpp"
#include "controller/store/store_lock.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "adapters/switch/dnos_dialect.hpp"
#include "adapters/switch/vlan_importer.hpp"
#include "adapters/vyos/importer.hpp"
#include "controller/core/values.hpp"
#include "controller/http/admin_server.hpp"
#include "controller/manager/leader_election.hpp"
#include "controller/metrics/metrics.hpp"
#include "controller/reconcilers/adapter_factory.hpp"
#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/runtime/clock.hpp"
#include "controller/runtime/controller.hpp"
#include "controller/runtime/work_queue.hpp"
#include "controller/source/directory_source.hpp"
#include "controller/source/kube_source.hpp"
#include "controller/store/sqlite_store.hpp"

namespace nc::cli {

namespace {

void PrintReport(const reconcilers::DeviceResult& r) {
  const auto& rep = r.report;
  std::cout << r.device << ": " << (r.error ? "error: " + r.error->message : "ok") << " ("
            << rep.added.size() << " added, " << rep.updated.size() << " updated, "
            << rep.deleted.size() << " deleted, " << rep.no_change.size() << " unchanged; "
            << r.commits << " commit(s))\n";
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
    JsonText buf;
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
      std::cout << c.manifests << ": valid (" << v.desired.devices.size() << " device(s), "
                << v.desired.rules.size() << " port(s))\n";
    } else {
      std::cout << v.problems.size() << " problem(s)\n";
    }
  }
  return v.problems.empty() ? 0 : 1;
}

/// `plan`'s text output for one device: its changes with their reasons, notices, operations.
void PrintPlan(const std::string& key, const reconcilers::DeviceResult& r) {
  if (r.error) {
    std::cout << key << ": error: " << r.error->message << "\n";
    return;
  }
  std::cout << key << ": "
            << (!r.plan.HasChanges() ? "no changes"
                                     : std::to_string(r.plan.ChangeCount()) + " change(s)")
            << "\n";
  auto sign = [](core::ChangeKind k) {
    return k == core::ChangeKind::kAdd ? "+" : k == core::ChangeKind::kUpdate ? "~" : "-";
  };
  for (const auto& ch : r.plan.changes)
    std::cout << "  " << sign(ch.kind) << " rule " << ch.number << " " << ch.display << ": "
              << ch.reason << "\n";
  for (const auto& ch : r.plan.bridge_domains)
    std::cout << "  " << sign(ch.kind) << " bridge domain " << ch.name << ": " << ch.reason << "\n";
  for (const auto& ch : r.plan.interfaces)
    std::cout << "  " << sign(ch.kind) << " interface " << ch.name
              << (ch.resource.empty() ? "" : " (" + ch.resource + ")") << ": " << ch.reason << "\n";
  for (const auto& n : r.plan.notices) std::cout << "  ! " << n.reason << ": " << n.message << "\n";
  if (!r.operations.empty()) {
    std::cout << "  operations (one transaction):\n";
    for (const auto& op : r.operations) std::cout << "    " << op << "\n";
  }
}

int CmdApplyOrPlan(const Common& c, bool plan, bool auto_migrate) {
  auto log = MakeLogger(plan ? "warn" : c.log_level);
  auto services = source::LoadServices();
  auto desired = LoadStrict(c.manifests, services);
  if (!desired) return 1;
  std::unique_ptr<store::WriterLock> lock;  // apply writes to devices: one writer per store
  if (!plan) {
    auto l = store::WriterLock::Acquire(c.store, "apply");
    if (!l) {
      std::cerr << "netconverge: " << l.error().message << "\n";
      return 1;
    }
    lock = std::move(*l);
  }
  auto st = OpenStore(c.store, auto_migrate);
  if (!st) return 1;
  runtime::SystemClock clock;
  reconcilers::DefaultAdapterFactory factory;
  reconcilers::DeviceReconciler rec(*st, factory, clock, log, services);
  rec.SetDeletionGuard(c.deletion_guard_pct / 100.0, c.deletion_guard_min);
  auto keys = SelectDevices(*desired, c.device);
  if (keys.empty()) {
    std::cerr << "netconverge: no device " << (c.device.empty() ? "declared" : "'" + c.device + "'")
              << " in " << c.manifests << "\n";
    return 1;
  }
  if (!plan) rec.Recover();
  bool failed = false;
  bool changes = false;
  JsonText buf;
  Json w(buf);
  w.StartObject();
  w.Key("devices");
  w.StartArray();
  for (const auto& key : keys) {
    auto r = rec.Reconcile(*desired, key, plan ? "cli-plan" : "cli-apply",
                           plan ? reconcilers::DeviceReconciler::Mode::kPlan
                                : reconcilers::DeviceReconciler::Mode::kApply,
                           CliActor());
    failed = failed || r.error.has_value();
    changes = changes || r.plan.HasChanges();
    if (c.output == "json") {
      WriteDeviceResult(w, key, r);
      continue;
    }
    if (!plan) {
      PrintReport(r);
      continue;
    }
    PrintPlan(key, r);
  }
  w.EndArray();
  w.EndObject();
  if (c.output == "json") std::cout << buf.GetString() << "\n";
  if (failed) return 1;
  return plan && changes ? 2 : 0;
}

int CmdStatus(const Common& c) {
  if (!StoreExists(c.store)) return 1;
  auto st = OpenStore(c.store, false, store::SqliteStore::OpenMode::kRequireCurrent);
  if (!st) return 1;
  auto devices = st->DeviceStatuses();
  auto ports = st->PortStatuses("");
  const auto overrides = st->Overrides();
  if (!devices || !ports) {
    std::cerr << "netconverge: cannot read status\n";
    return 1;
  }
  auto want = [&](const std::string& d) {
    return c.device.empty() || d == c.device || d.substr(d.find('/') + 1) == c.device;
  };
  if (c.output == "json") {
    JsonText buf;
    Json w(buf);
    w.StartObject();
    w.Key("devices");
    w.StartArray();
    for (const auto& d : *devices) {
      if (!want(d.device)) continue;
      WriteDeviceStatus(w, d, *ports, true, manager::OverrideOf(overrides, d.device));
    }
    w.EndArray();
    w.EndObject();
    std::cout << buf.GetString() << "\n";
    return 0;
  }
  if (devices->empty()) {
    std::cout << "no devices recorded in " << c.store << " yet\n";
    PrintOverrides(*st, c.device);
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"DEVICE", "REACHABLE", "SYNCED", "MANAGED", "DRIFTED",
                                              "LAST APPLIED", "TRANSPORT", "MESSAGE"}};
  for (const auto& d : *devices)
    if (want(d.device))
      rows.push_back(
          {d.device, d.reachable ? "True" : "False", d.synced ? "True" : "False",
           std::to_string(d.managed), std::to_string(d.drifted),
           d.last_applied_at.empty() ? "-" : d.last_applied_at,
           (d.transport.empty() ? "-" : d.transport) + (d.fallback_active ? " (fallback)" : ""),
           d.message});
  PrintTable(rows);
  std::cout << "\n";
  rows = {{"DEVICE", "RESOURCE", "PORT", "RULE/VLAN", "STATE", "DESCRIPTION", "LAST APPLIED",
           "MESSAGE"}};
  for (const auto& p : *ports)
    if (want(p.device))
      rows.push_back({p.device, p.resource, p.port,
                      p.rule_number ? std::to_string(p.rule_number) : "-", p.state, p.display,
                      p.last_applied_at.empty() ? "-" : p.last_applied_at, p.message});
  PrintTable(rows);
  PrintOverrides(*st, c.device);
  return 0;
}

int CmdEvents(const Common& c, const std::string& since, int limit) {
  if (!StoreExists(c.store)) return 1;
  auto st = OpenStore(c.store, false, store::SqliteStore::OpenMode::kRequireCurrent);
  if (!st) return 1;
  store::EventFilter f;
  f.limit = limit;
  if (!c.device.empty()) f.device = QualifiedName(c.device);
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
    JsonText buf;
    Json w(buf);
    w.StartArray();
    for (const auto& e : *events) {
      WriteEvent(w, e);
    }
    w.EndArray();
    std::cout << buf.GetString() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{
      {"TIME", "DEVICE", "RESOURCE", "TYPE", "REASON", "MESSAGE"}};
  for (const auto& e : *events)
    rows.push_back(
        {e.time, e.device, e.resource.empty() ? "-" : e.resource, e.type, e.reason, e.message});
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
    for (const auto& m : *h)
      rows.push_back(
          {std::to_string(m.version), m.applied_at.empty() ? "pending" : m.applied_at, m.name});
    PrintTable(rows);
    return 0;
  }
  const int before = s.SchemaVersion();
  Status r = action == "upgrade" ? s.Upgrade(target < 0 ? store::LatestSchemaVersion() : target)
                                 : s.Downgrade(target);
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
    for (const auto& s : *snaps)
      rows.push_back({std::to_string(s.id), s.taken_at, std::to_string(s.run_id)});
    PrintTable(rows);
    return 0;
  }
  auto log = MakeLogger(c.log_level);
  runtime::SystemClock clock;
  reconcilers::DefaultAdapterFactory factory;
  reconcilers::DeviceReconciler rec(*st, factory, clock, log, services);
  rec.SetDeletionGuard(c.deletion_guard_pct / 100.0, c.deletion_guard_min);
  auto r = rec.Rollback(*desired, keys[0], snapshot, CliActor());
  PrintReport(r);
  if (!r.error && r.snapshot_id)
    std::cout << "  the state before the rollback is snapshot " << r.snapshot_id
              << "; a running daemon converges the device to the manifests again unless the device "
                 "is paused\n";
  return r.error ? 1 : 0;
}

/// `import --rule N | --interface NAME | --bridge-domain NAME`: one object of the device.
struct ImportTarget {
  int rule = 0;
  std::string interface;
  std::string bridge_domain;
  bool any() const { return rule > 0 || !interface.empty() || !bridge_domain.empty(); }
};

/// The switch's state narrowed to the target (the interface, or a bridge domain's members);
/// false (printed) when the switch has no such object.
bool NarrowSwitch(core::SwitchState& state, const ImportTarget& t, const std::string& where) {
  if (!t.interface.empty()) {
    auto it = state.interfaces.find(t.interface);
    if (it == state.interfaces.end()) {
      std::cerr << "netconverge: " << where << " has no sub-interface " << t.interface << "\n";
      return false;
    }
    core::SwitchState one;
    one.interfaces.insert(*it);
    if (auto bd = state.bridge_domains.find(it->second.bridge_domain);
        bd != state.bridge_domains.end())
      one.bridge_domains.insert(*bd);
    state = std::move(one);
  } else if (!t.bridge_domain.empty()) {
    auto bd = state.bridge_domains.find(t.bridge_domain);
    if (bd == state.bridge_domains.end()) {
      std::cerr << "netconverge: " << where << " has no bridge domain " << t.bridge_domain << "\n";
      return false;
    }
    std::erase_if(state.interfaces,
                  [&](const auto& kv) { return kv.second.bridge_domain != t.bridge_domain; });
    if (state.interfaces.empty()) {
      std::cerr << "netconverge: bridge domain " << t.bridge_domain << " of " << where
                << " has no sub-interface to import\n";
      return false;
    }
    core::SwitchState one;
    one.interfaces = std::move(state.interfaces);
    one.bridge_domains.insert(*bd);
    state = std::move(one);
  } else if (t.rule > 0) {
    std::cerr << "netconverge: --rule is for routers; " << where
              << " is a switch (--interface or --bridge-domain)\n";
    return false;
  }
  return true;
}

int PrintVlanImport(core::SwitchState state, const switchcli::VlanImportOptions& o,
                    const ImportTarget& target = {}) {
  if (!NarrowSwitch(state, target, o.source)) return 1;
  auto result = switchcli::ImportVlanInterfaces(state, o);
  std::cout << result.yaml;
  std::cerr << "netconverge import: " << result.imported << " sub-interface(s) as VlanInterfaces, "
            << result.skipped << " skipped\n";
  return 0;
}

// `import --from FILE`: a switch's file is printed as VlanInterfaces (the exit code is
// returned); a router's destination rules fill `rules` (nullopt: go on).
std::optional<int> RulesFromFile(const Common& c, const std::string& from, const std::string& ns,
                                 vyos::ImportOptions& o, std::map<int, core::NatRule>& rules,
                                 const ImportTarget& target) {
  std::ifstream in(from);
  if (!in) {
    std::cerr << "netconverge: cannot read " << from << "\n";
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  // The declared device's platform decides when the device is declared; otherwise the
  // file's whole grammar does.
  auto format = vyos::DetectConfigFormat(text);
  std::string decided_by = "its grammar";
  if (std::error_code ec; std::filesystem::is_directory(c.manifests, ec)) {
    auto v = source::ValidateDirectory(c.manifests, o.services);
    const std::string key =
        c.device.find('/') == std::string::npos ? ns + "/" + c.device : c.device;
    if (auto it = v.desired.devices.find(key); it != v.desired.devices.end()) {
      decided_by = "device " + key + "'s platform";
      if (it->second.IsSwitch())
        format = vyos::ConfigFormat::kDnosFlat;
      else if (format != vyos::ConfigFormat::kVyosCommands)
        format = vyos::ConfigFormat::kVyosBoot;
      o.tag = it->second.tag;
    }
  }
  if (format == vyos::ConfigFormat::kUnknown) {
    std::cerr
        << "netconverge: " << from
        << ": not a configuration netconverge can import: neither a VyOS config.boot, VyOS `show "
           "configuration commands` output, nor a DNOS `show config | flatten` file\n";
    return 1;
  }
  if (format == vyos::ConfigFormat::kDnosFlat) {
    auto state = switchcli::DnosDialect().ParseObserved({text});
    if (!state) {
      std::cerr << "netconverge: " << from << ": " << state.error().message << "\n";
      return 1;
    }
    return PrintVlanImport(*state, {o.device, ns, o.tag, from}, target);
  }
  auto parsed = vyos::RulesFromConfigText(text, format);
  if (!parsed) {
    std::cerr << "netconverge: " << from << " (read as " << vyos::ToString(format)
              << ", decided by " << decided_by << "): " << parsed.error().message << "\n";
    return 1;
  }
  if (parsed->empty()) {
    std::cerr << "netconverge: " << from << " (" << vyos::ToString(format) << "): "
              << (vyos::MentionsDestinationRules(text)
                      ? "holds destination-NAT rules the importer could not read"
                      : "holds no destination-NAT rule (nat destination rule N)")
              << "; nothing to import\n";
    return 1;
  }
  rules = std::move(*parsed);
  o.source = from;
  return std::nullopt;
}

// `import` from the live device declared in the manifests: a switch is printed as
// VlanInterfaces (the exit code is returned); a router's rules fill `rules` (nullopt: go on).
std::optional<int> RulesFromDevice(const Common& c, vyos::ImportOptions& o,
                                   std::map<int, core::NatRule>& rules,
                                   const ImportTarget& target) {
  // Live: the device as declared in the manifests.
  auto desired = LoadStrict(c.manifests, o.services);
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
  if (device.IsSwitch())
    return PrintVlanImport(std::move(observed->switch_state),
                           {device.name, device.ns, device.tag, "device " + keys[0]}, target);
  rules = std::move(observed->nat_rules);
  o.tag = device.tag;
  o.ns = device.ns;
  o.device = device.name;
  o.source = "device " + keys[0];
  return std::nullopt;
}

int CmdImport(const Common& c, const std::string& from, const std::string& ns,
              const ImportTarget& target) {
  std::map<int, core::NatRule> rules;
  vyos::ImportOptions o;
  o.ns = ns;
  o.device = c.device.substr(c.device.find('/') + 1);
  o.services = source::LoadServices();
  const auto done = from.empty() ? RulesFromDevice(c, o, rules, target)
                                 : RulesFromFile(c, from, ns, o, rules, target);
  if (done) return *done;
  if (!target.interface.empty() || !target.bridge_domain.empty()) {
    std::cerr << "netconverge: --interface and --bridge-domain are for switches; " << o.source
              << " is a router (--rule N)\n";
    return 1;
  }
  if (target.rule > 0) {
    auto it = rules.find(target.rule);
    if (it == rules.end()) {
      std::cerr << "netconverge: " << o.source << " has no destination rule " << target.rule
                << "\n";
      return 1;
    }
    std::map<int, core::NatRule> one;
    one.insert(*it);
    rules = std::move(one);
  }
  auto result = vyos::ImportPortForwards(rules, o);
  std::cout << result.yaml;
  std::cerr << "netconverge import: " << result.imported << " rule(s) as " << result.resources
            << " PortForward(s), " << result.skipped << " skipped\n";
  if (result.imported == 0) {
    std::cerr << "netconverge: none of the " << rules.size()
              << " destination rule(s) could be imported (reasons above)\n";
    return 1;
  }
  return 0;
}

}  // namespace

namespace {

/// Everything the command line sets, and its subcommands (built twice: see Main).
struct Args {
  Common c;
  RunOptions ro;
  std::string since;
  int limit = 100;
  std::string db_action;
  int db_target = -1;
  int64_t rollback_snapshot = 0;
  bool rollback_list = false;
  std::string import_from;
  std::string import_ns = "default";
  ImportTarget import_target;
  std::string phase_value;
  std::string fallback_value;
  bool override_clear = false;
  std::string config;
  TokenOptions token;
  std::string test_timeout = "10s";
  std::string generate_output;
  bool generate_force = false;
  int64_t history_run = 0;
  int history_limit = 20;
  CLI::App* runs_history = nullptr;
  CLI::App *run, *apply, *plan, *validate, *status, *events, *rollback, *import, *db, *up, *down,
      *current, *history, *phase, *fallback, *token_cmd, *test_device, *generate_config;
};

void AddManifests(CLI::App* s, Common& c) {
  s->add_option("--manifests,-m", c.manifests,
                "directory of manifests (*.yaml, *.yml, recursively)")
      ->capture_default_str();
}

void AddStore(CLI::App* s, Common& c) {
  s->add_option("--store", c.store, "SQLite store file")->capture_default_str();
}

void AddGuard(CLI::App* s, Common& c) {
  s->add_option("--deletion-guard", c.deletion_guard_pct,
                "hold a pass that would delete more than this percentage of a device's owned "
                "objects (DeletionsHeld, until `netconverge release`); 100 turns it off")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  s->add_option("--deletion-guard-min", c.deletion_guard_min, "... and at least this many")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
}

void AddLogFormat(CLI::App* s, Common& c) {
  s->add_option("--log-format", c.log_format, "text or json (one JSON object per line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
}

void AddOutput(CLI::App* s, Common& c) {
  s->add_option("-o,--output", c.output, "text or json")->check(CLI::IsMember({"text", "json"}));
}

void BuildRunApi(CLI::App* run, Args& a);
void BuildRunScale(CLI::App* run, Args& a);
void BuildRunNotify(CLI::App* run, Args& a);

/// `run`: the daemon's options (sources, workers, leader election, admin API, logs).
void BuildRun(CLI::App& app, Args& a) {
  Common& c = a.c;
  RunOptions& ro = a.ro;
  auto* run = a.run = app.add_subcommand("run", "the daemon: keep every declared device converged");
  AddManifests(run, c);
  AddStore(run, c);
  run->add_flag("--auto-migrate", ro.auto_migrate, "upgrade an older store schema at start");
  run->add_option("--max-concurrent-devices", ro.workers, "devices reconciled in parallel")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  run->add_option("--max-concurrent-rules", ro.max_concurrent_rules,
                  "rules (and VLAN interfaces) the devices reconciled at once may hold together: "
                  "the memory bound (a pass over a device larger than this runs alone); 0 for none")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  run->add_option("--watch-interval-ms", ro.watch_ms,
                  "how often the manifests directory is re-read")
      ->capture_default_str()
      ->check(CLI::Range(100, 60000));
  run->add_option("--settle-ms", ro.settle_ms,
                  "a changed manifest file is taken once nothing wrote to it for this long "
                  "(editors and GitOps tools "
                  "write in several steps); 0 takes it at once")
      ->capture_default_str()
      ->check(CLI::Range(0, 600000));
  run->add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  run->add_option("--listen", ro.listen, "address:port of the admin HTTP API; 'off' for none")
      ->capture_default_str();
  run->add_flag(
      "--kube", ro.kube,
      "read Devices, PortForwards and VlanInterfaces from the Kubernetes API (in-cluster, "
      "--kubeconfig or $KUBECONFIG) instead of --manifests, and write their status back");
  run->add_option("--kubeconfig", ro.kubeconfig,
                  "kubeconfig file for --kube (default: in-cluster, then $KUBECONFIG)");
  LeaderFlags& leader = ro.leader;
  run->add_flag("--leader-elect", leader.enabled,
                "with --kube: only the holder of the Lease netconverge-leader writes to devices");
  run->add_option("--leader-elect-lease-duration", leader.lease_duration,
                  "how long a lease lasts unrenewed")
      ->capture_default_str();
  run->add_option("--leader-elect-renew-deadline", leader.renew_deadline,
                  "how long a leader tries to renew before it stops")
      ->capture_default_str();
  run->add_option("--leader-elect-retry-period", leader.retry_period,
                  "how often to try to acquire or renew")
      ->capture_default_str();
  AddGuard(run, c);
  BuildRunScale(run, a);
  BuildRunApi(run, a);
  BuildRunNotify(run, a);
}

/// `run`: sharding and the Kubernetes client's rate limit.
void BuildRunScale(CLI::App* run, Args& a) {
  RunOptions& ro = a.ro;
  run->add_option("--shards", ro.shards,
                  "split the devices across this many shards (each replica manages one, by a "
                  "stable hash of namespace/name or the label netconverge.io/shard)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  run->add_option("--shard-index", ro.shard_index,
                  "this replica's shard, 0 to shards-1 (default: the StatefulSet ordinal at the "
                  "end of $POD_NAME, modulo --shards); with --leader-elect the Lease is "
                  "netconverge-leader-<index>")
      ->check(CLI::Range(0, 1023));
  run->add_option("--kube-qps", ro.kube_qps,
                  "Kubernetes API requests per second, after the burst (client-go's token "
                  "bucket; 0 for no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10000.0));
  run->add_option("--kube-burst", ro.kube_burst, "Kubernetes API requests allowed at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
}

/// `run`: webhook notifications.
void BuildRunNotify(CLI::App* run, Args& a) {
  RunOptions& ro = a.ro;
  run->add_option("--notify-webhook", ro.notify_webhooks,
                  "POST each notification (a conflict, a rejection, drift, a failed rollback, a "
                  "device unreachable for long) to this https:// URL, signed, retried until "
                  "accepted (repeatable; in a config file, a list)");
  run->add_option("--notify-secret-file", ro.notify_secret_file,
                  "file holding the key (16+ bytes) of each notification's "
                  "X-Netconverge-Signature: sha256=HMAC-SHA256(key, body); needed with "
                  "--notify-webhook");
  run->add_option("--notify-ca-file", ro.notify_ca_file,
                  "CA certificates (PEM) the webhooks' certificates are verified against "
                  "(default: the system's)");
  run->add_option("--notify-reasons", ro.notify_reasons,
                  "the event reasons notified, comma-separated")
      ->capture_default_str();
  run->add_option("--notify-unreachable-after", ro.notify_unreachable_after,
                  "an Unreachable notification is sent only if the device is still unreachable "
                  "this long after")
      ->capture_default_str();
}

void BuildRunApi(CLI::App* run, Args& a) {
  RunOptions& ro = a.ro;
  run->add_option(
      "--api-keys-file", ro.api.auth.api_keys_file,
      "YAML file of API keys with a role each (keys: [{name, role: admin|viewer, key | sha256}])");
  run->add_option("--jwt-secret-file", ro.api.auth.jwt_secret_file,
                  "file holding the HS256 secret for bearer tokens (32+ bytes)");
  run->add_option("--retention", ro.retention,
                  "keep runs, operations sent and events this long (e.g. 720h = 30 days), pruned "
                  "hourly; 'off' keeps everything")
      ->capture_default_str();
  run->add_flag("--metrics-auth", ro.api.metrics_auth,
                "/metrics needs the viewer role (default: open)");
  run->add_flag("--health-auth", ro.api.health_auth,
                "/v1/health needs the viewer role (default: open; /healthz and /readyz stay open)");
  AddLogFormat(run, a.c);
}

/// apply, release, plan, validate: passes over the manifests.
void BuildPasses(CLI::App& app, Args& a) {
  Common& c = a.c;
  auto* apply = a.apply = app.add_subcommand(
      "apply", "one pass for every (or one) device, then exit: 0 converged, 1 failed");
  AddManifests(apply, c);
  AddStore(apply, c);
  apply->add_option("--device", c.device, "only this device (name or namespace/name)");
  AddOutput(apply, c);
  apply->add_flag("--auto-migrate", a.ro.auto_migrate, "upgrade an older store schema first");
  apply->add_option("--log-level", c.log_level, "log level")->capture_default_str();
  AddGuard(apply, c);
  AddLogFormat(apply, c);

  auto* release = app.add_subcommand(
      "release", "let a held mass deletion (DeletionsHeld) of a device proceed on its next pass");
  AddManifests(release, c);
  AddStore(release, c);
  release->add_option("DEVICE", c.device, "device name (or namespace/name)")->required();

  auto* plan = a.plan = app.add_subcommand(
      "plan", "dry-run against the live devices: 0 no changes, 2 changes pending, 1 error");
  AddManifests(plan, c);
  AddStore(plan, c);
  plan->add_option("--device", c.device, "only this device");
  AddGuard(plan, c);
  AddOutput(plan, c);

  auto* validate = a.validate = app.add_subcommand(
      "validate", "offline validation incl. cross-resource conflicts; 1 if any problem");
  AddManifests(validate, c);
  AddOutput(validate, c);
}

/// status, events, rollback, import: what the store and the devices hold.
void BuildQueries(CLI::App& app, Args& a) {
  Common& c = a.c;
  auto* status = a.status = app.add_subcommand("status", "device and port status from the store");
  AddStore(status, c);
  status->add_option("--device", c.device, "only this device");
  AddOutput(status, c);

  auto* events = a.events = app.add_subcommand("events", "history from the store, newest first");
  AddStore(events, c);
  events->add_option("--device", c.device, "only this device");
  events->add_option("--since", a.since, "only events newer than this (e.g. 1h, 30m)");
  events->add_option("--limit", a.limit, "at most this many")->capture_default_str();
  AddOutput(events, c);

  auto* history = a.runs_history = app.add_subcommand(
      "history",
      "a device's runs from the store, newest first: trigger, who asked, outcome, counts, "
      "transport, the snapshot before; --run ID prints the operations one run sent");
  history->add_option("DEVICE", c.device, "device name (or namespace/name)")->required();
  history->add_option("--run", a.history_run, "one run: its operations and the snapshot before");
  history->add_option("--limit", a.history_limit, "at most this many runs")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  AddStore(history, c);
  AddOutput(history, c);

  auto* rollback = a.rollback = app.add_subcommand(
      "rollback", "restore a stored snapshot of a device (one verified, confirmed commit)");
  rollback->add_option("DEVICE", c.device, "device name")->required();
  rollback->add_option("--snapshot", a.rollback_snapshot, "snapshot id (see --list)");
  rollback->add_flag("--list", a.rollback_list, "list the device's snapshots");
  AddManifests(rollback, c);
  AddStore(rollback, c);

  auto* import = a.import =
      app.add_subcommand("import",
                         "turn a device's existing port forwards (VyOS) or sub-interfaces (switch) "
                         "into PortForward / VlanInterface YAML that adopts them");
  import
      ->add_option(
          "--device", c.device,
          "device name (live: as declared in --manifests; from a file: the deviceRef to write)")
      ->required();
  import->add_option("--from", a.import_from,
                     "a config.boot, `show configuration commands` or switch `show config | "
                     "flatten` file instead of the live device");
  AddManifests(import, c);
  import
      ->add_option("--namespace", a.import_ns, "namespace of the generated resources (from a file)")
      ->capture_default_str();
  import->add_option("-o,--output", c.output, "yaml")->check(CLI::IsMember({"yaml"}));
  auto* rule = import
                   ->add_option("--rule", a.import_target.rule,
                                "only this destination rule (router): one port as a PortForward")
                   ->check(CLI::Range(1, 999999));
  auto* iface = import->add_option("--interface", a.import_target.interface,
                                   "only this sub-interface (switch), e.g. ge100-0/0/31.251");
  auto* bd = import->add_option("--bridge-domain", a.import_target.bridge_domain,
                                "only the sub-interfaces of this bridge domain (switch)");
  rule->excludes(iface)->excludes(bd);
  iface->excludes(bd);
}

/// db upgrade|downgrade|current|history.
void BuildDb(CLI::App& app, Args& a) {
  auto* db = a.db = app.add_subcommand("db", "schema migrations of the store");
  AddStore(db, a.c);
  db->require_subcommand(1);
  a.up = db->add_subcommand("upgrade", "apply migrations up to N (default: latest)");
  a.up->add_option("N", a.db_target, "target version");
  a.down = db->add_subcommand("downgrade", "revert migrations down to N");
  a.down->add_option("N", a.db_target, "target version")->required();
  a.current = db->add_subcommand("current", "print the schema version");
  a.history = db->add_subcommand("history", "list migrations and when they were applied");
  for (auto* sub : {a.up, a.down, a.current, a.history}) AddStore(sub, a.c);
}

/// phase and fallback: operator overrides of a device's manifest.
void BuildOverrides(CLI::App& app, Args& a) {
  Common& c = a.c;
  auto* phase = a.phase = app.add_subcommand(
      "phase",
      "set a device's management phase (overrides spec.management until --clear): "
      "observe = read and report only, create-update = never delete, full = everything");
  phase->add_option("DEVICE", c.device, "device name (or namespace/name)")->required();
  phase->add_option("PHASE", a.phase_value, "observe, create-update or full")
      ->check(CLI::IsMember({"observe", "create-update", "full"}));
  phase->add_flag("--clear", a.override_clear,
                  "drop the override: the manifest's spec.management applies again");
  auto* fallback = a.fallback =
      app.add_subcommand("fallback",
                         "allow (on) or forbid (off) a VyOS device's SSH CLI fallback "
                         "(overrides spec.transport.fallback until --clear)");
  fallback->add_option("DEVICE", c.device, "device name (or namespace/name)")->required();
  fallback->add_option("STATE", a.fallback_value, "on or off")->check(CLI::IsMember({"on", "off"}));
  fallback->add_flag("--clear", a.override_clear,
                     "drop the override: the manifest's spec.transport.fallback applies again");
  for (auto* sub : {phase, fallback}) {
    AddStore(sub, c);
    sub->add_option("--manifests,-m", c.manifests,
                    "manifests directory, to check the device is declared")
        ->capture_default_str();
  }
}

/// token, test-device, generate-config.
void BuildTools(CLI::App& app, Args& a) {
  auto* token = a.token_cmd =
      app.add_subcommand("token", "print a signed HS256 bearer token (JWT) for the admin API");
  token->add_option("--jwt-secret-file", a.token.secret_file, "the daemon's --jwt-secret-file")
      ->required();
  token->add_option("--role", a.token.role, "admin or viewer")
      ->required()
      ->check(CLI::IsMember({"admin", "viewer"}));
  token->add_option("--ttl", a.token.ttl, "lifetime (e.g. 1h, 30m)")->capture_default_str();
  token->add_option("--subject", a.token.subject, "the sub claim (shown in the daemon's log)")
      ->capture_default_str();

  auto* test_device = a.test_device =
      app.add_subcommand("test-device",
                         "probe a declared device: reachability, authentication, platform "
                         "version, confirmed-commit support; 0 when every check passed");
  test_device->add_option("NAME", a.c.device, "device name (or namespace/name)")->required();
  AddManifests(test_device, a.c);
  test_device->add_option("--timeout", a.test_timeout, "per check")->capture_default_str();
  AddOutput(test_device, a.c);

  a.generate_config = app.add_subcommand("generate-config",
                                         "print a configuration file with every option and its "
                                         "default (for --config)");
  a.generate_config->add_option("--output", a.generate_output,
                                "write it to this file instead (never over an existing one "
                                "without --force)");
  a.generate_config->add_flag("--force", a.generate_force, "overwrite --output's file");
}

void Build(CLI::App& app, Args& a) {
  app.require_subcommand(1);
  app.set_version_flag("--version", "netconverge 0.1.0");
  app.footer(
      "Every long option can also come from a YAML file (--config FILE or $NETCONVERGE_CONFIG; see "
      "generate-config)\n"
      "or from a variable NETCONVERGE_<OPTION> (e.g. NETCONVERGE_LOG_FORMAT=json); a flag wins "
      "over the variable,\n"
      "the variable over the file. Per-invocation options (--device, --output, --snapshot, ...) "
      "are flags only.");
  BuildRun(app, a);
  BuildPasses(app, a);
  BuildQueries(app, a);
  BuildDb(app, a);
  BuildOverrides(app, a);
  BuildTools(app, a);
  for (auto* sub : app.get_subcommands({}))
    if (sub != a.generate_config && sub != a.db)
      sub->add_option("--config", a.config,
                      "YAML configuration file (keys: the long options; overridden by "
                      "NETCONVERGE_<OPTION> variables, which flags override)");
  for (auto* sub : {a.up, a.down, a.current, a.history})
    sub->add_option("--config", a.config, "YAML configuration file");
}

/// The command a parsed app selected, innermost (db upgrade -> upgrade).
CLI::App* Selected(CLI::App& app) {
  CLI::App* at = &app;
  for (;;) {
    auto subs = at->get_subcommands();
    if (subs.empty()) return at == &app ? nullptr : at;
    at = subs.front();
  }
}

int Dispatch(CLI::App& app, Args& a) {
  Common& c = a.c;
  RunOptions& ro = a.ro;
  auto *run = a.run, *apply = a.apply, *plan = a.plan, *validate = a.validate, *status = a.status,
       *events = a.events, *rollback = a.rollback, *import = a.import, *db = a.db, *phase = a.phase,
       *fallback = a.fallback;
  if (*a.generate_config) {
    const std::string text = GenerateConfig(app);
    if (a.generate_output.empty()) {
      std::cout << text;
      return 0;
    }
    // "x": created exclusively, so an existing file is never replaced by accident (nor raced).
    std::FILE* f = std::fopen(a.generate_output.c_str(), a.generate_force ? "w" : "wx");
    if (!f) {
      std::cerr << "netconverge: " << a.generate_output << ": "
                << (errno == EEXIST ? "exists; give --force to overwrite it" : std::strerror(errno))
                << "\n";
      return 1;
    }
    const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !written) {
      std::cerr << "netconverge: " << a.generate_output << ": write failed\n";
      return 1;
    }
    std::cout << "wrote " << a.generate_output << "\n";
    return 0;
  }
  if (*a.token_cmd) return CmdToken(a.token);
  if (*a.test_device) return CmdTestDevice(c, a.test_timeout);
  if (app.got_subcommand("release")) return CmdRelease(c);
  const bool auto_migrate = ro.auto_migrate;
  auto& import_from = a.import_from;
  auto& import_ns = a.import_ns;
  auto& rollback_list = a.rollback_list;
  auto& rollback_snapshot = a.rollback_snapshot;
  auto& since = a.since;
  auto& limit = a.limit;
  auto& phase_value = a.phase_value;
  auto& fallback_value = a.fallback_value;
  auto& override_clear = a.override_clear;
  auto& db_action = a.db_action;
  auto& db_target = a.db_target;
  if (*run) return ro.kube ? CmdRunKube(c, ro) : CmdRun(c, ro);
  if (*apply) return CmdApplyOrPlan(c, false, auto_migrate);
  if (*plan) return CmdApplyOrPlan(c, true, false);
  if (*validate) return CmdValidate(c);
  if (*status) return CmdStatus(c);
  if (*import) return CmdImport(c, import_from, import_ns, a.import_target);
  if (*rollback) {
    if (!rollback_list && rollback_snapshot <= 0) {
      std::cerr << "netconverge: rollback needs --snapshot ID (or --list)\n";
      return 1;
    }
    return CmdRollback(c, rollback_snapshot, rollback_list);
  }
  if (*events) return CmdEvents(c, since, limit);
  if (*a.runs_history) return CmdHistory(c, a.history_run, a.history_limit);
  for (auto [sub, value] : {std::pair{phase, &phase_value}, std::pair{fallback, &fallback_value}}) {
    if (!*sub) continue;
    if (value->empty() == !override_clear) {
      std::cerr << "netconverge " << sub->get_name() << ": give "
                << (sub == phase ? "PHASE" : "STATE") << " or --clear\n";
      return 1;
    }
    return CmdOverride(c, sub->get_name(), *value, override_clear);
  }
  if (*db) {
    for (const char* action : {"upgrade", "downgrade", "current", "history"})
      if (db->got_subcommand(action)) db_action = action;
    return CmdDb(c.store, db_action, db_target);
  }
  return 1;
}

}  // namespace

int Main(int argc, char** argv) {
  const std::string about =
      "netconverge: keeps network devices in line with declared YAML (VyOS port forwards, switch "
      "VLANs)";
  std::vector<std::string> given(argv + 1, argv + argc);
  // Round 1 finds the command, its --config and the options given as flags; round 2 parses the
  // flags again with the options that were not given taken from NETCONVERGE_<OPTION>, then the
  // file: flag > environment > file > default.
  std::vector<std::string> layered;
  std::vector<std::string> origins;
  {
    Args a;
    CLI::App app{about};
    Build(app, a);
    try {
      app.parse(std::vector<std::string>(given.rbegin(), given.rend()));
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
    CLI::App* cmd = Selected(app);
    if (!cmd || cmd == a.generate_config) return Dispatch(app, a);
    auto config = LoadConfigLayer(app, *cmd, a.config);
    if (!config) {
      std::cerr << "netconverge: " << config.error().message << "\n";
      return 1;
    }
    layered = config->args;
    origins = config->origins;
  }
  Args a;
  CLI::App app{about};
  Build(app, a);
  std::vector<std::string> all = given;
  all.insert(all.end(), layered.begin(), layered.end());
  try {
    app.parse(std::vector<std::string>(all.rbegin(), all.rend()));
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    for (const auto& o : origins) std::cerr << "  (" << o << ")\n";
    return rc;
  }
  return Dispatch(app, a);
}

}  // namespace nc::cli
