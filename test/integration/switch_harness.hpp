// Integration harness for switches: switch-sim behind a real SSH server (libssh) on a loopback
// port with a fresh host key, a client key pair, a known_hosts file that pins the host key, a
// manifests directory and a store file, and the real reconciler with the default adapter factory.
#pragma once

#include "test/integration/harness.hpp"
#include "test/sim/common/ssh_server.hpp"
#include "test/sim/switch/switch_sim.hpp"

namespace nc::testing {

struct SwitchHarness : ReconcilerHarness {
  std::unique_ptr<sim::SwitchSim> sim;
  std::unique_ptr<sim::SshServer> server;
  std::string host_public;
  std::string client_key;  // the client's private key text
  sim::SwitchSimOptions options;
  sim::SshServerOptions ssh;

  explicit SwitchHarness(const std::string& device_extra = "", sim::SwitchSimOptions o = {})
      : ReconcilerHarness("sw"), options(std::move(o)) {
    auto host = sim::GenerateKeyFile((dir / "host_key").string());
    REQUIRE(host);
    host_public = *host;
    auto client = sim::GenerateKeyPair();
    REQUIRE(client);
    client_key = client->first;
    std::string creds = "username: admin\nprivateKey: |\n";
    std::stringstream key(client->first);
    for (std::string l; std::getline(key, l);) creds += "  " + l + "\n";
    WriteFile(dir / "creds.yaml", creds);
    if (options.minute_ms == 60'000) options.minute_ms = 1'000;
    ssh = sim::SshServerOptions{(dir / "host_key").string(), 0, "admin", "", client->second};
    StartServer();
    PinHostKey();
    WriteDevice(device_extra);
    Restart();
  }
  ~SwitchHarness() {
    reconciler.reset();
    server->Stop();
  }

  void StartServer() {
    if (!sim) sim = std::make_unique<sim::SwitchSim>(options);
    server = std::make_unique<sim::SshServer>(
        ssh, [this](const std::string& user) { return sim->NewTerminal(user); });
    REQUIRE(server->Start());
  }
  std::string KnownHostsLine() const {
    return "[127.0.0.1]:" + std::to_string(server->port()) + " ssh-ed25519 " + host_public + "\n";
  }
  void PinHostKey() { WriteFile(dir / "known_hosts", KnownHostsLine()); }

  /// The Device manifest; `ssh` replaces the default `ssh:` line (strict checking against
  /// ../known_hosts).
  void WriteDevice(const std::string& extra,
                   const std::string& ssh_line = "  ssh: {knownHosts: ../known_hosts}\n") {
    WriteFile(dir / "manifests/device.yaml",
              "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: sw1}\nspec:\n  "
              "platform: dnos\n"
              "  address: 127.0.0.1:" +
                  std::to_string(server->port()) + "\n  credentialsRef: {file: ../creds.yaml}\n" +
                  ssh_line + extra);
  }

  reconcilers::DeviceResult Pass(const std::string& trigger = "test") {
    return reconciler->Reconcile(Desired(), "default/sw1", trigger,
                                 reconcilers::DeviceReconciler::Mode::kApply);
  }
  reconcilers::DeviceResult Plan() {
    return reconciler->Reconcile(Desired(), "default/sw1", "test",
                                 reconcilers::DeviceReconciler::Mode::kPlan);
  }

  /// The running configuration lines that mention `what`.
  std::vector<std::string> Running(const std::string& what = "") {
    std::vector<std::string> out;
    for (auto& l : sim->RunningFlat())
      if (what.empty() || l.find(what) != std::string::npos) out.push_back(l);
    return out;
  }
  std::string StateOf(const std::string& resource) {
    auto rows = store->PortStatuses("default/sw1");
    for (const auto& r : *rows)
      if (r.resource == resource) return r.state;
    return "";
  }
};

/// A VlanInterface manifest.
inline std::string VlanYaml(const std::string& name, const std::string& iface, int vlan,
                            const std::string& extra = "") {
  return "apiVersion: netconverge.io/v1alpha1\nkind: VlanInterface\nmetadata: {name: " + name +
         "}\nspec:\n  deviceRef: sw1\n  interface: " + iface + "\n  vlan: " + std::to_string(vlan) +
         "\n" + extra;
}

}  // namespace nc::testing
