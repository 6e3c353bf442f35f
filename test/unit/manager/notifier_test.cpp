// Notifications: the webhooks' URLs checked and never kept (only their hash), the signature is
// HMAC-SHA256 (RFC 4231's test vector), the documented body, and which events become
// notifications for which webhooks (an Unreachable one delayed).
#include <doctest/doctest.h>

#include "controller/core/json.hpp"
#include "controller/manager/notifier.hpp"
#include "controller/reconcilers/notify.hpp"

using namespace nc;

TEST_SUITE("unit/notify") {
  TEST_CASE("webhook URLs: https only - host, port, path and query - errors do not echo the URL") {
    auto w = manager::ParseWebhooks(
        {"https://hooks.example.com/services/T0/B1/XyZ", "https://127.0.0.1:8443?token=abc"});
    REQUIRE(w);
    REQUIRE(w->size() == 2);
    CHECK(w->at(0).host == "hooks.example.com");
    CHECK(w->at(0).port == 443);
    CHECK(w->at(0).target == "/services/T0/B1/XyZ");
    CHECK(w->at(0).id == reconcilers::WebhookId("https://hooks.example.com/services/T0/B1/XyZ"));
    CHECK(w->at(0).id.size() == 16);
    CHECK(w->at(0).id.find("XyZ") == std::string::npos);
    CHECK(w->at(1).host == "127.0.0.1");
    CHECK(w->at(1).port == 8443);
    CHECK(w->at(1).target == "/?token=abc");
    auto plain =
        manager::ParseWebhooks({"https://ok.example/x", "http://hooks.example.com/s3cret"});
    REQUIRE(!plain);
    CHECK(plain.error().message.find("#2") != std::string::npos);
    CHECK(plain.error().message.find("s3cret") == std::string::npos);
    CHECK(!manager::ParseWebhooks({"https://user:pw@hooks.example.com/x"}));
    CHECK(!manager::ParseWebhooks({"https:///x"}));
    CHECK(!manager::ParseWebhooks({"https://h.example/a b"}));
    CHECK(!manager::ParseWebhooks({"https://h.example/a", "https://h.example/a"}));
  }

  TEST_CASE("the signature is sha256= and the hex HMAC-SHA256 of the body (RFC 4231 case 2)") {
    CHECK(manager::SignatureHeader("Jefe", "what do ya want for nothing?") ==
          "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }

  TEST_CASE("the body: the event's fields, a severity and a one-line text, escaped JSON") {
    store::Event e{7,
                   "2026-11-30T10:00:00Z",
                   "default/edge1",
                   "default/web",
                   "Warning",
                   "ConflictDetected",
                   "p: conflicts with rule 500 \"x\"",
                   42};
    rapidjson::Document d;
    REQUIRE(core::ParseJson(d, reconcilers::NotificationBody(e, "netconverge-0")));
    CHECK(std::string(d["apiVersion"].GetString()) == "netconverge.io/v1alpha1");
    CHECK(std::string(d["kind"].GetString()) == "Notification");
    CHECK(std::string(d["reason"].GetString()) == "ConflictDetected");
    CHECK(std::string(d["severity"].GetString()) == "warning");
    CHECK(std::string(d["device"].GetString()) == "default/edge1");
    CHECK(std::string(d["resource"].GetString()) == "default/web");
    CHECK(std::string(d["message"].GetString()) == "p: conflicts with rule 500 \"x\"");
    CHECK(std::string(d["time"].GetString()) == "2026-11-30T10:00:00Z");
    CHECK(d["runId"].GetInt64() == 42);
    CHECK(std::string(d["source"].GetString()) == "netconverge-0");
    CHECK(std::string(d["text"].GetString()) ==
          "netconverge ConflictDetected on default/edge1 (default/web): p: conflicts with rule 500 "
          "\"x\"");
    e.reason = "RollbackFailed";
    e.resource = "";
    rapidjson::Document crit;
    REQUIRE(core::ParseJson(crit, reconcilers::NotificationBody(e, "s")));
    CHECK(std::string(crit["severity"].GetString()) == "critical");
    CHECK(crit["resource"].IsNull());
  }

  TEST_CASE("notifications: the policy's reasons only, one per webhook, Unreachable delayed") {
    reconcilers::NotifyPolicy p;
    std::vector<store::Event> events = {
        {0, "t", "default/edge1", "default/web", "Warning", "ConflictDetected", "c", 1},
        {0, "t", "default/edge1", "", "Normal", "Applied", "a", 1},
        {0, "t", "default/edge1", "", "Warning", "Unreachable", "u", 1}};
    CHECK(reconcilers::NotificationsFor(p, events, "T0", "T1").empty());  // no webhook: none
    p.webhooks = {"w1", "w2"};
    p.reasons = {"ConflictDetected", "Unreachable"};
    auto n = reconcilers::NotificationsFor(p, events, "T0", "T1");
    REQUIRE(n.size() == 4);
    CHECK(n[0].webhook == "w1");
    CHECK(n[1].webhook == "w2");
    CHECK(n[0].reason == "ConflictDetected");
    CHECK(n[0].key == "default/web|c");
    CHECK(n[0].next_attempt_at == "T0");
    CHECK(n[0].created_at == "T0");
    CHECK(n[2].reason == "Unreachable");
    CHECK(n[2].next_attempt_at == "T1");
    CHECK(n[0].body == n[1].body);
  }
}
