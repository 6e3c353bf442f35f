// JSON views of device status, passes, reports and events, shared by the CLI's `-o json` and the
// admin API's answers (one shape for both).
#include "controller/manager/views.hpp"

namespace nc::manager {

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

void JList(Json& w, const char* k, const core::OpLog& v) {
  w.Key(k);
  w.StartArray();
  for (const std::string& s : v) w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
}

std::string QualifiedName(const std::string& name, const std::string& ns) {
  return name.find('/') == std::string::npos ? ns + "/" + name : name;
}

/// The fields of a device's status shared by `status -o json` and `/v1/health`.
const store::DeviceOverride* OverrideOf(
    const Result<std::map<std::string, store::DeviceOverride>>& all, const std::string& device) {
  if (!all) return nullptr;
  auto it = all->find(device);
  return it == all->end() ? nullptr : &it->second;
}

void DeviceFields(Json& w, const store::DeviceStatusRow& d, const store::DeviceOverride* o) {
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
  w.Key("quietPolls");
  w.Int64(d.quiet_polls);
  // The phase in force: an override set since the last pass already applies to the next.
  JStr(w, "management", o && !o->management.empty() ? o->management : d.management);
  w.Key("paused");
  w.Bool(d.paused);
  w.Key("override");
  if (!o || (o->management.empty() && o->fallback.empty())) {
    w.Null();
  } else {
    w.StartObject();
    JStr(w, "management", o->management);
    JStr(w, "fallback", o->fallback);
    JStr(w, "by", o->updated_by);
    JStr(w, "time", o->updated_at);
    w.EndObject();
  }
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
  WriteReport(w, r.report, false);
  w.EndObject();
}

void WriteReport(Json& w, const reconcilers::SyncReport& report, bool with_not_applied) {
  w.Key("report");
  w.StartObject();
  JList(w, "added", report.added);
  JList(w, "deleted", report.deleted);
  JList(w, "updated", report.updated);
  JList(w, "no_change", report.no_change);
  if (with_not_applied) JList(w, "not_applied", report.failed);
  w.EndObject();
}

void WriteDeviceStatus(Json& w, const store::DeviceStatusRow& d,
                       const std::vector<store::PortStatusRow>& ports, bool with_ports,
                       const store::DeviceOverride* o) {
  w.StartObject();
  DeviceFields(w, d, o);
  JStr(w, "lastAppliedTime", d.last_applied_at);
  w.Key("managedObjects");
  w.Int(d.managed);
  w.Key("driftedObjects");
  w.Int(d.drifted);
  if (!with_ports) {
    w.EndObject();
    return;
  }
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

void WriteRun(Json& w, const store::Run& run, const std::vector<std::string>* operations) {
  w.StartObject();
  w.Key("id");
  w.Int64(run.id);
  JStr(w, "device", run.device);
  JStr(w, "startedTime", run.started_at);
  JStr(w, "finishedTime", run.finished_at);
  JStr(w, "trigger", run.trigger);
  JStr(w, "by", run.actor);
  JStr(w, "outcome", run.outcome);
  JStr(w, "message", run.message);
  for (const auto& [key, n] : {std::pair{"added", run.added}, std::pair{"updated", run.updated},
                               std::pair{"deleted", run.deleted}, std::pair{"changes", run.changes},
                               std::pair{"commits", run.commits}}) {
    w.Key(key);
    w.Int(n);
  }
  w.Key("durationMs");
  w.Int64(run.duration_ms);
  JStr(w, "transport", run.transport);
  w.Key("snapshotBefore");
  if (run.snapshot_id > 0)
    w.Int64(run.snapshot_id);
  else
    w.Null();
  if (operations) JList(w, "operations", *operations);
  w.EndObject();
}

void WriteRuns(Json& w, const std::string& device, const std::vector<store::Run>& runs) {
  w.StartObject();
  JStr(w, "device", device);
  w.Key("runs");
  w.StartArray();
  for (const auto& run : runs) WriteRun(w, run, nullptr);
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

}  // namespace nc::manager
