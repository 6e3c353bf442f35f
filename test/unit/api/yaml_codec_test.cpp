#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "controller/api/v1alpha1/yaml_codec.hpp"

using namespace nc::api;

TEST_SUITE("api/yaml_codec-fuzz") {
  TEST_CASE(
      "bytes that are not UTF-8 are a problem with their place - yaml-cpp never sees them (found "
      "by fuzzing)") {
    // fuzz_manifest found this file: yaml-cpp 0.7's LoadAll looped on it for ever, which in the
    // daemon would have hung the manifest watcher.
    std::ifstream in(std::string(NC_SOURCE_DIR) + "/test/data/fuzz/manifest-loadall-loop.yaml",
                     std::ios::binary);
    REQUIRE(in);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto r = DecodeManifests(text, "loop.yaml");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].message.find("is not UTF-8 text (byte 0x") != std::string::npos);
    CHECK(r.problems[0].pos.line == 22);
    auto latin1 = DecodeManifests(
        "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: z\xfcrich}\n",
        "l.yaml");
    REQUIRE(latin1.problems.size() == 1);
    CHECK(latin1.problems[0].pos.line == 3);
    CHECK(latin1.problems[0].pos.column == 19);
    CHECK(latin1.problems[0].message == "the file is not UTF-8 text (byte 0xfc)");
  }

  TEST_CASE(
      "files on which yaml-cpp's parser never ends are problems, not a hung watcher (found by "
      "fuzzing)") {
    for (const char* name :
         {"manifest-loadall-loop-control.yaml", "manifest-loadall-loop-printable.yaml"}) {
      CAPTURE(name);
      std::ifstream in(std::string(NC_SOURCE_DIR) + "/test/data/fuzz/" + name, std::ios::binary);
      REQUIRE(in);
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      auto r = DecodeManifests(text, name);
      REQUIRE_FALSE(r.problems.empty());
      CHECK(r.manifests.vlan_interfaces.empty());
    }
  }
}

TEST_SUITE("api/yaml_codec-duplicates") {
  TEST_CASE(
      "a key written twice in one mapping is a problem at its second place - never silently the "
      "last") {
    auto r = DecodeManifests(
        "apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: a}\nspec:\n"
        "  deviceRef: edge1\n  vm: a\n  internalAddress: 10.0.0.1\n  ports:\n"
        "    - {name: ssh, protocol: tcp, externalPort: 2201, externalPort: 2202}\n",
        "dup.yaml");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].pos.file == "dup.yaml");
    CHECK(r.problems[0].pos.line == 9);
    CHECK(r.problems[0].message.find("duplicate key 'externalPort'") != std::string::npos);
    CHECK(r.manifests.port_forwards.empty());
    // The same key in different mappings is fine.
    auto ok = DecodeManifests(
        "apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: a}\nspec:\n"
        "  deviceRef: edge1\n  vm: a\n  internalAddress: 10.0.0.1\n  ports:\n"
        "    - {name: ssh, protocol: tcp, externalPort: 2201}\n    - {name: web, protocol: tcp, "
        "externalPort: 80}\n",
        "ok.yaml");
    CHECK(ok.problems.empty());
  }
}

TEST_SUITE("api/yaml_codec") {
  TEST_CASE("multi-document files decode with positions for every field") {
    auto r = DecodeManifests(R"(apiVersion: netconverge.io/v1alpha1
kind: Device
metadata: {name: edge1}
spec:
  platform: vyos
  address: 10.0.0.1
  credentialsRef: {file: c.yaml}
---
apiVersion: netconverge.io/v1alpha1
kind: PortForward
metadata:
  name: web1
  namespace: prod
spec:
  deviceRef: edge1
  vm: web1
  internalAddress: 192.168.1.2
  inboundInterface: eth0
  ports:
    - name: ssh
      protocol: tcp
      externalPort: 2201
      ruleNumber: 10005
)",
                             "f.yaml");
    REQUIRE(r.problems.empty());
    REQUIRE(r.manifests.devices.size() == 1);
    REQUIRE(r.manifests.port_forwards.size() == 1);
    const auto& pf = r.manifests.port_forwards[0];
    CHECK(pf.meta.Key() == "prod/web1");
    CHECK(pf.spec.ports[0].external_port == "2201");
    CHECK(*pf.spec.ports[0].rule_number == 10005);
    CHECK(pf.fields.at("spec.ports[0].externalPort").line == 22);
    CHECK(pf.fields.at("spec.ports[0]").line == 20);
  }

  TEST_CASE(
      "documents are loaded one at a time with the file's own lines and columns - the same as "
      "a whole-file load") {
    // Comments before the first document, an indented first document, `...` ends, a `---` with
    // content on its line, a block scalar, problems and a duplicate key in later documents.
    const std::string body = R"(# leading comment
  apiVersion: netconverge.io/v1alpha1
  kind: Device
  metadata: {name: edge1}
  spec: {platform: vyos, address: 10.0.0.1, credentialsRef: {file: c.yaml}}
...
--- {apiVersion: netconverge.io/v1alpha1, kind: Device, metadata: {name: edge2}, spec: {platform: vyos, address: 10.0.0.2, credentialsRef: {file: c.yaml}, color: red}}
---
apiVersion: netconverge.io/v1alpha1
kind: PortForward
metadata:
  name: web1
  annotations:
    note: |
      a block scalar
        --- indented, not a document
spec:
  deviceRef: edge1
  vm: web1
  internalAddress: 192.168.1.2
  ports:
    - {name: ssh, protocol: tcp, externalPort: 2201, externalPort: 2202}
---
# an empty document
---
apiVersion: netconverge.io/v1alpha1
kind: PortForward
metadata: {name: web2}
spec:
  deviceRef: edge1
  vm: web2
  internalAddress: 192.168.1.3
  ports:
    - name: http
      protocol: tcp
      externalPort: 8080
      internalPort: 80
      bogus: 1
)";
    auto split = DecodeManifests(body, "m.yaml");
    // `%YAML` makes the decoder load the file whole: the same problems, one line further down.
    auto whole = DecodeManifests("%YAML 1.2\n" + body, "m.yaml");
    REQUIRE(split.problems.size() == 3);
    REQUIRE(whole.problems.size() == split.problems.size());
    for (size_t i = 0; i < split.problems.size(); ++i) {
      CAPTURE(split.problems[i].message);
      CHECK(split.problems[i].message == whole.problems[i].message);
      CHECK(split.problems[i].pos.line + 1 == whole.problems[i].pos.line);
      CHECK(split.problems[i].pos.column == whole.problems[i].pos.column);
    }
    CHECK(split.problems[0].pos.line == 7);  // color: unknown field of edge2
    CHECK(split.problems[0].pos.column == 156);
    CHECK(split.problems[1].pos.line == 22);  // the duplicate externalPort
    CHECK(split.problems[1].message.find("duplicate key 'externalPort'") == 0);
    CHECK(split.problems[2].pos.line == 38);  // bogus
    CHECK(split.problems[2].pos.column == 7);
    REQUIRE(split.manifests.devices.size() == 1);
    CHECK(split.manifests.devices[0].meta.name == "edge1");
    CHECK(split.manifests.devices[0].pos.line == 2);
    CHECK(split.manifests.devices[0].pos.column == 3);
    REQUIRE(whole.manifests.devices.size() == 1);
    CHECK(whole.manifests.devices[0].pos.line == 3);
  }

  TEST_CASE("YAML syntax errors carry line and column") {
    auto r = DecodeManifests("apiVersion: netconverge.io/v1alpha1\nkind: Device\nspec: [unclosed\n",
                             "bad.yaml");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].pos.file == "bad.yaml");
    CHECK(r.problems[0].pos.line >= 3);
    CHECK(r.problems[0].message.find("YAML syntax error") == 0);
  }

  TEST_CASE("unknown fields and wrong types are problems, not silently dropped") {
    auto r = DecodeManifests(R"(apiVersion: netconverge.io/v1alpha1
kind: PortForward
metadata: {name: web1}
spec:
  deviceRef: edge1
  vmm: web1
  ports:
    - name: ssh
      enabled: maybe
      ruleNumber: ten
)",
                             "f.yaml");
    REQUIRE(r.problems.size() == 3);
    CHECK(r.problems[0].field == "spec.vmm");
    CHECK(r.problems[0].message == "unknown field");
    CHECK(r.problems[1].field == "spec.ports[0].enabled");
    CHECK(r.problems[2].field == "spec.ports[0].ruleNumber");
    CHECK(r.problems[2].pos.line == 10);
    CHECK(r.manifests.port_forwards.empty());
  }

  TEST_CASE("documents of other API groups are ignored, unknown kinds of ours are not") {
    auto r = DecodeManifests(R"(apiVersion: v1
kind: Secret
metadata: {name: x}
---
apiVersion: netconverge.io/v1alpha1
kind: Router
metadata: {name: y}
spec: {}
)",
                             "f.yaml");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].field == "kind");
  }
}

TEST_SUITE("api/yaml_codec") {
  TEST_CASE("keys that are not plain strings are problems of the file, never a crash") {
    for (const char* text : {
             "apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: a}\nspec:\n "
             " ? [a, b]\n  : x\n",
             "apiVersion: netconverge.io/v1alpha1\nkind: PortForward\n? {k: v}\n: 1\nmetadata: "
             "{name: a}\nspec: {}\n",
             "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata:\n  name: a\n  labels:\n "
             "   ? [x]\n    : y\nspec: {}\n",
         }) {
      INFO(text);
      DecodeResult r;
      CHECK_NOTHROW(r = DecodeManifests(text, "bad.yaml"));
      bool named = false;
      for (const auto& p : r.problems)
        named |= p.message.find("plain string") != std::string::npos && p.pos.file == "bad.yaml";
      CHECK(named);
    }
  }
}

TEST_SUITE("api/yaml_codec") {
  TEST_CASE("an alias bomb, a too deep document and a too large file are refused, quickly") {
    std::string bomb =
        "apiVersion: netconverge.io/v1alpha1\nkind: PortForward\nmetadata: {name: a}\nspec:\n  vm: "
        "a\n"
        "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 9; ++i) {  // 10^9 nodes once every alias is followed
      bomb += "  l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
      for (int k = 0; k < 10; ++k) bomb += (k ? ", *l" : "*l") + std::to_string(i - 1);
      bomb += "]\n";
    }
    auto r = DecodeManifests(bomb, "bomb.yaml");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].message.find("YAML nodes") != std::string::npos);
    CHECK(r.manifests.port_forwards.empty());

    std::string deep =
        "apiVersion: netconverge.io/v1alpha1\nkind: Device\nmetadata: {name: a}\nspec: ";
    for (int i = 0; i < 100; ++i) deep += "[";
    for (int i = 0; i < 100; ++i) deep += "]";
    auto d = DecodeManifests(deep + "\n", "deep.yaml");
    REQUIRE(d.problems.size() == 1);
    CHECK(d.problems[0].message.find("deeper than 64") != std::string::npos);

    auto big = DecodeManifests(std::string(kMaxManifestBytes + 1, '#'), "big.yaml");
    REQUIRE(big.problems.size() == 1);
    CHECK(big.problems[0].message.find("limited to") != std::string::npos);
  }
}
