// The VyOS API adapter in-process, against FakeHttp: what it sends, in which order, and what it
// concludes when the router's commit lock is busy, an answer is lost, the change is refused or
// the read-back differs. The router's answers follow research/vyos.md (envelope, texts);
// vyos_e2e_test drives the same adapter over real HTTPS against vyos-sim.
#include "adapters/vyos/vyos_adapter.hpp"

#include <doctest/doctest.h>

#include <deque>

#include "test/fakes/fake_http.hpp"

namespace {

using nc::ErrorCode;
using nc::fakes::FakeHttpAnswer;
using nc::fakes::FakeHttpRequest;
namespace core = nc::core;

const char* kKey = "s3cret-api-key";
const char* kRuleJson =
    R"({"rule":{"10001":{"description":"web [netconverge]","destination":{"port":"8080"},)"
    R"("inbound-interface":{"name":"eth0"},"protocol":"tcp",)"
    R"("translation":{"address":"10.0.0.5","port":"80"}}}})";

FakeHttpAnswer Envelope(bool success, const std::string& data, const std::string& error = "",
                        int status = 200) {
  FakeHttpAnswer a;
  a.status = status;
  a.body = std::string(R"({"success":)") + (success ? "true" : "false") + R"(,"data":)" + data +
           R"(,"error":)" + (error.empty() ? "null" : "\"" + error + "\"") + "}";
  return a;
}

/// A VyOS 1.5 router with commit-confirm in its API. `/configure` commits answer from
/// `commits` in turn (default: success, the rule becomes running).
struct Router {
  std::string running;  // nat destination as showConfig JSON data ("" = empty path)
  std::deque<std::function<FakeHttpAnswer()>> commits;
  int confirms = 0;
  int saves = 0;

  FakeHttpAnswer Answer(const FakeHttpRequest& r) {
    if (r.target == "/info") return Envelope(true, R"({"version":"1.5-rolling","hostname":"r1"})");
    if (r.target == "/retrieve") {
      if (r.body.find(R"("inbound-interface","name","eth0")") != std::string::npos ||
          running.empty())
        return Envelope(false, "null", "Configuration under specified path is empty", 400);
      return Envelope(true, running);
    }
    if (r.target == "/config-file") {
      ++saves;
      return Envelope(true, R"("Saving configuration to '/config/config.boot'...\nDone\n")");
    }
    if (r.body.find(R"("op":"confirm")") != std::string::npos) {
      ++confirms;
      return Envelope(true, "null");
    }
    if (commits.empty()) {
      running = kRuleJson;
      return Envelope(true, R"("Initialized commit-confirm; 2 minutes to confirm before reload")");
    }
    auto next = commits.front();
    commits.pop_front();
    return next();
  }
};

struct Fixture {
  Router router;
  std::vector<FakeHttpRequest> requests;
  nc::vyos::VyosAdapter adapter{
      std::make_unique<nc::fakes::FakeHttp>(
          [this](const FakeHttpRequest& r) { return router.Answer(r); }, &requests),
      Options()};

  static nc::vyos::VyosAdapterOptions Options() {
    nc::vyos::VyosAdapterOptions o;
    o.api_key = kKey;
    o.lock_backoff = std::chrono::milliseconds(1);
    return o;
  }

  static core::Plan AddPlan() {
    core::NatRule rule;
    rule.description = "web [netconverge]";
    rule.inbound_interface = "eth0";
    rule.protocol = "tcp";
    rule.destination_port = "8080";
    rule.translation_address = "10.0.0.5";
    rule.translation_port = "80";
    core::Plan plan;
    core::RuleChange ch;
    ch.kind = core::ChangeKind::kAdd;
    ch.number = 10001;
    ch.resource = "default/web";
    ch.port = "http";
    ch.after = rule;
    plan.changes.push_back(ch);
    return plan;
  }

  nc::ApplyOutcome Apply() {
    nc::ObservedState observed;
    observed.transport = "https-api";
    return adapter.Apply(AddPlan(), observed);
  }

  int Count(const std::string& target, const std::string& body_part = "") const {
    int n = 0;
    for (const auto& r : requests)
      n += r.target == target && r.body.find(body_part) != std::string::npos;
    return n;
  }
};

FakeHttpAnswer Locked() {
  return Envelope(false, "null",
                  "Configuration is temporarily locked by another session (commit in progress)");
}

}  // namespace

TEST_CASE("vyos adapter: one commit with confirm_time, a read-back, the confirm, then save") {
  Fixture f;
  auto out = f.Apply();
  REQUIRE_FALSE(out.error);
  CHECK(out.commits == 1);
  CHECK(out.confirmed);
  CHECK(out.saved);
  std::vector<std::string> order;
  for (const auto& r : f.requests) order.push_back(r.target);
  CHECK(order == std::vector<std::string>{"/info", "/retrieve", "/configure", "/retrieve",
                                          "/configure", "/config-file"});
  CHECK(f.requests[2].body.find(R"("confirm_time":2)") != std::string::npos);
  CHECK(f.requests[2].body.find(R"("path":["nat","destination","rule","10001")") !=
        std::string::npos);
  for (const auto& op : out.operations) CHECK(op.find(kKey) == std::string::npos);
}

TEST_CASE("vyos adapter: a busy commit lock is retried, stopping a timer the attempt armed") {
  Fixture f;
  f.router.commits = {Locked, Locked};
  auto out = f.Apply();
  REQUIRE_FALSE(out.error);
  CHECK(out.commits == 1);
  CHECK(f.Count("/configure", R"("commands")") == 3);
  // Each failed attempt is followed by a confirm that stops a timer armed before the commit
  // (research/vyos-conformance.md 4), and the success by the real confirm.
  CHECK(f.router.confirms == 3);
  int retries = 0;
  for (const auto& op : out.operations) retries += op.find("commit lock busy") != std::string::npos;
  CHECK(retries == 2);
}

TEST_CASE("vyos adapter: a commit lock still busy after the retries is a conflict, nothing saved") {
  Fixture f;
  for (int i = 0; i < 6; ++i) f.router.commits.push_back(Locked);
  auto out = f.Apply();
  REQUIRE(out.error);
  CHECK(out.error->code == ErrorCode::kConflict);
  CHECK(out.commits == 0);
  CHECK(f.router.saves == 0);
}

TEST_CASE("vyos adapter: a lost answer to a commit that happened is found by a re-read") {
  Fixture f;
  f.router.commits = {[&f] {
    f.router.running = kRuleJson;  // applied, but the answer never arrives
    return FakeHttpAnswer{0, "", nc::Error{ErrorCode::kDeadlineExceeded, "timed out"}, true};
  }};
  auto out = f.Apply();
  REQUIRE_FALSE(out.error);
  CHECK(out.commits == 1);
  CHECK(out.confirmed);
  CHECK(f.Count("/configure", R"("commands")") == 1);  // never re-sent
  bool reread = false;
  for (const auto& op : out.operations) reread |= op.find("re-reading") != std::string::npos;
  CHECK(reread);
}

TEST_CASE("vyos adapter: a lost answer to a commit that did not happen fails without a re-send") {
  Fixture f;
  f.router.commits = {[] {
    return FakeHttpAnswer{0, "", nc::Error{ErrorCode::kDeadlineExceeded, "timed out"}, true};
  }};
  auto out = f.Apply();
  REQUIRE(out.error);
  CHECK(out.error->message.find("did not commit") != std::string::npos);
  CHECK_FALSE(out.ambiguous);  // the re-read settled it
  CHECK(f.Count("/configure", R"("commands")") == 1);
  CHECK(f.router.saves == 0);
}

TEST_CASE("vyos adapter: a refused change reports the router's text and the rule it names") {
  Fixture f;
  f.router.commits = {[] {
    return Envelope(false, "null",
                    "[nat destination rule 10001 translation]\\nPort number must be in range "
                    "1 to 65535\\n\\nCommit failed");
  }};
  auto out = f.Apply();
  REQUIRE(out.error);
  CHECK(out.error->code == ErrorCode::kRejected);
  CHECK(out.device_text.find("Port number must be in range") != std::string::npos);
  REQUIRE(out.named_rule);
  CHECK(*out.named_rule == 10001);
  CHECK(out.commits == 0);
}

TEST_CASE("vyos adapter: a read-back that differs is rolled back with the inverse plan") {
  Fixture f;
  f.router.commits = {
      [&f] {
        // The router says it committed but runs a different translation port.
        f.router.running =
            R"({"rule":{"10001":{"description":"web [netconverge]",)"
            R"("destination":{"port":"8080"},"inbound-interface":{"name":"eth0"},)"
            R"("protocol":"tcp","translation":{"address":"10.0.0.5","port":"81"}}}})";
        return Envelope(true, R"("Initialized commit-confirm; 2 minutes to confirm")");
      },
      [&f] {
        f.router.running.clear();  // the inverse plan: the rule deleted again
        return Envelope(true, "null");
      }};
  auto out = f.Apply();
  REQUIRE(out.error);
  CHECK(out.error->message.find("verification failed") != std::string::npos);
  CHECK(out.rolled_back);
  CHECK(f.Count("/configure", R"("op":"delete")") == 1);
  CHECK(f.router.running.empty());
  CHECK(f.router.saves == 0);
}
