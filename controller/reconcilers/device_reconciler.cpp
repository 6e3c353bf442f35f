// The pass skeleton (observe -> plan -> guard -> apply -> record), adapters and caches, rollback
// and recovery. Recording a pass: pass_record.cpp; isolating a refused plan: isolate.cpp.
#include "controller/reconcilers/device_reconciler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <span>

#include "controller/reconcilers/pass.hpp"

namespace nc::reconcilers {

void ReportChanges(const core::Plan& plan, SyncReport& report) {
  auto bucket = [&](core::ChangeKind k) -> std::vector<std::string>& {
    return k == core::ChangeKind::kAdd      ? report.added
           : k == core::ChangeKind::kUpdate ? report.updated
                                            : report.deleted;
  };
  for (const auto& ch : plan.changes)
    bucket(ch.kind).push_back(
        FormatReportLine(ch.display, ch.number, ch.kind == core::ChangeKind::kUpdate));
  for (const auto& ch : plan.bridge_domains) bucket(ch.kind).push_back("Bridge domain " + ch.name);
  for (const auto& ch : plan.interfaces) {
    const int vlan = ch.after ? ch.after->vlan : ch.before ? ch.before->vlan : 0;
    bucket(ch.kind).push_back(core::InterfaceDisplay(ch.name, vlan) +
                              (ch.kind == core::ChangeKind::kUpdate ? " - Updated" : ""));
  }
}

Touched::Touched(const core::Plan& plan) {
  for (const auto& ch : plan.changes) numbers_.insert(ch.number);
  for (const auto& ch : plan.interfaces) names_.insert(ch.name);
}

std::string FormatReportLine(const std::string& display, int number, bool updated) {
  return display + " (Rule " + std::to_string(number) + ")" + (updated ? " - Updated" : "");
}

DeviceReconciler::DeviceReconciler(store::Store& store, AdapterFactory& factory,
                                   const runtime::Clock& clock, std::shared_ptr<spdlog::logger> log,
                                   core::ServiceTable services)
    : store_(store),
      factory_(factory),
      clock_(clock),
      log_(std::move(log)),
      services_(std::move(services)) {}

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
    if (it != adapters_.end() && it->second.device == comparable &&
        it->second.credentials == credentials)
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

std::optional<store::DeviceOverride> DeviceReconciler::OverrideFor(const std::string& key,
                                                                   int64_t data_version) {
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

std::vector<std::string> ApplyOverride(const std::optional<store::DeviceOverride>& o,
                                       core::Device& device) {
  std::vector<std::string> notes;
  if (!o) return notes;
  if (auto m = core::ParseManagementPolicy(o->management)) {
    if (*m != device.management)
      notes.push_back("management phase " + o->management + " (the manifest says " +
                      core::ToString(device.management) + ") set by `netconverge phase` at " +
                      o->updated_at);
    device.management = *m;
  }
  if (!o->fallback.empty() && !device.IsSwitch()) {
    if (o->fallback != device.transport_fallback)
      notes.push_back("fallback " + o->fallback + " (the manifest says " +
                      device.transport_fallback + ") set by `netconverge fallback` at " +
                      o->updated_at);
    device.transport_fallback = o->fallback;
  }
  return notes;
}

DeviceReconciler::DeviceCache* DeviceReconciler::CacheFor(const std::string& device, int64_t dv) {
  DeviceCache* c;
  {
    std::lock_guard lk(mu_);
    c = &cache_[device];
  }
  if (dv != c->data_version) {
    c->data_version = dv;
    c->clean = false;  // its records may have changed under us
  }
  return c;
}

Status DeviceReconciler::LoadRecords(Pass& p) {
  auto allocations = store_.Allocations(p.key);
  if (!allocations) return tl::unexpected(allocations.error());
  auto last = store_.LastApplied(p.key);
  if (!last) return tl::unexpected(last.error());
  auto interfaces = store_.AppliedInterfaces(p.key);
  if (!interfaces) return tl::unexpected(interfaces.error());
  p.records.allocations = std::move(*allocations);
  p.records.last_applied = std::move(*last);
  p.records.applied_interfaces = std::move(*interfaces);
  return {};
}

DeviceResult DeviceReconciler::Reconcile(const core::DesiredState& desired, const std::string& key,
                                         const std::string& trigger, Mode mode,
                                         const std::string& actor) {
  auto dit = desired.devices.find(key);
  if (dit == desired.devices.end()) {
    DeviceResult r;
    r.device = key;
    r.error = Error{ErrorCode::kNotFound, "device " + key + " is not declared"};
    return r;
  }
  Pass p(desired, key, trigger, actor, mode, clock_.Now(), clock_.UtcIso(), dit->second);
  if (Prepare(p) && Observe(p) && PlanPass(p) && ApplyPass(p)) RecordApplied(p);
  if (p.record) Finish(p);
  return std::move(p.r);
}

bool DeviceReconciler::Prepare(Pass& p) {
  // An operator's `netconverge phase` / `fallback` wins over the manifest until cleared.
  // Whether another process wrote to the store since the last pass (one read for the pass).
  const int64_t data_version = store_.DataVersion();
  p.op_override = OverrideFor(p.key, data_version);
  p.override_notes = ApplyOverride(p.op_override, p.device);
  auto adapter = AdapterFor(p.device);
  if (!adapter) {
    BeginFailedRun(p);
    p.r.error = adapter.error();
    p.Event("Warning", "ConfigurationError", "", adapter.error().message);
    return false;
  }
  p.adapter = *adapter;
  p.cache = CacheFor(p.key, data_version);
  if (p.Applying()) ConfirmLeftPending(*p.adapter, p.key, p.started, p.events);
  return true;
}

void DeviceReconciler::BeginFailedRun(Pass& p) {
  if (!p.Applying() || p.r.run_id != 0) return;
  if (auto run = store_.BeginRun(p.key, p.trigger, p.started)) p.r.run_id = *run;
}

bool DeviceReconciler::Observe(Pass& p) {
  DeviceCache& c = *p.cache;
  p.rules = p.desired.RulesFor(p.key);
  p.vlans = p.desired.VlansFor(p.key);
  int64_t phase = ThreadCpuMicros();
  // A numbered desired state that did not change since the fingerprint was taken needs no rehash.
  const bool same_inputs = p.desired.generation != 0 &&
                           p.desired.generation == c.desired_generation &&
                           p.op_override == c.op_override;
  p.desired_fp = same_inputs           ? c.desired_fingerprint
                 : p.device.IsSwitch() ? core::Fingerprint(p.device, p.vlans)
                                       : core::Fingerprint(p.device, p.rules);
  p.r.fingerprint_cpu_us = ThreadCpuMicros() - phase;
  // Everything but the device's answer is as at the last clean pass: an answer with the same
  // fingerprint needs no parse (and no plan). Otherwise the answer is parsed whatever it is.
  const bool may_be_quiet = p.trigger == "poll" && c.clean &&
                            p.desired_fp == c.desired_fingerprint && !p.adapter->PendingWork() &&
                            p.Applying();
  phase = ThreadCpuMicros();
  auto fresh = p.adapter->Observe(may_be_quiet ? c.observed_fingerprint : 0);
  p.r.observe_cpu_us = ThreadCpuMicros() - phase;
  if (!fresh) {
    ObserveFailed(p, fresh.error());
    return false;
  }
  p.r.transport = fresh->transport;
  if (!fresh->fallback_reason.empty())
    p.Event("Warning", "FallbackTransport", "",
            "the HTTPS API failed (" + fresh->fallback_reason + "); this pass uses the SSH CLI");
  if (may_be_quiet && fresh->unchanged) {
    // Same device answer, same desired state, same records as the last clean pass: the plan
    // (a pure function of these) is again empty. Record the pass and nothing else.
    p.r.unchanged_poll = true;
    return false;
  }
  c.observed_fingerprint = fresh->fingerprint;
  p.observed_state = std::move(*fresh);
  p.observed = &p.observed_state;
  if (!p.Applying()) return true;
  auto run = store_.BeginRun(p.key, p.trigger, p.started);
  if (!run) {
    // Nothing is sent without a record of it. The answer just read is not trusted as
    // "already planned against" either: the next pass plans in full (no unchanged shortcut),
    // so a drift seen now is repaired once the store can be written again.
    c.clean = false;
    p.r.error = Error{run.error().code,
                      "store: cannot record the pass, nothing sent: " + run.error().message};
    log_->error("device={} trigger={} outcome=failed error=\"{}\"", p.key, p.trigger,
                p.r.error->message);
    p.record = false;
    return false;
  }
  p.r.run_id = *run;
  return true;
}

void DeviceReconciler::ObserveFailed(Pass& p, const Error& error) {
  BeginFailedRun(p);
  p.r.error = error;
  if (error.code == ErrorCode::kFailedPrecondition) {
    // A device that answers but is set up so that netconverge cannot work (REST off) is not
    // unreachable: its event says what to change on it.
    p.Event("Warning", "ConfigurationError", "", error.message);
  } else if (error.code == ErrorCode::kPermissionDenied) {
    // Terminal until something changes: retried slowly, and at once when the credentials
    // (file or Secret), the CA or the Device change.
    const std::string why = error.message + "; retried when the credentials or the Device change";
    p.Event("Warning", "AuthenticationFailed", "", why);
    p.r.conditions.emplace_back("AuthenticationFailed", why);
  } else {
    p.Event("Warning", "Unreachable", "", "observe failed: " + error.message);
  }
}

bool DeviceReconciler::PlanPass(Pass& p) {
  DeviceCache& c = *p.cache;
  std::string held = p.desired.held_deletes_all;
  if (auto h = p.desired.held_deletes.find(p.key); h != p.desired.held_deletes.end())
    held = h->second;
  const int64_t plan_start = ThreadCpuMicros();
  if (auto st = LoadRecords(p); !st) {
    BeginFailedRun(p);
    p.r.error = st.error();
    return false;
  }
  const PlanRequest request = p.Request(services_, held);
  PlannedPass planned = p.platform->Plan(request);
  p.r.plan = std::move(planned.plan);
  p.allocations_after = planned.allocations_after;
  if (held.empty()) Guard(p, request);
  p.r.plan_cpu_us = ThreadCpuMicros() - plan_start;
  if (p.Applying()) {
    // New numbers, and adopted rules, are on record as ours before the device is touched: a
    // crash never renumbers, and an adopted rule is only changed once it is ours.
    for (const auto* allocations : {&planned.allocated, &p.r.plan.adopted}) {
      if (allocations->empty()) continue;
      p.records_changed = true;
      if (auto st = store_.SaveAllocations(p.key, *allocations, p.started); !st) {
        p.r.error = st.error();
        return false;
      }
    }
  }
  c.clean = false;
  if (p.platform->Isolates()) HoldRejected(p);
  for (auto& note : p.override_notes)
    p.r.plan.notices.push_back(core::PlanNotice{"Overridden", "", 0, std::move(note), false});
  for (const auto& n : p.r.plan.notices)
    p.Event(n.warning ? "Warning" : "Normal", n.reason, n.resource, n.message);
  const bool may_write =
      p.device.management != core::ManagementPolicy::kObserve && !p.device.paused;
  if (p.Applying() && may_write) return true;
  PlanOnly(p);
  return false;
}

void DeviceReconciler::Guard(Pass& p, const PlanRequest& request) {
  const Deletions d = p.platform->Weigh(p.r.plan, p.records);
  std::string held = MassDeletionHeld(p.key, d.deleted, d.owned);
  if (held.empty()) return;
  PlanRequest again = request;
  again.held_deletes = held;
  PlannedPass planned = p.platform->Plan(again);
  p.r.plan = std::move(planned.plan);
  p.allocations_after = planned.allocations_after;
  p.Event("Warning", "DeletionsHeld", "", held);
  p.deletions_held = held;
}

void DeviceReconciler::HoldRejected(Pass& p) {
  p.specs = ResourceSpecs(p.device, p.rules);
  const auto now = clock_.Now();
  auto& rejected = p.cache->rejected;
  for (auto it = rejected.begin(); it != rejected.end();) {
    auto sp = p.specs.find(it->first);
    const bool gone = sp == p.specs.end() && it->first.rfind("rule ", 0) != 0;
    if (gone || (sp != p.specs.end() && sp->second != it->second.spec)) {
      it = rejected.erase(it);  // deleted or changed: tried at once
      continue;
    }
    if (now < it->second.retry_at) p.held_rejected[it->first] = it->second.message;
    ++it;
  }
  if (p.held_rejected.empty()) return;
  std::erase_if(p.r.plan.changes,
                [&](const core::RuleChange& ch) { return p.held_rejected.count(GroupOf(ch)) > 0; });
  for (auto& port : p.r.plan.ports)
    if (auto h = p.held_rejected.find(port.resource);
        h != p.held_rejected.end() && port.state != core::PortState::kConflict) {
      port.state = core::PortState::kRejected;
      port.message = "the device rejected it: " + h->second;
    }
}

void DeviceReconciler::PlanOnly(Pass& p) {
  p.r.operations = p.adapter->Render(p.r.plan);
  if (p.Applying() && p.r.plan.HasChanges())
    p.Event("Normal", p.device.paused ? "Paused" : "ObserveOnly", "",
            std::to_string(p.r.plan.ChangeCount()) + " change(s) planned, not applied (" +
                (p.device.paused ? "device paused" : "management: Observe") + ")");
  ReportChanges(p.r.plan, p.r.report);
  if (!p.Applying()) return;
  // Record what is on the device, so status shows it even without writes.
  const Touched touched(p.r.plan);
  for (auto& port : p.r.plan.ports)
    if (touched(port)) port.state = core::PortState::kPending;
}

bool DeviceReconciler::ApplyPass(Pass& p) {
  const int64_t phase = ThreadCpuMicros();
  if (p.r.plan.HasChanges() || p.adapter->PendingWork()) {
    auto applied = ApplyWithIntent(*p.adapter, p.key, p.r.plan, *p.observed, p.started, p.r);
    if (!applied) {
      p.r.error = applied.error();
      return false;
    }
    p.outcome = std::move(*applied);
  }
  if (p.platform->Isolates()) Rejections(p);
  // What follows needs only which numbers the device holds now.
  if (auto& back = p.outcome.read_back) {
    std::vector<int> numbers;
    numbers.reserve(back->size());
    for (const auto& [n, rule] : *back) numbers.push_back(n);
    back.reset();
    p.outcome.numbers_after = std::move(numbers);
  }
  p.r.apply_cpu_us = ThreadCpuMicros() - phase;
  const ApplyOutcome& outcome = p.outcome;
  if (!outcome.transport.empty()) p.r.transport = outcome.transport;
  p.r.conditions = p.adapter->Conditions();
  for (const auto& [reason, message] : p.r.conditions) p.Event("Warning", reason, "", message);
  if (!p.deletions_held.empty()) p.r.conditions.emplace_back("DeletionsHeld", p.deletions_held);
  if (!outcome.error && !outcome.rollback_detail.empty())
    p.Event("Warning", "PendingCommitReverted", "", outcome.rollback_detail);
  if (!outcome.error) return true;
  ApplyFailed(p);
  return false;
}

void DeviceReconciler::Rejections(Pass& p) {
  std::map<std::string, std::string> offenders;
  if (IsPlainRejection(p.outcome) && !p.r.plan.changes.empty()) {
    core::Plan refused;
    refused.changes = p.r.plan.changes;
    offenders = Isolate(*p.adapter, p.key, p.r.plan, *p.observed, p.started, p.r, p.outcome);
    std::erase_if(refused.changes,
                  [&](const core::RuleChange& ch) { return !offenders.count(GroupOf(ch)); });
    SyncReport not_applied;
    ReportChanges(refused, not_applied);
    for (auto* v : {&not_applied.added, &not_applied.updated, &not_applied.deleted})
      for (auto& line : *v) p.r.report.failed.push_back(std::move(line));
  }
  auto& rejected = p.cache->rejected;
  for (const auto& [group, text] : offenders) {
    auto& rej = rejected[group];
    rej.spec = p.specs.count(group) ? p.specs.at(group) : 0;
    rej.message = text;
    rej.attempts = std::min(rej.attempts + 1, 10);
    // Backoff: 30 s doubling per attempt, at most 1 h.
    const int64_t backoff = std::min<int64_t>(int64_t{30} << (rej.attempts - 1), 3600);
    rej.retry_at = clock_.Now() + std::chrono::seconds(backoff);
    p.held_rejected[group] = text;
    log_->info("device={} {} rejected: tried again when its spec changes, else in {} s{}", p.key,
               group, backoff, p.outcome.error ? "" : " (the other changes were applied)");
  }
  // One message while the refusal stands (a standing condition is recorded and notified once):
  // the backoff of this attempt is in the log line above.
  for (const auto& [group, text] : p.held_rejected)
    p.Event("Warning", "DeviceRejected", group.rfind("rule ", 0) == 0 ? "" : group,
            "the device rejected " + group + ": " + text +
                " (tried again when its spec changes, else after a backoff)");
  for (auto& port : p.r.plan.ports)
    if (auto o = offenders.find(port.resource); o != offenders.end()) {
      port.state = core::PortState::kRejected;
      port.message = "the device rejected it: " + o->second;
    }
  for (const auto& [group, text] : p.held_rejected) p.r.rejected.push_back(group);
  // Applied at last: no longer held.
  if (!p.outcome.error)
    for (const auto& ch : p.r.plan.changes) rejected.erase(GroupOf(ch));
}

void DeviceReconciler::ApplyFailed(Pass& p) {
  const ApplyOutcome& outcome = p.outcome;
  p.r.error = outcome.error;
  p.Event("Warning", "ApplyFailed", "",
          outcome.error->message +
              (outcome.ambiguous
                   ? " (outcome unknown: the device is re-read before anything is re-sent)"
                   : ""));
  if (outcome.rolled_back)
    p.Event("Normal", "RollbackSucceeded", "", outcome.rollback_detail);
  else if (!outcome.rollback_detail.empty())
    p.Event("Warning", "RollbackFailed", "", outcome.rollback_detail);
  const Touched touched(p.r.plan);
  for (auto& port : p.r.plan.ports) {
    if (!touched(port)) continue;
    port.state = core::PortState::kPending;
    port.message = "not applied: " + outcome.error->message;
  }
  SyncReport not_applied;
  ReportChanges(p.r.plan, not_applied);
  for (auto* v : {&not_applied.added, &not_applied.updated, &not_applied.deleted})
    for (auto& line : *v) p.r.report.failed.push_back(std::move(line));
}

void DeviceReconciler::RecordApplied(Pass& p) {
  DeviceCache& c = *p.cache;
  auto& r = p.r;
  // Success: record what the device now holds for every object in force.
  auto wrote = p.platform->Record(store_, p.key, p.Request(services_, ""), r.plan,
                                  p.allocations_after, p.outcome, clock_.UtcIso());
  if (!wrote) r.error = wrote.error();
  if (!wrote || *wrote) p.records_changed = true;
  ReportChanges(r.plan, r.report);
  const Touched touched(r.plan);
  for (const auto& port : r.plan.ports)
    if (!touched(port) &&
        (port.state == core::PortState::kApplied || port.state == core::PortState::kDisabled))
      r.report.no_change.push_back(p.platform->NoChangeLine(port));
  if (!r.plan.HasChanges() && !r.error && r.plan.adopted.empty() && r.plan.released.empty() &&
      r.plan.released_interfaces.empty() && !p.records_changed && c.rejected.empty()) {
    c.clean = true;
    c.desired_fingerprint = p.desired_fp;
    c.desired_generation = p.desired.generation;
    c.op_override = p.op_override;
  }
  if (!r.plan.HasChanges()) return;
  p.Event("Normal", "Applied", "",
          std::to_string(r.plan.ChangeCount()) + " change(s) in " +
              std::to_string(p.outcome.commits) +
              " commit(s): " + std::to_string(r.report.added.size()) + " added, " +
              std::to_string(r.report.updated.size()) + " updated, " +
              std::to_string(r.report.deleted.size()) + " deleted" +
              (p.outcome.confirmed ? "; confirmed" : "") + (p.outcome.saved ? "; saved" : ""));
}

Result<ApplyOutcome> DeviceReconciler::ApplyWithIntent(
    DeviceAdapter& adapter, const std::string& key, const core::Plan& plan,
    const ObservedState& observed, const std::string& started, DeviceResult& r) {
  if (may_write_ && !may_write_())
    return MakeError(ErrorCode::kFailedPrecondition,
                     "not sent: this replica no longer leads (leadership lost); the new leader "
                     "converges the device");
  // The snapshot and the intent are on disk before the device is touched.
  std::optional<int64_t> intent;
  if (plan.HasChanges()) {
    auto in = store_.BeginIntent(
        store::Snapshot{0, key, started, r.run_id, observed.nat_rules, observed.switch_state},
        static_cast<int>(plan.ChangeCount()), adapter.Render(plan));
    if (!in) return tl::unexpected(in.error());
    intent = in->id;  // only its id is kept: a 10,000-rule intent's text is 4 MB
    r.snapshot_id = in->snapshot_id;
  }
  ApplyOutcome outcome = adapter.Apply(plan, observed);
  r.wrote = !outcome.operations.empty();
  r.operations = std::move(outcome.operations);  // one copy of a 10,000-rule pass's lines
  r.commits = outcome.commits;
  if (intent)
    Recorded(
        store_.FinishIntent(*intent,
                            !outcome.error        ? "Success"
                            : outcome.rolled_back ? "RolledBack"
                            : outcome.ambiguous   ? "Ambiguous"
                                                  : "Failed",
                            clock_.UtcIso()),
        key,
        "the end of intent " + std::to_string(*intent) + " (it is recovered at the next start)");
  return outcome;
}

std::vector<std::string> DeviceReconciler::Recover() {
  std::vector<std::string> devices;
  auto open = store_.OpenIntents();
  if (!open) return devices;
  const std::string now = clock_.UtcIso();
  std::vector<store::Event> events;
  for (const auto& in : *open) {
    events.push_back(
        store::Event{0, now, in.device, "", "Warning", "Recovered",
                     "a previous netconverge stopped while applying " + std::to_string(in.changes) +
                         " change(s) (run " + std::to_string(in.run_id) + ", started " +
                         in.started_at + ", snapshot " + std::to_string(in.snapshot_id) +
                         "); the device is re-read and re-planned before anything is sent",
                     in.run_id});
    Recorded(store_.FinishIntent(in.id, "Recovered", now), in.device,
             "the recovery of intent " + std::to_string(in.id));
    {
      std::lock_guard lk(mu_);
      recovering_[in.device] = in.id;
    }
    log_->warn("device={} event=Recovered intent={} run_id={} snapshot={}", in.device, in.id,
               in.run_id, in.snapshot_id);
    devices.push_back(in.device);
  }
  Recorded(AddEvents(events), "-", "the Recovered events");
  return devices;
}

DeviceReconciler::ProbeResult DeviceReconciler::Probe(const core::DesiredState& desired,
                                                      const std::string& key) {
  ProbeResult out;
  out.at = clock_.UtcIso();
  auto dit = desired.devices.find(key);
  if (dit == desired.devices.end()) {
    out.error = "device " + key + " is not declared";
    return out;
  }
  auto adapter = AdapterFor(dit->second);
  if (!adapter) {
    out.error = adapter.error().message;
    return out;
  }
  uint64_t known = 0;
  {
    std::lock_guard lk(mu_);
    if (auto c = cache_.find(key); c != cache_.end()) known = c->second.observed_fingerprint;
  }
  const auto t0 = clock_.Now();
  auto read = (*adapter)->Observe(known);
  out.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - t0).count();
  if (!read) {
    out.error = read.error().message;
    return out;
  }
  out.reachable = true;
  out.transport = read->transport;
  out.changed = known == 0 || read->fingerprint != known;
  return out;
}

DeviceResult DeviceReconciler::Rollback(const core::DesiredState& desired, const std::string& key,
                                        int64_t snapshot_id, const std::string& actor) {
  DeviceResult r;
  r.device = key;
  const auto t0 = clock_.Now();
  auto snap = store_.GetSnapshot(snapshot_id);
  auto dit = desired.devices.find(key);
  if (!snap)
    r.error = snap.error();
  else if (snap->device != key)
    r.error = Error{ErrorCode::kInvalidArgument,
                    "snapshot " + std::to_string(snapshot_id) + " belongs to " + snap->device};
  else if (dit == desired.devices.end())
    r.error = Error{ErrorCode::kNotFound, "device " + key + " is not declared"};
  if (r.error) return r;
  const core::Device& device = dit->second;
  auto adapter = AdapterFor(device);
  if (!adapter) {
    r.error = adapter.error();
    return r;
  }
  auto observed = (*adapter)->Observe();
  if (!observed) {
    r.error = observed.error();
    return r;
  }
  r.transport = observed->transport;
  const std::string started = clock_.UtcIso();
  const std::string why =
      "rollback to snapshot " + std::to_string(snapshot_id) + " (" + snap->taken_at + ")";
  const Platform& platform = PlatformFor(device);
  r.plan = platform.Restore(*snap, *observed, device, why);
  if (auto run = store_.BeginRun(key, "rollback", started)) r.run_id = *run;
  if (r.plan.HasChanges()) {
    auto applied = ApplyWithIntent(**adapter, key, r.plan, *observed, started, r);
    if (!applied) {
      r.error = applied.error();
      return r;
    }
    if (applied->error) r.error = applied->error;
    if (!applied->transport.empty()) r.transport = applied->transport;
    if (!r.error)
      Recorded(platform.RecordRestored(store_, key, r.plan, started), key,
               "the records of the rollback");
  }
  ReportChanges(r.plan, r.report);
  RecordRollback(r, why, started, actor,
                 std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - t0).count());
  return r;
}

void DeviceReconciler::RecordRollback(DeviceResult& r, const std::string& why,
                                      const std::string& started, const std::string& actor,
                                      int64_t duration_ms) {
  const std::string& key = r.device;
  std::vector<store::Event> events;
  events.push_back(store::Event{
      0, started, key, "", r.error ? "Warning" : "Normal",
      r.error ? "RollbackFailed" : "RollbackSucceeded",
      r.error ? why + " failed: " + r.error->message
              : why + ": " + std::to_string(r.plan.ChangeCount()) + " object(s) restored in " +
                    std::to_string(r.commits) + " commit(s); the state before is snapshot " +
                    std::to_string(r.snapshot_id),
      r.run_id});
  Recorded(AddEvents(events), key, "the rollback's event");
  {
    std::lock_guard lk(mu_);
    cache_.erase(key);  // the device changed under every cache
  }
  store::Run run{r.run_id,
                 key,
                 "rollback",
                 started,
                 clock_.UtcIso(),
                 r.error ? "Failed" : "Success",
                 r.error ? r.error->message : "",
                 static_cast<int>(r.plan.ChangeCount()),
                 r.commits,
                 duration_ms,
                 static_cast<int>(r.report.added.size()),
                 static_cast<int>(r.report.updated.size()),
                 static_cast<int>(r.report.deleted.size()),
                 r.transport,
                 actor,
                 0};
  Recorded(store_.FinishRun(run, r.operations), key, "the rollback's run");
  if (r.error)
    log_->warn("device={} trigger=rollback run_id={} by=\"{}\" outcome=failed error=\"{}\"", key,
               r.run_id, actor, r.error->message);
  else
    log_->info(
        "device={} trigger=rollback run_id={} by=\"{}\" outcome=rolled-back changes={} commits={} "
        "snapshot_before={}",
        key, r.run_id, actor, r.plan.ChangeCount(), r.commits, r.snapshot_id);
}

void DeviceReconciler::ConfirmLeftPending(DeviceAdapter& adapter, const std::string& key,
                                          const std::string& started,
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
    log_->warn("device={} recovery of intent {}: confirm failed ({}); tried again next pass", key,
               intent, confirmed.error().message);
    return;  // stays in recovering_: tried again
  }
  {
    std::lock_guard lk(mu_);
    recovering_.erase(key);
  }
  if (*confirmed)
    events.push_back(store::Event{0, started, key, "", "Warning", "Recovered",
                                  "the commit-confirm the stopped process left pending (intent " +
                                      std::to_string(intent) +
                                      ") is confirmed; the device is read and planned as usual",
                                  0});
}

std::string DeviceReconciler::MassDeletionHeld(const std::string& key, size_t deletions,
                                               size_t owned) {
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
         std::to_string(static_cast<int>(guard_share_ * 100)) +
         "%); held until released with `netconverge release " + key +
         "` or POST /v1/admin/devices/NAME/release (check the manifests first: a half-written file "
         "looks like this)";
}

bool DeviceReconciler::Recorded(const Status& st, const std::string& device,
                                const std::string& what) {
  if (st) return true;
  log_->error("device={} store: cannot record {}: {}", device, what, st.error().message);
  return false;
}

store::Event DeletionsReleasedEvent(const std::string& device, const std::string& who,
                                    const std::string& now) {
  return store::Event{
      0,
      now,
      device,
      "",
      "Normal",
      "DeletionsReleased",
      "released by " + who + ": the held mass deletion proceeds on the device's next pass",
      0};
}

}  // namespace nc::reconcilers
