#include "controller/reconcilers/device_reconciler.hpp"

#include "controller/core/encoding.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <span>

#include <time.h>

#include "controller/core/allocate.hpp"
#include "controller/core/backoff.hpp"

namespace nc::reconcilers {

namespace {
constexpr size_t kMaxMessageBytes = 4096;
}  // namespace

namespace {

double Unit() {
  static thread_local uint64_t s = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) | 1;
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return static_cast<double>(s % 100000) / 100000.0;
}

int64_t ThreadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

// The group a change belongs to for isolation: its resource, or the rule for a foreign one.
std::string GroupOf(const core::RuleChange& ch) {
  return ch.resource.empty() ? "rule " + std::to_string(ch.number) : ch.resource;
}

// What the device said when it refused (its own text when the adapter has it).
std::string RefusalText(const ApplyOutcome& o) { return !o.device_text.empty() ? o.device_text : o.error->message; }

// A refusal the device gave for the plan itself (nothing committed, nothing uncertain).
bool IsPlainRejection(const ApplyOutcome& o) {
  return o.error && o.error->code == ErrorCode::kRejected && !o.ambiguous && o.commits == 0 && !o.rolled_back;
}

// Fingerprints of each resource's desired rules (rules are sorted by device, resource, port).
std::map<std::string, uint64_t> ResourceSpecs(const core::Device& device, std::span<const core::PortRule> rules) {
  std::map<std::string, uint64_t> out;
  size_t start = 0;
  for (size_t i = 1; i <= rules.size(); ++i) {
    if (i < rules.size() && rules[i].resource == rules[start].resource) continue;
    if (start < rules.size()) out[rules[start].resource] = core::Fingerprint(device, rules.subspan(start, i - start));
    start = i;
  }
  return out;
}

}  // namespace

void ReportChanges(const core::Plan& plan, SyncReport& report) {
  auto bucket = [&](core::ChangeKind k) -> std::vector<std::string>& {
    return k == core::ChangeKind::kAdd ? report.added : k == core::ChangeKind::kUpdate ? report.updated : report.deleted;
  };
  for (const auto& ch : plan.changes)
    bucket(ch.kind).push_back(FormatReportLine(ch.display, ch.number, ch.kind == core::ChangeKind::kUpdate));
  for (const auto& ch : plan.bridge_domains) bucket(ch.kind).push_back("Bridge domain " + ch.name);
  for (const auto& ch : plan.interfaces) {
    const int vlan = ch.after ? ch.after->vlan : ch.before ? ch.before->vlan : 0;
    bucket(ch.kind).push_back(core::InterfaceDisplay(ch.name, vlan) + (ch.kind == core::ChangeKind::kUpdate ? " - Updated" : ""));
  }
}

Touched::Touched(const core::Plan& plan) {
  for (const auto& ch : plan.changes) numbers_.insert(ch.number);
  for (const auto& ch : plan.interfaces) names_.insert(ch.name);
}

std::string FormatReportLine(const std::string& display, int number, bool updated) {
  return display + " (Rule " + std::to_string(number) + ")" + (updated ? " - Updated" : "");
}

DeviceReconciler::DeviceReconciler(store::Store& store, AdapterFactory& factory, const runtime::Clock& clock,
                                   std::shared_ptr<spdlog::logger> log, core::ServiceTable services)
    : store_(store), factory_(factory), clock_(clock), log_(std::move(log)), services_(std::move(services)) {}

Result<DeviceAdapter*> DeviceReconciler::AdapterFor(const core::Device& device) {
  core::Device comparable = device;
  comparable.requested_sync.clear();
  comparable.source = {};
  // A rotated credentials file or Secret, or a new CA file, makes a new adapter: a running
  // daemon picks up a rotation without a restart.
  const std::string credentials = factory_.CredentialsVersion(device);
  {
    std::lock_guard lk(mu_);
    auto it = adapters_.find(device.Key());
    if (it != adapters_.end() && it->second.device == comparable && it->second.credentials == credentials)
      return it->second.adapter.get();
  }
  // Creating an adapter may read a Secret over HTTP: never under the reconciler-wide lock, which
  // every other device's pass needs. (One pass per device at a time: no race on this key.)
  auto a = factory_.Create(device);
  if (!a) return tl::unexpected(a.error());
  std::lock_guard lk(mu_);
  auto* raw = a->get();
  adapters_[device.Key()] = CachedAdapter{comparable, credentials, std::move(*a)};
  return raw;
}

std::optional<store::DeviceOverride> DeviceReconciler::OverrideFor(const std::string& key, int64_t data_version) {
  bool stale = false;
  {
    std::lock_guard lk(mu_);
    stale = data_version != overrides_version_ || data_version < 0;
  }
  if (stale) {
    // Overrides are written by another process (the CLI), which moves data_version. Read
    // outside the reconciler-wide lock: a busy store must not hold up every other device.
    if (auto o = store_.Overrides()) {
      std::lock_guard lk(mu_);
      overrides_ = std::move(*o);
      overrides_version_ = data_version;
    }
  }
  std::lock_guard lk(mu_);
  auto it = overrides_.find(key);
  if (it == overrides_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ApplyOverride(const std::optional<store::DeviceOverride>& o, core::Device& device) {
  std::vector<std::string> notes;
  if (!o) return notes;
  if (auto m = core::ParseManagementPolicy(o->management)) {
    if (*m != device.management)
      notes.push_back("management phase " + o->management + " (the manifest says " + core::ToString(device.management) +
                      ") set by `netconverge phase` at " + o->updated_at);
    device.management = *m;
  }
  if (!o->fallback.empty() && !device.IsSwitch()) {
    if (o->fallback != device.transport_fallback)
      notes.push_back("fallback " + o->fallback + " (the manifest says " + device.transport_fallback +
                      ") set by `netconverge fallback` at " + o->updated_at);
    device.transport_fallback = o->fallback;
  }
  return notes;
}

Result<DeviceReconciler::DeviceCache*> DeviceReconciler::CacheFor(const std::string& device, int64_t dv) {
  DeviceCache* c;
  {
    std::lock_guard lk(mu_);
    c = &cache_[device];
  }
  if (dv != c->data_version) {
    c->records_valid = false;
    c->ports_valid = false;
    c->data_version = dv;
  }
  if (!c->records_valid) {
    auto allocations = store_.Allocations(device);
    if (!allocations) return tl::unexpected(allocations.error());
    auto last = store_.LastApplied(device);
    if (!last) return tl::unexpected(last.error());
    auto interfaces = store_.AppliedInterfaces(device);
    if (!interfaces) return tl::unexpected(interfaces.error());
    c->allocations = std::move(*allocations);
    c->last_applied = std::move(*last);
    c->applied_interfaces = std::move(*interfaces);
    c->records_valid = true;
    c->clean = false;
  }
  if (!c->ports_valid) {
    auto ports = store_.PortStatuses(device);
    if (!ports) return tl::unexpected(ports.error());
    c->ports = std::move(*ports);
    c->ports_valid = true;
  }
  return c;
}

DeviceResult DeviceReconciler::Reconcile(const core::DesiredState& desired, const std::string& key,
                                         const std::string& trigger, Mode mode) {
  DeviceResult r;
  r.device = key;
  const auto t0 = clock_.Now();
  const std::string started = clock_.UtcIso();
  auto dit = desired.devices.find(key);
  if (dit == desired.devices.end()) {
    r.error = Error{ErrorCode::kNotFound, "device " + key + " is not declared"};
    return r;
  }
  // An operator's `netconverge phase` / `fallback` wins over the manifest until cleared.
  // Whether another process wrote to the store since the last pass (one read for the pass).
  const int64_t data_version = store_.DataVersion();
  const auto op_override = OverrideFor(key, data_version);
  core::Device device = dit->second;
  std::vector<std::string> override_notes = ApplyOverride(op_override, device);
  std::vector<store::Event> events;
  auto event = [&](const std::string& type, const std::string& reason, const std::string& resource,
                   const std::string& message) {
    events.push_back(store::Event{0, started, key, resource, type, reason, message, 0});
  };

  auto begin_run = [&]() {
    if (mode != Mode::kApply || r.run_id != 0) return;
    if (auto run = store_.BeginRun(key, trigger, started)) r.run_id = *run;
  };
  auto adapter = AdapterFor(device);
  if (!adapter) {
    begin_run();
    r.error = adapter.error();
    event("Warning", "ConfigurationError", "", adapter.error().message);
    Finish(r, device, trigger, started, t0, events, mode);
    return r;
  }
  auto cache = CacheFor(key, data_version);
  if (!cache) {
    begin_run();
    r.error = cache.error();
    Finish(r, device, trigger, started, t0, events, mode);
    return r;
  }
  DeviceCache& c = **cache;
  if (mode == Mode::kApply) ConfirmLeftPending(**adapter, key, started, events);
  int64_t phase = ThreadCpuMicros();
  auto fresh = (*adapter)->Observe(c.observed.fingerprint);
  r.observe_cpu_us = ThreadCpuMicros() - phase;
  if (!fresh) {
    begin_run();
    r.error = fresh.error();
    // A device that answers but is set up so that netconverge cannot work (REST off) is not
    // unreachable: its event says what to change on it.
    if (fresh.error().code == ErrorCode::kFailedPrecondition) {
      event("Warning", "ConfigurationError", "", fresh.error().message);
    } else if (fresh.error().code == ErrorCode::kPermissionDenied) {
      // Terminal until something changes: retried slowly, and at once when the credentials
      // (file or Secret), the CA or the Device change.
      const std::string why = fresh.error().message + "; retried when the credentials or the Device change";
      event("Warning", "AuthenticationFailed", "", why);
      r.conditions.emplace_back("AuthenticationFailed", why);
    } else {
      event("Warning", "Unreachable", "", "observe failed: " + fresh.error().message);
    }
    Finish(r, device, trigger, started, t0, events, mode);
    return r;
  }
  const bool device_unchanged = fresh->unchanged;
  r.transport = fresh->transport;
  if (!fresh->fallback_reason.empty())
    event("Warning", "FallbackTransport", "",
          "the HTTPS API failed (" + fresh->fallback_reason + "); this pass uses the SSH CLI");
  if (!device_unchanged) c.observed = std::move(*fresh);
  const ObservedState* observed = &c.observed;

  const auto rules = desired.RulesFor(key);
  const auto vlans = desired.VlansFor(key);
  phase = ThreadCpuMicros();
  // A numbered desired state that did not change since the fingerprint was taken needs no rehash.
  const uint64_t desired_fp = desired.generation != 0 && desired.generation == c.desired_generation &&
                                      op_override == c.op_override
                                  ? c.desired_fingerprint
                                  : device.IsSwitch() ? core::Fingerprint(device, vlans)
                                                      : core::Fingerprint(device, rules);
  r.fingerprint_cpu_us = ThreadCpuMicros() - phase;
  const auto& allocations = c.allocations;
  const auto& last_applied = c.last_applied;
  std::map<core::PortKey, int> all_alloc;
  const std::map<core::PortKey, int>* effective = &allocations;
  if (trigger == "poll" && device_unchanged && c.clean && desired_fp == c.desired_fingerprint &&
      !(*adapter)->PendingWork() && mode == Mode::kApply) {
    // Same device answer, same desired state, same records as the last clean pass: the plan
    // (a pure function of these) is again empty. Record the pass and nothing else.
    r.unchanged_poll = true;
    Finish(r, device, trigger, started, t0, events, mode);
    return r;
  }
  if (mode == Mode::kApply) {
    auto run = store_.BeginRun(key, trigger, started);
    if (!run) {
      // Nothing is sent without a record of it. The answer just read is not trusted as
      // "already planned against" either: the next pass plans in full (no unchanged shortcut),
      // so a drift seen now is repaired once the store can be written again.
      c.clean = false;
      r.error = Error{run.error().code, "store: cannot record the pass, nothing sent: " + run.error().message};
      log_->error("device={} trigger={} outcome=failed error=\"{}\"", key, trigger, r.error->message);
      return r;
    }
    r.run_id = *run;
  }
  std::string held = desired.held_deletes_all;
  if (auto h = desired.held_deletes.find(key); h != desired.held_deletes.end()) held = h->second;
  if (device.IsSwitch()) {
    const int64_t plan_start = ThreadCpuMicros();
    core::SwitchPlanInput in{device, vlans, observed->switch_state, c.applied_interfaces, held, desired.orphaned};
    r.plan = core::ComputeSwitchPlan(in);
    if (held.empty()) {
      size_t deletions = 0;
      for (const auto& ch : r.plan.interfaces)
        if (ch.kind == core::ChangeKind::kDelete && c.applied_interfaces.count(ch.name)) ++deletions;
      if (in.held_deletes = MassDeletionHeld(key, deletions, c.applied_interfaces.size()); !in.held_deletes.empty()) {
        r.plan = core::ComputeSwitchPlan(in);
        event("Warning", "DeletionsHeld", "", in.held_deletes);
      }
    }
    r.plan_cpu_us = ThreadCpuMicros() - plan_start;
  } else {
    const int64_t plan_start = ThreadCpuMicros();
    auto alloc = core::AllocateRuleNumbers({device, rules, allocations, observed->nat_rules});
    int64_t plan_cpu = ThreadCpuMicros() - plan_start;
    if (mode == Mode::kApply && !alloc.added.empty()) {
      // Persist new numbers before the device is touched: a crash never renumbers.
      c.records_valid = false;
      if (auto st = store_.SaveAllocations(key, alloc.added, started); !st) {
        r.error = st.error();
        Finish(r, device, trigger, started, t0, events, mode);
        return r;
      }
    }
    if (!alloc.added.empty()) {
      all_alloc = allocations;
      for (const auto& [k, n] : alloc.added) {
        std::erase_if(all_alloc, [&](const auto& e) { return e.second == n || e.first == k; });
        all_alloc[k] = n;
      }
      effective = &all_alloc;
    }
    std::map<int, core::PortKey> allocated;
    for (const auto& [k, n] : *effective) allocated.emplace(n, k);

    core::PlanInput in{device, rules, alloc.numbers, alloc.failed, observed->nat_rules, last_applied, allocated,
                       services_, held, {}};
    for (const auto& o : desired.orphaned) in.orphan_on_delete[o] = true;
    const int64_t compute_start = ThreadCpuMicros();
    r.plan = core::ComputePlan(in);
    if (held.empty()) {
      size_t deletions = 0;
      for (const auto& ch : r.plan.changes)
        if (ch.kind == core::ChangeKind::kDelete && last_applied.count(ch.number)) ++deletions;
      if (in.held_deletes = MassDeletionHeld(key, deletions, last_applied.size()); !in.held_deletes.empty()) {
        r.plan = core::ComputePlan(in);
        event("Warning", "DeletionsHeld", "", in.held_deletes);
      }
    }
    r.plan_cpu_us = plan_cpu + ThreadCpuMicros() - compute_start;
    if (mode == Mode::kApply && !r.plan.adopted.empty()) {
      c.records_valid = false;
      // An adopted rule is only changed once it is on record as ours.
      if (auto st = store_.SaveAllocations(key, r.plan.adopted, started); !st) {
        r.error = st.error();
        Finish(r, device, trigger, started, t0, events, mode);
        return r;
      }
    }
  }
  const auto& effective_alloc = *effective;
  c.clean = false;

  // Resources the device rejected before stay out of the plan until their spec changes or
  // their backoff ends (then they are tried again).
  std::map<std::string, std::string> held_rejected;
  std::map<std::string, uint64_t> specs;
  if (!device.IsSwitch()) {
    specs = ResourceSpecs(device, rules);
    const auto now = clock_.Now();
    for (auto it = c.rejected.begin(); it != c.rejected.end();) {
      auto sp = specs.find(it->first);
      const bool gone = sp == specs.end() && it->first.rfind("rule ", 0) != 0;
      if (gone || (sp != specs.end() && sp->second != it->second.spec)) {
        it = c.rejected.erase(it);  // deleted or changed: tried at once
        continue;
      }
      if (now < it->second.retry_at) held_rejected[it->first] = it->second.message;
      ++it;
    }
    if (!held_rejected.empty()) {
      std::erase_if(r.plan.changes, [&](const core::RuleChange& ch) { return held_rejected.count(GroupOf(ch)) > 0; });
      for (auto& p : r.plan.ports)
        if (auto h = held_rejected.find(p.resource); h != held_rejected.end() && p.state != core::PortState::kConflict) {
          p.state = core::PortState::kRejected;
          p.message = "the device rejected it: " + h->second;
        }
    }
  }

  for (auto& note : override_notes) r.plan.notices.push_back(core::PlanNotice{"Overridden", "", 0, std::move(note), false});
  for (const auto& n : r.plan.notices)
    event(n.warning ? "Warning" : "Normal", n.reason, n.resource, n.message);

  const bool may_write = device.management != core::ManagementPolicy::kObserve && !device.paused;
  if (mode == Mode::kPlan || !may_write) {
    r.operations = (*adapter)->Render(r.plan);
    if (mode == Mode::kApply && r.plan.HasChanges())
      event("Normal", device.paused ? "Paused" : "ObserveOnly", "",
            std::to_string(r.plan.ChangeCount()) + " change(s) planned, not applied (" +
                (device.paused ? "device paused" : "management: Observe") + ")");
    ReportChanges(r.plan, r.report);
    if (mode == Mode::kApply) {
      // Record what is on the device, so status shows it even without writes.
      const Touched touched(r.plan);
      for (auto& p : r.plan.ports)
        if (touched(p)) p.state = core::PortState::kPending;
    }
    Finish(r, device, trigger, started, t0, events, mode);
    return r;
  }

  ApplyOutcome outcome;
  phase = ThreadCpuMicros();
  if (r.plan.HasChanges() || (*adapter)->PendingWork()) {
    auto applied = ApplyWithIntent(**adapter, key, r.plan, *observed, started, r);
    if (!applied) {
      r.error = applied.error();
      Finish(r, device, trigger, started, t0, events, mode);
      return r;
    }
    outcome = std::move(*applied);
  }
  std::map<std::string, std::string> offenders;
  if (!device.IsSwitch() && IsPlainRejection(outcome) && !r.plan.changes.empty()) {
    core::Plan refused;
    refused.changes = r.plan.changes;
    offenders = Isolate(**adapter, key, r.plan, *observed, started, r, outcome);
    std::erase_if(refused.changes, [&](const core::RuleChange& ch) { return !offenders.count(GroupOf(ch)); });
    SyncReport not_applied;
    ReportChanges(refused, not_applied);
    for (auto* v : {&not_applied.added, &not_applied.updated, &not_applied.deleted})
      for (auto& line : *v) r.report.failed.push_back(std::move(line));
  }
  for (const auto& [group, text] : offenders) {
    auto& rej = c.rejected[group];
    rej.spec = specs.count(group) ? specs.at(group) : 0;
    rej.message = text;
    rej.attempts = std::min(rej.attempts + 1, 10);
    // Backoff: 30 s doubling per attempt, at most 1 h.
    rej.retry_at = clock_.Now() + std::chrono::seconds(std::min<int64_t>(int64_t{30} << (rej.attempts - 1), 3600));
    held_rejected[group] = text;
    event("Warning", "DeviceRejected", group.rfind("rule ", 0) == 0 ? "" : group,
          "the device rejected " + group + ": " + text + (outcome.error ? "" : "; the other changes were applied") +
              "; tried again when its spec changes, else in " + std::to_string(std::min<int64_t>(int64_t{30} << (rej.attempts - 1), 3600)) + " s");
  }
  for (const auto& [group, text] : held_rejected) {
    if (offenders.count(group)) continue;
    event("Warning", "DeviceRejected", group.rfind("rule ", 0) == 0 ? "" : group, "the device rejected " + group + ": " + text);
  }
  if (!offenders.empty())
    for (auto& p : r.plan.ports)
      if (offenders.count(p.resource)) {
        p.state = core::PortState::kRejected;
        p.message = "the device rejected it: " + offenders.at(p.resource);
      }
  for (const auto& [group, text] : held_rejected) r.rejected.push_back(group);
  // Applied at last: no longer held.
  if (!outcome.error)
    for (const auto& ch : r.plan.changes) c.rejected.erase(GroupOf(ch));
  r.apply_cpu_us = ThreadCpuMicros() - phase;
  if (!outcome.transport.empty()) r.transport = outcome.transport;
  r.conditions = (*adapter)->Conditions();
  for (const auto& [reason, message] : r.conditions) event("Warning", reason, "", message);
  for (const auto& e : events)
    if (e.reason == "DeletionsHeld") r.conditions.emplace_back(e.reason, e.message);
  if (!outcome.error && !outcome.rollback_detail.empty()) event("Warning", "PendingCommitReverted", "", outcome.rollback_detail);
  const Touched touched(r.plan);
  if (outcome.error) {
    r.error = outcome.error;
    event("Warning", "ApplyFailed", "",
          outcome.error->message + (outcome.ambiguous ? " (outcome unknown: the device is re-read before anything is re-sent)" : ""));
    if (outcome.rolled_back) event("Normal", "RollbackSucceeded", "", outcome.rollback_detail);
    else if (!outcome.rollback_detail.empty()) event("Warning", "RollbackFailed", "", outcome.rollback_detail);
    for (auto& p : r.plan.ports) {
      if (!touched(p)) continue;
      p.state = core::PortState::kPending;
      p.message = "not applied: " + outcome.error->message;
    }
    SyncReport not_applied;
    ReportChanges(r.plan, not_applied);
    for (auto* v : {&not_applied.added, &not_applied.updated, &not_applied.deleted})
      for (auto& line : *v) r.report.failed.push_back(std::move(line));
    Finish(r, device, trigger, started, t0, events, mode);
    return r;
  }

  // Success: record what the device now holds for every declared port in force - only where
  // the record differs, so that a no-op pass writes nothing.
  if (device.IsSwitch()) {
    std::map<std::string, core::AppliedInterface> upserts;
    std::vector<std::string> removed;
    std::map<std::string_view, const core::VlanRule*> by_name;
    for (const auto& v : vlans) by_name[v.name] = &v;
    for (const auto& p : r.plan.ports) {
      if (p.state != core::PortState::kApplied && p.state != core::PortState::kDisabled) continue;
      const auto* v = by_name.at(p.port);
      auto la = c.applied_interfaces.find(p.port);
      if (la != c.applied_interfaces.end() && la->second.resource == p.resource && la->second.iface == v->iface) continue;
      upserts[p.port] = core::AppliedInterface{p.resource, v->iface};
    }
    for (const auto& ch : r.plan.interfaces)
      if (ch.kind == core::ChangeKind::kDelete) removed.push_back(ch.name);
    for (const auto& n : r.plan.released_interfaces) removed.push_back(n);
    if (!upserts.empty() || !removed.empty()) {
      c.records_valid = false;
      if (auto st = store_.RecordAppliedInterfaces(key, upserts, removed, clock_.UtcIso()); !st) r.error = st.error();
    }
  } else {
    store::AppliedUpdate update;
    std::map<std::string_view, std::map<std::string_view, const core::PortRule*>> by_key;
    for (const auto& rule : rules) by_key[rule.resource][rule.port] = &rule;
    for (const auto& p : r.plan.ports) {
      if (p.state != core::PortState::kApplied && p.state != core::PortState::kDisabled) continue;
      const auto* rule = by_key.at(p.resource).at(p.port);
      auto la = last_applied.find(p.number);
      if (la != last_applied.end() && la->second.resource == p.resource && la->second.port == p.port &&
          la->second.rule == rule->rule)
        continue;
      update.upserts[p.number] = core::AppliedRecord{p.resource, p.port, rule->rule};
    }
    for (const auto& ch : r.plan.changes)
      if (ch.kind == core::ChangeKind::kDelete) update.removed.push_back(ch.number);
    for (int n : r.plan.released) {
      update.removed.push_back(n);
      update.released.push_back(n);
    }
    // Allocations of ports no longer declared are pruned once their rules are gone.
    const bool stale_allocations = effective_alloc.size() != rules.size();
    if (!update.upserts.empty() || !update.removed.empty() || stale_allocations) {
      const auto after = outcome.read_back ? *outcome.read_back : core::ExpectedAfter(observed->nat_rules, r.plan);
      for (const auto& [n, rule] : after) update.on_device.insert(n);
      for (const auto& rule : rules) update.desired.insert({rule.resource, rule.port});
      c.records_valid = false;
      if (auto st = store_.RecordApplied(key, update, clock_.UtcIso()); !st) r.error = st.error();
    }
  }

  ReportChanges(r.plan, r.report);
  for (const auto& p : r.plan.ports)
    if (!touched(p) && (p.state == core::PortState::kApplied || p.state == core::PortState::kDisabled))
      r.report.no_change.push_back(device.IsSwitch() ? p.display : FormatReportLine(p.display, p.number));
  if (!r.plan.HasChanges() && !r.error && r.plan.adopted.empty() && r.plan.released.empty() &&
      r.plan.released_interfaces.empty() && c.records_valid && c.rejected.empty()) {
    c.clean = true;
    c.desired_fingerprint = desired_fp;
    c.desired_generation = desired.generation;
    c.op_override = op_override;
  }
  if (r.plan.HasChanges()) {
    event("Normal", "Applied",
          "", std::to_string(r.plan.ChangeCount()) + " change(s) in " + std::to_string(outcome.commits) +
                  " commit(s): " + std::to_string(r.report.added.size()) + " added, " +
                  std::to_string(r.report.updated.size()) + " updated, " + std::to_string(r.report.deleted.size()) +
                  " deleted" + (outcome.confirmed ? "; confirmed" : "") + (outcome.saved ? "; saved" : ""));
  }
  Finish(r, device, trigger, started, t0, events, mode);
  return r;
}

Result<ApplyOutcome> DeviceReconciler::ApplyWithIntent(DeviceAdapter& adapter, const std::string& key,
                                                       const core::Plan& plan, const ObservedState& observed,
                                                       const std::string& started, DeviceResult& r) {
  if (may_write_ && !may_write_())
    return MakeError(ErrorCode::kFailedPrecondition, "not sent: this replica no longer leads (leadership lost); the new leader converges the device");
  // The snapshot and the intent are on disk before the device is touched.
  std::optional<store::Intent> intent;
  if (plan.HasChanges()) {
    std::string ops;
    for (const auto& op : adapter.Render(plan)) (ops += op) += '\n';
    auto in = store_.BeginIntent(store::Snapshot{0, key, started, r.run_id, observed.nat_rules, observed.switch_state},
                                 static_cast<int>(plan.ChangeCount()), ops);
    if (!in) return tl::unexpected(in.error());
    intent = *in;
    r.snapshot_id = in->snapshot_id;
  }
  ApplyOutcome outcome = adapter.Apply(plan, observed);
  r.wrote = !outcome.operations.empty();
  r.operations = outcome.operations;
  r.commits = outcome.commits;
  if (intent)
    Recorded(store_.FinishIntent(intent->id,
                                 !outcome.error ? "Success"
                                 : outcome.rolled_back ? "RolledBack"
                                 : outcome.ambiguous ? "Ambiguous" : "Failed",
                                 clock_.UtcIso()),
             key, "the end of intent " + std::to_string(intent->id) + " (it is recovered at the next start)");
  return outcome;
}

std::map<std::string, std::string> DeviceReconciler::Isolate(DeviceAdapter& adapter, const std::string& key,
                                                            core::Plan& plan, const ObservedState& observed,
                                                            const std::string& started, DeviceResult& r, ApplyOutcome& outcome) {
  std::map<std::string, std::string> offenders;
  // The plan's changes by resource, in plan order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<core::RuleChange>> groups;
  for (const auto& ch : plan.changes) {
    auto g = GroupOf(ch);
    if (!groups.count(g)) order.push_back(g);
    groups[g].push_back(ch);
  }
  ObservedState now = observed;
  std::vector<core::RuleChange> applied;
  ApplyOutcome last_ok;
  bool any_ok = false;
  // One commit of some groups; on success the device moved on.
  auto trial = [&](const std::vector<std::string>& gs) {
    core::Plan sub;
    for (const auto& g : gs) sub.changes.insert(sub.changes.end(), groups[g].begin(), groups[g].end());
    std::sort(sub.changes.begin(), sub.changes.end(), [](const auto& a, const auto& b) { return a.number < b.number; });
    DeviceResult t;
    t.run_id = r.run_id;
    auto res = ApplyWithIntent(adapter, key, sub, now, started, t);
    r.operations.insert(r.operations.end(), t.operations.begin(), t.operations.end());
    r.commits += t.commits;
    r.wrote = r.wrote || t.wrote;
    if (!res) {
      ApplyOutcome failed;
      failed.error = res.error();
      return failed;
    }
    if (!res->error) {
      now.nat_rules = res->read_back ? *res->read_back : core::ExpectedAfter(now.nat_rules, sub);
      applied.insert(applied.end(), sub.changes.begin(), sub.changes.end());
      last_ok = *res;
      any_ok = true;
    }
    return *res;
  };
  auto minus = [](std::vector<std::string> from, const std::vector<std::string>& drop) {
    std::erase_if(from, [&](const auto& g) { return std::find(drop.begin(), drop.end(), g) != drop.end(); });
    return from;
  };
  std::string text = RefusalText(outcome);
  std::optional<int> named = outcome.named_rule;
  std::vector<std::string> pending = order;
  auto finish = [&](std::optional<Error> error) {
    // Nothing could be applied at all: the pass failed (the offenders are still named).
    if (!error && !any_ok && !offenders.empty())
      error = Error{ErrorCode::kRejected, "device rejected the change: " + offenders.begin()->second};
    plan.changes = applied;
    std::sort(plan.changes.begin(), plan.changes.end(), [](const auto& a, const auto& b) { return a.number < b.number; });
    ApplyOutcome out = any_ok ? last_ok : outcome;
    out.error = std::move(error);
    out.commits = r.commits;
    out.operations = r.operations;
    if (any_ok) out.read_back = now.nat_rules;
    outcome = std::move(out);
    return offenders;
  };
  r.operations.push_back("(the device refused the plan: isolating the resource(s) responsible)");
  // A commit-time failure may pass on a second try: the whole plan once more first.
  if (!outcome.refused_at_set) {
    auto again = trial(pending);
    if (!again.error) return finish(std::nullopt);
    if (!IsPlainRejection(again)) return finish(again.error);
    text = RefusalText(again);
    named = again.named_rule;
  }
  if (order.size() == 1) {
    offenders[order[0]] = text;
    return finish(std::nullopt);
  }
  // The rule the router named, when it names one of ours: everything else in one commit.
  if (auto n = named) {
    auto it = std::find_if(plan.changes.begin(), plan.changes.end(), [&](const auto& ch) { return ch.number == *n; });
    if (it != plan.changes.end()) {
      const std::string g = GroupOf(*it);
      auto rest = minus(pending, {g});
      auto o = trial(rest);
      if (!o.error) {
        offenders[g] = text;
        return finish(std::nullopt);
      }
      if (!IsPlainRejection(o)) return finish(o.error);
      text = RefusalText(o);
    }
  }
  // Bisection: `pending` holds at least one offender (its last commit failed). Halves that
  // commit are done; a half that fails holds an offender. One offender among N resources
  // costs ceil(log2 N) commits to find and one to commit the rest.
  const size_t cap = 4 * order.size() + 4;  // commits, whatever happens
  size_t trials = 0;
  while (!pending.empty() && trials < cap) {
    std::vector<std::string> suspects = pending;
    std::string suspect_text = text;
    while (suspects.size() > 1 && trials < cap) {
      std::vector<std::string> half(suspects.begin(), suspects.begin() + static_cast<long>(suspects.size() / 2));
      auto o = trial(half);
      ++trials;
      if (!o.error) {
        pending = minus(pending, half);
        suspects = minus(suspects, half);
      } else if (IsPlainRejection(o)) {
        suspects = half;
        suspect_text = RefusalText(o);
      } else {
        return finish(o.error);
      }
    }
    if (suspects.size() != 1) break;
    offenders[suspects[0]] = suspect_text;
    pending = minus(pending, suspects);
    if (pending.empty()) break;
    auto o = trial(pending);
    ++trials;
    if (!o.error) {
      pending.clear();
    } else if (IsPlainRejection(o)) {
      text = RefusalText(o);  // another offender among the rest
    } else {
      return finish(o.error);
    }
  }
  if (!pending.empty())
    return finish(Error{ErrorCode::kRejected, "device rejected the change: " + text + " (isolation stopped after " +
                                                  std::to_string(trials) + " commits)"});
  return finish(std::nullopt);
}

std::vector<std::string> DeviceReconciler::Recover() {
  std::vector<std::string> devices;
  auto open = store_.OpenIntents();
  if (!open) return devices;
  const std::string now = clock_.UtcIso();
  std::vector<store::Event> events;
  for (const auto& in : *open) {
    events.push_back(store::Event{0, now, in.device, "", "Warning", "Recovered",
                                  "a previous netconverge stopped while applying " + std::to_string(in.changes) +
                                      " change(s) (run " + std::to_string(in.run_id) + ", started " + in.started_at +
                                      ", snapshot " + std::to_string(in.snapshot_id) +
                                      "); the device is re-read and re-planned before anything is sent",
                                  in.run_id});
    Recorded(store_.FinishIntent(in.id, "Recovered", now), in.device, "the recovery of intent " + std::to_string(in.id));
    {
      std::lock_guard lk(mu_);
      recovering_[in.device] = in.id;
    }
    log_->warn("device={} event=Recovered intent={} run_id={} snapshot={}", in.device, in.id, in.run_id, in.snapshot_id);
    devices.push_back(in.device);
  }
  Recorded(store_.AddEvents(events), "-", "the Recovered events");
  return devices;
}

DeviceResult DeviceReconciler::Rollback(const core::DesiredState& desired, const std::string& key, int64_t snapshot_id) {
  DeviceResult r;
  r.device = key;
  auto snap = store_.GetSnapshot(snapshot_id);
  if (!snap) {
    r.error = snap.error();
    return r;
  }
  if (snap->device != key) {
    r.error = Error{ErrorCode::kInvalidArgument, "snapshot " + std::to_string(snapshot_id) + " belongs to " + snap->device};
    return r;
  }
  auto dit = desired.devices.find(key);
  if (dit == desired.devices.end()) {
    r.error = Error{ErrorCode::kNotFound, "device " + key + " is not declared"};
    return r;
  }
  auto adapter = AdapterFor(dit->second);
  if (!adapter) {
    r.error = adapter.error();
    return r;
  }
  auto observed = (*adapter)->Observe();
  if (!observed) {
    r.error = observed.error();
    return r;
  }
  const std::string started = clock_.UtcIso();
  const std::string why = "rollback to snapshot " + std::to_string(snapshot_id) + " (" + snap->taken_at + ")";
  if (dit->second.IsSwitch()) r.plan = core::ComputeSwitchRestore(snap->switch_state, observed->switch_state, dit->second.tag, why);
  std::set<int> numbers;
  for (const auto& [n, x] : snap->rules) numbers.insert(n);
  for (const auto& [n, x] : observed->nat_rules) numbers.insert(n);
  for (int n : numbers) {
    auto want = snap->rules.find(n);
    auto have = observed->nat_rules.find(n);
    const bool w = want != snap->rules.end();
    const bool h = have != observed->nat_rules.end();
    if (w && h && want->second == have->second) continue;
    core::RuleChange ch;
    ch.kind = !h ? core::ChangeKind::kAdd : !w ? core::ChangeKind::kDelete : core::ChangeKind::kUpdate;
    ch.number = n;
    if (h) ch.before = have->second;
    if (w) ch.after = want->second;
    ch.display = core::StripOwnershipTag((w ? want->second : have->second).description, dit->second.tag);
    ch.reason = why;
    r.plan.changes.push_back(std::move(ch));
  }
  if (auto run = store_.BeginRun(key, "rollback", started)) r.run_id = *run;
  if (r.plan.HasChanges()) {
    auto applied = ApplyWithIntent(**adapter, key, r.plan, *observed, started, r);
    if (!applied) {
      r.error = applied.error();
      return r;
    }
    if (applied->error) r.error = applied->error;
    if (!r.error && !dit->second.IsSwitch()) RecordRestored(key, r.plan, started);
  }
  ReportChanges(r.plan, r.report);
  std::vector<store::Event> events;
  events.push_back(store::Event{0, started, key, "", r.error ? "Warning" : "Normal",
                                r.error ? "RollbackFailed" : "RollbackSucceeded",
                                r.error ? why + " failed: " + r.error->message
                                        : why + ": " + std::to_string(r.plan.ChangeCount()) + " object(s) restored in " +
                                              std::to_string(r.commits) + " commit(s); the state before is snapshot " +
                                              std::to_string(r.snapshot_id),
                                r.run_id});
  Recorded(store_.AddEvents(events), key, "the rollback's event");
  {
    std::lock_guard lk(mu_);
    cache_.erase(key);  // the device changed under every cache
  }
  store::Run run{r.run_id, key, "rollback", started, clock_.UtcIso(), r.error ? "Failed" : "Success",
                 r.error ? r.error->message : "", static_cast<int>(r.plan.ChangeCount()), r.commits, 0};
  Recorded(store_.FinishRun(run, r.operations), key, "the rollback's run");
  return r;
}

void DeviceReconciler::RecordRestored(const std::string& key, const core::Plan& plan, const std::string& now) {
  // What netconverge put on the device is its last-applied record, also when it came from a
  // snapshot: the next pass then sees the manifests differ from it (a spec change, applied
  // whatever the drift policy), not an out-of-band change of its own rules.
  auto allocations = store_.Allocations(key);
  if (!allocations) return;
  std::map<int, core::PortKey> owner;
  store::AppliedUpdate u;
  for (const auto& [port, n] : *allocations) {
    owner.emplace(n, port);
    u.desired.insert(port);  // allocations stay: the ports keep their numbers
  }
  for (const auto& ch : plan.changes) {
    auto o = owner.find(ch.number);
    if (o == owner.end()) continue;  // not ours: no record to keep
    if (ch.after) u.upserts[ch.number] = core::AppliedRecord{o->second.resource, o->second.port, *ch.after};
    else u.removed.push_back(ch.number);
  }
  if (u.upserts.empty() && u.removed.empty()) return;
  if (auto st = store_.RecordApplied(key, u, now); !st) log_->warn("device={} rollback: {}", key, st.error().message);
}

void DeviceReconciler::Finish(DeviceResult& r, const core::Device& device, const std::string& trigger,
                              const std::string& started, std::chrono::steady_clock::time_point t0,
                              const std::vector<store::Event>& raw_events, Mode mode) {
  // Device text reaches logs, events, runs and /v1/health from here: one line of valid UTF-8,
  // at most 4 KiB (a device answering a 5 MB error must not grow the store by megabytes a pass).
  if (r.error) r.error->message = core::PrintableText(r.error->message, kMaxMessageBytes);
  std::vector<store::Event> events = raw_events;
  for (auto& e : events) e.message = core::PrintableText(e.message, kMaxMessageBytes);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - t0);
  if (r.error) {
    log_->warn("device={} trigger={} run_id={} outcome=failed error=\"{}\"", r.device, trigger, r.run_id,
               r.error->message);
  } else if (r.plan.HasChanges()) {
    log_->info("device={} trigger={} run_id={} outcome={} changes={} commits={} duration_ms={}", r.device, trigger,
               r.run_id, r.wrote ? "applied" : "planned", r.plan.ChangeCount(), r.commits, elapsed.count());
  } else {
    log_->debug("device={} trigger={} run_id={} outcome=no-change duration_ms={}", r.device, trigger, r.run_id,
                elapsed.count());
  }
  // Standing conditions (a held delete, reported drift, a conflict, an unreachable device) are
  // recorded and logged when they appear, not on every poll; actions (Applied, ApplyFailed,
  // rollbacks) always.
  static const std::set<std::string> kStanding = {"DriftDetected", "ConflictDetected", "DeleteHeld", "DeleteWithheld", "DeletionsHeld", "AuthenticationFailed", "InsecureTLS",
                                                  "AllocationFailed", "ObserveOnly", "Paused", "Unreachable",
                                                  "ConfigurationError", "Orphaned", "FallbackTransport", "Overridden",
                                                  "UnconfirmedCommits", "DeviceRejected"};
  std::set<std::string> already;
  if (mode == DeviceReconciler::Mode::kApply)
    if (auto seen = CacheFor(r.device, store_.DataVersion())) already = (*seen)->standing_events;
  for (const auto& e : events) {
    if (kStanding.count(e.reason) && already.count(e.reason + "|" + e.resource + "|" + e.message)) continue;
    log_->log(e.type == "Warning" ? spdlog::level::warn : spdlog::level::info, "device={} resource={} run_id={} event={} \"{}\"",
              e.device, e.resource.empty() ? "-" : e.resource, r.run_id, e.reason, e.message);
  }
  if (r.error) {
    r.requeue_after = std::chrono::milliseconds(0);  // the queue's backoff decides
  } else {
    r.requeue_after = std::chrono::milliseconds(core::JitteredIntervalMs(device.poll_interval_ms, Unit()));
  }
  if (mode != DeviceReconciler::Mode::kApply) return;
  const int64_t record_start = ThreadCpuMicros();

  const std::string now = clock_.UtcIso();
  auto cache = CacheFor(r.device, store_.DataVersion());
  if (r.unchanged_poll && cache && (*cache)->device_row) {
    store::DeviceStatusRow d = *(*cache)->device_row;
    d.last_observed_at = started;
    d.updated_at = now;
    store::Run run{0, r.device, trigger, started, now, "NoChange", "", 0, 0, elapsed.count()};
    if (auto id = store_.RecordQuietPass(run, d)) {
      r.run_id = *id;
    } else {
      (*cache)->clean = false;
      Recorded(tl::unexpected(id.error()), r.device, "the pass");
    }
    d.last_run_id = r.run_id;
    (*cache)->device_row = d;
    r.device_row = d;
    r.record_cpu_us = ThreadCpuMicros() - record_start;
    return;
  }
  // The previous row of each port: index-aligned when the set of ports did not change.
  const std::vector<store::PortStatusRow>* old_rows = cache ? &(*cache)->ports : nullptr;
  bool aligned = old_rows && old_rows->size() == r.plan.ports.size();
  for (size_t i = 0; aligned && i < r.plan.ports.size(); ++i)
    aligned = (*old_rows)[i].resource == r.plan.ports[i].resource && (*old_rows)[i].port == r.plan.ports[i].port;
  std::map<std::pair<std::string, std::string>, const store::PortStatusRow*> prev;
  if (old_rows && !aligned)
    for (const auto& p : *old_rows) prev[{p.resource, p.port}] = &p;
  auto previous_row = [&](size_t i, const core::PortStatus& p) -> const store::PortStatusRow* {
    if (aligned) return &(*old_rows)[i];
    auto it = prev.find({p.resource, p.port});
    return it == prev.end() ? nullptr : it->second;
  };
  std::vector<store::Event> to_store;
  std::set<std::string> standing;
  for (auto e : events) {
    if (kStanding.count(e.reason)) {
      std::string k = e.reason + "|" + e.resource + "|" + e.message;
      standing.insert(k);
      if (cache && (*cache)->standing_events.count(k)) continue;
    }
    e.run_id = r.run_id;
    to_store.push_back(std::move(e));
  }
  if (cache) (*cache)->standing_events = std::move(standing);
  bool recorded = Recorded(store_.AddEvents(to_store), r.device, "the pass's events");
  r.events = to_store;

  std::vector<store::PortStatusRow> ports;
  const Touched touched(r.plan);
  int drifted = 0;
  bool synced = !r.error;
  for (size_t i = 0; i < r.plan.ports.size(); ++i) {
    const auto& p = r.plan.ports[i];
    store::PortStatusRow row{r.device, p.resource, p.port, p.display, p.number, core::ToString(p.state), p.message, "", now};
    const auto* pv = previous_row(i, p);
    if ((p.state == core::PortState::kApplied || p.state == core::PortState::kDisabled) && r.wrote && !r.error &&
        touched(p))
      row.last_applied_at = now;
    else if (pv)
      row.last_applied_at = pv->last_applied_at;
    if (p.state == core::PortState::kDrifted) ++drifted;
    if (p.state != core::PortState::kApplied && p.state != core::PortState::kDisabled) synced = false;
    ports.push_back(std::move(row));
  }
  store::DeviceStatusRow d;
  d.device = r.device;
  d.reachable = !(r.error && (r.error->code == ErrorCode::kUnavailable || r.error->code == ErrorCode::kDeadlineExceeded ||
                              r.error->code == ErrorCode::kPermissionDenied) && !r.wrote);
  d.synced = synced && !(device.management == core::ManagementPolicy::kObserve && r.plan.HasChanges());
  std::string rejected;
  for (const auto& g : r.rejected) rejected += (rejected.empty() ? "" : ", ") + g;
  d.message = r.error ? r.error->message
              : !rejected.empty() ? std::to_string(r.rejected.size()) + " resource(s) rejected by the device: " + rejected
              : (r.plan.HasChanges() && !r.wrote ? std::to_string(r.plan.ChangeCount()) + " change(s) pending" : "");
  d.transport = !r.transport.empty() ? r.transport : device.IsSwitch() ? "ssh-cli" : device.transport_primary;
  d.last_observed_at = started;
  if (cache && (*cache)->device_row) {
    d.last_applied_at = (*cache)->device_row->last_applied_at;
    d.platform_version = (*cache)->device_row->platform_version;
    d.fallbacks = (*cache)->device_row->fallbacks;
  } else if (auto rows = store_.DeviceStatuses()) {
    for (const auto& pd : *rows)
      if (pd.device == r.device) {
        d.last_applied_at = pd.last_applied_at;
        d.platform_version = pd.platform_version;
        d.fallbacks = pd.fallbacks;
      }
  }
  // The fallback is in use when the pass was carried by another transport than the primary.
  d.fallback_active = !r.transport.empty() && r.transport != device.transport_primary;
  if (d.fallback_active) ++d.fallbacks;
  if (r.wrote && !r.error) d.last_applied_at = now;
  int managed = 0;
  for (const auto& p : r.plan.ports)
    if (p.state == core::PortState::kApplied || p.state == core::PortState::kDisabled || p.state == core::PortState::kDrifted)
      ++managed;
  d.managed = managed;
  d.drifted = drifted;
  d.last_run_id = r.run_id;
  d.updated_at = now;
  d.conditions = r.conditions;
  // Port rows are rewritten only when something in them changed (a poll of 10,000 unchanged
  // ports writes one device row).
  auto same = [](const store::PortStatusRow& a, const store::PortStatusRow& b) {
    return a.resource == b.resource && a.port == b.port && a.display == b.display && a.rule_number == b.rule_number &&
           a.state == b.state && a.message == b.message && a.last_applied_at == b.last_applied_at;
  };
  const bool unchanged = cache && (*cache)->ports.size() == ports.size() &&
                         std::equal(ports.begin(), ports.end(), (*cache)->ports.begin(), same);
  recorded = Recorded(store_.SaveStatus(d, unchanged ? nullptr : &ports), r.device, "the device's status") && recorded;
  if (cache) (*cache)->device_row = d;
  r.device_row = d;
  if (cache && !unchanged) (*cache)->ports = std::move(ports);

  store::Run run;
  run.id = r.run_id;
  run.device = r.device;
  run.trigger = trigger;
  run.started_at = started;
  run.finished_at = now;
  run.outcome = r.error ? "Failed" : (r.wrote ? "Success" : (r.plan.HasChanges() ? "Planned" : "NoChange"));
  run.message = r.error ? r.error->message : "";
  run.changes = static_cast<int>(r.plan.ChangeCount());
  run.commits = r.commits;
  run.duration_ms = elapsed.count();
  recorded = Recorded(store_.FinishRun(run, r.operations), r.device, "the run") && recorded;
  // What could not be recorded is not trusted as the last clean pass: the next plans in full.
  if (!recorded && cache) (*cache)->clean = false;
  r.record_cpu_us = ThreadCpuMicros() - record_start;
}

void DeviceReconciler::ConfirmLeftPending(DeviceAdapter& adapter, const std::string& key, const std::string& started,
                                          std::vector<store::Event>& events) {
  if (may_write_ && !may_write_()) return;
  int64_t intent = 0;
  {
    std::lock_guard lk(mu_);
    auto it = recovering_.find(key);
    if (it == recovering_.end()) return;
    intent = it->second;
  }
  // The stopped process committed (the intent says the change was ours) and may have died
  // before its confirm: confirm now, deliberately, rather than let the timer revert the device
  // under the recovery pass. The pass then reads the device and plans as usual, so whatever the
  // confirmed state lacks is applied with a confirmed commit of its own.
  auto confirmed = adapter.ConfirmPending();
  if (!confirmed) {
    log_->warn("device={} recovery of intent {}: confirm failed ({}); tried again next pass", key, intent,
               confirmed.error().message);
    return;  // stays in recovering_: tried again
  }
  {
    std::lock_guard lk(mu_);
    recovering_.erase(key);
  }
  if (*confirmed)
    events.push_back(store::Event{0, started, key, "", "Warning", "Recovered",
                                  "the commit-confirm the stopped process left pending (intent " + std::to_string(intent) +
                                      ") is confirmed; the device is read and planned as usual",
                                  0});
}

std::string DeviceReconciler::MassDeletionHeld(const std::string& key, size_t deletions, size_t owned) {
  if (deletions == 0 || static_cast<int>(deletions) < guard_min_ ||
      static_cast<double>(deletions) <= guard_share_ * static_cast<double>(owned))
    return "";
  store::EventFilter f;
  f.device = key;
  f.limit = 500;
  if (auto events = store_.Events(f)) {
    for (const auto& e : *events) {  // newest first
      if (e.reason == "DeletionsReleased") return "";
      if (e.reason == "Applied") break;
    }
  }
  return "a mass deletion: " + std::to_string(deletions) + " of the " + std::to_string(owned) +
         " objects netconverge owns on the device would be deleted in one pass (more than " +
         std::to_string(static_cast<int>(guard_share_ * 100)) + "%); held until released with `netconverge release " + key +
         "` or POST /v1/admin/devices/NAME/release (check the manifests first: a half-written file looks like this)";
}

bool DeviceReconciler::Recorded(const Status& st, const std::string& device, const std::string& what) {
  if (st) return true;
  log_->error("device={} store: cannot record {}: {}", device, what, st.error().message);
  return false;
}

}  // namespace nc::reconcilers
