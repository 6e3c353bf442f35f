// Notifications (issue 16): which events are announced to webhooks and the JSON document each is
// announced with. The reconciler queues them in the store's outbox in the transaction of their
// events; the daemon's notifier (manager/notifier) POSTs them, signed, until accepted.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "controller/store/store.hpp"

namespace nc::reconcilers {

/// The reasons notified unless --notify-reasons says otherwise: what needs a person.
inline const char* const kDefaultNotifyReasons =
    "ConflictDetected,DeviceRejected,DriftDetected,RollbackFailed,Unreachable";

struct NotifyPolicy {
  std::vector<std::string> webhooks;  // the webhooks' ids (WebhookId), one notification each
  std::set<std::string> reasons;      // event reasons that are notified
  /// An Unreachable notification waits this long and is dropped if the device answers by then:
  /// a device unreachable for long, not every failed poll.
  std::chrono::milliseconds unreachable_after{std::chrono::minutes(10)};
  std::string source;  // this process (host or pod), in the body
  bool enabled() const { return !webhooks.empty(); }
};

/// A webhook's id in the store: the first 16 hex digits of its URL's SHA-256 (the URL of a Slack
/// or Teams webhook is itself the secret, so it is never stored or logged).
std::string WebhookId(const std::string& url);

/// The document POSTed for `e`: apiVersion, kind Notification, reason, type, severity (critical
/// for RollbackFailed and Unreachable, else warning), device, resource, message, time, runId,
/// source, and `text` (one line, which Slack and Mattermost incoming webhooks display).
std::string NotificationBody(const store::Event& e, const std::string& source);

/// The notifications for the events `policy` announces, one per webhook; `now` is the ISO time
/// they are due, `delayed` the due time of an Unreachable one.
std::vector<store::Notification> NotificationsFor(const NotifyPolicy& policy,
                                                  const std::vector<store::Event>& events,
                                                  const std::string& now,
                                                  const std::string& delayed);

}  // namespace nc::reconcilers
