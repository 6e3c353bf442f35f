// Injected switch failures over real SSH: each leaves the running configuration exactly as it was
// (no half-applied change, no pending confirm, no dirty candidate reused), is reported with the
// switch's own text, and the next pass converges.
#include <doctest/doctest.h>

#include <thread>

#include "adapters/switch/dnos_dialect.hpp"
#include "test/integration/switch_harness.hpp"

using namespace nc;
using namespace nc::testing;

namespace {

struct FaultCase {
  const char* name;
  sim::SwitchFaults faults;
  ErrorCode code;
  const char* device_text;  // what the switch said, quoted in the error
};

template <typename F>
sim::SwitchFaults Faults(F set) {
  sim::SwitchFaults f;
  set(f);
  return f;
}

}  // namespace

TEST_SUITE("integration/switch-faults") {
  TEST_CASE(
      "each injected failure leaves the switch as it was, says why, and the next pass converges") {
    const FaultCase cases[] = {
        {"prompt timeout", Faults([](auto& f) { f.hang_on = "ge100-0/0/4.400 vlan-id"; }),
         ErrorCode::kDeadlineExceeded, "no prompt within"},
        {"unknown word", Faults([](auto& f) { f.unknown_word_on = "ge100-0/0/4.400 l2-service"; }),
         ErrorCode::kRejected, "ERROR: Unknown word: 'enabled'."},
        {"commit check failure", Faults([](auto& f) { f.fail_commit_check = 1; }),
         ErrorCode::kRejected, "resource check failed (TCAM exhausted)"},
        {"connection dropped before the confirm",
         Faults([](auto& f) { f.drop_before_confirm = true; }), ErrorCode::kUnavailable,
         "closed the connection"},
        {"another user's commit in between", Faults([](auto& f) { f.concurrent_commit = true; }),
         ErrorCode::kConflict, "your configuration is out of sync"},
        {"a (yes/no) question at commit", Faults([](auto& f) { f.ask_on_commit = true; }),
         ErrorCode::kRejected, "(yes/no) [no]"},
    };
    for (const auto& fc : cases) {
      INFO(fc.name);
      SwitchHarness h("", {});
      h.WriteDevice("", "  ssh: {knownHosts: ../known_hosts, commandTimeout: 1500ms}\n");
      // Something already applied, then a pass that changes it and adds more.
      h.Manifest("a.yaml", VlanYaml("a", "ge100-0/0/3", 300, "  bridgeDomain: BD-3\n"));
      REQUIRE_FALSE(h.Pass().error);
      h.Manifest("a.yaml",
                 VlanYaml("a", "ge100-0/0/3", 301, "  bridgeDomain: BD-3\n  subinterface: 300\n"));
      h.Manifest("b.yaml", VlanYaml("b", "ge100-0/0/4", 400, "  bridgeDomain: BD-4\n"));
      const auto before = h.Running();
      h.sim->SetFaults(fc.faults);
      auto r = h.Pass();
      REQUIRE(r.error);
      CHECK(r.error->code == fc.code);
      CHECK_MESSAGE(r.error->message.find(fc.device_text) != std::string::npos, r.error->message);
      CHECK_FALSE(h.sim->PendingConfirm());
      auto after = h.Running();
      if (std::string(fc.name) == "another user's commit in between") {
        // Their change is in; ours is not.
        std::erase_if(after, [](const std::string& l) {
          return l.find("ge100-0/0/0 description") != std::string::npos;
        });
        CHECK(h.Running("uplink (netops2)").size() == 1);
      }
      CHECK(after == before);
      CHECK(h.StateOf("default/b") == "Pending");
      CHECK(CountEvents(*h.store, "ApplyFailed") == 1);
      if (std::string(fc.name) == "connection dropped before the confirm")
        CHECK(CountEvents(*h.store, "RollbackSucceeded") == 1);

      h.sim->SetFaults({});
      r = h.Pass();
      REQUIRE_MESSAGE(!r.error, r.error->message);
      CHECK(r.commits == 1);
      CHECK(h.Running("ge100-0/0/3.300 vlan-id 301").size() == 1);
      CHECK(h.Running("ge100-0/0/4.400 vlan-id 400").size() == 1);
      CHECK(h.Running("instance BD-4 interface ge100-0/0/4.400").size() == 1);
      CHECK(h.StateOf("default/b") == "Applied");
      // Exactly the planned objects changed: nothing a failed attempt staged was left behind.
      auto now = h.Running();
      std::erase_if(now, [](const std::string& l) {
        return l.find("ge100-0/0/3.300") != std::string::npos ||
               l.find("ge100-0/0/4.400") != std::string::npos ||
               l.find("BD-4") != std::string::npos ||
               l.find("ge100-0/0/0 description") != std::string::npos;
      });
      auto was = before;
      std::erase_if(
          was, [](const std::string& l) { return l.find("ge100-0/0/3.300") != std::string::npos; });
      CHECK(now == was);
      // And the pass after that is a no-op.
      h.sim->ResetStats();
      REQUIRE_FALSE(h.Pass().error);
      CHECK(h.sim->Stats().config_lines == 0);
    }
  }

  TEST_CASE(
      "pending confirmed commits: ours from a dead run is reverted first - another user's blocks "
      "until its timer") {
    SwitchHarness h;
    auto open = [&](const std::string& user) {
      ssh::ConnectOptions c{"127.0.0.1", h.server->port(), user,
                            "",          h.client_key,     (h.dir / "known_hosts").string()};
      auto sh = ssh::Shell::Open(c, switchcli::DnosDialect().Profile());
      REQUIRE(sh);
      return std::move(*sh);
    };
    auto commit_confirm = [&](const std::string& user, const std::string& line) {
      auto sh = open(user);
      REQUIRE(sh->Run("configure", 5000));
      REQUIRE(sh->Run(line, 5000));
      auto r = sh->Run("commit confirm 1", 5000);
      REQUIRE(r);
      CHECK(r->output.find("Commit confirm will automatically rollback in 1 minutes") !=
            std::string::npos);
    };  // the session ends without a confirm, as when a process dies
    // An earlier netconverge (same user) died after its commit confirm.
    commit_confirm("admin", "interfaces ge100-0/0/9.9 vlan-id 9");
    REQUIRE(h.sim->PendingConfirm());
    h.Manifest("a.yaml", VlanYaml("a", "ge100-0/0/3", 300));
    auto r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK(h.Running("ge100-0/0/9.9").empty());  // reverted, not confirmed
    CHECK(h.Running("ge100-0/0/3.300 vlan-id 300").size() == 1);
    CHECK(CountEvents(*h.store, "PendingCommitReverted") == 1);

    // Another user's pending confirm: netconverge does not write until it is resolved.
    h.ssh.user = "netops2";
    h.server->Stop();
    h.StartServer();
    h.PinHostKey();
    commit_confirm("netops2", "interfaces ge100-0/0/8.8 vlan-id 8");
    h.ssh.user = "admin";
    h.server->Stop();
    h.StartServer();
    h.PinHostKey();
    h.WriteDevice("");
    h.Restart();
    h.Manifest("b.yaml", VlanYaml("b", "ge100-0/0/4", 400));
    r = h.Pass();
    REQUIRE(r.error);
    CHECK(r.error->code == ErrorCode::kConflict);
    CHECK(r.error->message.find("a confirmed commit by netops2 is pending") != std::string::npos);
    CHECK(h.Running("ge100-0/0/4.400").empty());
    // Its timer (one emulated minute) reverts it; then netconverge converges.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (h.sim->PendingConfirm() && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the condition, bounded
    CHECK_FALSE(h.sim->PendingConfirm());
    CHECK(h.Running("ge100-0/0/8.8").empty());
    r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK(h.Running("ge100-0/0/4.400 vlan-id 400").size() == 1);
  }
}
