// `import` of real VyOS configs: the YAML it writes, applied to an empty vyos-sim, reproduces the
// source's destination rules field by field.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "adapters/vyos/importer.hpp"
#include "test/integration/harness.hpp"

using namespace nc;
using namespace nc::testing;

namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void CheckReproduced(const std::string& file) {
  INFO(file);
  const std::string path = std::string(NC_SHARED_DIR) + "/data/vyos-1x/" + file;
  auto source = vyos::RulesFromConfigText(Read(path));
  REQUIRE(source);
  REQUIRE_FALSE(source->empty());
  auto imported = vyos::ImportPortForwards(*source, {"edge1", "default", "netconverge", file});
  CHECK(imported.skipped == 0);
  CHECK(imported.imported == static_cast<int>(source->size()));

  SimHarness h;
  h.Manifest("imported.yaml", imported.yaml);
  auto r = h.Pass();
  REQUIRE_FALSE(r.error);
  auto device = h.DeviceRules();
  REQUIRE(device.size() == source->size());
  for (const auto& [n, want] : *source) {
    INFO("rule " << n);
    REQUIRE(device.count(n));
    const auto& got = device.at(n);
    CHECK(got.inbound_interface == want.inbound_interface);
    CHECK(got.protocol == want.protocol);
    CHECK(got.destination_address == want.destination_address);
    CHECK(got.destination_port == want.destination_port);
    CHECK(got.source_address == want.source_address);
    CHECK(got.translation_address == want.translation_address);
    CHECK(got.translation_port == want.translation_port);
    CHECK(got.disabled == want.disabled);
    CHECK(got.log == want.log);
    CHECK(got.unmanaged == want.unmanaged);
    CHECK(core::StripOwnershipTag(got.description, "netconverge") ==
          (want.description.empty() ? got.description.substr(0, got.description.find(" [")) : want.description));
  }
  // And the device is now converged: a second pass changes nothing.
  auto again = h.Pass();
  REQUIRE_FALSE(again.error);
  CHECK_FALSE(again.plan.HasChanges());
}

bool SharedPresent() {
  bool present = std::filesystem::exists(std::string(NC_SHARED_DIR) + "/data/vyos-1x/configs");
  if (!present) MESSAGE("SKIPPED: ../shared/data/vyos-1x is absent; import tests not run");
  return present;
}

}  // namespace

TEST_SUITE("integration/import") {
  TEST_CASE("import of config.boot files (1.2 to 1.4 syntax) reproduces their destination rules") {
    if (!SharedPresent()) return;
    for (const char* f : {"configs/nat-basic", "configs/dialup-router-complex", "configs/dialup-router-medium-vpn"})
      CheckReproduced(f);
  }

  TEST_CASE("import of `show configuration commands` output reproduces the same rules") {
    if (!SharedPresent()) return;
    for (const char* f : {"config-tests/nat-basic", "config-tests/dialup-router-complex", "config-tests/dialup-router-medium-vpn"})
      CheckReproduced(f);
  }

  TEST_CASE("rules a port forward cannot express are skipped with the reason") {
    std::map<int, core::NatRule> rules;
    core::NatRule no_translation;
    no_translation.inbound_interface = "eth0";
    no_translation.protocol = "tcp";
    no_translation.destination_port = "22";
    rules[5] = no_translation;
    core::NatRule all = no_translation;
    all.protocol = "";
    all.translation_address = "10.0.0.1";
    rules[6] = all;
    core::NatRule ok = all;
    ok.protocol = "tcp";
    ok.unmanaged = {"source port 53"};
    rules[7] = ok;
    auto r = vyos::ImportPortForwards(rules, {});
    CHECK(r.imported == 1);
    CHECK(r.skipped == 2);
    CHECK(r.yaml.find("rule 5 skipped: no translation address") != std::string::npos);
    CHECK(r.yaml.find("rule 6 skipped: protocol 'all'") != std::string::npos);
    CHECK(r.yaml.find("WARNING: rule 7 also has 'source port 53'") != std::string::npos);
  }
}
