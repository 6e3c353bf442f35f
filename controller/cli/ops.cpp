// The seed's migration-ctl operations (spec §7): `phase` and `fallback` (operator overrides kept
// in the store and honoured by every pass until cleared), `test-device` (probe a device the way a
// pass would reach it) and `generate-config` (in cli.cpp, from the option table itself).
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <set>

#include "adapters/device_adapter.hpp"
#include "controller/cli/common.hpp"
#include "controller/reconcilers/adapter_factory.hpp"
#include "controller/runtime/clock.hpp"
#include "controller/source/directory_source.hpp"

namespace nc::cli {

namespace {

std::string Who() {
  const char* u = std::getenv("USER");
  if (u && *u) return u;
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : "uid " + std::to_string(::geteuid());
}

std::string DeviceKey(const std::string& d) { return d.find('/') == std::string::npos ? "default/" + d : d; }

/// The devices this command may name: declared in the manifests (when the directory loads)
/// or known to the store. `declared` receives the declared ones.
std::set<std::string> KnownDevices(const std::string& manifests, store::SqliteStore& st, core::DesiredState* declared) {
  std::set<std::string> known;
  if (::access(manifests.c_str(), F_OK) == 0) {
    auto v = source::ValidateDirectory(manifests, source::LoadServices());
    for (const auto& [k, _] : v.desired.devices) known.insert(k);
    if (declared) *declared = v.desired;
  }
  if (auto rows = st.DeviceStatuses())
    for (const auto& r : *rows) known.insert(r.device);
  return known;
}

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? "none" : out;
}

}  // namespace

int CmdOverride(const Common& c, const std::string& what, const std::string& value, bool clear) {
  auto st = OpenStore(c.store, false);
  if (!st) return 1;
  const std::string key = DeviceKey(c.device);
  core::DesiredState declared;
  auto known = KnownDevices(c.manifests, *st, &declared);
  if (!known.count(key)) {
    std::cerr << "netconverge: no device '" << c.device << "' in " << c.manifests << " or in " << c.store
              << " (known: " << Join(known) << ")\n";
    return 1;
  }
  auto all = st->Overrides();
  if (!all) {
    std::cerr << "netconverge: " << all.error().message << "\n";
    return 1;
  }
  store::DeviceOverride o = all->count(key) ? all->at(key) : store::DeviceOverride{key, "", "", ""};
  o.updated_at = runtime::FormatUtc(std::chrono::system_clock::now());
  std::string message;
  if (what == "phase") {
    static const std::map<std::string, std::string> kPhases = {
        {"observe", "Observe"}, {"create-update", "CreateUpdate"}, {"full", "Full"}};
    if (clear) {
      o.management.clear();
      message = "management phase override cleared by " + Who() + ": the manifest's spec.management applies";
    } else {
      o.management = kPhases.at(value);
      message = "management phase set to " + o.management + " by " + Who() + " (netconverge phase)";
    }
  } else {
    auto d = declared.devices.find(key);
    if (!clear && d != declared.devices.end() && d->second.IsSwitch()) {
      std::cerr << "netconverge: " << key << " is a switch: its only transport is the SSH CLI, there is no fallback to toggle\n";
      return 1;
    }
    if (clear) {
      o.fallback.clear();
      message = "fallback override cleared by " + Who() + ": the manifest's spec.transport.fallback applies";
    } else {
      o.fallback = value == "on" ? "ssh-cli" : "none";
      message = "fallback set to " + o.fallback + " by " + Who() + " (netconverge fallback)";
    }
  }
  store::Event audit{0, o.updated_at, key, "", "Normal", what == "phase" ? "PhaseOverridden" : "FallbackOverridden", message, 0};
  if (auto r = st->SetOverride(o, audit); !r) {
    std::cerr << "netconverge: " << r.error().message << "\n";
    return 1;
  }
  std::cout << key << ": " << message << "\n";
  if (!clear)
    std::cout << "  it overrides the manifest until `netconverge " << what << " " << c.device
              << " --clear`; a running daemon uses it from the device's next pass\n";
  return 0;
}

/// Prints the store's overrides under the status tables (nothing when there are none).
void PrintOverrides(store::SqliteStore& st, const std::string& device) {
  auto all = st.Overrides();
  if (!all || all->empty()) return;
  std::vector<std::vector<std::string>> rows{{"DEVICE", "PHASE OVERRIDE", "FALLBACK OVERRIDE", "SET"}};
  for (const auto& [k, o] : *all)
    if (device.empty() || k == DeviceKey(device))
      rows.push_back({k, o.management.empty() ? "-" : o.management, o.fallback.empty() ? "-" : o.fallback, o.updated_at});
  if (rows.size() == 1) return;
  std::cout << "\n";
  PrintTable(rows);
}

}  // namespace nc::cli
