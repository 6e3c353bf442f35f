// `import` of real VyOS configs (the 219 files of ../shared/data/vyos-1x/corpus): each is read as
// its true format, and the YAML it writes, applied to an empty vyos-sim, reproduces the rules the
// router itself holds for that file (vyos-sim's own load and rendering are the witness).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
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

}  // namespace

TEST_SUITE("integration/import") {
  TEST_CASE(
      "corpus: all 219 real VyOS configs are read as their format and imported rules reproduce the "
      "router rules on vyos-sim") {
    namespace fs = std::filesystem;
    const fs::path dir = std::string(NC_SHARED_DIR) + "/data/vyos-1x/corpus";
    const std::string dir_s = dir.string();
    INFO(dir_s);
    REQUIRE(fs::is_directory(dir));
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    const auto services = source::LoadServices();
    int boot = 0, commands = 0, empty = 0, with_dnat = 0, rules = 0, compared = 0, resources = 0;
    for (const auto& path : files) {
      const std::string name = path.filename().string();
      INFO(name);
      const std::string text = Read(path.string());
      if (text.empty()) {  // two branches' data/config.boot.default are empty files: no grammar to
                           // read
        CHECK(vyos::DetectConfigFormat(text) == vyos::ConfigFormat::kUnknown);
        ++empty;
        continue;
      }
      // config-tests hold `show configuration commands`; every other file is a config.boot.
      const bool is_commands = name.rfind("config-tests__", 0) == 0;
      const auto format = vyos::DetectConfigFormat(text);
      CHECK(format ==
            (is_commands ? vyos::ConfigFormat::kVyosCommands : vyos::ConfigFormat::kVyosBoot));
      (is_commands ? commands : boot) += format == (is_commands ? vyos::ConfigFormat::kVyosCommands
                                                                : vyos::ConfigFormat::kVyosBoot);
      auto source = vyos::RulesFromConfigText(text, format);
      REQUIRE_MESSAGE(source, source.error().message);

      // The witness: the file loaded into vyos-sim as the router would boot it, read back
      // through vyos-sim's own rendering.
      sim::VyosSim router({});
      auto loaded = router.LoadConfig(text, is_commands);
      REQUIRE_MESSAGE(loaded, loaded.error().message);
      const auto want = ParseSimRules(router.RunningSetCommands());
      CHECK(want.size() == source->size());  // the importer saw every destination rule
      if (source->empty()) continue;
      ++with_dnat;
      rules += static_cast<int>(source->size());

      vyos::ImportOptions o;
      o.source = name;
      o.services = services;
      auto imported = vyos::ImportPortForwards(*source, o);
      CHECK(imported.skipped == 0);
      resources += imported.resources;
      SimHarness h;  // an empty router
      h.Manifest("imported.yaml", imported.yaml);
      auto v = source::ValidateDirectory((h.dir / "manifests").string(), services);
      for (const auto& p : v.problems) FAIL_CHECK(p.ToString());  // `validate` accepts the import
      auto r = h.Pass();
      REQUIRE_FALSE(r.error);
      const auto got = h.DeviceRules();
      CHECK(got.size() == want.size());
      for (const auto& [n, w] : want) {
        INFO("rule " << n);
        REQUIRE(got.count(n));
        const auto& g = got.at(n);
        CHECK(g.inbound_interface == w.inbound_interface);
        CHECK(g.protocol == w.protocol);
        CHECK(g.destination_address == w.destination_address);
        CHECK(g.destination_port == w.destination_port);
        CHECK(g.source_address == w.source_address);
        CHECK(g.translation_address == w.translation_address);
        CHECK(g.translation_port == w.translation_port);
        CHECK(g.disabled == w.disabled);
        CHECK(g.log == w.log);
        ++compared;
      }
      auto again = h.Pass();  // converged: nothing more to send
      REQUIRE_FALSE(again.error);
      CHECK_FALSE(again.plan.HasChanges());
    }
    MESSAGE("corpus: " << files.size() << " files (" << boot << " config.boot, " << commands
                       << " set-command files read as such, " << empty << " empty); " << with_dnat
                       << " with destination NAT, " << rules << " rules as " << resources
                       << " PortForwards; " << compared << " rules reproduced on vyos-sim");
    CHECK(files.size() == 219);
    CHECK(boot + commands + empty == 219);
    CHECK(compared == rules);
  }

  TEST_CASE("format detection reads the grammar, not a line's first word") {
    CHECK(vyos::DetectConfigFormat("interfaces {\n    ethernet eth0 {\n    }\n}\nnat {\n}\n") ==
          vyos::ConfigFormat::kVyosBoot);
    CHECK(vyos::DetectConfigFormat(
              "/* a comment */\nfirewall {\n}\n// vyos-config-version: \"nat@5\"\n") ==
          vyos::ConfigFormat::kVyosBoot);
    CHECK(vyos::DetectConfigFormat("set nat destination rule 10 protocol 'tcp'\n") ==
          vyos::ConfigFormat::kVyosCommands);
    CHECK(vyos::DetectConfigFormat("# switch\ninterfaces ge100-0/0/5.100 vlan-id 100\n") ==
          vyos::ConfigFormat::kDnosFlat);
    CHECK(vyos::DetectConfigFormat("hello world\nthis is not a config\n") ==
          vyos::ConfigFormat::kUnknown);
    CHECK(vyos::DetectConfigFormat("") == vyos::ConfigFormat::kUnknown);
    CHECK_FALSE(vyos::RulesFromConfigText("hello world\n"));
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
