// The switch adapter in-process, against FakeCli: the order of what it sends and what it does
// when the switch refuses, breaks or is busy. The switch's answers are DNOS's (research/switch.md,
// as switch-sim also speaks them); switch_e2e_test drives the same adapter over real SSH.
#include "adapters/switch/switch_adapter.hpp"

#include <doctest/doctest.h>

#include "adapters/switch/dnos_dialect.hpp"
#include "test/fakes/fake_cli.hpp"

namespace {

using nc::ErrorCode;
using nc::transport::CliReply;
namespace core = nc::core;

const char* kSub = "ge100-0/0/31.251";

/// A minimal DNOS-speaking switch: configuration mode, a candidate that a commit makes running,
/// a pending confirmed commit, and the failures a test asks for.
struct Switch {
  bool cfg = false;
  std::string running = "interfaces ge100-0/0/31\n";
  std::string candidate = running;
  std::string before_commit;
  std::string pending;          // the pending confirmed commit's holder ("" = none)
  std::string refuse_prefix;    // a configuration line starting with this is refused
  bool lose_at_commit = false;  // the connection drops when the commit is sent
  bool commit_ignores = false;  // the commit "succeeds" but the running config does not change

  nc::Result<CliReply> Answer(const std::string& line) {
    CliReply r;
    r.prompt = cfg ? "sw1(cfg)# " : "sw1# ";
    auto starts = [&](const std::string& p) { return line.rfind(p, 0) == 0; };
    if (line == "show system commit | no-more") {
      if (!pending.empty())
        r.output = "[2026-11-30 10:00:00] " + pending +
                   " via cli confirmed-commit, rollback in 2 minutes\n";
      r.output += "no commits\n";
    } else if (line == "configure") {
      cfg = true;
      candidate = running;
    } else if (line == "end") {
      cfg = false;
    } else if (line == "rollback 0") {
      candidate = running;
    } else if (line == "show config interfaces | flatten | no-more") {
      r.output = running;
    } else if (line == "show config network-services | flatten | no-more") {
      r.output = "";
    } else if (line == "show config compare | no-more") {
      r.output = candidate == running ? "" : "+ interfaces " + std::string(kSub) + "\n";
    } else if (line == "commit check") {
      r.output = "commit check passed successfully\n";
    } else if (starts("commit confirm")) {
      if (lose_at_commit) return nc::MakeError(ErrorCode::kUnavailable, "connection lost");
      before_commit = running;
      if (!commit_ignores) running = candidate;
      pending = "admin";
      r.output = "Commit succeeded by admin at 10:00:00\n";
    } else if (line == "commit" && cfg) {
      pending.clear();
      r.output = "commit confirmed\n";
    } else if (line == "clear system commit") {
      running = before_commit;
      pending.clear();
      r.output = "confirmed commit cleared\n";
    } else if (cfg && !refuse_prefix.empty() && starts(refuse_prefix)) {
      r.output = "ERROR: Unknown word: 'vlan-idd'\n";
    } else if (cfg && starts("interfaces ")) {
      candidate += line + "\n";
    }
    r.prompt = cfg ? "sw1(cfg)# " : "sw1# ";
    return r;
  }
};

struct Fixture {
  Switch sw;
  nc::fakes::FakeCli cli{[this](const std::string& line) { return sw.Answer(line); }};
  nc::switchcli::SwitchAdapter adapter{std::make_unique<nc::switchcli::DnosDialect>(), Options(),
                                       cli.Opener()};

  static nc::switchcli::SwitchAdapterOptions Options() {
    nc::switchcli::SwitchAdapterOptions o;
    o.connect.user = "admin";
    return o;
  }

  /// A plan that creates the sub-interface with VLAN 251.
  static core::Plan CreatePlan() {
    core::Plan plan;
    core::SubInterface after;
    after.vlan = 251;
    after.l2_service = true;
    after.description = "web [netconverge]";
    plan.interfaces.push_back(
        {core::ChangeKind::kAdd, kSub, "default/web", std::nullopt, after, "new", false});
    return plan;
  }

  nc::ApplyOutcome Apply(const core::Plan& plan) {
    nc::ObservedState observed;
    observed.switch_state.ports = {"ge100-0/0/31"};
    return adapter.Apply(plan, observed);
  }
};

}  // namespace

TEST_CASE("switch adapter: stage, check, commit confirm, read back, confirm - in that order") {
  Fixture f;
  auto out = f.Apply(Fixture::CreatePlan());
  REQUIRE_FALSE(out.error);
  CHECK(out.commits == 1);
  CHECK(out.confirmed);
  const int configure = f.cli.IndexOf("configure");
  const int vlan = f.cli.IndexOf(std::string("interfaces ") + kSub + " vlan-id 251");
  const int check = f.cli.IndexOf("commit check");
  const int commit = f.cli.IndexOf("commit confirm 2");
  const int read = f.cli.IndexOf("show config interfaces");
  REQUIRE(configure >= 0);
  CHECK(configure < vlan);
  CHECK(vlan < check);
  CHECK(check < commit);
  CHECK(commit < read);
  CHECK(f.cli.lines.back() == "end");
  CHECK(f.sw.pending.empty());  // confirmed: no timer left to revert it
  CHECK(f.sw.running.find(std::string("interfaces ") + kSub + " vlan-id 251") != std::string::npos);
}

TEST_CASE("switch adapter: a refused line discards the candidate and commits nothing") {
  Fixture f;
  f.sw.refuse_prefix = std::string("interfaces ") + kSub + " vlan-id";
  auto out = f.Apply(Fixture::CreatePlan());
  REQUIRE(out.error);
  CHECK(out.error->code == ErrorCode::kRejected);
  CHECK(out.error->message.find("Unknown word") != std::string::npos);
  CHECK(f.cli.Sent("rollback 0"));
  CHECK(f.cli.IndexOf("commit") == -1);  // neither check nor commit
  CHECK(out.commits == 0);
  CHECK(f.sw.running == "interfaces ge100-0/0/31\n");
}

TEST_CASE("switch adapter: another user's pending confirmed commit blocks writing") {
  Fixture f;
  f.sw.pending = "operator";
  auto out = f.Apply(Fixture::CreatePlan());
  REQUIRE(out.error);
  CHECK(out.error->code == ErrorCode::kConflict);
  CHECK(out.error->message.find("operator") != std::string::npos);
  CHECK_FALSE(f.cli.Sent("configure"));
  CHECK_FALSE(f.cli.Sent("clear system commit"));  // not ours to cancel
}

TEST_CASE(
    "switch adapter: our own pending confirmed commit from an earlier run is cancelled first") {
  Fixture f;
  f.sw.pending = "admin";
  auto out = f.Apply(Fixture::CreatePlan());
  REQUIRE_FALSE(out.error);
  CHECK(f.cli.IndexOf("clear system commit") < f.cli.IndexOf("configure"));
  CHECK(out.rollback_detail.find("earlier run was reverted") != std::string::npos);
  CHECK(out.confirmed);
}

TEST_CASE(
    "switch adapter: a connection lost at the commit is ambiguous and the commit is cancelled on a "
    "new session") {
  Fixture f;
  f.sw.lose_at_commit = true;
  f.sw.pending = "";
  auto out = f.Apply(Fixture::CreatePlan());
  REQUIRE(out.error);
  CHECK(out.ambiguous);
  CHECK(f.cli.opened == 2);  // the broken session is never reused
  // The new session looks for a pending confirmed commit of ours (none: nothing to cancel).
  CHECK(f.cli.lines.back() == "show system commit | no-more");
  CHECK(out.rolled_back);
}

TEST_CASE("switch adapter: a read-back that differs from the plan cancels the confirmed commit") {
  Fixture f;
  f.sw.commit_ignores = true;  // says it committed, runs the old configuration
  auto out = f.Apply(Fixture::CreatePlan());
  REQUIRE(out.error);
  CHECK(out.error->code == ErrorCode::kRejected);
  CHECK(out.error->message.find("verification failed") != std::string::npos);
  CHECK(out.error->message.find(kSub) != std::string::npos);
  CHECK(f.cli.Sent("clear system commit"));
  CHECK(out.rolled_back);
  CHECK_FALSE(out.confirmed);
}

TEST_CASE("switch adapter: a switch that cannot be reached sends nothing and says so") {
  Fixture f;
  f.cli.refuse_open = true;
  auto out = f.Apply(Fixture::CreatePlan());
  REQUIRE(out.error);
  CHECK(out.error->code == ErrorCode::kUnavailable);
  CHECK(f.cli.lines.empty());
}
