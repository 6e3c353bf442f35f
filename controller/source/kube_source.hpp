// The Kubernetes source (spec 2.2): Devices, PortForwards and VlanInterfaces of one namespace,
// listed and watched (kube::Reflector), decoded with the same codec and validation as manifest
// files, into the same DesiredState. It also writes back what the loop found: each resource's
// status through /status (conditions with observedGeneration, lastTransitionTime moving only
// on a flip), the netconverge.io/finalizer on every rule resource (released once its rules are
// gone from the device), and device credentials from Secrets.
// An invalid object never deletes anything: its device's deletions are held until it is fixed.
// Events: every event of a pass (store::Event) and an invalid object become events.k8s.io/v1
// Events regarding the object.
// Writes to the API server never block a pass: they go to a queue drained by one writer thread
// through the cluster's shared rate limiter (--kube-qps/--kube-burst), and a status write replaces
// a pending one of the same object, so an object is written at most once however many passes
// came meanwhile. A Device's status is not rewritten when only lastObservedTime moved, except
// every 5 minutes (a heartbeat, not a write per poll).
// Sharded (SetShard): only the devices of this shard, their resources and their problems are
// desired, reported on and written back.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "controller/core/model.hpp"
#include "controller/core/shard.hpp"
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
  /// Only this shard's devices (before Start).
  void SetShard(core::ShardSpec shard) { shard_ = shard; }
  /// Whether every kind has been listed once.
  bool Synced() const;
  /// Only the leader writes (finalizers, status); a standby keeps its cache warm. Default: writer.
  void SetWriter(bool writer);
  std::shared_ptr<const core::DesiredState> Desired() const;
  std::vector<api::Problem> Problems() const;
  /// Credentials from the Device's Secret (data keys apiKey, username, password, privateKey).
  Result<Credentials> SecretCredentials(const core::Device& device);
  /// The API writes a call queued, and how many of them replaced a pending write.
  struct Queued {
    int writes = 0;
    int coalesced = 0;
    Queued& operator+=(const Queued& o) {
      writes += o.writes;
      coalesced += o.coalesced;
      return *this;
    }
  };
  /// After a pass over `device`: queues the status of the Device and of its resources (those
  /// that changed), and the release of the finalizer of resources being deleted once the pass
  /// succeeded.
  Queued ReportPass(const std::string& device, const store::DeviceStatusRow& row,
                    const std::vector<store::PortStatusRow>& ports, bool pass_ok);
  /// The events a pass recorded, as events.k8s.io/v1 Events regarding the Device or the resource.
  Queued PostEvents(const std::string& device, const std::vector<store::Event>& events);
  /// Blocks until every queued write was sent (or dropped), or `timeout` passed. For tests and
  /// a graceful stop.
  bool Flush(std::chrono::milliseconds timeout);
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
  /// Whether the object `id` ("Kind/ns/name") is this shard's to write about.
  bool Owned(const Snapshot& snap, const std::string& id) const;
  std::string Path(const std::string& plural, const std::string& name = "") const;
  Queued PatchStatus(const std::string& plural, const std::string& name,
                     const std::string& json_status);
  /// A rule resource being deleted: our finalizer goes (merge patch `patch`) once a clean pass
  /// removed its objects.
  Queued ReleaseFinalizer(const std::string& plural, const std::string& name,
                          const std::string& resource, const std::string& patch,
                          const std::vector<store::PortStatusRow>& ports, bool pass_ok);
  /// One Event about `kind`/`ns`/`name` (uid from the cache).
  Queued PostEvent(const std::string& kind, const std::string& ns, const std::string& name,
                   const std::string& type, const std::string& reason, const std::string& note);
  /// The Device's status, unless only its lastObservedTime moved within the heartbeat.
  Queued ReportDevice(const std::string& device, const std::string& json,
                      const store::DeviceStatusRow& row);
  std::string instance_ = "netconverge";
  core::ShardSpec shard_;

  struct PendingWrite {
    std::string method, path, content_type, body, what;
  };
  /// Queues a write for the writer thread; with `coalesce` it replaces a pending write to the
  /// same path (a status). Nothing is queued on a standby.
  Queued Enqueue(PendingWrite w, bool coalesce);
  /// The writer thread: sends queued writes in order until stopped.
  void DrainWrites();

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
  /// Device key -> the "Kind/ns/name" of its PortForwards and VlanInterfaces.
  std::map<std::string, std::vector<std::string>> by_device_;
  /// "Kind/ns/name" -> when our finalizer was asked for (the builder thread's).
  std::map<std::string, std::chrono::steady_clock::time_point> finalizer_asked_;
  /// Device key -> when its status was last queued (the heartbeat of lastObservedTime).
  std::map<std::string, std::chrono::steady_clock::time_point> device_status_at_;
  uint64_t generation_ = 0;
  std::mutex client_mu_;
  std::function<void(const std::string&)> error_log_;
  std::string last_write_error_;  // the writer thread's
  /// One write (the writer thread's); failures go to error_log_.
  void Write(const PendingWrite& w);
  kube::KubeClient client_;        // Secret reads, one at a time (client_mu_)
  kube::KubeClient write_client_;  // the writer thread's

  std::mutex write_mu_;
  std::condition_variable write_cv_;
  std::deque<std::string> write_order_;          // keys of pending_, oldest first
  std::map<std::string, PendingWrite> pending_;  // by path (status) or a sequence number
  uint64_t write_seq_ = 0;
  int writing_ = 0;  // writes taken from the queue and not yet done
  bool writes_stop_ = false;
  std::thread write_thread_;
};

}  // namespace nc::source
