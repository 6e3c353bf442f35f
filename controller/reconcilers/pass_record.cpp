// Recording a pass: the log lines, then in the store the events (standing conditions once), the
// port rows (rewritten only when they changed), the device row and the run with the operations
// sent. Plan mode logs only.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "controller/core/backoff.hpp"
#include "controller/core/encoding.hpp"
#include "controller/core/values.hpp"
#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/reconcilers/pass.hpp"

namespace nc::reconcilers {

namespace {

// Standing conditions (a held delete, reported drift, a conflict, an unreachable device) are
// recorded and logged when they appear, not on every poll; actions (Applied, ApplyFailed,
// rollbacks) always.
const std::set<std::string>& Standing() {
  static const std::set<std::string> kStanding = {"DriftDetected", "ConflictDetected",
                                                  "DeleteHeld",    "DeleteWithheld",
                                                  "DeletionsHeld", "AuthenticationFailed",
                                                  "InsecureTLS",   "AllocationFailed",
                                                  "ObserveOnly",   "Paused",
                                                  "Unreachable",   "ConfigurationError",
                                                  "Orphaned",      "FallbackTransport",
                                                  "Overridden",    "UnconfirmedCommits",
                                                  "DeviceRejected"};
  return kStanding;
}

/// The FNV-1a 64 hash of the event's reason, resource and message, in hex: what the device row
/// keeps of each standing condition.
std::string StandingKey(const store::Event& e) {
  // Each part ends with 0x1f, a separator no text holds.
  return fmt::format("{:016x}",
                     core::Fnv1a64(e.reason + '\x1f' + e.resource + '\x1f' + e.message + '\x1f'));
}

std::string JoinStanding(const std::set<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ",") + k;
  return out;
}

bool InForce(core::PortState s) {
  return s == core::PortState::kApplied || s == core::PortState::kDisabled;
}

}  // namespace

void DeviceReconciler::Finish(Pass& p) {
  DeviceResult& r = p.r;
  if (p.adapter) r.requests = p.adapter->TakeRequestTimings();
  // Device text reaches logs, events, runs and /v1/health from here: one line of valid UTF-8,
  // at most 4 KiB (a device answering a 5 MB error must not grow the store by megabytes a pass).
  if (r.error) r.error->message = core::PrintableText(r.error->message, kMaxMessageBytes);
  std::vector<store::Event> events = std::move(p.events);
  for (auto& e : events) e.message = core::PrintableText(e.message, kMaxMessageBytes);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - p.t0);
  // The device's cache, no longer clean if another process wrote during the pass (one
  // data_version read for logging and recording).
  DeviceCache* cache = nullptr;
  if (p.Applying()) cache = CacheFor(r.device, store_.DataVersion());
  if (cache) LoadStanding(r.device, *cache);
  LogPass(p, elapsed, events, cache);
  r.requeue_after =
      r.error
          ? std::chrono::milliseconds(0)  // the queue's backoff decides
          : std::chrono::milliseconds(core::JitteredIntervalMs(p.device.poll_interval_ms, Unit()));
  if (!p.Applying()) return;
  const int64_t record_start = ThreadCpuMicros();
  if (r.unchanged_poll && cache && cache->device_row) {
    RecordQuietPass(p, *cache);
    r.record_cpu_us = ThreadCpuMicros() - record_start;
    return;
  }
  const std::string now = clock_.UtcIso();
  bool recorded = RecordEvents(p, cache, std::move(events));
  // The stored port rows: read now (a pass that planned), not kept per device between passes.
  std::vector<store::PortStatusRow> old_rows;
  if (auto rows = store_.PortStatuses(r.device)) old_rows = std::move(*rows);
  // In the plan's order (resource, port), so that an unchanged set compares row by row.
  std::sort(old_rows.begin(), old_rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.resource, a.port) < std::tie(b.resource, b.port);
  });
  std::vector<store::PortStatusRow> ports = PortRows(p, old_rows, now);
  store::DeviceStatusRow d = DeviceRow(p, cache, now);
  // Port rows are rewritten only when something in them changed (a poll of 10,000 unchanged
  // ports writes one device row).
  auto same = [](const store::PortStatusRow& a, const store::PortStatusRow& b) {
    return a.resource == b.resource && a.port == b.port && a.display == b.display &&
           a.rule_number == b.rule_number && a.state == b.state && a.message == b.message &&
           a.last_applied_at == b.last_applied_at;
  };
  const bool unchanged = old_rows.size() == ports.size() &&
                         std::equal(ports.begin(), ports.end(), old_rows.begin(), same);
  recorded = Recorded(store_.SaveStatus(d, unchanged ? nullptr : &ports), r.device,
                      "the device's status") &&
             recorded;
  if (cache) cache->device_row = d;
  r.device_row = d;

  const std::string outcome = r.error               ? "Failed"
                              : r.wrote             ? "Success"
                              : r.plan.HasChanges() ? "Planned"
                                                    : "NoChange";
  const store::Run run{r.run_id,
                       r.device,
                       p.trigger,
                       p.started,
                       now,
                       outcome,
                       r.error ? r.error->message : "",
                       static_cast<int>(r.plan.ChangeCount()),
                       r.commits,
                       elapsed.count(),
                       static_cast<int>(r.report.added.size()),
                       static_cast<int>(r.report.updated.size()),
                       static_cast<int>(r.report.deleted.size()),
                       r.transport,
                       p.actor,
                       0};
  recorded = Recorded(store_.FinishRun(run, r.operations), r.device, "the run") && recorded;
  // What could not be recorded is not trusted as the last clean pass: the next plans in full.
  if (!recorded && cache) cache->clean = false;
  r.record_cpu_us = ThreadCpuMicros() - record_start;
}

void DeviceReconciler::LogPass(const Pass& p, std::chrono::milliseconds elapsed,
                               const std::vector<store::Event>& events, const DeviceCache* cache) {
  const DeviceResult& r = p.r;
  if (r.error) {
    log_->warn("device={} trigger={} run_id={} by=\"{}\" outcome=failed error=\"{}\"", r.device,
               p.trigger, r.run_id, p.actor, r.error->message);
  } else if (r.plan.HasChanges()) {
    log_->info(
        "device={} trigger={} run_id={} by=\"{}\" outcome={} changes={} commits={} duration_ms={}",
        r.device, p.trigger, r.run_id, p.actor, r.wrote ? "applied" : "planned",
        r.plan.ChangeCount(), r.commits, elapsed.count());
  } else {
    log_->debug("device={} trigger={} run_id={} outcome=no-change duration_ms={}", r.device,
                p.trigger, r.run_id, elapsed.count());
  }
  for (const auto& e : events) {
    if (Standing().count(e.reason) && cache && cache->standing_events.count(StandingKey(e)))
      continue;
    log_->log(e.type == "Warning" ? spdlog::level::warn : spdlog::level::info,
              "device={} resource={} run_id={} event={} \"{}\"", e.device,
              e.resource.empty() ? "-" : e.resource, r.run_id, e.reason, e.message);
  }
}

void DeviceReconciler::RecordQuietPass(Pass& p, DeviceCache& cache) {
  DeviceResult& r = p.r;
  const std::string now = clock_.UtcIso();
  store::DeviceStatusRow d = *cache.device_row;
  d.last_observed_at = p.started;
  d.updated_at = now;
  // No run: the device row's last-seen time moves and its count of quiet polls grows.
  if (auto st = store_.RecordQuietPass(r.device, d.last_observed_at, d.updated_at)) {
    ++d.quiet_polls;
  } else {
    cache.clean = false;
    Recorded(st, r.device, "the pass");
  }
  cache.device_row = d;
  r.device_row = d;
}

void DeviceReconciler::LoadStanding(const std::string& device, DeviceCache& cache) {
  if (cache.device_row || cache.standing_loaded) return;
  // The first pass of this process: the conditions standing when the last one stopped are not
  // recorded (nor notified) again.
  cache.standing_loaded = true;
  if (auto rows = store_.DeviceStatuses())
    for (const auto& row : *rows)
      if (row.device == device)
        for (const auto& k : core::SplitList(row.standing)) cache.standing_events.insert(k);
}

Status DeviceReconciler::AddEvents(const std::vector<store::Event>& events) {
  if (!notify_.enabled() || events.empty()) return store_.AddEvents(events);
  const auto delayed =
      runtime::FormatUtc(std::chrono::system_clock::now() + notify_.unreachable_after);
  return store_.AddEventsAndNotify(events,
                                   NotificationsFor(notify_, events, clock_.UtcIso(), delayed));
}

bool DeviceReconciler::RecordEvents(Pass& p, DeviceCache* cache, std::vector<store::Event> events) {
  std::vector<store::Event> to_store;
  std::set<std::string> standing;
  for (auto& e : events) {
    if (Standing().count(e.reason)) {
      std::string k = StandingKey(e);
      standing.insert(k);
      if (cache && cache->standing_events.count(k)) continue;
    }
    e.run_id = p.r.run_id;
    to_store.push_back(std::move(e));
  }
  if (cache) cache->standing_events = std::move(standing);
  const bool recorded = Recorded(AddEvents(to_store), p.r.device, "the pass's events");
  p.r.events = std::move(to_store);
  return recorded;
}

std::vector<store::PortStatusRow> DeviceReconciler::PortRows(
    const Pass& p, const std::vector<store::PortStatusRow>& stored, const std::string& now) const {
  const DeviceResult& r = p.r;
  // The previous row of each port: index-aligned when the set of ports did not change.
  const std::vector<store::PortStatusRow>* old_rows = &stored;
  bool aligned = old_rows->size() == r.plan.ports.size();
  for (size_t i = 0; aligned && i < r.plan.ports.size(); ++i)
    aligned = (*old_rows)[i].resource == r.plan.ports[i].resource &&
              (*old_rows)[i].port == r.plan.ports[i].port;
  std::map<std::pair<std::string, std::string>, const store::PortStatusRow*> prev;
  if (!aligned)
    for (const auto& row : *old_rows) prev[{row.resource, row.port}] = &row;
  auto previous_row = [&](size_t i, const core::PortStatus& port) -> const store::PortStatusRow* {
    if (aligned) return &(*old_rows)[i];
    auto it = prev.find({port.resource, port.port});
    return it == prev.end() ? nullptr : it->second;
  };
  std::vector<store::PortStatusRow> ports;
  ports.reserve(r.plan.ports.size());
  const Touched touched(r.plan);
  for (size_t i = 0; i < r.plan.ports.size(); ++i) {
    const auto& port = r.plan.ports[i];
    store::PortStatusRow row{r.device,     port.resource,
                             port.port,    port.display,
                             port.number,  core::ToString(port.state),
                             port.message, "",
                             now};
    const auto* pv = previous_row(i, port);
    if (InForce(port.state) && r.wrote && !r.error && touched(port))
      row.last_applied_at = now;
    else if (pv)
      row.last_applied_at = pv->last_applied_at;
    ports.push_back(std::move(row));
  }
  return ports;
}

store::DeviceStatusRow DeviceReconciler::DeviceRow(const Pass& p, const DeviceCache* cache,
                                                   const std::string& now) {
  const DeviceResult& r = p.r;
  const core::Device& device = p.device;
  store::DeviceStatusRow d;
  d.device = r.device;
  const auto summary =
      core::SummarizePass(r.plan, r.error ? std::optional<ErrorCode>(r.error->code) : std::nullopt,
                          r.wrote, device.management);
  d.reachable = summary.reachable;
  d.synced = summary.synced;
  d.managed = summary.managed;
  d.drifted = summary.drifted;
  std::string rejected;
  for (const auto& g : r.rejected) rejected += (rejected.empty() ? "" : ", ") + g;
  d.message =
      r.error ? r.error->message
      : !rejected.empty()
          ? std::to_string(r.rejected.size()) + " resource(s) rejected by the device: " + rejected
          : (r.plan.HasChanges() && !r.wrote
                 ? std::to_string(r.plan.ChangeCount()) + " change(s) pending"
                 : "");
  d.transport = !r.transport.empty() ? r.transport
                : device.IsSwitch()  ? "ssh-cli"
                                     : device.transport_primary;
  d.last_observed_at = p.started;
  if (cache && cache->device_row) {
    d.last_applied_at = cache->device_row->last_applied_at;
    d.platform_version = cache->device_row->platform_version;
    d.fallbacks = cache->device_row->fallbacks;
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
  d.last_run_id = r.run_id;
  d.updated_at = now;
  d.conditions = r.conditions;
  d.management = core::ToString(device.management);  // as this pass ran: override applied
  d.paused = device.paused;
  d.override_ = p.op_override;
  if (cache) d.standing = JoinStanding(cache->standing_events);
  return d;
}

}  // namespace nc::reconcilers
