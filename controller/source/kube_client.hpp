// Talking to a Kubernetes API server: connection settings from a kubeconfig or the in-cluster
// service account (research/kubernetes.md 3), requests with the bearer token (a token file is
// re-read every 60 s and after a 401, as client-go does), and client-go's Reflector for one
// resource: list, then watch from the list's resourceVersion with bookmarks; a dropped watch
// resumes from the last resourceVersion seen; 410 Expired re-lists and reconciles the cache, so
// that no change is missed and none is delivered twice.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include "controller/runtime/stop_signal.hpp"

#include "controller/core/result.hpp"
#include "transport/http/https_client.hpp"

namespace nc::kube {

/// client-go's token bucket (flowcontrol.NewTokenBucketRateLimiter): up to `burst` requests at
/// once, then `qps` a second. Wait reserves the next token and sleeps until it is due, so
/// waiters go in the order they came. qps <= 0: no limit. Thread-safe.
class RateLimiter {
 public:
  RateLimiter(double qps, int burst);
  /// Blocks until the request may go; returns how long it waited.
  std::chrono::nanoseconds Wait();
  double qps() const { return qps_; }
  int burst() const { return static_cast<int>(burst_); }

 private:
  const double qps_;
  const double burst_;
  std::mutex mu_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

/// What every client of one cluster shares (like one client-go rest.Config): the rate limiter
/// and an observer told of every request (verb, HTTP status or 0 for a transport error, seconds
/// spent waiting for the limiter). Set both before the first client sends anything.
struct ClientShared {
  std::shared_ptr<RateLimiter> limiter;  // null: unlimited
  std::function<void(const std::string& method, int status, double throttled_seconds)> observe;
};

struct KubeConfig {
  std::string host;
  int port = 443;
  std::string ca_pem;
  std::string token;       // a static token, or
  std::string token_file;  // a file re-read every 60 s (in-cluster)
  std::string ns = "default";
  /// Shared by every copy of this config (null: no limit, nothing observed).
  std::shared_ptr<ClientShared> shared;
  /// The User-Agent of this process's requests (the first word names the program).
  std::string user_agent = transport::kUserAgent;
};

/// Reads the current context of a kubeconfig file (server, certificate-authority(-data), token
/// or tokenFile, namespace). Errors name the file and the field.
Result<KubeConfig> LoadKubeconfig(const std::string& path);
/// KUBERNETES_SERVICE_HOST/PORT and
/// /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}.
Result<KubeConfig> InClusterConfig();

class KubeClient {
 public:
  explicit KubeClient(KubeConfig config);
  /// One request (not thread-safe: one KubeClient per thread). kUnavailable / kDeadlineExceeded
  /// from the transport; HTTP errors come back as responses (Status bodies).
  Result<transport::HttpResponse> Request(
      const std::string& method, const std::string& path, const std::string& content_type = "",
      const std::string& body = "", std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// A streamed GET (a watch); see HttpsClient::Stream.
  Result<int> Stream(const std::string& path, std::chrono::milliseconds timeout,
                     const std::function<bool(std::string_view)>& on_data);
  void Cancel();
  const KubeConfig& config() const { return config_; }
  /// Waits for the rate limiter now, for the next Request (which then does not wait again): a
  /// caller that picks what to send only once it may send (the newest status).
  void WaitTurn();

 private:
  double turn_waited_ = -1;  // WaitTurn's wait, for the next Request (-1: none taken)
  std::string Authorization();
  /// Waits for the shared rate limiter; returns the seconds waited.
  double Throttle();
  void Observe(const std::string& method, int status, double throttled);
  KubeConfig config_;
  std::unique_ptr<transport::HttpTransport> http_;
  std::mutex token_mu_;
  std::string token_;
  std::chrono::steady_clock::time_point token_read_{};
};

/// client-go's Reflector for one resource collection path
/// ("/apis/netconverge.io/v1alpha1/namespaces/default/portforwards").
class Reflector {
 public:
  struct Object {
    std::string ns, name, json;
    std::string resource_version;
  };
  /// type: ADDED, MODIFIED or DELETED; called from Run's thread.
  using Handler = std::function<void(const std::string& type, const Object& object)>;
  struct Stats {
    int lists = 0;
    int watches = 0;
    int relists_after_expired = 0;
    int resumed_watches = 0;  // watches that continued from a resourceVersion after a drop
    int bookmarks = 0;
  };

  Reflector(KubeConfig config, std::string path, Handler handler, int watch_timeout_s = 300);
  /// Lists and watches until Stop(); retries with backoff on errors.
  void Run();
  void Stop();
  /// Whether the first list has been delivered.
  bool Synced() const { return synced_.load(); }
  std::map<std::pair<std::string, std::string>, Object> Cache();
  Stats stats();

 private:
  Status List();
  Status Watch();

  KubeClient client_;
  std::string path_;
  Handler handler_;
  int watch_timeout_s_;
  runtime::StopSignal stop_;
  std::atomic<bool> synced_{false};
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Object> cache_;
  std::string last_rv_;
  bool expired_ = false;
  Stats stats_;
};

/// The current time as a Kubernetes MicroTime ("2026-11-22T07:00:00.123456Z").
std::string MicroTimeNow();

}  // namespace nc::kube
