#include "controller/manager/admin_api.hpp"
#include "controller/core/json.hpp"

#include <rapidjson/document.h>
#include <sys/stat.h>

#include <iostream>
#include <mutex>
#include <optional>
#include <regex>
#include <set>

#include "controller/core/encoding.hpp"
#include "controller/core/values.hpp"
#include "controller/manager/views.hpp"
#include "controller/runtime/clock.hpp"

namespace nc::manager {

namespace {

using http::Request;
using http::Response;
using http::Role;
using Mode = reconcilers::DeviceReconciler::Mode;

/// Whether `path` matches the template `pattern`, where a `{name}` segment matches one
/// non-empty segment (its value in *name). Linear in the path's length, no recursion.
bool MatchRoute(std::string_view pattern, std::string_view path, std::string* name) {
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern[0] != '/' || path[0] != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const auto pe = std::min(pattern.find('/'), pattern.size());
    const auto se = std::min(path.find('/'), path.size());
    const std::string_view want = pattern.substr(0, pe);
    const std::string_view got = path.substr(0, se);
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (got.empty()) return false;
      *name = std::string(got);
    } else if (want != got) {
      return false;
    }
    pattern.remove_prefix(pe);
    path.remove_prefix(se);
  }
  return true;
}

/// At most 10 authentication-failure lines a minute: a client hammering with bad keys must not
/// flood the log (nor the disk under it). What was left out is counted in the next line.
class LogLimiter {
 public:
  bool Allow(int* suppressed) {
    std::lock_guard lk(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now - window_ > std::chrono::minutes(1)) {
      window_ = now;
      used_ = 0;
    }
    if (used_ >= 10) {
      ++dropped_;
      return false;
    }
    ++used_;
    *suppressed = std::exchange(dropped_, 0);
    return true;
  }

 private:
  std::mutex mu_;
  std::chrono::steady_clock::time_point window_{};
  int used_ = 0;
  int dropped_ = 0;
};

LogLimiter& AuthLogLimiter() {
  static LogLimiter limiter;
  return limiter;
}

Response Ok(std::string body) {
  return {200, "application/json", std::move(body), {}};
}

/// A 200 with the JSON `buf` holds, moved (a fleet's /v1/devices is tens of MB).
Response Ok(JsonText& buf) {
  return Ok(std::move(buf.text));
}

Response MethodNotAllowed(const Request& r, const std::string& allow) {
  Response res = http::JsonError(
      405, "method " + r.method + " is not allowed on " + r.path + " (allowed: " + allow + ")");
  res.headers.emplace_back("Allow", allow);
  return res;
}

/// The device key for a path name and an optional ?namespace=.
std::string KeyFor(const Request& r, const std::string& name) {
  auto ns = r.query.find("namespace");
  return QualifiedName(
      name, ns == r.query.end() || ns->second.empty() ? std::string("default") : ns->second);
}

/// "lastHour": the device's passes over the last hour, and the shares that did not fail and that
/// needed the fallback transport (null without passes).
void WriteLastHour(Json& w, const DeviceStatusCache::HourCounts& h) {
  w.Key("lastHour");
  w.StartObject();
  w.Key("passes");
  w.Int64(h.passes);
  for (const auto& [key, n] :
       {std::pair{"successRate", h.ok}, std::pair{"fallbackRate", h.fallback}}) {
    w.Key(key);
    if (h.passes == 0)
      w.Null();
    else
      w.Double(static_cast<double>(n) / static_cast<double>(h.passes));
  }
  w.EndObject();
}

/// "probe": a live read of the device (at most one per 10 s; `cached` when this is the last one).
void WriteProbe(Json& w, const ApiContext& c, const std::string& device) {
  bool cached = false;
  const auto pr = c.probe(device, &cached);
  w.Key("probe");
  w.StartObject();
  w.Key("reachable");
  w.Bool(pr.reachable);
  JStr(w, "error", pr.error);
  JStr(w, "transport", pr.transport);
  w.Key("latencyMs");
  w.Int64(pr.latency_ms);
  w.Key("changedSinceLastPass");
  w.Bool(pr.changed);
  JStr(w, "time", pr.at);
  w.Key("cached");
  w.Bool(cached);
  w.EndObject();
}

Response Health(const ApiContext& c, const Request& r) {
  // ?probe=true: each device read right now (at most once per device per 10 s) instead of
  // what the last pass saw.
  bool probe = false;
  if (auto p = r.query.find("probe"); p != r.query.end()) {
    if (p->second != "true" && p->second != "false")
      return http::JsonError(400, "probe must be true or false, not '" + p->second + "'");
    probe = p->second == "true" && c.probe;
  }
  JsonText buf;
  Json w(buf);
  w.StartObject();
  JStr(w, "status", "ok");
  w.Key("store");
  w.StartObject();
  w.Key("open");
  w.Bool(true);
  w.Key("schemaVersion");
  w.Int(c.schema_version);
  const bool writable = c.status->StoreWritable(*c.store);
  w.Key("writable");
  w.Bool(writable);
  w.EndObject();
  w.Key("devices");
  w.StartArray();
  const auto overrides = c.store->Overrides();
  for (const auto& d : c.status->Rows()) {
    w.StartObject();
    DeviceFields(w, d, OverrideOf(overrides, d.device));
    w.Key("shard");
    w.Int(c.shard.index);
    WriteLastHour(w, c.status->LastHour(d.device));
    if (probe) WriteProbe(w, c, d.device);
    w.EndObject();
  }
  w.EndArray();
  w.Key("loop");
  w.StartObject();
  w.Key("queueDepth");
  w.Uint64(c.queue->Len());
  w.Key("queueDelayed");
  w.Uint64(c.queue->Delayed());
  w.Key("workersBusy");
  w.Int(c.controller->busy());
  w.Key("lastPass");
  w.StartArray();
  for (const auto& p : c.status->Passes()) {
    w.StartObject();
    JStr(w, "device", p.device);
    w.Key("runId");
    w.Int64(p.run_id);
    JStr(w, "trigger", p.trigger);
    JStr(w, "result", p.result);
    JStr(w, "finishedAt", p.finished_at);
    w.Key("durationMs");
    w.Int64(p.duration_ms);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  JStr(w, "leader", c.leader());
  w.Key("shard");
  w.StartObject();
  w.Key("index");
  w.Int(c.shard.index);
  w.Key("count");
  w.Int(c.shard.count);
  w.EndObject();
  w.EndObject();
  return Ok(buf);
}

Response Devices(const ApiContext& c, const Request& r, const std::string& only) {
  auto devices = c.store->DeviceStatuses();
  if (!devices) return http::JsonError(500, "cannot read the store");
  // ?ports=false: each device's fields without its ports (a dashboard's poll of a fleet of
  // 100,000 ports is then a few KB, not 28 MB).
  bool with_ports = true;
  if (auto p = r.query.find("ports"); p != r.query.end()) {
    if (p->second != "true" && p->second != "false")
      return http::JsonError(400, "ports must be true or false, not '" + p->second + "'");
    with_ports = p->second == "true";
  }
  const auto overrides = c.store->Overrides();
  JsonText buf;
  int64_t ports_total = 0;  // the answer's size is about 250 bytes a port: reserved once
  for (const auto& d : *devices)
    if (only.empty() || d.device == only) ports_total += d.managed;
  buf.text.reserve(1024 + static_cast<size_t>(devices->size()) * 512 +
                   (with_ports ? static_cast<size_t>(ports_total) * 260 : 0));
  Json w(buf);
  if (only.empty()) {
    w.StartObject();
    w.Key("devices");
    w.StartArray();
  }
  bool found = false;
  for (const auto& d : *devices) {
    if (!only.empty() && d.device != only) continue;
    found = true;
    // One device's port rows at a time, never the fleet's.
    std::vector<store::PortStatusRow> none;
    auto ports = with_ports ? c.store->PortStatuses(d.device) : none;
    if (!ports) return http::JsonError(500, "cannot read the store");
    WriteDeviceStatus(w, d, *ports, with_ports, OverrideOf(overrides, d.device));
  }
  if (only.empty()) {
    w.EndArray();
    w.EndObject();
  } else if (!found) {
    auto desired = c.desired();
    if (!desired->devices.count(only)) return http::JsonError(404, "no device " + only);
    return http::JsonError(404, "device " + only + " is declared but has not been reconciled yet");
  }
  return Ok(buf);
}

Response Events(const ApiContext& c, const Request& r) {
  store::EventFilter f;
  auto q = [&](const char* k) {
    auto it = r.query.find(k);
    return it == r.query.end() ? std::string() : it->second;
  };
  if (auto d = q("device"); !d.empty()) f.device = QualifiedName(d);
  if (auto res = q("resource"); !res.empty()) f.resource = QualifiedName(res);
  if (auto s = q("since"); !s.empty()) {
    static const std::regex kIso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
    if (std::regex_match(s, kIso)) {
      f.since = s;
    } else {
      auto ms = core::ParseDurationMs(s);
      if (!ms)
        return http::JsonError(
            400,
            "since: '" + s + "' is neither a duration (30m, 1h) nor a time (2026-11-22T08:00:00Z)");
      f.since =
          runtime::FormatUtc(std::chrono::system_clock::now() - std::chrono::milliseconds(*ms));
    }
  }
  if (auto l = q("limit"); !l.empty()) {
    char* end = nullptr;
    const long n = std::strtol(l.c_str(), &end, 10);
    if (*end || n < 1 || n > 1000)
      return http::JsonError(400, "limit: must be a number from 1 to 1000");
    f.limit = static_cast<int>(n);
  }
  auto events = c.store->Events(f);
  if (!events) return http::JsonError(500, "cannot read the store");
  JsonText buf;
  Json w(buf);
  w.StartObject();
  w.Key("events");
  w.StartArray();
  for (const auto& e : *events) WriteEvent(w, e);
  w.EndArray();
  w.EndObject();
  return Ok(buf);
}

/// GET /v1/devices/{name}/runs[?limit=N]: the device's runs, newest first (default 20).
Response DeviceRuns(const ApiContext& c, const Request& r, const std::string& key) {
  int limit = 20;
  if (auto l = r.query.find("limit"); l != r.query.end()) {
    int64_t n = 0;
    if (!core::ParseInt(l->second, 1, 1000, &n))
      return http::JsonError(400, "limit: must be a number from 1 to 1000");
    limit = static_cast<int>(n);
  }
  auto runs = c.store->Runs(key, limit);
  if (!runs) return http::JsonError(500, "cannot read the store");
  if (runs->empty() && !c.desired()->devices.count(key))
    return http::JsonError(404, "no device " + key + " and no runs of it");
  JsonText buf;
  Json w(buf);
  WriteRuns(w, key, *runs);
  return Ok(buf);
}

/// GET /v1/runs/{id}: one run with the operations it sent and the snapshot taken before.
Response OneRun(const ApiContext& c, const std::string& id_text) {
  int64_t id = 0;
  if (!core::ParseInt(id_text, 1, INT64_MAX, &id))
    return http::JsonError(400, "run id: must be a positive number");
  auto run = c.store->GetRun(id);
  if (!run)
    return run.error().code == ErrorCode::kNotFound
               ? http::JsonError(404, "no run " + id_text + " (never, or pruned by retention)")
               : http::JsonError(500, "cannot read the store");
  auto ops = c.store->Operations(id);
  if (!ops) return http::JsonError(500, "cannot read the store");
  JsonText buf;
  Json w(buf);
  WriteRun(w, *run, &*ops);
  return Ok(buf);
}

/// GET /v1/devices/{name}/discover?rule=N (router) or ?interface=NAME (switch): what the device
/// has for that object now, who owns it, whether it is as declared, and the adoptable YAML.
Response Discover(const ApiContext& c, const Request& r, const std::string& key) {
  reconcilers::DeviceReconciler::DiscoverQuery q;
  const bool is_switch = c.desired()->devices.at(key).IsSwitch();
  auto rule = r.query.find("rule");
  auto iface = r.query.find("interface");
  if ((rule == r.query.end()) == (iface == r.query.end()))
    return http::JsonError(400, "give one of rule=N (a router) or interface=NAME (a switch)");
  if (rule != r.query.end()) {
    int64_t n = 0;
    if (is_switch) return http::JsonError(400, key + " is a switch: ask for interface=NAME");
    if (!core::ParseInt(rule->second, 1, 999999, &n))
      return http::JsonError(400, "rule: must be a rule number from 1 to 999999");
    q.rule = static_cast<int>(n);
  } else {
    if (!is_switch) return http::JsonError(400, key + " is a router: ask for rule=N");
    if (iface->second.empty() || iface->second.size() > 64)
      return http::JsonError(400, "interface: must be a sub-interface name");
    q.interface = iface->second;
  }
  if (!c.discover) return http::JsonError(501, "discovery is not available in this process");
  auto d = c.discover(key, q);
  if (d.error)
    return http::JsonError(
        502, "cannot read " + key + ": " + core::PrintableText(d.error->message, 500));
  JsonText buf;
  Json w(buf);
  w.StartObject();
  JStr(w, "device", key);
  if (q.rule > 0) {
    w.Key("rule");
    w.Int(q.rule);
  } else {
    JStr(w, "interface", q.interface);
  }
  JStr(w, "time", d.at);
  w.Key("present");
  w.Bool(d.present);
  JStr(w, "owner", d.owner);
  w.Key("resource");
  d.resource.empty() ? w.Null() : w.String(d.resource.c_str());
  if (q.rule > 0) {
    w.Key("port");
    d.port.empty() ? w.Null() : w.String(d.port.c_str());
  }
  w.Key("matchesSpec");
  d.matches ? w.Bool(*d.matches) : w.Null();
  w.Key("difference");
  d.difference.empty() ? w.Null() : w.String(d.difference.c_str());
  w.Key("yaml");
  d.yaml.empty() ? w.Null() : w.String(d.yaml.c_str());
  w.EndObject();
  return Ok(buf);
}

/// The seed API's sync answer: {"status", "message", "report": {added, deleted, updated,
/// no_change}} (plus "not_applied" when something failed).
Response SyncReport(const std::vector<reconcilers::DeviceResult>& results) {
  reconcilers::SyncReport all;
  std::vector<std::string> errors;
  for (const auto& r : results) {
    for (auto [from, to] :
         {std::pair{&r.report.added, &all.added}, std::pair{&r.report.deleted, &all.deleted},
          std::pair{&r.report.updated, &all.updated},
          std::pair{&r.report.no_change, &all.no_change}, std::pair{&r.report.failed, &all.failed}})
      to->insert(to->end(), from->begin(), from->end());
    if (r.error) errors.push_back(r.device + ": " + r.error->message);
  }
  JsonText buf;
  Json w(buf);
  w.StartObject();
  JStr(w, "status", errors.empty() ? "success" : "error");
  std::string message = "VyOS configuration synchronized successfully.";
  if (!errors.empty()) {
    message = "VyOS configuration was not synchronized: ";
    for (size_t i = 0; i < errors.size(); ++i) message += (i ? "; " : "") + errors[i];
  }
  JStr(w, "message", message);
  WriteReport(w, all, !errors.empty());
  w.EndObject();
  // A device that failed is a failure of the gateway's upstream, not of the request.
  return {errors.empty() ? 200 : 502, "application/json", buf.GetString(), {}};
}

/// Writes go to the leader: a standby (or a replica that lost the lease) answers 503.
std::optional<Response> NotLeader(const ApiContext& c) {
  if (const auto role = c.leader(); role == "standby" || role == "lost")
    return http::JsonError(503, "this replica is a standby; send the request to the leader");
  return std::nullopt;
}

/// The run record's "who asked" for an API caller (its key's name or its token's subject).
std::string Actor(const std::string& who) {
  return "api " + core::PrintableText(who.empty() ? "anonymous" : who, 120);
}

Response Sync(const ApiContext& c, const std::vector<std::string>& keys, const std::string& who) {
  if (auto refused = NotLeader(c)) return *refused;
  std::vector<reconcilers::DeviceResult> results;
  results.reserve(keys.size());
  for (const auto& key : keys)
    results.push_back(c.pass(key, "admin-sync", Mode::kApply, Actor(who)));
  return SyncReport(results);
}

/// Lets a held mass deletion proceed (an audited DeletionsReleased event), then runs the pass.
Response Release(const ApiContext& c, const std::string& key, const std::string& who) {
  if (auto refused = NotLeader(c)) return *refused;
  const store::Event e =
      reconcilers::DeletionsReleasedEvent(key, who, runtime::SystemClock().UtcIso());
  if (auto st = c.store->AddEvents({e}); !st)
    return http::JsonError(500, "the release could not be recorded");
  return Sync(c, {key}, who);
}

Response Rollback(const ApiContext& c, const std::string& key, const std::string& body,
                  const std::string& who) {
  if (auto refused = NotLeader(c)) return *refused;
  rapidjson::Document d;
  if (std::string why; !core::ParseJson(d, body, &why))
    return http::JsonError(400, "body: " + why + "; want {\"snapshot\": ID}");
  if (!d.IsObject() || !d.HasMember("snapshot") || !d["snapshot"].IsInt64() ||
      d["snapshot"].GetInt64() <= 0)
    return http::JsonError(
        400,
        "body.snapshot: required, a positive snapshot id (GET /v1/events shows them; "
        "netconverge rollback DEVICE --list)");
  auto r = c.rollback(key, d["snapshot"].GetInt64(), Actor(who));
  if (r.error && !r.wrote &&
      (r.error->code == ErrorCode::kNotFound || r.error->code == ErrorCode::kInvalidArgument))
    return http::JsonError(r.error->code == ErrorCode::kNotFound ? 404 : 400, r.error->message);
  JsonText buf;
  Json w(buf);
  w.StartObject();
  JStr(w, "status", r.error ? "error" : "success");
  JStr(w, "message",
       r.error
           ? r.error->message
           : "device " + key + " restored to snapshot " + std::to_string(d["snapshot"].GetInt64()));
  w.Key("snapshotBefore");
  w.Int64(r.snapshot_id);
  WriteReport(w, r.report, false);
  w.EndObject();
  return {r.error ? 502 : 200, "application/json", buf.GetString(), {}};
}

}  // namespace

namespace {

struct Pattern {
  const char* method;
  const char* label;  // the route template: matched segment by segment, and the metrics label
  Role role;
  bool ApiOptions::*gate;  // when set, `role` applies only if this option is on (else open)
};

// Matched by splitting the path into segments, never by a regex over request data: the
// matching cost is linear and bounded however long or odd the target is.
const std::vector<Pattern>& Patterns() {
  static const std::vector<Pattern> kPatterns = {
      {"GET", "/healthz", Role::kNone, nullptr},                             // 0
      {"GET", "/readyz", Role::kNone, nullptr},                              // 1
      {"GET", "/v1/health", Role::kViewer, &ApiOptions::health_auth},        // 2
      {"GET", "/metrics", Role::kViewer, &ApiOptions::metrics_auth},         // 3
      {"GET", "/v1/devices", Role::kViewer, nullptr},                        // 4
      {"GET", "/v1/devices/{name}", Role::kViewer, nullptr},                 // 5
      {"GET", "/v1/devices/{name}/plan", Role::kViewer, nullptr},            // 6
      {"GET", "/v1/events", Role::kViewer, nullptr},                         // 7
      {"POST", "/v1/admin/sync-vyos-config", Role::kAdmin, nullptr},         // 8
      {"POST", "/v1/admin/devices/{name}/sync", Role::kAdmin, nullptr},      // 9
      {"POST", "/v1/admin/devices/{name}/rollback", Role::kAdmin, nullptr},  // 10
      {"POST", "/v1/admin/devices/{name}/release", Role::kAdmin, nullptr},   // 11
      {"GET", "/v1/devices/{name}/runs", Role::kViewer, nullptr},            // 12
      {"GET", "/v1/runs/{name}", Role::kViewer, nullptr},                    // 13
      {"GET", "/v1/devices/{name}/discover", Role::kViewer, nullptr},        // 14
  };
  return kPatterns;
}

std::vector<std::string> VyosKeys(const ApiContext& c) {
  std::vector<std::string> keys;
  for (const auto& [k, d] : c.desired()->devices)
    if (!d.IsSwitch()) keys.push_back(k);
  return keys;
}

// Route `i` of Patterns(), authorized; `name` is the {name} segment, `who` the caller.
Response Dispatch(const ApiContext& c, const Request& r, size_t i, const std::string& name,
                  const std::string& who) {
  const std::string key = name.empty() || i == 13 ? "" : KeyFor(r, name);
  if ((i == 6 || i == 9 || i == 10 || i == 11 || i == 14) && !c.desired()->devices.count(key))
    return http::JsonError(404, "no device " + key);
  switch (i) {
    case 0:
      return Ok("{\"status\":\"ok\"}");
    case 1:
      return c.ready() ? Ok("{\"status\":\"ready\"}")
                       : Response{503,
                                  "application/json",
                                  "{\"status\":\"not ready\",\"reason\":\"desired state not "
                                  "loaded yet\"}",
                                  {}};
    case 2:
      return Health(c, r);
    case 3:
      c.metrics->SetQueueDepth(c.queue->Len(), c.controller->busy());
      return Response{200, "text/plain; version=0.0.4; charset=utf-8", c.metrics->Text(), {}};
    case 4:
      return Devices(c, r, "");
    case 5:
      return Devices(c, r, key);
    case 6: {
      auto res = c.pass(key, "api-plan", Mode::kPlan, Actor(who));
      JsonText buf;
      Json w(buf);
      WriteDeviceResult(w, key, res);
      return Response{res.error ? 502 : 200, "application/json", std::move(buf.text), {}};
    }
    case 7:
      return Events(c, r);
    case 8:
      return Sync(c, VyosKeys(c), who);
    case 9:
      return Sync(c, {key}, who);
    case 10:
      return Rollback(c, key, r.body, who);
    case 11:
      return Release(c, key, who);
    case 12:
      return DeviceRuns(c, r, key);
    case 13:
      return OneRun(c, name);
    case 14:
      return Discover(c, r, key);
  }
  return http::JsonError(500, "internal error");
}

/// " device=ns/name" for a route about one device (a JSON log line then has its "device"
/// field), else "".
std::string DeviceField(const Request& r, const Pattern& p, const std::string& name) {
  if (name.empty() || std::string_view(p.label).find("/devices/") == std::string_view::npos)
    return "";
  return " device=" + core::PrintableText(KeyFor(r, name), 300);
}

// A refused request, logged at most 10 times a minute (the rest counted).
void LogDenied(const ApiContext& c, const Request& r, const http::Authenticator::Decision& decision,
               const std::string& device_field) {
  int suppressed = 0;
  if (!c.log || !AuthLogLimiter().Allow(&suppressed)) return;
  c.log->warn(
      "api: {} {} from {}: {} ({}){}{}", r.method, core::PrintableText(r.path, 200),
      r.remote.empty() ? "?" : r.remote, decision.deny->status,
      decision.identity.error.empty() ? "role too low" : decision.identity.error,
      suppressed ? fmt::format("; {} more refusal(s) not logged", suppressed) : std::string(),
      device_field);
}

}  // namespace

Response HandleApi(const ApiContext& c, const http::Authenticator& auth, const ApiOptions& o,
                   const Request& r, std::string* route) {
  const auto& patterns = Patterns();
  for (size_t i = 0; i < patterns.size(); ++i) {
    const Pattern& p = patterns[i];
    std::string name;
    if (!MatchRoute(p.label, r.path, &name)) continue;
    if (route) *route = p.label;
    const std::string method = p.method;
    const bool head = r.method == "HEAD" && method == "GET";
    // Authentication first: a caller without credentials learns nothing about which methods a
    // route takes.
    Role needed = p.gate && !(o.*p.gate) ? Role::kNone : p.role;
    // A live probe reads every device: never for an anonymous caller, even where /v1/health is
    // open.
    if (i == 2 && needed == Role::kNone)
      if (auto q = r.query.find("probe"); q != r.query.end() && q->second == "true")
        needed = Role::kViewer;
    const auto decision = auth.Authorize(r, needed);
    if (decision.deny) {
      LogDenied(c, r, decision, DeviceField(r, p, name));
      return *decision.deny;
    }
    if (r.method != method && !head) return MethodNotAllowed(r, method);
    Response res = Dispatch(c, r, i, name, decision.identity.subject);
    if (needed == Role::kAdmin && c.log) {
      // A line about a device carries device= (a JSON log line then has its "device" field).
      c.log->info("api: {} {} from {} by {} -> {}{}", r.method, core::PrintableText(r.path, 200),
                  r.remote, decision.identity.subject, res.status, DeviceField(r, p, name));
    }
    return res;
  }
  return http::JsonError(404, "no route " + core::PrintableText(r.path, 200));
}

std::unique_ptr<http::AdminServer> StartAdminApi(const std::string& listen,
                                                 const ApiOptions& options, ApiContext c,
                                                 bool* failed) {
  *failed = false;
  if (listen == "off") return nullptr;
  auto auth = http::Authenticator::Load(options.auth);
  if (!auth) {
    std::cerr << "netconverge: " << auth.error().message << "\n";
    *failed = true;
    return nullptr;
  }
  // Key files are secrets: say so when anyone else may read them (OpenSSH refuses such keys).
  for (const auto& file : {options.auth.api_keys_file, options.auth.jwt_secret_file}) {
    struct stat st {};
    if (!file.empty() && ::stat(file.c_str(), &st) == 0 && (st.st_mode & 0077) != 0)
      c.log->warn(
          "{} is readable by others (mode {:o}): it holds admin API credentials; chmod 600 it",
          file, st.st_mode & 0777);
  }
  if (!auth->configured())
    c.log->warn(
        "admin HTTP API: no API keys or JWT secret configured (--api-keys-file, "
        "--jwt-secret-file): "
        "every /v1 route except /v1/health answers 401");
  auto server = std::make_unique<http::AdminServer>(
      http::AdminServerOptions{listen}, [c, a = *auth, options](const Request& r) {
        const auto t0 = std::chrono::steady_clock::now();
        // Routes by template, everything else as one label: a scan cannot grow the label set.
        std::string label = "other";
        auto res = HandleApi(c, a, options, r, &label);
        c.metrics->ObserveHttp(
            label, res.status,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        return res;
      });
  if (auto st = server->Start(); !st) {
    std::cerr << "netconverge: " << st.error().message << "\n";
    *failed = true;
    return nullptr;
  }
  c.log->info("admin HTTP API on http://{}:{} ({} API key(s), JWT {}; /metrics {}, /v1/health {})",
              listen.substr(0, listen.rfind(':')), server->port(), auth->key_count(),
              auth->jwt_enabled() ? "on" : "off", options.metrics_auth ? "needs viewer" : "open",
              options.health_auth ? "needs viewer" : "open");
  return server;
}

}  // namespace nc::manager
