// MemoryStore: the store::Store contract in memory, for in-process tests of the reconciler (no
// file, no SQL). test/unit/store/store_contract_test.cpp runs the same assertions against it and
// against SqliteStore, so the two cannot drift apart unnoticed. Failure injection: `fail` is
// asked before every call with the method's name; an error it returns is that call's result
// (nothing is changed). `OtherWriter()` is another process committing to the file (DataVersion
// moves).
#pragma once

#include <algorithm>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "controller/store/store.hpp"

namespace nc::fakes {

class MemoryStore final : public store::Store {
 public:
  std::function<std::optional<Error>(const std::string& method)> fail;

  void OtherWriter() {
    std::lock_guard lk(mu_);
    ++data_version_;
  }
  /// How many times each method was called (for "touches the store at most once" checks).
  int Calls(const std::string& method) const {
    std::lock_guard lk(calls_mu_);
    auto it = calls_.find(method);
    return it == calls_.end() ? 0 : it->second;
  }

  Result<std::map<core::PortKey, int>> Allocations(const std::string& device) override {
    if (auto e = Fail("Allocations")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    return allocations_[device];
  }
  Status SaveAllocations(const std::string& device, const std::map<core::PortKey, int>& allocations,
                         const std::string&) override {
    if (auto e = Fail("SaveAllocations")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    auto& mine = allocations_[device];
    for (const auto& [key, n] : allocations) {
      std::erase_if(mine, [&](const auto& kv) { return kv.first == key || kv.second == n; });
      mine[key] = n;
    }
    return {};
  }
  Result<std::map<int, core::AppliedRecord>> LastApplied(const std::string& device) override {
    if (auto e = Fail("LastApplied")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    return last_applied_[device];
  }
  Status RecordApplied(const std::string& device, const store::AppliedUpdate& u,
                       const std::string&) override {
    if (auto e = Fail("RecordApplied")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    auto& applied = last_applied_[device];
    auto& alloc = allocations_[device];
    for (const auto& [n, rec] : u.upserts)
      applied[n] = core::AppliedRecord{std::string(rec.resource), std::string(rec.port), *rec.rule};
    for (int n : u.removed) applied.erase(n);
    for (int n : u.released) std::erase_if(alloc, [&](const auto& kv) { return kv.second == n; });
    // Allocations of ports no longer declared end once their rule is gone from the device.
    std::erase_if(alloc, [&](const auto& kv) {
      const bool stale = !u.desired.count(kv.first) && !u.on_device.count(kv.second);
      if (stale) applied.erase(kv.second);
      return stale;
    });
    return {};
  }
  Result<std::map<std::string, core::AppliedInterface>> AppliedInterfaces(
      const std::string& device) override {
    if (auto e = Fail("AppliedInterfaces")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    return interfaces_[device];
  }
  Status RecordAppliedInterfaces(const std::string& device,
                                 const std::map<std::string, core::AppliedInterface>& upserts,
                                 const std::vector<std::string>& removed,
                                 const std::string&) override {
    if (auto e = Fail("RecordAppliedInterfaces")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    auto& mine = interfaces_[device];
    for (const auto& [name, rec] : upserts) mine[name] = rec;
    for (const auto& name : removed) mine.erase(name);
    return {};
  }
  Result<int64_t> BeginRun(const std::string& device, const std::string& trigger,
                           const std::string& now) override {
    if (auto e = Fail("BeginRun")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    StoredRun r;
    r.id = static_cast<int64_t>(runs_.size()) + 1;
    r.device = device;
    r.trigger = trigger;
    r.started_at = now;
    runs_.push_back(r);
    return r.id;
  }
  Status FinishRun(const store::Run& run, const core::OpLog& operations) override {
    if (auto e = Fail("FinishRun")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    if (run.id < 1 || run.id > static_cast<int64_t>(runs_.size())) return {};  // UPDATE of no row
    auto& r = runs_[static_cast<size_t>(run.id - 1)];
    r.finished_at = run.finished_at;
    r.outcome = run.outcome;
    r.message = run.message;
    r.changes = run.changes;
    r.commits = run.commits;
    r.duration_ms = run.duration_ms;
    r.added = run.added;
    r.updated = run.updated;
    r.deleted = run.deleted;
    r.transport = run.transport;
    r.actor = run.actor;
    if (!operations.empty()) operations_[run.id] = {operations.begin(), operations.end()};
    return {};
  }
  Result<std::vector<store::Run>> Runs(const std::string& device, int limit) override {
    if (auto e = Fail("Runs")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    std::vector<store::Run> out;
    for (auto it = runs_.rbegin(); it != runs_.rend() && static_cast<int>(out.size()) < limit; ++it)
      if (!it->pruned && (device.empty() || it->device == device)) out.push_back(*it);
    return out;
  }
  Result<store::Run> GetRun(int64_t id) override {
    if (auto e = Fail("GetRun")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    if (id < 1 || id > static_cast<int64_t>(runs_.size()) ||
        runs_[static_cast<size_t>(id - 1)].pruned)
      return MakeError(ErrorCode::kNotFound, "no run " + std::to_string(id));
    return static_cast<store::Run>(runs_[static_cast<size_t>(id - 1)]);
  }
  Status RecordQuietPass(const std::string& device, const std::string& observed_at,
                         const std::string& updated_at) override {
    if (auto e = Fail("RecordQuietPass")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    if (auto it = status_.find(device); it != status_.end()) {
      it->second.last_observed_at = observed_at;
      it->second.updated_at = updated_at;
      ++it->second.quiet_polls;
    }
    return {};
  }
  Result<std::vector<std::string>> Operations(int64_t run_id) override {
    if (auto e = Fail("Operations")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    auto it = operations_.find(run_id);
    return it == operations_.end() ? std::vector<std::string>{} : it->second;
  }
  Result<store::Intent> BeginIntent(const store::Snapshot& snap, int changes,
                                    const core::OpLog& operations, int keep = 50) override {
    if (auto e = Fail("BeginIntent")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    store::Snapshot s = snap;
    s.id = ++snapshot_seq_;
    snapshots_[s.id] = s;
    std::vector<int64_t> mine;
    for (const auto& [id, x] : snapshots_)
      if (x.device == snap.device) mine.push_back(id);
    for (size_t i = 0; i + static_cast<size_t>(std::max(keep, 0)) < mine.size(); ++i)
      snapshots_.erase(mine[i]);
    StoredIntent in;
    in.id = static_cast<int64_t>(intents_.size()) + 1;
    in.device = snap.device;
    in.run_id = snap.run_id;
    in.snapshot_id = s.id;
    in.changes = changes;
    in.operations = operations.Text();
    in.started_at = snap.taken_at;
    intents_.push_back(in);
    auto out = static_cast<store::Intent>(in);
    out.operations.clear();  // as the SQLite store: OpenIntents reads them
    return out;
  }
  Status FinishIntent(int64_t intent_id, const std::string& outcome,
                      const std::string& now) override {
    if (auto e = Fail("FinishIntent")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    if (intent_id >= 1 && intent_id <= static_cast<int64_t>(intents_.size())) {
      intents_[static_cast<size_t>(intent_id - 1)].finished_at = now;
      intents_[static_cast<size_t>(intent_id - 1)].outcome = outcome;
    }
    return {};
  }
  Result<std::vector<store::Intent>> OpenIntents() override {
    if (auto e = Fail("OpenIntents")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    std::vector<store::Intent> out;
    for (const auto& i : intents_)
      if (i.finished_at.empty() && !i.pruned) out.push_back(i);
    return out;
  }
  Result<store::Snapshot> GetSnapshot(int64_t id) override {
    if (auto e = Fail("GetSnapshot")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    auto it = snapshots_.find(id);
    if (it == snapshots_.end())
      return MakeError(ErrorCode::kNotFound, "no snapshot " + std::to_string(id));
    return it->second;
  }
  Result<std::vector<store::Snapshot>> Snapshots(const std::string& device, int limit) override {
    if (auto e = Fail("Snapshots")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    std::vector<store::Snapshot> out;
    for (auto it = snapshots_.rbegin();
         it != snapshots_.rend() && static_cast<int>(out.size()) < limit; ++it)
      if (it->second.device == device)
        out.push_back({it->second.id, device, it->second.taken_at, it->second.run_id, {}, {}});
    return out;
  }
  Status AddEvents(const std::vector<store::Event>& events) override {
    if (auto e = Fail("AddEvents")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    for (auto ev : events) {
      ev.id = ++event_seq_;
      events_.push_back(ev);
    }
    return {};
  }
  Status AddEventsAndNotify(const std::vector<store::Event>& events,
                            const std::vector<store::Notification>& notifications) override {
    if (auto e = Fail("AddEvents")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    for (auto ev : events) {
      ev.id = ++event_seq_;
      events_.push_back(ev);
    }
    for (auto n : notifications) {
      const bool dup =
          std::any_of(outbox_.begin(), outbox_.end(), [&](const StoredNotification& o) {
            return o.outcome.empty() && o.n.webhook == n.webhook && o.n.device == n.device &&
                   o.n.reason == n.reason && o.n.key == n.key;
          });
      if (dup) continue;
      n.id = ++notification_seq_;
      outbox_.push_back({n, "", ""});
    }
    return {};
  }
  Result<std::vector<store::Notification>> DueNotifications(const std::string& now,
                                                            int limit) override {
    if (auto e = Fail("DueNotifications")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    std::vector<store::Notification> out;
    for (const auto& o : outbox_)
      if (o.outcome.empty() && o.n.next_attempt_at <= now && static_cast<int>(out.size()) < limit)
        out.push_back(o.n);
    return out;
  }
  Status SettleNotification(int64_t id, const std::string& outcome,
                            const std::string& now) override {
    if (auto e = Fail("SettleNotification")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    for (auto& o : outbox_)
      if (o.n.id == id) {
        o.outcome = outcome;
        o.settled_at = now;
      }
    return {};
  }
  Status RetryNotification(int64_t id, const std::string& next_attempt_at,
                           const std::string& error) override {
    if (auto e = Fail("RetryNotification")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    for (auto& o : outbox_)
      if (o.n.id == id) {
        ++o.n.attempts;
        o.n.next_attempt_at = next_attempt_at;
        o.n.last_error = error;
      }
    return {};
  }
  Result<int64_t> PendingNotifications() override {
    std::lock_guard lk(mu_);
    return static_cast<int64_t>(std::count_if(outbox_.begin(), outbox_.end(),
                                              [](const auto& o) { return o.outcome.empty(); }));
  }
  Status WriteCheck() override {
    if (auto e = Fail("WriteCheck")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    return {};
  }
  Result<store::PruneCounts> Prune(const std::string& before) override {
    if (auto e = Fail("Prune")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    store::PruneCounts n;
    for (auto& r : runs_) {
      const bool open_intent = std::any_of(intents_.begin(), intents_.end(), [&](const auto& i) {
        return !i.pruned && i.finished_at.empty() && i.run_id == r.id;
      });
      if (!r.pruned && r.started_at < before && !r.finished_at.empty() && !open_intent) {
        r.pruned = true;
        operations_.erase(r.id);
        ++n.runs;
      }
    }
    n.events = static_cast<int64_t>(
        std::erase_if(events_, [&](const auto& e) { return e.time < before; }));
    for (auto& i : intents_)
      if (!i.pruned && !i.finished_at.empty() && i.finished_at < before) {
        i.pruned = true;
        ++n.intents;
      }
    n.notifications = static_cast<int64_t>(std::erase_if(
        outbox_, [&](const auto& o) { return !o.outcome.empty() && o.settled_at < before; }));
    for (auto& o : outbox_)
      if (o.outcome.empty() && o.n.created_at < before) {
        o.outcome = "expired";
        o.settled_at = o.n.created_at;
        ++n.notifications_expired;
      }
    std::map<std::string, int64_t> newest;
    for (const auto& [id, x] : snapshots_) newest[x.device] = id;
    n.snapshots = static_cast<int64_t>(std::erase_if(snapshots_, [&](const auto& e) {
      const bool open = std::any_of(intents_.begin(), intents_.end(), [&](const auto& i) {
        return !i.pruned && i.finished_at.empty() && i.snapshot_id == e.first;
      });
      return e.second.taken_at < before && newest[e.second.device] != e.first && !open;
    }));
    return n;
  }
  Result<std::map<std::string, store::DeviceOverride>> Overrides() override {
    if (auto e = Fail("Overrides")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    return overrides_;
  }
  Status SetOverride(const store::DeviceOverride& o, const store::Event& audit) override {
    if (auto e = Fail("SetOverride")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    if (o.management.empty() && o.fallback.empty())
      overrides_.erase(o.device);
    else
      overrides_[o.device] = o;
    store::Event ev = audit;
    ev.id = ++event_seq_;
    ev.resource.clear();
    ev.run_id = 0;
    events_.push_back(ev);
    return {};
  }
  Result<std::vector<store::Event>> Events(const store::EventFilter& f) override {
    if (auto e = Fail("Events")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    std::vector<store::Event> out;
    for (auto it = events_.rbegin(); it != events_.rend() && static_cast<int>(out.size()) < f.limit;
         ++it)
      if ((f.device.empty() || it->device == f.device) &&
          (f.resource.empty() || it->resource == f.resource) &&
          (f.since.empty() || it->time >= f.since))
        out.push_back(*it);
    return out;
  }
  Status SaveStatus(const store::DeviceStatusRow& d,
                    const std::vector<store::PortStatusRow>* ports) override {
    if (auto e = Fail("SaveStatus")) return tl::unexpected(*e);
    if (ports) (void)Fail("SaveStatus+ports");  // counted: the port rows were (re)written
    std::lock_guard lk(mu_);
    store::DeviceStatusRow row = d;
    row.conditions.clear();  // not stored
    status_[d.device] = row;
    if (ports) ports_[d.device] = *ports;
    return {};
  }
  int64_t DataVersion() override {
    (void)Fail("DataVersion");  // cannot fail (an int); counted
    std::lock_guard lk(mu_);
    return data_version_;
  }
  Result<std::vector<store::DeviceStatusRow>> DeviceStatuses() override {
    if (auto e = Fail("DeviceStatuses")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    std::vector<store::DeviceStatusRow> out;
    for (const auto& [k, v] : status_) out.push_back(v);
    return out;
  }
  Result<std::vector<store::PortStatusRow>> PortStatuses(const std::string& device) override {
    if (auto e = Fail("PortStatuses")) return tl::unexpected(*e);
    std::lock_guard lk(mu_);
    std::vector<store::PortStatusRow> out;
    for (const auto& [k, rows] : ports_)
      if (device.empty() || k == device) out.insert(out.end(), rows.begin(), rows.end());
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::tie(a.device, a.rule_number, a.resource, a.port) <
             std::tie(b.device, b.rule_number, b.resource, b.port);
    });
    return out;
  }

 private:
  struct StoredRun : store::Run {
    bool pruned = false;
  };
  struct StoredIntent : store::Intent {
    std::string finished_at;
    std::string outcome;
    bool pruned = false;
  };
  // Outside mu_: the hook may read the store.
  std::optional<Error> Fail(const std::string& method) {
    {
      std::lock_guard lk(calls_mu_);
      ++calls_[method];
    }
    return fail ? fail(method) : std::nullopt;
  }

  mutable std::mutex mu_;
  mutable std::mutex calls_mu_;
  std::map<std::string, int> calls_;
  int64_t data_version_ = 1;
  std::map<std::string, std::map<core::PortKey, int>> allocations_;
  std::map<std::string, std::map<int, core::AppliedRecord>> last_applied_;
  std::map<std::string, std::map<std::string, core::AppliedInterface>> interfaces_;
  std::vector<StoredRun> runs_;
  std::map<int64_t, std::vector<std::string>> operations_;
  std::map<int64_t, store::Snapshot> snapshots_;
  int64_t snapshot_seq_ = 0;
  std::vector<StoredIntent> intents_;
  std::vector<store::Event> events_;
  int64_t event_seq_ = 0;
  struct StoredNotification {
    store::Notification n;
    std::string outcome;
    std::string settled_at;
  };
  std::vector<StoredNotification> outbox_;
  int64_t notification_seq_ = 0;
  std::map<std::string, store::DeviceOverride> overrides_;
  std::map<std::string, store::DeviceStatusRow> status_;
  std::map<std::string, std::vector<store::PortStatusRow>> ports_;
};

}  // namespace nc::fakes
