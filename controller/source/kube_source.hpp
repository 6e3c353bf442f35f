// The Kubernetes source (spec 2.2): Devices, PortForwards and VlanInterfaces of one namespace,
// listed and watched (kube::Reflector), decoded with the same codec and validation as manifest
// files, into the same DesiredState. It also writes back what the loop found: each resource's
// status through /status (conditions with observedGeneration, lastTransitionTime moving only
// on a flip), the netconverge.io/finalizer on every rule resource (released once its rules are
// gone from the device), and device credentials from Secrets.
// An invalid object never deletes anything: its device's deletions are held until it is fixed.
// Events: every event of a pass (store::Event) and an invalid object become events.k8s.io/v1
// Events regarding the object. Not yet: deletionPolicy Orphan (see the README).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "controller/core/model.hpp"
#include "controller/core/validate.hpp"
#include "controller/core/values.hpp"
#include "controller/source/credentials.hpp"
#include "controller/source/kube_client.hpp"
#include "controller/store/sqlite_store.hpp"

namespace nc::source {

inline constexpr const char* kFinalizer = "netconverge.io/finalizer";

class KubeSource {
 public:
  /// `on_change` gets the device keys whose desired state changed (from a watcher thread).
  KubeSource(kube::KubeConfig config, core::ServiceTable services,
             std::function<void(const std::vector<std::string>& devices)> on_change);
  ~KubeSource();
  void Start();
  void Stop();
  /// Whether every kind has been listed once.
  bool Synced() const;
  /// Only the leader writes (finalizers, status); a standby keeps its cache warm. Default: writer.
  void SetWriter(bool writer);
  std::shared_ptr<const core::DesiredState> Desired() const;
  std::vector<api::Problem> Problems() const;
  /// Credentials from the Device's Secret (data keys apiKey, username, password, privateKey).
  Result<Credentials> SecretCredentials(const core::Device& device);
  /// After a pass over `device`: writes the status of the Device and of its resources, and
  /// releases the finalizer of resources being deleted once the pass succeeded.
  void ReportPass(const std::string& device, const store::DeviceStatusRow& row,
                  const std::vector<store::PortStatusRow>& ports, bool pass_ok);
  /// The events a pass recorded, as events.k8s.io/v1 Events regarding the Device or the resource.
  void PostEvents(const std::string& device, const std::vector<store::Event>& events);
  /// reportingInstance of the Events (the leader-election identity).
  void SetInstance(const std::string& instance) { instance_ = instance; }
  /// Told when a write to the API server fails (finalizer, status, event): what, and why. A
  /// repeated identical failure is told once, until a different one or a success.
  void SetErrorLog(std::function<void(const std::string&)> log) { error_log_ = std::move(log); }
  /// Replaces the constructor's `on_change` (before Start).
  void SetOnChange(std::function<void(const std::vector<std::string>& devices)> on_change) {
    on_change_ = std::move(on_change);
  }

 private:
  struct Kind {
    std::string kind, plural;
    std::unique_ptr<kube::Reflector> reflector;
    std::thread thread;
  };
  struct Snapshot;
  /// Reads the caches, validates, publishes the desired state and writes back what it found.
  void Rebuild();
  /// One cached object into the snapshot (decoded, or recorded as invalid).
  void Collect(const Kind& k, const std::string& ns, const std::string& name,
               const std::string& json, Snapshot& snap);
  /// Under mu_: the new desired state; returns the devices whose part of it changed.
  std::vector<std::string> Publish(const std::shared_ptr<core::DesiredState>& desired,
                                   const Snapshot& snap,
                                   std::map<std::string, std::string>& newly_invalid);
  void WriteBack(const Snapshot& snap, const std::map<std::string, std::string>& newly_invalid);
  std::string Path(const std::string& plural, const std::string& name = "") const;
  void PatchStatus(const std::string& plural, const std::string& name,
                   const std::string& json_status);
  /// A rule resource being deleted: our finalizer goes (merge patch `patch`) once a clean pass
  /// removed its objects.
  void ReleaseFinalizer(const std::string& plural, const std::string& name,
                        const std::string& resource, const std::string& patch,
                        const std::vector<store::PortStatusRow>& ports, bool pass_ok);
  /// One Event about `kind`/`ns`/`name` (uid from the cache).
  void PostEvent(const std::string& kind, const std::string& ns, const std::string& name,
                 const std::string& type, const std::string& reason, const std::string& note);
  std::string instance_ = "netconverge";

  kube::KubeConfig config_;
  core::ServiceTable services_;
  std::function<void(const std::vector<std::string>&)> on_change_;
  std::vector<Kind> kinds_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> writer_{true};
  std::thread builder_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = true;
  std::shared_ptr<const core::DesiredState> desired_ = std::make_shared<core::DesiredState>();
  std::vector<api::Problem> problems_;
  std::map<std::string, std::string> invalid_;     // "Kind/ns/name" -> problem text
  std::map<std::string, std::string> objects_;     // "Kind/ns/name" -> JSON as last seen
  std::map<std::string, std::string> signatures_;  // "Kind/ns/name" -> the object without status
  std::map<std::string, uint64_t> device_fingerprints_;
  uint64_t generation_ = 0;
  std::mutex client_mu_;
  std::function<void(const std::string&)> error_log_;
  std::string last_write_error_;  // guarded by client_mu_
  /// One write (under client_mu_, held by the caller); failures go to error_log_.
  void Write(const std::string& method, const std::string& path, const std::string& content_type,
             const std::string& body, const std::string& what);
  kube::KubeClient client_;  // writes and Secret reads, one at a time
};

}  // namespace nc::source
