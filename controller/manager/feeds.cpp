#include "controller/manager/feeds.hpp"

#include "controller/runtime/memory.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace nc::manager {

void DirectoryFeed::Start(Enqueue enqueue) {
  enqueue_ = std::move(enqueue);
  Reload();
  watcher_ = std::thread([this] {
    while (!stop_.WaitFor(std::chrono::milliseconds(watch_ms_))) Reload();
  });
}

void DirectoryFeed::Stop() {
  stop_.Stop();
  if (watcher_.joinable()) watcher_.join();
}

std::string DirectoryFeed::Describe() const {
  return "manifests=" + source_.dir() +
         " devices=" + std::to_string(source_.Desired()->devices.size());
}

void DirectoryFeed::Reload() {
  auto report = source_.Reload();
  const bool first = !loaded_ && report.settling.empty();
  if (report.settling.empty()) loaded_ = true;
  if (!report.settling.empty())
    log_->debug("manifest: {} changed moments ago; taken once it is left alone", report.settling);
  if (report.problems != last_problems_) {
    for (const auto& p : report.problems) log_->error("manifest: {}", p.ToString());
    for (const auto& f : report.kept_files)
      log_->warn("manifest: {} is not used as it is now; its previous good content stays in force",
                 f);
    auto d = source_.Desired();
    if (!d->held_deletes_all.empty())
      log_->warn("deletions held on every device: {}", d->held_deletes_all);
    last_problems_ = report.problems;
  }
  for (const auto& key : report.changed_devices)
    enqueue_(key, first ? "startup" : "manifest-change");
  if (report.changed) runtime::ReleaseFreedMemory();  // the decoded manifests are gone
}

void KubeFeed::Start(Enqueue enqueue) {
  source_.SetOnChange([enqueue = std::move(enqueue)](const std::vector<std::string>& devices) {
    for (const auto& d : devices) enqueue(d, "kube-change");
  });
  source_.SetErrorLog([log = log_](const std::string& why) { log->warn("kube: {}", why); });
  source_.Start();
}

Feed::Writes KubeFeed::Passed(const std::string& device, const reconcilers::DeviceResult& r) {
  source::KubeSource::Queued q;
  if (r.device_row)
    if (auto ports = store_.PortStatuses(device))
      q += source_.ReportPass(device, *r.device_row, *ports, !r.error);
  q += source_.PostEvents(device, r.events);
  return {q.writes, q.coalesced};
}

std::string KubeFeed::Describe() const {
  return "kube https://" + config_.host + ":" + std::to_string(config_.port) +
         " namespace=" + config_.ns;
}

}  // namespace nc::manager
