// The two feeds of the manager: a manifests directory re-read on a timer, and the Kubernetes
// API (reflectors; status, Events and finalizers written back after each pass).
#pragma once

#include <spdlog/logger.h>
#include "controller/runtime/stop_signal.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controller/manager/manager.hpp"
#include "controller/source/directory_source.hpp"
#include "controller/source/kube_source.hpp"

namespace nc::manager {

/// A manifests directory, re-read every `watch_ms`; problems are logged when they change.
class DirectoryFeed final : public Feed {
 public:
  DirectoryFeed(source::DirectorySource& source, int watch_ms, std::shared_ptr<spdlog::logger> log)
      : source_(source), watch_ms_(watch_ms), log_(std::move(log)) {}
  ~DirectoryFeed() override { Stop(); }
  std::shared_ptr<const core::DesiredState> Desired() const override { return source_.Desired(); }
  bool Synced() const override { return true; }  // the first read is done in Start
  void Start(Enqueue enqueue) override;
  void Stop() override;
  std::string Describe() const override;

 private:
  void Reload();

  source::DirectorySource& source_;
  const int watch_ms_;
  std::shared_ptr<spdlog::logger> log_;
  Enqueue enqueue_;
  std::vector<api::Problem> last_problems_;
  bool loaded_ = false;
  runtime::StopSignal stop_;
  std::thread watcher_;
};

/// The Kubernetes API through source::KubeSource; after each pass the device's store rows
/// become status and its events Events.
class KubeFeed final : public Feed {
 public:
  KubeFeed(source::KubeSource& source, store::Store& store, kube::KubeConfig config,
           std::shared_ptr<spdlog::logger> log)
      : source_(source), store_(store), config_(std::move(config)), log_(std::move(log)) {}
  std::shared_ptr<const core::DesiredState> Desired() const override { return source_.Desired(); }
  bool Synced() const override { return source_.Synced(); }
  void Start(Enqueue enqueue) override;
  void Stop() override { source_.Stop(); }
  Writes Passed(const std::string& device, const reconcilers::DeviceResult& r) override;
  void SetWriter(bool writer) override { source_.SetWriter(writer); }
  void SetInstance(const std::string& instance) override { source_.SetInstance(instance); }
  std::string Describe() const override;

 private:
  source::KubeSource& source_;
  store::Store& store_;
  const kube::KubeConfig config_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace nc::manager
