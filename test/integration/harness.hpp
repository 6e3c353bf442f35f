// Integration harness: a vyos-sim behind real HTTPS on a loopback port with a freshly generated
// CA, a manifests directory and a store file in a temporary directory, and the real reconciler.
#pragma once

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "controller/reconcilers/adapter_factory.hpp"
#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/runtime/clock.hpp"
#include "controller/source/directory_source.hpp"
#include "controller/store/sqlite_store.hpp"
#include "test/sim/common/tls_cert.hpp"
#include "test/sim/vyos/vyos_sim.hpp"
#include "test/sim/vyos/vyos_sim_server.hpp"

namespace nc::testing {

inline std::filesystem::path MakeTempDir(const std::string& name) {
  static int counter = 0;
  auto p = std::filesystem::temp_directory_path() /
           ("nc-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p / "manifests");
  return p;
}

inline void WriteFile(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

/// A temporary directory with manifests/, a store file and the real reconciler with the default
/// adapter factory; the device emulators are the derived harnesses' business.
struct ReconcilerHarness {
  std::filesystem::path dir;
  std::string store_path;
  std::unique_ptr<store::SqliteStore> store;
  reconcilers::DefaultAdapterFactory factory;
  runtime::SystemClock clock;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<reconcilers::DeviceReconciler> reconciler;
  core::ServiceTable services = source::LoadServices();

  explicit ReconcilerHarness(const std::string& name)
      : dir(MakeTempDir(name)),
        store_path((dir / "netconverge.db").string()),
        log(std::make_shared<spdlog::logger>("test",
                                             std::make_shared<spdlog::sinks::null_sink_mt>())) {}
  ~ReconcilerHarness() {
    reconciler.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }

  /// A fresh process: reopen the store, new reconciler (adapters and caches gone).
  void Restart() {
    reconciler.reset();
    store.reset();
    auto s = store::SqliteStore::Open(store_path, store::SqliteStore::OpenMode::kRequireCurrent);
    REQUIRE(s);
    store = std::move(*s);
    reconciler =
        std::make_unique<reconcilers::DeviceReconciler>(*store, factory, clock, log, services);
  }

  void Manifest(const std::string& name, const std::string& yaml) {
    WriteFile(dir / "manifests" / name, yaml);
  }
  void Remove(const std::string& name) { std::filesystem::remove(dir / "manifests" / name); }

  core::DesiredState Desired() {
    auto v = source::ValidateDirectory((dir / "manifests").string(), services);
    for (const auto& p : v.problems) FAIL_CHECK(p.ToString());
    return v.desired;
  }
};

/// One destination rule as read from vyos-sim's own `show configuration commands` rendering by
/// this test-only reader: the fields a port forward is made of, the rest as "path value" lines.
struct SimRule {
  std::string description, inbound_interface, protocol, destination_address, destination_port,
      source_address, translation_address, translation_port;
  bool disabled = false;
  bool log = false;
  std::vector<std::string> other;
  bool operator==(const SimRule&) const = default;
};

/// What netconverge recorded for a rule, in the same shape (to compare the store with the device).
inline SimRule FromModel(const core::NatRule& r) {
  SimRule s{r.description,
            r.inbound_interface,
            r.protocol,
            r.destination_address,
            r.destination_port,
            r.source_address,
            r.translation_address,
            r.translation_port,
            r.disabled,
            r.log,
            r.unmanaged};
  std::sort(s.other.begin(), s.other.end());
  return s;
}

inline std::map<int, SimRule> FromModel(const std::map<int, core::NatRule>& rules) {
  std::map<int, SimRule> out;
  for (const auto& [n, r] : rules) out[n] = FromModel(r);
  return out;
}

inline std::map<int, SimRule> ParseSimRules(const std::string& commands) {
  std::map<int, SimRule> out;
  std::istringstream in(commands);
  const std::string prefix = "set nat destination rule ";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::string rest = line.substr(prefix.size());
    const int n = std::stoi(rest.substr(0, rest.find(' ')));
    SimRule& r = out[n];
    if (rest.find(' ') == std::string::npos) continue;
    rest = rest.substr(rest.find(' ') + 1);
    std::string value;
    if (auto q = rest.find('\''); q != std::string::npos) {
      value = rest.substr(q + 1, rest.rfind('\'') - q - 1);
      rest = rest.substr(0, q == 0 ? 0 : q - 1);
    }
    if (rest == "description")
      r.description = value;
    else if (rest == "inbound-interface name" || rest == "inbound-interface")
      r.inbound_interface = value;
    else if (rest == "protocol")
      r.protocol = value;
    else if (rest == "destination address")
      r.destination_address = value;
    else if (rest == "destination port")
      r.destination_port = value;
    else if (rest == "source address")
      r.source_address = value;
    else if (rest == "translation address")
      r.translation_address = value;
    else if (rest == "translation port")
      r.translation_port = value;
    else if (rest == "disable")
      r.disabled = true;
    else if (rest == "log")
      r.log = true;
    else
      r.other.push_back(rest + (value.empty() ? "" : " " + value));
  }
  for (auto& [n, r] : out) std::sort(r.other.begin(), r.other.end());
  return out;
}

struct SimHarness : ReconcilerHarness {
  std::unique_ptr<sim::VyosSim> sim;
  std::unique_ptr<sim::VyosSimServer> server;
  std::string cert_pem, key_pem;

  explicit SimHarness(sim::VyosSim::Options options = {}, const std::string& device_extra = "")
      : ReconcilerHarness("it") {
    auto cert = sim::GenerateServerCert("vyos-sim");
    REQUIRE(cert);
    WriteFile(dir / "ca.pem", cert->ca_pem);
    WriteFile(dir / "creds.yaml", "apiKey: " + options.keys.front() + "\n");
    sim = std::make_unique<sim::VyosSim>(options);
    cert_pem = cert->cert_pem;
    key_pem = cert->key_pem;
    server = std::make_unique<sim::VyosSimServer>(
        *sim, sim::VyosSimServer::Options{"127.0.0.1", 0, cert_pem, key_pem, {}});
    REQUIRE(server->Start());
    WriteDevice(device_extra);
    Restart();
  }
  ~SimHarness() {
    reconciler.reset();
    server->Stop();
  }

  void WriteDevice(const std::string& extra, const std::string& ca = "../ca.pem") {
    WriteFile(dir / "manifests/device.yaml",
              "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: edge1}\nspec:\n "
              " platform: vyos\n"
              "  address: 127.0.0.1:" +
                  std::to_string(server->port()) +
                  "\n  credentialsRef: {file: ../creds.yaml}\n  tls: {caFile: " + ca + "}\n" +
                  extra);
  }

  /// The HTTPS API back on its port after a Stop().
  void RestartHttps() {
    const int port = server->port();
    server->Stop();
    server = std::make_unique<sim::VyosSimServer>(
        *sim, sim::VyosSimServer::Options{"127.0.0.1", port, cert_pem, key_pem, {}});
    REQUIRE(server->Start());
  }

  reconcilers::DeviceResult Pass(
      reconcilers::DeviceReconciler::Mode mode = reconcilers::DeviceReconciler::Mode::kApply,
      const std::string& trigger = "test") {
    return reconciler->Reconcile(Desired(), "default/edge1", trigger, mode);
  }
  reconcilers::DeviceResult Poll() {
    return Pass(reconcilers::DeviceReconciler::Mode::kApply, "poll");
  }

  /// The router's destination rules as vyos-sim itself renders them (never through
  /// netconverge's parser).
  std::map<int, SimRule> DeviceRules() { return ParseSimRules(sim->RunningSetCommands()); }
};

/// How many stored events have this reason.
inline int CountEvents(store::SqliteStore& s, const std::string& reason) {
  store::EventFilter f;
  f.limit = 1000;
  auto events = s.Events(f);
  int n = 0;
  for (const auto& e : *events) n += e.reason == reason;
  return n;
}

/// A PortForward manifest with the given ports block (YAML list items, indented 4).
inline std::string PortForwardYaml(const std::string& name, const std::string& vm,
                                   const std::string& ports, const std::string& extra = "",
                                   const std::string& address = "192.168.10.11") {
  return "apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: " + name +
         "}\nspec:\n  deviceRef: edge1\n  vm: " + vm + "\n  internalAddress: " + address +
         "\n  inboundInterface: eth0\n" + extra + "  ports:\n" + ports;
}

}  // namespace nc::testing
