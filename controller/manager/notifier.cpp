#include "controller/manager/notifier.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "controller/reconcilers/notify.hpp"
#include "controller/runtime/clock.hpp"

namespace nc::manager {

Result<std::vector<Webhook>> ParseWebhooks(const std::vector<std::string>& urls) {
  std::vector<Webhook> out;
  for (size_t i = 0; i < urls.size(); ++i) {
    const std::string& url = urls[i];
    const std::string which = "--notify-webhook #" + std::to_string(i + 1);
    constexpr std::string_view kScheme = "https://";
    if (url.rfind(kScheme, 0) != 0)
      return MakeError(ErrorCode::kInvalidArgument,
                       which +
                           ": must be an https:// URL (notifications are sent over HTTPS with "
                           "the receiver's certificate verified)");
    const std::string rest = url.substr(kScheme.size());
    const auto slash = rest.find_first_of("/?");
    const std::string authority = rest.substr(0, slash);
    if (authority.empty() || authority.find('@') != std::string::npos)
      return MakeError(ErrorCode::kInvalidArgument,
                       which + ": needs a host (and no user:password@ part)");
    auto hp = transport::SplitHostPort(authority, 443);
    if (!hp) return MakeError(ErrorCode::kInvalidArgument, which + ": " + hp.error().message);
    Webhook w;
    w.url = url;
    w.id = reconcilers::WebhookId(url);
    w.host = hp->first;
    w.port = hp->second;
    w.target = slash == std::string::npos ? "/" : rest.substr(slash);
    if (w.target.front() == '?') w.target.insert(0, "/");
    for (char c : w.target)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
        return MakeError(ErrorCode::kInvalidArgument,
                         which + ": the path has a space or a control character");
    if (std::any_of(out.begin(), out.end(), [&](const Webhook& o) { return o.id == w.id; }))
      return MakeError(ErrorCode::kInvalidArgument, which + ": given twice");
    out.push_back(std::move(w));
  }
  return out;
}

std::string SignatureHeader(const std::string& secret, const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), md, &len);
  std::string out = "sha256=";
  char b[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    out += b;
  }
  return out;
}

Notifier::Notifier(store::Store& store, NotifierOptions options, metrics::Metrics& metrics,
                   std::shared_ptr<spdlog::logger> log)
    : store_(store), options_(std::move(options)), metrics_(metrics), log_(std::move(log)) {
  if (auto pending = store_.PendingNotifications()) metrics_.SetNotificationsPending(*pending);
  thread_ = std::thread([this] {
    std::unique_lock lk(mu_);
    while (!stop_) {
      lk.unlock();
      DeliverDue();
      lk.lock();
      cv_.wait_for(lk, options_.tick, [this] { return stop_; });
    }
  });
}

Notifier::~Notifier() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int Notifier::DeliverDue() {
  const std::string now = runtime::FormatUtc(std::chrono::system_clock::now());
  auto due = store_.DueNotifications(now, 100);
  if (!due) {
    log_->warn("notifications: cannot read the outbox: {}", due.error().message);
    return 0;
  }
  int delivered = 0;
  for (const auto& n : *due) {
    {
      std::lock_guard lk(mu_);
      if (stop_) break;
    }
    delivered += Deliver(n) ? 1 : 0;
  }
  if (auto pending = store_.PendingNotifications()) metrics_.SetNotificationsPending(*pending);
  return delivered;
}

transport::HttpsClient* Notifier::ClientFor(const Webhook& w, std::string* error) {
  auto& c = clients_[w.id];
  if (!c) {
    transport::HttpsClientOptions o;
    o.host = w.host;
    o.port = w.port;
    o.ca_file = options_.ca_file;
    o.user_agent = options_.user_agent.empty() ? transport::kUserAgent : options_.user_agent;
    o.connect_timeout = options_.timeout;
    o.request_timeout = options_.timeout;
    o.max_response_bytes = 64 << 10;
    auto made = transport::HttpsClient::Create(o);
    if (!made) {
      *error = made.error().message;
      clients_.erase(w.id);
      return nullptr;
    }
    c = std::move(*made);
  }
  return c.get();
}

std::chrono::milliseconds Notifier::Backoff(int attempts) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  int64_t ms = 5000;
  for (int i = 0; i < attempts && ms < 600'000; ++i) ms *= 2;
  ms = std::min<int64_t>(ms, 600'000);
  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(ms) * jitter(rng)));
}

bool Notifier::Deliver(const store::Notification& n) {
  const auto now = [] { return runtime::FormatUtc(std::chrono::system_clock::now()); };
  auto settle = [&](const char* outcome, const std::string& why) {
    if (auto st = store_.SettleNotification(n.id, outcome, now()); !st)
      log_->warn("notification {}: cannot record it {}: {}", n.id, outcome, st.error().message);
    metrics_.ObserveNotification(n.reason, outcome);
    log_->warn("notification {} ({} device={}) {}: {}", n.id, n.reason, n.device, outcome, why);
  };
  auto w = std::find_if(options_.webhooks.begin(), options_.webhooks.end(),
                        [&](const Webhook& x) { return x.id == n.webhook; });
  if (w == options_.webhooks.end()) {
    settle("dropped", "its webhook (id " + n.webhook + ") is no longer configured");
    return false;
  }
  if (n.reason == "Unreachable") {
    // Sent only if the device is still unreachable once the delay has passed.
    if (auto rows = store_.DeviceStatuses())
      for (const auto& r : *rows)
        if (r.device == n.device && r.reachable) {
          settle("dropped", "the device answers again");
          return false;
        }
  }
  std::string error;
  auto* client = ClientFor(*w, &error);
  if (client) {
    const transport::HttpsClient::Headers headers = {
        {"X-Netconverge-Signature", SignatureHeader(options_.secret, n.body)},
        {"X-Netconverge-Delivery", std::to_string(n.id)},
        {"X-Netconverge-Event", n.reason}};
    auto res = client->Post(w->target, "application/json", n.body, headers, options_.timeout);
    if (res && res->status >= 200 && res->status < 300) {
      if (auto st = store_.SettleNotification(n.id, "delivered", now()); !st)
        log_->warn("notification {}: delivered, but cannot record it (it may be sent again): {}",
                   n.id, st.error().message);
      metrics_.ObserveNotification(n.reason, "delivered");
      log_->info("notification {} ({} device={}) delivered to webhook {} ({}), attempt {}", n.id,
                 n.reason, n.device, w->id, w->host, n.attempts + 1);
      return true;
    }
    error = res ? "HTTP " + std::to_string(res->status) : res.error().message;
  }
  const auto delay = Backoff(n.attempts);
  const auto next = runtime::FormatUtc(std::chrono::system_clock::now() + delay);
  if (auto st = store_.RetryNotification(n.id, next, error); !st)
    log_->warn("notification {}: cannot record the failed attempt: {}", n.id, st.error().message);
  metrics_.ObserveNotification(n.reason, "failed");
  log_->warn(
      "notification {} ({} device={}) to webhook {} ({}) failed, attempt {}: {}; next in {} s",
      n.id, n.reason, n.device, w->id, w->host, n.attempts + 1, error, delay.count() / 1000);
  return false;
}

}  // namespace nc::manager
