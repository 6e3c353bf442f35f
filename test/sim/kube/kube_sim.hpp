// kube-sim: a Kubernetes API server emulator, complete enough for netconverge's Kubernetes
// source and for the real kubectl v1.32 (research/kubernetes.md 2.6): aggregated discovery,
// OpenAPI v3 with the fieldValidation check, CRUD with one global resourceVersion counter,
// generation, merge-patch (RFC 7386) and apply-patch, the status subresource, finalizers and
// deletionTimestamp, watch with resourceVersion, bookmarks and a bounded history (410 Expired as
// an ERROR event), server-side Table rendering of the CRDs' printer columns, Status errors,
// schema validation with fieldValidation Strict/Warn/Ignore and defaults, bearer-token auth.
// CRDs are loaded from YAML at start; Secrets, ConfigMaps, Leases and Events are built in.
// Test control (authenticated): POST /_sim/drop-watches, POST /_sim/compact.
// Not emulated: CEL rules (x-kubernetes-validations), json-patch (415), server-side apply field
// ownership (apply-patch merges), pagination (limit is ignored, as the API allows).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "test/sim/common/https_server.hpp"
#include "test/sim/common/sim_result.hpp"

namespace nc::sim {

struct KubeSimOptions {
  std::string token = "netconverge-kube-sim-token";  // the one accepted bearer token
  size_t history = 1000;  // watch events kept; older resourceVersions get 410
  int bookmark_interval_ms = 60'000;
  /// Every API request as one line "VERB GROUP RESOURCE[/SUBRESOURCE] NAMESPACE CLIENT NAME TIME"
  /// (RBAC's terms: get, list, watch, create, update, patch, delete; group "" for core; the
  /// client is the User-Agent's first word; NAME "-" for a collection; TIME in seconds since the
  /// epoch, to the microsecond), appended here.
  std::string audit_log;
};

/// Standard base64 with padding (Secret data, kubeconfig certificate data).
std::string Base64(const std::string& in);

class KubeSim {
 public:
  explicit KubeSim(KubeSimOptions options = {});
  ~KubeSim();
  /// Adds the CRDs in a YAML file (one or more documents). kInvalidArgument names the problem.
  Status LoadCrds(const std::string& yaml_text, const std::string& file);
  HttpReply Handle(const HttpRequest& request);
  /// Ends every open watch now (a dropped connection).
  void DropWatches();
  /// Forgets the watch history: a watch from an older resourceVersion gets 410 Expired.
  void Compact();
  /// While paused, new watch requests wait before they are served (a slow or partitioned server).
  void PauseWatches(bool paused);
  /// RBAC as a missing rule: requests with RBAC verb `verb` ("get", "patch", ...) on `resource`
  /// ("devices", "devices/status", "events") answer 403 Forbidden the way the API server's
  /// authorizer does, until Allow. Audited like any request.
  void Deny(const std::string& verb, const std::string& resource);
  void Allow(const std::string& verb, const std::string& resource);
  /// Stops every watch for good (server shutdown).
  void Shutdown();
  /// The stored object as JSON, or empty.
  std::string Get(const std::string& group, const std::string& plural, const std::string& ns,
                  const std::string& name);
  int64_t ResourceVersion();
  int64_t Requests();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nc::sim
