// VyOS's fallback transport (spec 4.6): when the HTTPS API is down, the same plan goes over the
// SSH CLI of vyos-sim (real SSH on loopback, host key pinned), and status shows it.
#include <doctest/doctest.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "test/integration/harness.hpp"
#include "test/sim/common/ssh_server.hpp"

using namespace nc;
using namespace nc::testing;

namespace {

struct FallbackHarness : SimHarness {
  std::unique_ptr<sim::SshServer> ssh;

  explicit FallbackHarness(const std::string& fallback = "ssh-cli",
                           sim::VyosSim::Options options = {})
      : SimHarness(options) {
    auto host = sim::GenerateKeyFile((dir / "ssh_host_key").string());
    REQUIRE(host);
    auto client = sim::GenerateKeyPair();
    REQUIRE(client);
    std::string creds = "apiKey: netconverge-demo-key\nusername: vyos\nprivateKey: |\n";
    std::stringstream key(client->first);
    for (std::string l; std::getline(key, l);) creds += "  " + l + "\n";
    WriteFile(dir / "creds.yaml", creds);
    ssh = std::make_unique<sim::SshServer>(
        sim::SshServerOptions{(dir / "ssh_host_key").string(), 0, "vyos", "", client->second},
        [this](const std::string& user) { return sim->NewTerminal(user); });
    REQUIRE(ssh->Start());
    WriteFile(dir / "known_hosts",
              "[127.0.0.1]:" + std::to_string(ssh->port()) + " ssh-ed25519 " + *host + "\n");
    WriteDevice("  transport: {primary: https-api, fallback: " + fallback +
                "}\n  ssh: {knownHosts: ../known_hosts, port: " + std::to_string(ssh->port()) +
                "}\n  commitConfirm: {enabled: true, timeout: 1m}\n");
  }
  ~FallbackHarness() { ssh->Stop(); }

  store::DeviceStatusRow Status() {
    auto rows = store->DeviceStatuses();
    REQUIRE(rows);
    REQUIRE(rows->size() == 1);
    return rows->front();
  }
};

}  // namespace

TEST_SUITE("integration/vyos-ssh-fallback") {
  TEST_CASE(
      "VyOS 1.4's API has no commit-confirm: with SSH credentials the write is a confirmed commit "
      "over the CLI") {
    sim::VyosSim::Options o;
    o.profile = sim::vy::Version::k14;
    o.version = "1.4.1";
    FallbackHarness h("ssh-cli", o);
    h.Manifest("web1.yaml",
               PortForwardYaml(
                   "web1", "web1",
                   "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n"));
    h.sim->ResetStats();
    auto r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK(r.transport == "ssh-cli");
    const auto st = h.sim->Stats();
    CHECK(st.commit_confirms == 1);  // armed by the CLI's commit-confirm ...
    CHECK(st.confirms == 1);         // ... and confirmed after the read-back
    CHECK(st.configure == 0);        // nothing written through the API
    CHECK_FALSE(h.sim->ConfirmPending());
    CHECK(h.DeviceRules().size() == 1);
    CHECK(CountEvents(*h.store, "UnconfirmedCommits") == 0);
    bool cli_confirm = false;
    for (const auto& op : r.operations)
      cli_confirm |= op.find("commit-confirm") != std::string::npos;
    CHECK(cli_confirm);
  }

  TEST_CASE("the HTTPS API is down: the device converges over SSH, and status and events say so") {
    FallbackHarness h;
    h.Manifest("web1.yaml",
               PortForwardYaml(
                   "web1", "web1",
                   "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n"));
    auto r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK(r.transport == "https-api");
    CHECK_FALSE(h.Status().fallback_active);
    CHECK(h.Status().transport == "https-api");

    h.server->Stop();  // the API goes away; SSH stays
    h.Manifest("game1.yaml",
               PortForwardYaml("game1", "game1",
                               "    - {name: game, protocol: udp, externalPort: 27015}\n", "",
                               "192.168.10.20"));
    h.sim->ResetStats();
    r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK(r.transport == "ssh-cli");
    CHECK(r.commits == 1);
    const auto stats = h.sim->Stats();
    CHECK(stats.commits == 1);
    CHECK(stats.commit_confirms == 1);
    CHECK(stats.confirms == 1);
    CHECK(stats.saves == 1);
    CHECK(stats.retrieve == 0);  // nothing went over HTTPS
    bool game = false;
    for (const auto& [n, rule] : h.DeviceRules())
      game |= rule.destination_port == "27015" && rule.protocol == "udp";
    CHECK(game);
    CHECK(std::any_of(r.operations.begin(), r.operations.end(),
                      [](std::string_view op) { return op == "ssh: commit-confirm 1"; }));
    auto st = h.Status();
    CHECK(st.transport == "ssh-cli");
    CHECK(st.fallback_active);
    CHECK(st.fallbacks == 1);
    CHECK(CountEvents(*h.store, "FallbackTransport") == 1);

    // A no-op pass over SSH sends no configuration command.
    r = h.Pass();
    REQUIRE_FALSE(r.error);
    CHECK(r.operations.empty());
    CHECK(h.Status().fallbacks == 2);
    CHECK(CountEvents(*h.store, "FallbackTransport") == 1);  // a standing condition, recorded once

    // The API comes back: the primary is used again.
    h.RestartHttps();
    h.Manifest("db1.yaml", PortForwardYaml("db1", "db1",
                                           "    - {name: pg, protocol: tcp, externalPort: 5432}\n",
                                           "", "192.168.10.30"));
    r = h.Pass();
    REQUIRE_MESSAGE(!r.error, r.error->message);
    CHECK(r.transport == "https-api");
    CHECK_FALSE(h.Status().fallback_active);
    CHECK(h.Status().fallbacks == 2);
    CHECK(h.DeviceRules().size() == 3);
  }

  TEST_CASE(
      "API down on VyOS 1.3 and 1.5: add, change and delete over the real CLI's modes - committed, "
      "confirmed, saved, never reverted") {
    for (auto profile : {sim::vy::Version::k13, sim::vy::Version::k15}) {
      sim::VyosSim::Options o;
      o.profile = profile;
      o.version = profile == sim::vy::Version::k13 ? "1.3.8" : o.version;
      o.confirm_minute_ms = 150;  // a confirm timer left armed would fire within the test
      INFO("VyOS " << o.version);
      FallbackHarness h("ssh-cli", o);
      h.server->Stop();  // the API is down from the start
      const auto rule = [](const std::string& port) {
        return "    - {name: app, protocol: tcp, externalPort: 8443, internalPort: " + port + "}\n";
      };
      h.Manifest("web1.yaml", PortForwardYaml("web1", "web1", rule("443")));
      h.Manifest(
          "db1.yaml",
          PortForwardYaml("db1", "db1", "    - {name: pg, protocol: tcp, externalPort: 5432}\n", "",
                          "192.168.10.30"));
      for (int step = 0; step < 3; ++step) {
        INFO("step " << step);
        if (step == 1)
          h.Manifest("web1.yaml", PortForwardYaml("web1", "web1", rule("8443")));  // change
        if (step == 2) h.Remove("db1.yaml");                                       // delete
        h.sim->ResetStats();
        auto r = h.Pass();
        REQUIRE_MESSAGE(!r.error, r.error->message);
        CHECK(r.transport == "ssh-cli");
        const auto st = h.sim->Stats();
        CHECK(st.commits == 1);
        CHECK(st.commit_confirms == 1);
        CHECK(st.confirms == 1);
        CHECK(st.saves == 1);
        CHECK_FALSE(h.sim->ConfirmPending());
        const auto rules = h.DeviceRules();
        CHECK(rules.size() == (step == 2 ? 1u : 2u));
        bool web = false;
        for (const auto& [n, rr] : rules)
          web |=
              rr.destination_port == "8443" && rr.translation_port == (step == 0 ? "443" : "8443");
        CHECK(web);
        const std::string commands = h.sim->RunningSetCommands();
        if (profile == sim::vy::Version::k13)
          CHECK(commands.find("inbound-interface name") == std::string::npos);
        else
          CHECK(commands.find("inbound-interface name 'eth0'") != std::string::npos);
      }
      // Past the moment any timer armed by these commits would have fired: none did.
      std::this_thread::sleep_for(std::chrono::milliseconds(3 * o.confirm_minute_ms));
      CHECK(h.sim->Stats().reverts == 0);
      CHECK(h.DeviceRules().size() == 1);
    }
  }

  TEST_CASE("fallback: none keeps to the API and reports it unreachable") {
    FallbackHarness h("none");
    h.server->Stop();
    h.Manifest("web1.yaml",
               PortForwardYaml(
                   "web1", "web1",
                   "    - {name: ssh, protocol: tcp, externalPort: 2201, internalPort: 22}\n"));
    auto r = h.Pass();
    REQUIRE(r.error);
    CHECK(r.error->code == ErrorCode::kUnavailable);
    CHECK(h.DeviceRules().empty());
    CHECK_FALSE(h.Status().reachable);
  }
}
