// `make bench-store`: how big the SQLite store grows, with the default retention (720 h, pruned
// hourly) and the default snapshot limit (50 per device), written through the store's own
// interface with the calls a pass makes (run, snapshot and intent, applied records, status,
// events, the operations sent) and simulated clocks. Two fleets (docs/benchmarks.md "Store"):
//  A. one router of 10,000 rules: 1,000 applying passes a minute apart, the first creating every
//     rule, each later one changing 10 (every pass takes a snapshot of all 10,000 rules);
//  B. 1,000 routers of 20 rules polled every 30 s for 30 days (then 30 more, to show the
//     plateau): one applying pass per router per day (a change or a drift repaired), every other
//     poll quiet. A sample of real quiet polls is written and measured (they update a row in
//     place); the rest of each day's 2,880 polls per router are counted, not written.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "controller/store/sqlite_store.hpp"

using namespace nc;
namespace fs = std::filesystem;

namespace {

/// ISO time `seconds` after 2026-01-01T00:00:00Z.
std::string At(int64_t seconds) {
  std::time_t t = 1767225600 + seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

core::NatRule Rule(int n, int version) {
  core::NatRule r;
  r.description = "VM vm" + std::to_string(n) + " Port ssh [netconverge:default/vm" +
                  std::to_string(n) + "/ssh]";
  r.inbound_interface = "eth0";
  r.protocol = "tcp";
  r.destination_port = std::to_string(20000 + n);
  r.translation_address = "10." + std::to_string(n / 250 % 250) + "." + std::to_string(n % 250) +
                          "." + std::to_string(10 + version % 200);
  r.translation_port = "22";
  return r;
}

std::vector<std::string> Ops(int n, const core::NatRule& r) {
  const std::string p = "set nat destination rule " + std::to_string(n) + " ";
  return {p + "description '" + r.description + "'",
          p + "inbound-interface name '" + r.inbound_interface + "'",
          p + "protocol '" + r.protocol + "'",
          p + "destination port '" + r.destination_port + "'",
          p + "translation address '" + r.translation_address + "'",
          p + "translation port '" + r.translation_port + "'"};
}

struct Router {
  std::string key;
  int first = 10000;  // first rule number
  int rules = 0;
  std::map<int, core::NatRule> on_device;
  int version = 0;
};

/// One applying pass that changes `changed` rules of `r` (all of them the first time), recorded
/// as the reconciler records one.
bool ApplyingPass(store::SqliteStore& st, Router& r, int changed, int64_t now_s) {
  const std::string now = At(now_s);
  auto run = st.BeginRun(r.key, r.version == 0 ? "startup" : "manifest-change", now);
  if (!run) return false;
  store::Snapshot snap{0, r.key, now, *run, r.on_device, {}};
  ++r.version;
  core::OpLog ops;
  store::AppliedUpdate u;
  std::vector<store::Event> events;
  std::vector<store::PortStatusRow> ports;
  const int count = r.on_device.empty() ? r.rules : changed;
  std::map<int, core::AppliedRecord> records;  // the update points into these
  for (int i = 0; i < count; ++i) {
    const int idx = r.on_device.empty() ? i : (r.version * 7 + i) % r.rules;
    const int n = r.first + idx;
    auto rule = Rule(idx, r.version);
    for (const auto& o : Ops(n, rule)) ops.push_back(o);
    const auto& rec = records[n] =
        core::AppliedRecord{"default/vm" + std::to_string(idx), "ssh", rule};
    u.upserts[n] = store::AppliedRef{rec.resource, rec.port, &rec.rule};
    events.push_back({0, now, r.key, "default/vm" + std::to_string(idx), "Normal", "Applied",
                      "rule " + std::to_string(n) + " applied", *run});
  }
  auto intent = st.BeginIntent(snap, count, ops);
  if (!intent) return false;
  for (const auto& [n, rec] : records) r.on_device[n] = rec.rule;
  for (const auto& [n, rec] : r.on_device) {
    u.on_device.insert(n);
    ports.push_back({r.key, "default/vm" + std::to_string(n - r.first), "ssh",
                     "VM vm" + std::to_string(n - r.first) + " Port ssh", n, "Applied", "", now,
                     now});
  }
  if (!st.FinishIntent(intent->id, "Success", now)) return false;
  if (!st.RecordApplied(r.key, u, now)) return false;
  store::DeviceStatusRow d;
  d.device = r.key;
  d.reachable = d.synced = true;
  d.transport = "https";
  d.last_observed_at = d.last_applied_at = d.updated_at = now;
  d.managed = static_cast<int>(r.on_device.size());
  d.last_run_id = *run;
  if (!st.SaveStatus(d, &ports)) return false;
  if (!st.AddEvents(events)) return false;
  return static_cast<bool>(st.FinishRun({*run, r.key, "manifest-change", now, now, "Success", "",
                                         count, 1, 900, count, 0, 0, "https-api", "controller", 0},
                                        ops));
}

double MiB(const std::string& path) {
  return static_cast<double>(fs::file_size(path)) / (1 << 20);
}

/// Closes the store (the WAL folds into the file) and reopens it.
void Reopen(std::unique_ptr<store::SqliteStore>& st, const std::string& path) {
  st.reset();
  auto s = store::SqliteStore::Open(path, store::SqliteStore::OpenMode::kRequireCurrent);
  if (!s) {
    std::fprintf(stderr, "store-bench: %s\n", s.error().message.c_str());
    std::exit(1);
  }
  st = std::move(*s);
}

void Prune(store::SqliteStore& st, int64_t now_s, int64_t retention_s) {
  if (auto n = st.Prune(At(now_s - retention_s)); !n) {
    std::fprintf(stderr, "store-bench: prune: %s\n", n.error().message.c_str());
    std::exit(1);
  }
}

int OneBigRouter(const std::string& dir, int passes) {
  const std::string path = dir + "/one-router.db";
  for (const char* s : {"", "-wal", "-shm"}) fs::remove(path + s);
  std::unique_ptr<store::SqliteStore> st;
  Reopen(st, path);
  Router r{"default/edge1", 10000, 10000, {}, 0};
  std::printf("| passes | store file | kept |\n| --- | --- | --- |\n");
  for (int p = 1; p <= passes; ++p) {
    if (!ApplyingPass(*st, r, 10, int64_t{p} * 60)) return 1;
    if (p % 60 == 0) Prune(*st, int64_t{p} * 60, 720 * 3600);  // hourly, as the daemon does
    if (p == 1 || p == 50 || p == 100 || p == passes) {
      Reopen(st, path);
      std::printf("| %d | %.1f MiB | %zu snapshots of 10,000 rules, %zu runs |\n", p, MiB(path),
                  st->Snapshots(r.key, 1'000'000)->size(), st->Runs(r.key, 1'000'000)->size());
    }
  }
  return 0;
}

int Fleet(const std::string& dir, int routers, int days, int quiet_sample) {
  const std::string path = dir + "/fleet.db";
  for (const char* s : {"", "-wal", "-shm"}) fs::remove(path + s);
  std::unique_ptr<store::SqliteStore> st;
  Reopen(st, path);
  std::vector<Router> fleet;
  for (int i = 0; i < routers; ++i)
    fleet.push_back({"default/r" + std::to_string(i), 10000, 20, {}, 0});
  for (auto& r : fleet)
    if (!ApplyingPass(*st, r, 20, 0)) return 1;
  Reopen(st, path);
  const double start = MiB(path);
  // A sample of real quiet polls: a row updated in place each.
  const auto t0 = std::chrono::steady_clock::now();
  for (int q = 0; q < quiet_sample; ++q) {
    auto& r = fleet[q % fleet.size()];
    if (!st->RecordQuietPass(r.key, At(30 + q / routers * 30), At(30 + q / routers * 30))) return 1;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Reopen(st, path);
  std::printf("quiet polls: %d written in %.1f s, the file %.2f MiB before and %.2f MiB after\n\n",
              quiet_sample, secs, start, MiB(path));
  std::printf("| day | store file | runs kept | polls simulated |\n| --- | --- | --- | --- |\n");
  const int64_t day = 24 * 3600;
  for (int d = 1; d <= days; ++d) {
    // One applying pass per router per day, spread over the day; hourly retention.
    for (int h = 0; h < 24; ++h) {
      for (size_t i = h; i < fleet.size(); i += 24)
        if (!ApplyingPass(*st, fleet[i], 1, int64_t{d - 1} * day + h * 3600 + 60)) return 1;
      Prune(*st, int64_t{d - 1} * day + (h + 1) * 3600, 720 * 3600);
    }
    if (d == 1 || d % 10 == 0) {
      Reopen(st, path);
      std::printf("| %d | %.1f MiB | %zu | %lld |\n", d, MiB(path),
                  st->Runs("", 100'000'000)->size(),
                  static_cast<long long>(int64_t{d} * 2880 * routers));
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"netconverge store size benchmark (docs/benchmarks.md \"Store\")"};
  std::string dir = fs::temp_directory_path().string();
  int passes = 1000, routers = 1000, days = 60, quiet = 20000;
  app.add_option("--dir", dir, "where the store files are written")->capture_default_str();
  app.add_option("--passes", passes, "A: applying passes over one 10,000-rule router")
      ->capture_default_str();
  app.add_option("--routers", routers, "B: routers of 20 rules")->capture_default_str();
  app.add_option("--days", days, "B: simulated days")->capture_default_str();
  app.add_option("--quiet-sample", quiet, "B: quiet polls actually written")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::printf("## A. one router, 10,000 rules, %d applying passes (10 rules changed each)\n\n",
              passes);
  if (int rc = OneBigRouter(dir, passes); rc) return rc;
  std::printf("\n## B. %d routers x 20 rules, 30 s polls, one applying pass per router a day\n\n",
              routers);
  return Fleet(dir, routers, days, quiet);
}
