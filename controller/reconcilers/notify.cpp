#include "controller/reconcilers/notify.hpp"

#include <openssl/sha.h>

#include <cstdio>

#include "controller/core/json_writer.hpp"

namespace nc::reconcilers {

std::string WebhookId(const std::string& url) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(url.data()), url.size(), md);
  std::string hex;
  char b[3];
  for (int i = 0; i < 8; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

std::string NotificationBody(const store::Event& e, const std::string& source) {
  const bool critical = e.reason == "RollbackFailed" || e.reason == "Unreachable";
  std::string text = "netconverge " + e.reason + " on " + e.device;
  if (!e.resource.empty()) text += " (" + e.resource + ")";
  text += ": " + e.message;
  core::JsonWriter w;
  w.Object()
      .Str("apiVersion", "netconverge.io/v1alpha1")
      .Str("kind", "Notification")
      .Str("reason", e.reason)
      .Str("type", e.type)
      .Str("severity", critical ? "critical" : "warning")
      .Str("device", e.device)
      .StrOrNull("resource", e.resource)
      .Str("message", e.message)
      .Str("time", e.time)
      .Num("runId", e.run_id)
      .Str("source", source)
      .Str("text", text)
      .End();
  return w.str();
}

std::vector<store::Notification> NotificationsFor(const NotifyPolicy& policy,
                                                  const std::vector<store::Event>& events,
                                                  const std::string& now,
                                                  const std::string& delayed) {
  std::vector<store::Notification> out;
  if (!policy.enabled()) return out;
  for (const auto& e : events) {
    if (!policy.reasons.count(e.reason)) continue;
    const std::string body = NotificationBody(e, policy.source);
    for (const auto& webhook : policy.webhooks) {
      store::Notification n;
      n.webhook = webhook;
      n.device = e.device;
      n.reason = e.reason;
      n.key = e.resource + "|" + e.message;
      n.body = body;
      n.created_at = now;
      n.next_attempt_at = e.reason == "Unreachable" ? delayed : now;
      out.push_back(std::move(n));
    }
  }
  return out;
}

}  // namespace nc::reconcilers
