#include "controller/reconcilers/device_reconciler.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "controller/core/allocate.hpp"
#include "controller/core/backoff.hpp"

namespace nc::reconcilers {

namespace {

double Unit() {
  static thread_local uint64_t s = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) | 1;
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return static_cast<double>(s % 100000) / 100000.0;
}

}  // namespace

std::string FormatReportLine(const std::string& display, int number, bool updated) {
  return display + " (Rule " + std::to_string(number) + ")" + (updated ? " - Updated" : "");
}

DeviceReconciler::DeviceReconciler(store::SqliteStore& store, AdapterFactory& factory, const runtime::Clock& clock,
                                   std::shared_ptr<spdlog::logger> log, core::ServiceTable services)
    : store_(store), factory_(factory), clock_(clock), log_(std::move(log)), services_(std::move(services)) {}

Result<DeviceAdapter*> DeviceReconciler::AdapterFor(const core::Device& device) {
  std::lock_guard lk(mu_);
  auto it = adapters_.find(device.Key());
  core::Device comparable = device;
  comparable.requested_sync.clear();
  comparable.source = {};
  if (it != adapters_.end() && it->second.first == comparable) return it->second.second.get();
  auto a = factory_.Create(device);
  if (!a) return tl::unexpected(a.error());
  auto* raw = a->get();
  adapters_[device.Key()] = {comparable, std::move(*a)};
  return raw;
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
  const core::Device& device = dit->second;
  std::vector<store::Event> events;
  auto event = [&](const std::string& type, const std::string& reason, const std::string& resource,
                   const std::string& message) {
    events.push_back(store::Event{0, started, key, resource, type, reason, message, 0});
  };

  if (mode == Mode::kApply) {
    auto run = store_.BeginRun(key, trigger, started);
    if (!run) {
      r.error = run.error();
      return r;
    }
    r.run_id = *run;
  }
  auto adapter = AdapterFor(device);
  if (!adapter) {
    r.error = adapter.error();
    event("Warning", "ConfigurationError", "", adapter.error().message);
    Finish(r, device, trigger, started, t0, events, mode);
    return r;
  }
  auto observed = (*adapter)->Observe();
  if (!observed) {
    r.error = observed.error();
    event("Warning", "Unreachable", "", "observe failed: " + observed.error().message);
    Finish(r, device, trigger, started, t0, events, mode);
    return r;
  }

  const auto rules = desired.RulesFor(key);
  auto allocations = store_.Allocations(key);
  auto last_applied = store_.LastApplied(key);
  if (!allocations || !last_applied) {
    r.error = !allocations ? allocations.error() : last_applied.error();
    Finish(r, device, trigger, started, t0, events, mode);
    return r;
  }
  auto alloc = core::AllocateRuleNumbers({device, rules, *allocations, observed->nat_rules});
  if (mode == Mode::kApply && !alloc.added.empty()) {
    // Persist new numbers before the device is touched: a crash never renumbers.
    if (auto st = store_.SaveAllocations(key, alloc.added, started); !st) {
      r.error = st.error();
      Finish(r, device, trigger, started, t0, events, mode);
      return r;
    }
  }
  std::map<core::PortKey, int> all_alloc = *allocations;
  for (const auto& [k, n] : alloc.added) {
    std::erase_if(all_alloc, [&](const auto& e) { return e.second == n || e.first == k; });
    all_alloc[k] = n;
  }
  std::map<int, core::PortKey> allocated;
  for (const auto& [k, n] : all_alloc) allocated[n] = k;

  std::string held = desired.held_deletes_all;
  if (auto h = desired.held_deletes.find(key); h != desired.held_deletes.end()) held = h->second;
  core::PlanInput in{device, rules, alloc.numbers, alloc.failed, observed->nat_rules, *last_applied, allocated,
                     services_, held, {}};
  r.plan = core::ComputePlan(in);
  if (mode == Mode::kApply && !r.plan.adopted.empty()) (void)store_.SaveAllocations(key, r.plan.adopted, started);

  for (const auto& n : r.plan.notices)
    event(n.warning ? "Warning" : "Normal", n.reason, n.resource, n.message);

  const bool may_write = device.management != core::ManagementPolicy::kObserve && !device.paused;
  if (mode == Mode::kPlan || !may_write) {
    r.operations = (*adapter)->Render(r.plan);
    if (mode == Mode::kApply && r.plan.HasChanges())
      event("Normal", device.paused ? "Paused" : "ObserveOnly", "",
            std::to_string(r.plan.changes.size()) + " change(s) planned, not applied (" +
                (device.paused ? "device paused" : "management: Observe") + ")");
    for (const auto& ch : r.plan.changes) {
      auto line = FormatReportLine(ch.display, ch.number, ch.kind == core::ChangeKind::kUpdate);
      (ch.kind == core::ChangeKind::kAdd ? r.report.added
       : ch.kind == core::ChangeKind::kUpdate ? r.report.updated
                                              : r.report.deleted).push_back(line);
    }
    if (mode == Mode::kApply) {
      // Record what is on the device, so status shows it even without writes.
      for (auto& p : r.plan.ports)
        if (std::any_of(r.plan.changes.begin(), r.plan.changes.end(), [&](const auto& c) { return c.number == p.number; }))
          p.state = core::PortState::kPending;
    }
    Finish(r, device, trigger, started, t0, events, mode);
    return r;
  }

  ApplyOutcome outcome;
  if (r.plan.HasChanges() || (*adapter)->PendingWork()) {
    outcome = (*adapter)->Apply(r.plan, *observed);
    r.wrote = !outcome.operations.empty();
    r.operations = outcome.operations;
    r.commits = outcome.commits;
  }
  std::set<int> changed;
  for (const auto& ch : r.plan.changes) changed.insert(ch.number);
  if (outcome.error) {
    r.error = outcome.error;
    event("Warning", "ApplyFailed", "",
          outcome.error->message + (outcome.ambiguous ? " (outcome unknown: the device is re-read before anything is re-sent)" : ""));
    if (outcome.rolled_back) event("Normal", "RollbackSucceeded", "", outcome.rollback_detail);
    else if (!outcome.rollback_detail.empty()) event("Warning", "RollbackFailed", "", outcome.rollback_detail);
    for (auto& p : r.plan.ports) {
      if (!changed.count(p.number)) continue;
      p.state = core::PortState::kPending;
      p.message = "not applied: " + outcome.error->message;
    }
    for (const auto& ch : r.plan.changes) r.report.failed.push_back(FormatReportLine(ch.display, ch.number));
    Finish(r, device, trigger, started, t0, events, mode);
    return r;
  }

  // Success: record what the device now holds for every declared port that is in force.
  store::AppliedUpdate update;
  const auto after = outcome.read_back ? *outcome.read_back : core::ExpectedAfter(observed->nat_rules, r.plan);
  for (const auto& [n, rule] : after) update.on_device.insert(n);
  std::map<core::PortKey, const core::PortRule*> by_key;
  for (const auto& rule : rules) {
    by_key[{rule.resource, rule.port}] = &rule;
    update.desired.insert({rule.resource, rule.port});
  }
  for (const auto& p : r.plan.ports) {
    if (p.state != core::PortState::kApplied && p.state != core::PortState::kDisabled) continue;
    const auto* rule = by_key.at({p.resource, p.port});
    update.upserts[p.number] = core::AppliedRecord{p.resource, p.port, rule->rule};
  }
  for (const auto& ch : r.plan.changes)
    if (ch.kind == core::ChangeKind::kDelete) update.removed.push_back(ch.number);
  for (int n : r.plan.released) update.removed.push_back(n);
  if (auto st = store_.RecordApplied(key, update, clock_.UtcIso()); !st) r.error = st.error();

  for (const auto& ch : r.plan.changes) {
    auto line = FormatReportLine(ch.display, ch.number, ch.kind == core::ChangeKind::kUpdate);
    (ch.kind == core::ChangeKind::kAdd ? r.report.added
     : ch.kind == core::ChangeKind::kUpdate ? r.report.updated
                                            : r.report.deleted).push_back(line);
  }
  for (const auto& p : r.plan.ports)
    if (!changed.count(p.number) && (p.state == core::PortState::kApplied || p.state == core::PortState::kDisabled))
      r.report.no_change.push_back(FormatReportLine(p.display, p.number));
  if (r.plan.HasChanges()) {
    event("Normal", "Applied",
          "", std::to_string(r.plan.changes.size()) + " change(s) in " + std::to_string(outcome.commits) +
                  " commit(s): " + std::to_string(r.report.added.size()) + " added, " +
                  std::to_string(r.report.updated.size()) + " updated, " + std::to_string(r.report.deleted.size()) +
                  " deleted" + (outcome.confirmed ? "; confirmed" : "") + (outcome.saved ? "; saved" : ""));
  }
  Finish(r, device, trigger, started, t0, events, mode);
  return r;
}

void DeviceReconciler::Finish(DeviceResult& r, const core::Device& device, const std::string& trigger,
                              const std::string& started, std::chrono::steady_clock::time_point t0,
                              const std::vector<store::Event>& events, Mode mode) {
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - t0);
  if (r.error) {
    log_->warn("device={} trigger={} run_id={} outcome=failed error=\"{}\"", r.device, trigger, r.run_id,
               r.error->message);
  } else if (r.plan.HasChanges()) {
    log_->info("device={} trigger={} run_id={} outcome={} changes={} commits={} duration_ms={}", r.device, trigger,
               r.run_id, r.wrote ? "applied" : "planned", r.plan.changes.size(), r.commits, elapsed.count());
  } else {
    log_->debug("device={} trigger={} run_id={} outcome=no-change duration_ms={}", r.device, trigger, r.run_id,
                elapsed.count());
  }
  for (const auto& e : events)
    log_->log(e.type == "Warning" ? spdlog::level::warn : spdlog::level::info, "device={} resource={} event={} \"{}\"",
              e.device, e.resource.empty() ? "-" : e.resource, e.reason, e.message);
  if (r.error) {
    r.requeue_after = std::chrono::milliseconds(0);  // the queue's backoff decides
  } else {
    r.requeue_after = std::chrono::milliseconds(core::JitteredIntervalMs(device.poll_interval_ms, Unit()));
  }
  if (mode != DeviceReconciler::Mode::kApply) return;

  const std::string now = clock_.UtcIso();
  auto previous = store_.PortStatuses(r.device);
  std::map<std::pair<std::string, std::string>, store::PortStatusRow> prev;
  if (previous)
    for (auto& p : *previous) prev[{p.resource, p.port}] = p;
  std::vector<store::Event> to_store;
  for (auto e : events) {
    // A drift that is reported (not reverted) is recorded once, not on every poll.
    if (e.reason == "DriftDetected" && e.message.find("(reported") != std::string::npos) {
      bool seen = false;
      for (const auto& [k, p] : prev)
        if (p.resource == e.resource && p.state == "Drifted" && e.message.find(p.message.substr(p.message.find(':') + 1)) != std::string::npos)
          seen = true;
      if (seen) continue;
    }
    e.run_id = r.run_id;
    to_store.push_back(std::move(e));
  }
  (void)store_.AddEvents(to_store);

  std::set<int> changed;
  for (const auto& ch : r.plan.changes) changed.insert(ch.number);
  std::vector<store::PortStatusRow> ports;
  int drifted = 0;
  bool synced = !r.error;
  for (const auto& p : r.plan.ports) {
    store::PortStatusRow row{r.device, p.resource, p.port, p.display, p.number, core::ToString(p.state), p.message, "", now};
    auto pv = prev.find({p.resource, p.port});
    if ((p.state == core::PortState::kApplied || p.state == core::PortState::kDisabled) && r.wrote && !r.error &&
        changed.count(p.number))
      row.last_applied_at = now;
    else if (pv != prev.end())
      row.last_applied_at = pv->second.last_applied_at;
    if (p.state == core::PortState::kDrifted) ++drifted;
    if (p.state != core::PortState::kApplied && p.state != core::PortState::kDisabled) synced = false;
    ports.push_back(std::move(row));
  }
  store::DeviceStatusRow d;
  d.device = r.device;
  d.reachable = !(r.error && (r.error->code == ErrorCode::kUnavailable || r.error->code == ErrorCode::kDeadlineExceeded ||
                              r.error->code == ErrorCode::kPermissionDenied) && !r.wrote);
  d.synced = synced && !(device.management == core::ManagementPolicy::kObserve && r.plan.HasChanges());
  d.message = r.error ? r.error->message
                      : (r.plan.HasChanges() && !r.wrote ? std::to_string(r.plan.changes.size()) + " change(s) pending" : "");
  d.transport = "https-api";
  d.last_observed_at = started;
  auto prev_dev = store_.DeviceStatuses();
  if (prev_dev)
    for (const auto& pd : *prev_dev)
      if (pd.device == r.device) {
        d.last_applied_at = pd.last_applied_at;
        d.platform_version = pd.platform_version;
      }
  if (r.wrote && !r.error) d.last_applied_at = now;
  {
    std::lock_guard lk(mu_);
    (void)lk;
  }
  int managed = 0;
  for (const auto& p : r.plan.ports)
    if (p.state == core::PortState::kApplied || p.state == core::PortState::kDisabled || p.state == core::PortState::kDrifted)
      ++managed;
  d.managed = managed;
  d.drifted = drifted;
  d.last_run_id = r.run_id;
  d.updated_at = now;
  (void)store_.SaveStatus(d, ports);

  store::Run run;
  run.id = r.run_id;
  run.device = r.device;
  run.trigger = trigger;
  run.started_at = started;
  run.finished_at = now;
  run.outcome = r.error ? "Failed" : (r.wrote ? "Success" : (r.plan.HasChanges() ? "Planned" : "NoChange"));
  run.message = r.error ? r.error->message : "";
  run.changes = static_cast<int>(r.plan.changes.size());
  run.commits = r.commits;
  run.duration_ms = elapsed.count();
  (void)store_.FinishRun(run, r.operations);
}

}  // namespace nc::reconcilers
