// The notifier (issue 16): POSTs the notifications of the store's outbox to the webhooks
// (--notify-webhook), each signed with HMAC-SHA256 of its body (X-Netconverge-Signature:
// sha256=<hex>, the secret from --notify-secret-file), over HTTPS with certificate verification,
// and retries a refused or failed delivery with backoff (5 s doubling to 10 min) until the
// webhook accepts it (any 2xx). The outbox is in the store, so a restart loses nothing: what was
// pending is sent by the next process. A webhook's URL is never logged (Slack's and Teams' URLs
// are themselves secrets): the log names its host and id.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controller/core/result.hpp"
#include "controller/metrics/metrics.hpp"
#include "controller/store/store.hpp"
#include "transport/http/https_client.hpp"

namespace nc::manager {

struct Webhook {
  std::string id;    // reconcilers::WebhookId(url): what the outbox rows name
  std::string host;  // for the log
  int port = 443;
  std::string target;  // path and query
  std::string url;     // never logged
};

/// --notify-webhook values: https://host[:port]/path[?query]. Errors name the option's position,
/// not the URL.
Result<std::vector<Webhook>> ParseWebhooks(const std::vector<std::string>& urls);

struct NotifierOptions {
  std::vector<Webhook> webhooks;
  std::string secret;   // the HMAC key
  std::string ca_file;  // empty: the system's trust store
  std::string user_agent;
  std::chrono::milliseconds timeout{10000};  // one delivery attempt, connect to answer
  std::chrono::milliseconds tick{1000};      // how often the outbox is looked at
};

/// "sha256=" and the hex HMAC-SHA256 of `body` under `secret`: X-Netconverge-Signature.
std::string SignatureHeader(const std::string& secret, const std::string& body);

class Notifier {
 public:
  Notifier(store::Store& store, NotifierOptions options, metrics::Metrics& metrics,
           std::shared_ptr<spdlog::logger> log);
  ~Notifier();  // stops after the delivery in flight (each bounded by the timeout)
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  /// One round: every due notification, attempted once. Returns how many were delivered.
  int DeliverDue();

 private:
  bool Deliver(const store::Notification& n);  // true: delivered
  std::chrono::milliseconds Backoff(int attempts);
  transport::HttpsClient* ClientFor(const Webhook& w, std::string* error);

  store::Store& store_;
  NotifierOptions options_;
  metrics::Metrics& metrics_;
  std::shared_ptr<spdlog::logger> log_;
  std::map<std::string, std::unique_ptr<transport::HttpsClient>> clients_;  // by webhook id
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace nc::manager
