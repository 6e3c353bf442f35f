// Sharding devices across replicas: the hash is FNV-1a 64 (the expected values below were
// computed by a separate Python implementation, so a change of hash would move every fleet's
// devices and fails here), the label overrides it, and a shard keeps only its devices' rules.
#include <doctest/doctest.h>

#include "controller/core/shard.hpp"
#include "controller/core/validate.hpp"
#include "test/unit/core/fixtures.hpp"

using namespace nc;
using namespace nc::core;
using nc::testing::DebianServices;
using nc::testing::MakeDevice;
using nc::testing::MakePort;
using nc::testing::MakePortForward;

namespace {

/// edge1..edge4, each with one PortForward; `labels` sets netconverge.io/shard per device.
api::Manifests FourRouters(const std::map<std::string, std::string>& labels = {}) {
  api::Manifests m;
  for (int i = 1; i <= 4; ++i) {
    const std::string name = "edge" + std::to_string(i);
    auto d = MakeDevice(name);
    if (auto it = labels.find(name); it != labels.end()) d.meta.labels[kShardLabel] = it->second;
    m.devices.push_back(d);
    m.port_forwards.push_back(MakePortForward("web" + std::to_string(i), "web",
                                              {MakePort("ssh", "tcp", "2201", "22")}, name));
  }
  return m;
}

std::vector<std::string> Devices(const DesiredState& d) {
  std::vector<std::string> out;
  for (const auto& [k, v] : d.devices) out.push_back(k);
  return out;
}

}  // namespace

TEST_SUITE("core/shard") {
  TEST_CASE("the shard of a key is FNV-1a 64 modulo the count, the same everywhere") {
    // Python: h = 0xcbf29ce484222325; for c in key: h = ((h ^ c) * 0x100000001b3) % 2**64
    CHECK(HashShard("default/edge1", 2) == 1);  // 0xa6c6505e4a2d3c2d
    CHECK(HashShard("default/edge2", 2) == 0);  // 0xa6c64d5e4a2d3714
    CHECK(HashShard("default/edge3", 4) == 3);  // 0xa6c64e5e4a2d38c7
    CHECK(HashShard("default/edge4", 4) == 2);  // 0xa6c64b5e4a2d33ae
    CHECK(HashShard("default/edge5", 3) == 2);
    CHECK(HashShard("prod/r1", 3) == 2);  // 0x1934ee906e0f1248
    CHECK(HashShard("default/edge1", 1) == 0);
  }

  TEST_CASE("the label is a decimal shard index or nothing") {
    CHECK(ParseShardLabel("0") == 0);
    CHECK(ParseShardLabel("7") == 7);
    CHECK(ParseShardLabel("1023") == 1023);
    for (const char* bad : {"", "-1", "01", "1024", "x", "1 ", "0x1", "99999"})
      CHECK_MESSAGE(!ParseShardLabel(bad), bad);
  }

  TEST_CASE("a bad label is a problem naming the label") {
    auto r = Validate(FourRouters({{"edge2", "two"}}), DebianServices());
    REQUIRE(r.problems.size() >= 1);
    CHECK(r.problems[0].object == "default/edge2");
    CHECK(r.problems[0].field == "metadata.labels.netconverge.io/shard");
    CHECK(r.problems[0].message.find("shard index") != std::string::npos);
  }

  TEST_CASE("each shard keeps exactly its devices and their rules - every device is on one") {
    // edge1 -> 1, edge2 -> 0 by hash; edge3 and edge4 pinned by label.
    const auto all = Validate(FourRouters({{"edge3", "0"}, {"edge4", "1"}}), DebianServices());
    REQUIRE(all.problems.empty());
    REQUIRE(all.desired.rules.size() == 4);
    std::map<std::string, int> owner;
    for (int index : {0, 1}) {
      DesiredState d = all.desired;
      CHECK(KeepShard(d, {2, index}).empty());
      for (const auto& k : Devices(d)) {
        CHECK_MESSAGE(!owner.count(k), k);
        owner[k] = index;
      }
      CHECK(d.rules.size() == 2);
      for (const auto& r : d.rules) CHECK(d.devices.count(r.device()) == 1);
    }
    CHECK(owner == std::map<std::string, int>{{"default/edge1", 1},
                                              {"default/edge2", 0},
                                              {"default/edge3", 0},
                                              {"default/edge4", 1}});
  }

  TEST_CASE("a label naming a shard that does not exist: no shard takes it, shard 0 says so") {
    const auto all = Validate(FourRouters({{"edge1", "5"}}), DebianServices());
    REQUIRE(all.problems.empty());
    DesiredState zero = all.desired, one = all.desired;
    const auto p0 = KeepShard(zero, {2, 0});
    const auto p1 = KeepShard(one, {2, 1});
    CHECK(!zero.devices.count("default/edge1"));
    CHECK(!one.devices.count("default/edge1"));
    REQUIRE(p0.size() == 1);
    CHECK(p0[0].object == "default/edge1");
    CHECK(p0[0].message.find("names shard 5, but there are 2 shards") != std::string::npos);
    CHECK(p1.empty());
  }

  TEST_CASE("not sharded: everything stays") {
    const auto all = Validate(FourRouters({{"edge1", "5"}}), DebianServices());
    DesiredState d = all.desired;
    CHECK(KeepShard(d, {}).empty());
    CHECK(d == all.desired);
  }
}
