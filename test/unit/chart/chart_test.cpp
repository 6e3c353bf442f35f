// The CRDs and the Helm chart, judged by the real helm v3.17 (installed by
// scripts/install-kube-tools.sh): lint and template pass; the rendered Deployment runs non-root
// with a read-only root filesystem and the stated probes; RBAC has no wildcard; the chart's CRDs
// are byte-identical to crds/; every CRD schema is structural; and the example manifests fit the
// CRD schemas (no field the API server would prune or refuse).
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace {

const std::string kChart = std::string(NC_SOURCE_DIR) + "/helm/netconverge";
const std::string kHelm = std::string(NC_TOOLS_DIR) + "/helm";

struct Ran {
  int status = -1;
  std::string out;
};

Ran Run(const std::string& cmd) {
  Ran r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  r.status = pclose(p);
  return r;
}

std::vector<YAML::Node> Template(const std::string& flags = "") {
  auto r = Run(kHelm + " template nc " + kChart + " --namespace netops " + flags);
  REQUIRE_MESSAGE(r.status == 0, r.out);
  std::vector<YAML::Node> docs;
  for (auto& d : YAML::LoadAll(r.out))
    if (d && d.IsMap()) docs.push_back(d);
  return docs;
}

std::vector<YAML::Node> OfKind(const std::vector<YAML::Node>& docs, const std::string& kind) {
  std::vector<YAML::Node> out;
  for (const auto& d : docs)
    if (d["kind"].as<std::string>() == kind) out.push_back(d);
  return out;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Structural-schema rule 1 (research/kubernetes.md 8.2): every node has a type, except the
/// int-or-string and preserve-unknown-fields nodes. Returns the offending paths.
void Structural(const YAML::Node& s, const std::string& path, std::vector<std::string>& bad) {
  const bool exempt = s["x-kubernetes-int-or-string"] || s["x-kubernetes-preserve-unknown-fields"];
  if (!s["type"] && !exempt) bad.push_back(path);
  for (const char* forbidden :
       {"$ref", "definitions", "patternProperties", "dependencies", "uniqueItems"})
    if (s[forbidden]) bad.push_back(path + " uses " + forbidden);
  if (s["properties"])
    for (const auto& p : s["properties"])
      Structural(p.second, path + "." + p.first.as<std::string>(), bad);
  if (s["items"]) Structural(s["items"], path + "[]", bad);
}

/// Checks a value against an OpenAPI v3 schema as the API server would (types, enums, patterns,
/// ranges, required fields, unknown fields that pruning would drop).
void Conforms(const YAML::Node& v, const YAML::Node& s, const std::string& path,
              std::vector<std::string>& bad) {
  if (s["x-kubernetes-preserve-unknown-fields"]) return;
  const std::string type = s["type"] ? s["type"].as<std::string>() : "";
  if (s["x-kubernetes-int-or-string"]) {
    if (!v.IsScalar())
      bad.push_back(path + ": must be an integer or a string");
    else if (s["pattern"] &&
             !std::regex_match(v.Scalar(), std::regex(s["pattern"].as<std::string>())))
      bad.push_back(path + ": '" + v.Scalar() + "' does not match " +
                    s["pattern"].as<std::string>());
    return;
  }
  if (type == "object") {
    if (!v.IsMap()) return bad.push_back(path + ": must be an object");
    if (s["required"])
      for (const auto& r : s["required"])
        if (!v[r.as<std::string>()]) bad.push_back(path + "." + r.as<std::string>() + ": required");
    if (!s["properties"]) return;
    for (const auto& kv : v) {
      const std::string k = kv.first.as<std::string>();
      if (!s["properties"][k])
        bad.push_back(path + "." + k + ": unknown field (the API server would prune it)");
      else
        Conforms(kv.second, s["properties"][k], path + "." + k, bad);
    }
  } else if (type == "array") {
    if (!v.IsSequence()) return bad.push_back(path + ": must be a list");
    for (size_t i = 0; i < v.size(); ++i)
      Conforms(v[i], s["items"], path + "[" + std::to_string(i) + "]", bad);
  } else if (type == "string") {
    if (!v.IsScalar()) return bad.push_back(path + ": must be a string");
    if (s["enum"]) {
      bool found = false;
      for (const auto& e : s["enum"]) found |= e.as<std::string>() == v.Scalar();
      if (!found) bad.push_back(path + ": '" + v.Scalar() + "' is not in the enum");
    }
    if (s["pattern"] && !std::regex_match(v.Scalar(), std::regex(s["pattern"].as<std::string>())))
      bad.push_back(path + ": '" + v.Scalar() + "' does not match " +
                    s["pattern"].as<std::string>());
    if (s["maxLength"] && v.Scalar().size() > s["maxLength"].as<size_t>())
      bad.push_back(path + ": too long");
  } else if (type == "integer") {
    long long x = 0;
    try {
      x = v.as<long long>();
    } catch (...) {
      return bad.push_back(path + ": must be an integer");
    }
    if (s["minimum"] && x < s["minimum"].as<long long>())
      bad.push_back(path + ": below the minimum");
    if (s["maximum"] && x > s["maximum"].as<long long>())
      bad.push_back(path + ": above the maximum");
  } else if (type == "boolean") {
    if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false"))
      bad.push_back(path + ": must be true or false");
  }
}

std::map<std::string, YAML::Node> CrdsByKind() {
  std::map<std::string, YAML::Node> out;
  for (const auto& f : fs::directory_iterator(std::string(NC_SOURCE_DIR) + "/crds")) {
    auto crd = YAML::LoadFile(f.path().string());
    out[crd["spec"]["names"]["kind"].as<std::string>()] = crd;
  }
  return out;
}

}  // namespace

TEST_SUITE("chart") {
  TEST_CASE("helm lint passes, with defaults and with every option on") {
    for (const std::string flags :
         {"",
          "--set replicaCount=3 --set metrics.serviceMonitor.enabled=true "
          "--set metrics.prometheusRule.enabled=true --set argocd.healthCheckConfigMap=true "
          "--set metrics.grafanaDashboard.enabled=true"}) {
      auto r = Run(kHelm + " lint " + kChart + " " + flags);
      CHECK_MESSAGE(r.status == 0, r.out);
      CHECK(r.out.find("1 chart(s) linted, 0 chart(s) failed") != std::string::npos);
    }
  }

  TEST_CASE(
      "the rendered Deployment: non-root, read-only root filesystem, no privilege, probes on "
      "/healthz and /readyz") {
    auto docs = Template();
    std::set<std::string> kinds;
    for (const auto& d : docs) kinds.insert(d["kind"].as<std::string>());
    CHECK(kinds == std::set<std::string>{"Deployment", "PersistentVolumeClaim", "Role",
                                         "RoleBinding", "Service", "ServiceAccount"});
    auto dep = OfKind(docs, "Deployment").at(0);
    auto pod = dep["spec"]["template"]["spec"];
    CHECK(pod["securityContext"]["runAsNonRoot"].as<bool>());
    CHECK(pod["securityContext"]["runAsUser"].as<int>() != 0);
    CHECK(pod["securityContext"]["seccompProfile"]["type"].as<std::string>() == "RuntimeDefault");
    CHECK_FALSE(pod["hostNetwork"]);
    auto c = pod["containers"][0];
    CHECK(c["securityContext"]["readOnlyRootFilesystem"].as<bool>());
    CHECK_FALSE(c["securityContext"]["allowPrivilegeEscalation"].as<bool>());
    CHECK(c["securityContext"]["capabilities"]["drop"][0].as<std::string>() == "ALL");
    CHECK(c["livenessProbe"]["httpGet"]["path"].as<std::string>() == "/healthz");
    CHECK(c["readinessProbe"]["httpGet"]["path"].as<std::string>() == "/readyz");
    CHECK(dep["spec"]["strategy"]["type"].as<std::string>() ==
          "Recreate");  // one writer on the RWO store
    std::string args;
    for (const auto& a : c["args"]) args += a.as<std::string>() + " ";
    CHECK(args.find("run --kube --store=/var/lib/netconverge/netconverge.db") != std::string::npos);
    CHECK(args.find("--leader-elect ") != std::string::npos);
  }

  TEST_CASE("RBAC: namespaced, no wildcard verbs, resources or groups - secrets only read") {
    for (const std::string flags : {"", "--set replicaCount=2"}) {
      auto docs = Template(flags);
      CHECK(OfKind(docs, "ClusterRole").empty());
      CHECK(OfKind(docs, "ClusterRoleBinding").empty());
      auto role = OfKind(docs, "Role").at(0);
      for (const auto& rule : role["rules"]) {
        for (const char* field : {"apiGroups", "resources", "verbs"})
          for (const auto& x : rule[field])
            CHECK_MESSAGE(x.as<std::string>().find('*') == std::string::npos, field);
        for (const auto& res : rule["resources"]) {
          if (res.as<std::string>() != "secrets") continue;
          for (const auto& v : rule["verbs"])
            CHECK(std::set<std::string>{"get", "list", "watch"}.count(v.as<std::string>()) == 1);
        }
      }
      std::set<std::string> resources;
      for (const auto& rule : role["rules"])
        for (const auto& res : rule["resources"]) resources.insert(res.as<std::string>());
      for (const char* need :
           {"devices", "portforwards", "vlaninterfaces", "devices/status", "portforwards/status",
            "vlaninterfaces/status", "events", "leases", "secrets"})
        CHECK_MESSAGE(resources.count(need) == 1, need);
    }
  }

  TEST_CASE(
      "options: ServiceMonitor, PrometheusRule and the Argo CD health check for the three kinds") {
    auto docs = Template(
        "--set metrics.serviceMonitor.enabled=true --set metrics.prometheusRule.enabled=true "
        "--set argocd.healthCheckConfigMap=true --set persistence.enabled=false");
    CHECK(OfKind(docs, "ServiceMonitor").size() == 1);
    CHECK(OfKind(docs, "PrometheusRule").size() == 1);
    CHECK(OfKind(docs, "PersistentVolumeClaim").empty());
    auto cm = OfKind(docs, "ConfigMap").at(0);
    for (const char* kind : {"Device", "PortForward", "VlanInterface"}) {
      auto lua = cm["data"][std::string("resource.customizations.health.netconverge.io_") + kind];
      REQUIRE(lua);
      CHECK(lua.as<std::string>().find("c.type == \"Ready\"") != std::string::npos);
    }
  }

  TEST_CASE(
      "notifications: a Secret mounted read-only and passed as --config - without one, neither") {
    auto plain = OfKind(Template(), "Deployment").at(0)["spec"]["template"]["spec"];
    for (const auto& a : plain["containers"][0]["args"])
      CHECK(a.as<std::string>().find("--config") == std::string::npos);
    auto pod = OfKind(Template("--set notifications.existingSecret=nc-notify"), "Deployment")
                   .at(0)["spec"]["template"]["spec"];
    bool config = false;
    for (const auto& a : pod["containers"][0]["args"])
      config |= a.as<std::string>() == "--config=/etc/netconverge/notify/notify.yaml";
    CHECK(config);
    bool mounted = false;
    for (const auto& m : pod["containers"][0]["volumeMounts"])
      if (m["name"].as<std::string>() == "notify")
        mounted = m["mountPath"].as<std::string>() == "/etc/netconverge/notify" &&
                  m["readOnly"].as<bool>();
    CHECK(mounted);
    bool secret = false;
    for (const auto& v : pod["volumes"])
      if (v["name"].as<std::string>() == "notify")
        secret = v["secret"]["secretName"].as<std::string>() == "nc-notify" &&
                 v["secret"]["defaultMode"].as<int>() == 0400;
    CHECK(secret);
  }

  TEST_CASE(
      "the Grafana dashboard: off by default - on, a ConfigMap labelled grafana_dashboard 1 whose "
      "JSON is files/grafana-dashboard.json") {
    for (const auto& d : Template()) CHECK_FALSE(d["metadata"]["labels"]["grafana_dashboard"]);
    auto docs = Template(
        "--set metrics.grafanaDashboard.enabled=true --set metrics.grafanaDashboard.namespace=mon");
    std::vector<YAML::Node> dashboards;
    for (const auto& d : OfKind(docs, "ConfigMap"))
      if (d["metadata"]["labels"]["grafana_dashboard"]) dashboards.push_back(d);
    REQUIRE(dashboards.size() == 1);
    const auto& cm = dashboards[0];
    CHECK(cm["metadata"]["labels"]["grafana_dashboard"].as<std::string>() == "1");
    CHECK(cm["metadata"]["namespace"].as<std::string>() == "mon");
    std::ifstream f(std::string(NC_SOURCE_DIR) + "/helm/netconverge/files/grafana-dashboard.json");
    std::string file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    while (!file.empty() && file.back() == '\n') file.pop_back();
    CHECK(cm["data"]["netconverge.json"].as<std::string>() == file);
    // Valid JSON with its panels (their expressions are checked against a live /metrics in
    // e2e.admin_api_auth_corpus_phase_test_device).
    auto dash = YAML::Load(file);  // JSON is YAML
    CHECK(dash["uid"].as<std::string>() == "netconverge");
    CHECK(dash["panels"].size() >= 8);
  }

  TEST_CASE(
      "the admin API's credentials come from a Secret, mounted read-only - without one no "
      "credential flag") {
    auto args_of = [](const std::vector<YAML::Node>& docs) {
      std::string args;
      for (const auto& a :
           OfKind(docs, "Deployment").at(0)["spec"]["template"]["spec"]["containers"][0]["args"])
        args += a.as<std::string>() + " ";
      return args;
    };
    const std::string plain = args_of(Template());
    CHECK(plain.find("--api-keys-file") == std::string::npos);
    CHECK(plain.find("--log-format=json") != std::string::npos);
    CHECK(plain.find("--retention=720h") != std::string::npos);
    CHECK(plain.find("--max-concurrent-rules=20000") != std::string::npos);
    auto docs = Template(
        "--set api.existingSecret=nc-api --set api.jwtSecretKey= --set api.metricsAuth=true");
    const std::string args = args_of(docs);
    CHECK(args.find("--api-keys-file=/etc/netconverge/api/api-keys.yaml") != std::string::npos);
    CHECK(args.find("--jwt-secret-file") == std::string::npos);  // its key was emptied
    CHECK(args.find("--metrics-auth") != std::string::npos);
    auto pod = OfKind(docs, "Deployment").at(0)["spec"]["template"]["spec"];
    bool mounted = false;
    for (const auto& m : pod["containers"][0]["volumeMounts"])
      if (m["name"].as<std::string>() == "api-credentials")
        mounted =
            m["mountPath"].as<std::string>() == "/etc/netconverge/api" && m["readOnly"].as<bool>();
    CHECK(mounted);
    bool secret = false;
    for (const auto& v : pod["volumes"])
      if (v["name"].as<std::string>() == "api-credentials")
        secret = v["secret"]["secretName"].as<std::string>() == "nc-api" &&
                 v["secret"]["defaultMode"].as<int>() == 0400;
    CHECK(secret);
  }

  TEST_CASE(
      "sharding: a StatefulSet of shards x replicasPerShard pods with a store each, --shards, "
      "leader election per shard - one shard stays a Deployment") {
    auto docs = Template("--set sharding.shards=3 --set sharding.replicasPerShard=2");
    CHECK(OfKind(docs, "Deployment").empty());
    CHECK(OfKind(docs, "PersistentVolumeClaim").empty());  // one per pod, from the template
    auto sts = OfKind(docs, "StatefulSet").at(0);
    CHECK(sts["spec"]["replicas"].as<int>() == 6);
    CHECK(sts["spec"]["podManagementPolicy"].as<std::string>() == "Parallel");
    const auto claim = sts["spec"]["volumeClaimTemplates"][0];
    CHECK(claim["metadata"]["name"].as<std::string>() == "store");
    CHECK(claim["spec"]["resources"]["requests"]["storage"].as<std::string>() == "1Gi");
    auto pod = sts["spec"]["template"]["spec"];
    for (const auto& v : pod["volumes"])
      CHECK(v["name"].as<std::string>() != "store");  // the claim template provides it
    std::string args;
    for (const auto& a : pod["containers"][0]["args"]) args += a.as<std::string>() + " ";
    CHECK(args.find("--shards=3 ") != std::string::npos);
    CHECK(args.find("--shard-index") == std::string::npos);  // from the pod's ordinal
    CHECK(args.find("--leader-elect ") != std::string::npos);
    CHECK(args.find("--kube-qps=20 --kube-burst=30 ") != std::string::npos);
    bool pod_name = false;
    for (const auto& e : pod["containers"][0]["env"])
      pod_name = pod_name || e["name"].as<std::string>() == "POD_NAME";
    CHECK(pod_name);
    bool headless = false;
    for (const auto& svc : OfKind(docs, "Service"))
      headless = headless || (svc["metadata"]["name"].as<std::string>() ==
                                  sts["spec"]["serviceName"].as<std::string>() &&
                              svc["spec"]["clusterIP"].as<std::string>() == "None");
    CHECK(headless);
    auto lint = Run(kHelm + " lint " + kChart + " --set sharding.shards=3");
    CHECK_MESSAGE(lint.status == 0, lint.out);
  }

  TEST_CASE("the chart's CRDs are byte-identical to crds/, and helm installs exactly those") {
    std::set<std::string> names;
    for (const auto& f : fs::directory_iterator(std::string(NC_SOURCE_DIR) + "/crds")) {
      const auto name = f.path().filename().string();
      names.insert(name);
      CHECK_MESSAGE(Slurp(f.path()) == Slurp(fs::path(kChart) / "crds" / name), name);
    }
    CHECK(names.size() == 3);
    auto docs = Template("--include-crds");
    CHECK(OfKind(docs, "CustomResourceDefinition").size() == 3);
  }

  TEST_CASE("CRDs: structural schemas, names, printer columns, status subresource, category") {
    const std::map<std::string, std::string> shorts = {
        {"Device", "dev"}, {"PortForward", "pf"}, {"VlanInterface", "vlanif"}};
    for (const auto& [kind, crd] : CrdsByKind()) {
      CAPTURE(kind);
      const auto names = crd["spec"]["names"];
      CHECK(crd["metadata"]["name"].as<std::string>() ==
            names["plural"].as<std::string>() + ".netconverge.io");
      CHECK(names["shortNames"][0].as<std::string>() == shorts.at(kind));
      CHECK(names["categories"][0].as<std::string>() == "netconverge");
      const auto v = crd["spec"]["versions"][0];
      CHECK(v["name"].as<std::string>() == "v1alpha1");
      CHECK(v["subresources"]["status"].IsMap());
      std::set<std::string> cols;
      for (const auto& col : v["additionalPrinterColumns"])
        cols.insert(col["name"].as<std::string>());
      for (const char* need : {"Ready", "Synced", "Age"}) CHECK(cols.count(need) == 1);
      std::vector<std::string> bad;
      Structural(v["schema"]["openAPIV3Schema"], kind, bad);
      CHECK_MESSAGE(bad.empty(), (bad.empty() ? std::string() : bad.front()));
    }
  }

  TEST_CASE("every example manifest fits its CRD schema - a wrong field or value does not") {
    auto crds = CrdsByKind();
    int checked = 0;
    for (const auto& f : fs::directory_iterator(std::string(NC_SOURCE_DIR) + "/manifests")) {
      for (const auto& doc : YAML::LoadAll(Slurp(f.path()))) {
        if (!doc.IsMap()) continue;
        const auto kind = doc["kind"].as<std::string>();
        std::vector<std::string> bad;
        Conforms(doc, crds.at(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"], kind, bad);
        CHECK_MESSAGE(bad.empty(), (f.path().filename().string() + ": " +
                                    (bad.empty() ? std::string() : bad.front())));
        ++checked;
      }
    }
    CHECK(checked >= 8);
    auto vlan = YAML::Load(
        "apiVersion: netconverge.io/v1alpha1\nkind: VlanInterface\nmetadata: {name: x}\n"
        "spec: {deviceRef: sw1, interface: eth0, vlan: 5000, colour: blue}\n");
    std::vector<std::string> bad;
    Conforms(vlan, crds.at("VlanInterface")["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
             "VlanInterface", bad);
    CHECK(bad.size() == 3);  // interface pattern, vlan maximum, unknown field
    auto pf = YAML::Load(
        "kind: PortForward\nspec: {deviceRef: e, vm: v, internalAddress: 10.0.0.1, "
        "inboundInterface: eth0,"
        " ports: [{name: a, protocol: tcp, externalPort: 80, internalPort: '80,443', description: "
        "\"it's\"}]}\n");
    bad.clear();
    Conforms(pf, crds.at("PortForward")["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
             "PortForward", bad);
    CHECK(bad.size() == 2);  // a translation-port list, a quote in the description
  }
}
